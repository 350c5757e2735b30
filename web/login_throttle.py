"""Login throttling shared by the login page and ``POST /api/v1/session``: one budget, three keys.

Failures are counted in the rate limiter's storage (memory, or Redis with several workers; see
``COMPLAINTFLOW_RATELIMIT_STORAGE``) under three keys, each with its own limit:

- address + account: a few wrong passwords for one name from one address, then a pause;
- account over every address: a slow, spread-out guess at one account. A login from a device on
  which that account signed in before (a signed long-lived cookie) is exempt, so an attacker who
  exhausts this budget cannot lock the real user out;
- address over every account: one address trying many names.

The account is the **normalised** name (NFKC, trimmed, case-folded, invisible format characters
dropped), so ``" mgr2"``, ``"MGR2\\t"`` and ``"ｍｇｒ2"`` share one budget. While a budget is spent
even the right password is refused: the answer must not tell a throttled guesser it was right.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import unicodedata
from dataclasses import dataclass

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse

from web.extensions import limiter

DEVICE_COOKIE = "cf_device"
DEVICE_DAYS = 365
DEVICE_NAMES_KEPT = 8  # accounts remembered per device (a shared desk), newest first, as keyed digests


def normalise(username: str) -> str:
    """The account a typed name stands for in the budgets: what any spelling of it has in common."""
    text = unicodedata.normalize("NFKC", username or "")
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cf", "Cc"))
    return text.strip().casefold()


def client_address() -> str:
    """The client's address: ``REMOTE_ADDR``, which ``ProxyFix`` sets from trusted proxies' headers only."""
    return request.remote_addr or "unknown"


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # seconds until the spent budget has room again


def _limits() -> list[tuple[str, RateLimitItem]]:
    config = current_app.config
    return [("pair", parse(config["LOGIN_FAILURES_LIMIT"])),
            ("account", parse(config["LOGIN_ACCOUNT_LIMIT"])),
            ("address", parse(config["LOGIN_ADDRESS_LIMIT"]))]


def _keys(account: str, address: str) -> dict[str, tuple[str, ...]]:
    return {"pair": ("login-pair", address, account), "account": ("login-account", account),
            "address": ("login-address", address)}


def check(username: str) -> Refusal | None:
    """A refusal when one of the budgets this attempt counts against is spent, else None."""
    account, address = normalise(username), client_address()
    keys, strategy, waits = _keys(account, address), limiter.limiter, []
    exempt = known_device(account)
    for name, limit in _limits():
        if name == "account" and exempt:
            continue
        if not strategy.test(limit, *keys[name]):
            reset_at = strategy.get_window_stats(limit, *keys[name]).reset_time
            waits.append(max(1, math.ceil(reset_at - time.time())))
    return Refusal(max(waits)) if waits else None


def failed(username: str) -> None:
    """Count a wrong password against every budget of this attempt."""
    account, address = normalise(username), client_address()
    keys, strategy = _keys(account, address), limiter.limiter
    for name, limit in _limits():
        strategy.hit(limit, *keys[name])


def succeeded(username: str, response: Response) -> Response:
    """The account signed in here: this address's failures for it are forgiven, the device is remembered."""
    account = normalise(username)
    limiter.limiter.clear(_limits()[0][1], *_keys(account, client_address())["pair"])
    mark = _mark(account)
    names = [mark, *(n for n in _device_names() if n != mark)][:DEVICE_NAMES_KEPT]
    config = current_app.config
    response.set_cookie(DEVICE_COOKIE, _serializer().dumps(names), max_age=DEVICE_DAYS * 86400, httponly=True,
                        secure=bool(config.get("SESSION_COOKIE_SECURE")), samesite="Lax",
                        path=config.get("APPLICATION_ROOT") or "/")
    return response


def known_device(account: str) -> bool:
    return _mark(account) in _device_names()


def _mark(account: str) -> str:
    """The account as the device cookie keeps it: a keyed digest, so the cookie does not list who signed in."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"device|{account}".encode(), hashlib.sha256).hexdigest()[:24]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="complaintflow-known-device")


def _device_names() -> list[str]:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return []
    try:
        names = _serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
