"""Real peers on loopback for the notice channels: an SMTP server (aiosmtpd) and webhook servers.

Each peer counts what it got by the idempotency key the message carries (the e-mail's
Message-ID, the webhooks' ``Idempotency-Key`` header), so a test can tell "delivered once"
from "delivered twice", and can be told to refuse (SMTP 550, HTTP 500) to exercise retries.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (openssl), and a server context holding it; the client trusts the file."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


class SmtpPeer:
    """An SMTP server that keeps every message; ``refuse`` makes it answer 550 to each one."""

    def __init__(self, user: str | None = None, password: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.ids: Counter[str] = Counter()
        self.refuse = False
        self._lock = threading.Lock()
        self.port = free_port()
        self.user, self.password = user, password
        options: dict = {}
        if user:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": tls is not None}
        if tls is not None:  # STARTTLS offered and required before anything else
            options.update(tls_context=tls, require_starttls=True)
        self.starttls = tls is not None
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user \
            and auth_data.password.decode() == self.password
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 (aiosmtpd's hook)
        if self.refuse:
            return "550 5.7.1 mailbox unavailable"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.ids[message["Message-ID"]] += 1
        return "250 OK"

    @property
    def url(self) -> str:
        auth = f"{quote(self.user, safe='')}:{quote(self.password or '', safe='')}@" if self.user else ""
        return f"smtp://{auth}127.0.0.1:{self.port}" + ("?starttls=1" if self.starttls else "")

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def __enter__(self) -> SmtpPeer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class WebhookPeer:
    """An HTTP server for a robot webhook or an SMS gateway; checks each request with ``verify``.

    ``verify(path_and_query, body) -> str | None`` returns why a request is wrong (answered
    400 and kept in ``rejected``); ``status`` makes every request fail with that HTTP status.
    """

    def __init__(self, kind: str, secret: str | None = None) -> None:
        self.kind, self.secret = kind, secret
        self.bodies: list[dict] = []
        self.keys: Counter[str] = Counter()
        self.rejected: list[str] = []
        self.status = 200
        self._lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's hook)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if peer.status != 200:
                    self.send_response(peer.status)
                    self.end_headers()
                    return
                try:
                    payload = json.loads(body)
                    problem = peer.verify(self.path, payload)
                except ValueError:
                    payload, problem = None, "not JSON"
                with peer._lock:
                    if problem:
                        peer.rejected.append(problem)
                    else:
                        peer.bodies.append(payload)
                        peer.keys[self.headers.get("Idempotency-Key", "")] += 1
                answer = {"errcode": 310000, "errmsg": problem} if problem else {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/robot/send?access_token=t0ken"

    def verify(self, path: str, payload: dict) -> str | None:
        if self.kind == "dingtalk":
            query = parse_qs(urlsplit(path).query)
            if query.get("access_token") != ["t0ken"]:
                return "access_token"
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not timestamp.isdigit() or abs(int(timestamp) / 1000 - time.time()) > 3600:
                return "timestamp"
            expected = base64.b64encode(hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(sign, expected):  # parse_qs has undone the URL encoding
                return "sign"
            markdown = payload.get("markdown") or {}
            if payload.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
                return "payload"
        elif self.kind == "wecom":
            if payload.get("msgtype") != "markdown" or not (payload.get("markdown") or {}).get("content"):
                return "payload"
            if len(payload["markdown"]["content"].encode()) > 4096:
                return "content too long"
        elif self.kind == "sms" and not (payload.get("to") and payload.get("template") and payload.get("key")):
            return "payload"
        return None

    def __enter__(self) -> WebhookPeer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
