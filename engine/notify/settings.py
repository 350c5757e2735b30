"""Which channels this deployment can reach people on, read from the environment.

The names are the ones operators and checks rely on (issue 12): ``COMPLAINTFLOW_SMTP_URL``
(``smtp://user:password@host:port``, ``?starttls=1``; ``smtps://`` for TLS from the start;
``&cafile=/path`` for a server certificate signed by a private CA),
``COMPLAINTFLOW_MAIL_FROM``, ``COMPLAINTFLOW_DINGTALK_WEBHOOK`` and ``COMPLAINTFLOW_DINGTALK_SECRET``,
``COMPLAINTFLOW_WECOM_WEBHOOK``, ``COMPLAINTFLOW_SMS_URL``. With none of them set only in-app
notices go out, and the app says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

APP, EMAIL, DINGTALK, WECOM, SMS = "app", "email", "dingtalk", "wecom", "sms"
GROUP_CHANNELS = (DINGTALK, WECOM)  # one message per notice to a group, not one per person
DEFAULT_WANTED = (APP, EMAIL, DINGTALK, WECOM)  # a person who chose nothing: SMS costs money, so only on request


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    ssl: bool
    cafile: str | None = None  # a private CA's certificate (``?cafile=/path``); else the system's CAs

    @classmethod
    def parse(cls, url: str) -> SmtpSettings:
        """``smtp://user:password@host:port?starttls=1`` (or ``smtps://``) into its parts."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("COMPLAINTFLOW_SMTP_URL must look like smtp://user:password@host:port")
        query = parse_qs(parts.query)
        ssl = parts.scheme == "smtps"
        return cls(parts.hostname, parts.port or (465 if ssl else 25),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None,
                   query.get("starttls", ["0"])[0] in ("1", "true", "yes"), ssl, query.get("cafile", [None])[0])


@dataclass(frozen=True)
class ChannelSettings:
    smtp: SmtpSettings | None = None
    mail_from: str = "complaintflow@localhost"
    dingtalk_webhook: str | None = None
    dingtalk_secret: str | None = None
    wecom_webhook: str | None = None
    sms_url: str | None = None
    base_url: str = "http://127.0.0.1:5000"  # links in notices point here
    timeout: float = 10.0  # seconds one send may take (the claim lasts longer than this)
    link_secret: str | None = None  # COMPLAINTFLOW_SECRET_KEY: signs customers' links as the web app checks them

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ChannelSettings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"COMPLAINTFLOW_{name}", "").strip()
            return value or None

        smtp_url = get("SMTP_URL")
        return cls(SmtpSettings.parse(smtp_url) if smtp_url else None,
                   get("MAIL_FROM") or cls.mail_from, get("DINGTALK_WEBHOOK"), get("DINGTALK_SECRET"),
                   get("WECOM_WEBHOOK"), get("SMS_URL"), (get("BASE_URL") or cls.base_url).rstrip("/"),
                   link_secret=get("SECRET_KEY"))

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that can go out, in-app always first."""
        configured = {EMAIL: self.smtp, DINGTALK: self.dingtalk_webhook, WECOM: self.wecom_webhook, SMS: self.sms_url}
        return (APP, *(name for name, setting in configured.items() if setting))
