"""The channels a notice goes out on, each speaking its real protocol.

A channel's ``send`` either returns (the peer took the message) or raises ``ChannelFailed``
with a code from ``engine.refusals`` and the facts its message needs. Every message carries
the delivery's idempotency key where the protocol has room for it: the e-mail's Message-ID,
an ``Idempotency-Key`` header on webhooks and the gateway's ``key`` field, so a resend after
a worker died mid-send is recognisable as the same message by the peer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache
from urllib.parse import quote_plus

from engine.notify.settings import DINGTALK, EMAIL, SMS, WECOM, ChannelSettings


class ChannelFailed(Exception):  # noqa: N818 (a result of sending, not a bug)
    """The peer did not take the message; ``code`` names why (words in engine/refusals.py)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code, self.params = code, {key: str(value)[:300] for key, value in params.items()}
        super().__init__(code, self.params)


@dataclass(frozen=True)
class Outgoing:
    """One rendered notice for one address on one channel."""

    key: str  # the delivery's idempotency key
    title: str
    text: str
    html: str | None
    address: str | None  # e-mail address or phone number; None for group robots and the app
    subject: str  # the notice's subject code (SMS gateways pick their template by it)
    values: dict[str, str]  # the template variables (SMS gateways fill their own templates)
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (file name, content type, bytes): e-mail only


def message_id(key: str) -> str:
    """The e-mail's Message-ID for a delivery: the same for every attempt, so a resend is a duplicate."""
    return f"<{key}@complaintflow>"


def send_email(settings: ChannelSettings, out: Outgoing) -> None:
    smtp = settings.smtp
    if smtp is None:
        raise ChannelFailed("delivery_not_configured", channel=EMAIL)
    if not out.address:
        raise ChannelFailed("delivery_no_address")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.mail_from, out.address, out.title
    mail["Message-ID"], mail["Date"] = message_id(out.key), formatdate(localtime=False)
    mail.set_content(out.text)
    if out.html:
        mail.add_alternative(out.html, subtype="html")
    for filename, content_type, data in out.attachments:
        maintype, _, subtype = content_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    try:
        context = _tls_context(smtp.cafile) if smtp.ssl or smtp.starttls else None
        with (smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=settings.timeout, context=context) if smtp.ssl
              else smtplib.SMTP(smtp.host, smtp.port, timeout=settings.timeout)) as client:
            if smtp.starttls:
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            client.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        raise ChannelFailed("delivery_smtp_refused", detail=f"{exc.smtp_code} {_decoded(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()))
        raise ChannelFailed("delivery_smtp_refused", detail=f"{code} {_decoded(reason)}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelFailed("delivery_unreachable", channel=EMAIL, detail=type(exc).__name__) from None


@lru_cache(maxsize=8)
def _tls_context(cafile: str | None) -> ssl.SSLContext:
    """The server's certificate is always verified; loading the CA bundle costs ~0.2 s, so once per file."""
    return ssl.create_default_context(cafile=cafile)


def dingtalk_url(webhook: str, secret: str | None, now_ms: int | None = None) -> str:
    """DingTalk's signed URL: ``timestamp`` and ``sign`` = base64(HMAC-SHA256(secret, "ts\\nsecret"))."""
    if not secret:
        return webhook
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    return f"{webhook}{'&' if '?' in webhook else '?'}timestamp={timestamp}&sign={sign}"


def send_dingtalk(settings: ChannelSettings, out: Outgoing) -> None:
    if not settings.dingtalk_webhook:
        raise ChannelFailed("delivery_not_configured", channel=DINGTALK)
    body = {"msgtype": "markdown", "markdown": {"title": out.title, "text": f"### {out.title}\n\n{out.text}"}}
    _robot(DINGTALK, dingtalk_url(settings.dingtalk_webhook, settings.dingtalk_secret), body, out.key,
           settings.timeout)


def send_wecom(settings: ChannelSettings, out: Outgoing) -> None:
    if not settings.wecom_webhook:
        raise ChannelFailed("delivery_not_configured", channel=WECOM)
    body = {"msgtype": "markdown", "markdown": {"content": f"**{out.title}**\n{out.text}"}}
    _robot(WECOM, settings.wecom_webhook, body, out.key, settings.timeout)


def send_sms(settings: ChannelSettings, out: Outgoing) -> None:
    """The gateway gets the template name (the subject), its values and the text, and answers 2xx."""
    if not settings.sms_url:
        raise ChannelFailed("delivery_not_configured", channel=SMS)
    if not out.address:
        raise ChannelFailed("delivery_no_address")
    body = {"to": out.address, "template": out.subject, "params": out.values, "text": out.text, "key": out.key}
    _post(SMS, settings.sms_url, body, out.key, settings.timeout)


def _robot(channel: str, url: str, body: dict, key: str, timeout: float) -> None:
    """Both robots answer HTTP 200 with ``{"errcode": 0}``; anything else is a refusal."""
    answer = _post(channel, url, body, key, timeout)
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        result = {}
    if result.get("errcode", 0) != 0:
        raise ChannelFailed("delivery_robot_error", channel=channel, errcode=result.get("errcode"),
                            errmsg=result.get("errmsg", ""))


def _post(channel: str, url: str, body: dict, key: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        raise ChannelFailed("delivery_http_status", channel=channel, status=exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelFailed("delivery_unreachable", channel=channel, detail=type(exc).__name__) from None


def _decoded(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


SENDERS = {EMAIL: send_email, DINGTALK: send_dingtalk, WECOM: send_wecom, SMS: send_sms}
