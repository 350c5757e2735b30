"""Notices delivered: the outbox fanned out into deliveries, sent on each channel, shown in the app.

A step writes its notices into ``outbox`` in its own transaction and never waits on a channel,
so a case is never blocked by a notice. Afterwards ``deliver_due`` (run by the scheduler and
worker processes, any number at once on PostgreSQL) does three things, each in short
transactions of its own:

1. **plan**: an unplanned notice becomes one ``delivery`` row per recipient and wanted channel
   (one per notice for the group robots), each with an idempotency key; in-app rows are the
   notification list itself, so they are sent the moment they exist.
2. **claim**: due rows are taken with ``FOR UPDATE SKIP LOCKED`` and marked ``sending`` until a
   deadline (attempt counted). A worker that dies mid-send leaves the row to be claimed again
   once that deadline passes; it is resent with the same key (the e-mail's Message-ID), which is
   how the peer tells a resend from a new message.
3. **send and settle**: sent (with the time), or back to pending with exponential backoff, or
   parked as failed after the last attempt, with the reason's code.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.orm import Session

from engine import links, refusals, report_files, review_reports, roles
from engine.clock import Clock
from engine.errors import NotFound
from engine.notify import templates
from engine.notify.channels import SENDERS, ChannelFailed, Outgoing
from engine.notify.settings import APP, DEFAULT_WANTED, EMAIL, GROUP_CHANNELS, SMS, ChannelSettings
from engine.people import CUSTOMER
from engine.reports import Reports
from engine.store.db import Database
from engine.store.models import Case, CustomerContact, Delivery, Deployment, LinkToken, Notification, Person

log = logging.getLogger(__name__)
_D, _N, _C, _P = Delivery.__table__, Notification.__table__, Case.__table__, Person.__table__
_CC, _LT = CustomerContact.__table__, LinkToken.__table__
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CASE_COLUMNS = (_C.c.number, _C.c.deployment_id, _C.c.grade, _C.c.escalation_tier, _C.c.status, _C.c.channel,
                _C.c.complaint_type, _C.c.product_name)
GROUP = "group"  # the recipient of a robot message: the group the webhook posts to
UNSETTLED = ("pending", "sending")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart a failing channel is tried before the delivery is parked as failed."""

    attempts: int = 5
    first_backoff: float = 30.0  # seconds; doubles per attempt
    max_backoff: float = 3600.0
    claim_seconds: float = 60.0  # a claimed row is someone's for this long (longer than a send may take)

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        def read(name: str, default: float) -> float:
            value = os.environ.get(f"COMPLAINTFLOW_DELIVERY_{name}", "").strip()
            return float(value) if value else default

        return cls(int(read("ATTEMPTS", cls.attempts)), read("BACKOFF_SECONDS", cls.first_backoff),
                   read("MAX_BACKOFF_SECONDS", cls.max_backoff), read("CLAIM_SECONDS", cls.claim_seconds))

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_backoff, self.first_backoff * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class DeliveryStatus:
    """One notice on one channel, as the case page shows it."""

    notice_id: int
    recipient: str
    channel: str
    status: str  # pending | sending | sent | failed
    attempts: int
    sent_at: datetime | None
    next_at: datetime | None
    error_code: str | None
    error_params: dict[str, str]

    def reason(self, lang: str = "en") -> str:
        return refusals.render(self.error_code, self.error_params, lang) if self.error_code else ""


@dataclass(frozen=True)
class AppNotice:
    """One entry of a person's in-app notification list."""

    id: int
    case_number: str
    subject: str
    role: str
    created_at: datetime
    read_at: datetime | None
    must_act: bool  # the first recipient of the role: the notice is on their to-do list until opened


@dataclass(frozen=True)
class SentToCustomer:
    """A message the customer was sent, as the status page lists it."""

    title: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    channel: str
    recipient: str
    attempts: int
    notice_id: int
    subject: str
    role: str
    created_at: datetime
    case_id: int
    link_token: str | None  # a customer notice's single-use link
    case: dict  # the case columns a template may show, read with the claim
    person: dict  # the recipient's name, addresses and language ({} for a group)


class Notifications:
    """Delivery of the outbox, the in-app list, and delivery status per case."""

    def __init__(self, db: Database, clock: Clock, settings: ChannelSettings | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self._db, self._clock = db, clock
        self.settings = settings or ChannelSettings.from_environment()
        self.policy = policy or RetryPolicy.from_environment()
        self._files: dict[int, dict[str, str]] = {}
        self._files_lock = threading.Lock()

    # ------------------------------------------------------------ the worker

    def deliver_due(self, batch: int = 20) -> int:
        """Plan new notices, then claim and send one batch of due deliveries; how many were settled.

        Two indexed one-row reads first: an idle worker opens no write transaction (on SQLite a
        write transaction takes the one write lock the web app's steps need).
        """
        unplanned, due = self._waiting()
        if unplanned:
            self.plan(batch * 5)
        if not (due or unplanned):
            return 0
        claimed = self._claim(batch)
        for row in claimed:
            self._send(row)
        return len(claimed)

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set: drain what is due, then wait a poll interval; errors back off."""
        failures = 0
        while not stop.is_set():
            try:
                while not stop.is_set() and self.deliver_due():
                    pass
                failures = 0
                stop.wait(poll_seconds)
            except Exception:
                failures += 1
                log.exception("delivering notices failed (%d in a row)", failures)
                stop.wait(min(15.0, 0.5 * 2 ** (failures - 1)))

    def start(self, stop: threading.Event, senders: int = 1, poll_seconds: float = 1.0) -> list[threading.Thread]:
        """Delivery threads for a scheduler or worker process (one on SQLite: one writer at a time)."""
        count = max(1, senders) if self._db.dialect == "postgresql" else 1
        threads = [threading.Thread(target=self.run, args=(stop, poll_seconds), daemon=True, name=f"delivery-{n}")
                   for n in range(count)]
        for thread in threads:
            thread.start()
        return threads

    def _waiting(self) -> tuple[bool, bool]:
        """Whether a notice waits to be planned, and whether a delivery is due (both partial indexes)."""
        now = self._clock.now()
        with self._db.reading() as conn:
            unplanned = conn.scalar(select(_N.c.id).where(_N.c.planned_at.is_(None)).limit(1)) is not None
            due = conn.scalar(select(_D.c.id).where(_D.c.status.in_(UNSETTLED), _D.c.next_at <= now)
                              .limit(1)) is not None
        return unplanned, due

    def plan(self, limit: int = 100) -> int:
        """Fan unplanned notices out into delivery rows; in-app ones are sent as they are written."""
        now = self._clock.now()
        channels = self.settings.channels
        with self._db.write() as session:
            notices = session.execute(
                select(_N.c.id, _N.c.case_id, _N.c.recipients, _N.c.role).where(_N.c.planned_at.is_(None))
                .order_by(_N.c.id).limit(limit).with_for_update(skip_locked=True)).all()
            if not notices:
                return 0
            people = _people(session, {u for n in notices for u in n.recipients or ()})
            customers = _customers(session, {n.case_id for n in notices if n.role == CUSTOMER})
            rows = []
            for notice in notices:
                if notice.role == CUSTOMER:
                    rows.extend(self._fan_out_customer(notice, customers.get(notice.case_id, {}), channels, now))
                else:
                    rows.extend(self._fan_out(notice, people, channels, now))
            if rows:
                session.execute(insert(_D), rows)
            ids = [n.id for n in notices]
            session.execute(update(_N).where(_N.c.id.in_(ids)).values(planned_at=now))
            _settle_notices(session, ids, now)
        return len(notices)

    def _fan_out(self, notice, people: dict[str, dict], channels: tuple[str, ...], now: datetime) -> list[dict]:  # noqa: ANN001
        rows = []
        wanted_by_anyone: set[str] = set()

        def row(recipient: str, channel: str) -> dict:
            sent = channel == APP
            return {"notice_id": notice.id, "case_id": notice.case_id, "recipient": recipient, "channel": channel,
                    "key": f"cf-{notice.id}-{channel}-{recipient}"[:100], "status": "sent" if sent else "pending",
                    "attempts": 1 if sent else 0, "next_at": now, "sent_at": now if sent else None,
                    "created_at": now}

        for username in notice.recipients or ():
            person = people.get(username)
            if person is None:
                continue
            wanted = set(person["channels"] if person["channels"] is not None else DEFAULT_WANTED) | {APP}
            wanted_by_anyone |= wanted
            for channel in channels:
                if channel in GROUP_CHANNELS or channel not in wanted:
                    continue
                if (channel == EMAIL and not person["email"]) or (channel == SMS and not person["phone"]):
                    continue
                rows.append(row(username, channel))
        rows.extend(row(GROUP, channel) for channel in channels if channel in GROUP_CHANNELS
                    and channel in wanted_by_anyone)
        return rows

    @staticmethod
    def _fan_out_customer(notice, customer: dict, channels: tuple[str, ...], now: datetime) -> list[dict]:  # noqa: ANN001
        """The case's customer, at the contact given at intake: e-mail to an address, SMS to a phone number
        (where a gateway is configured); never the group robots or the app, which are the staff's."""
        channel = EMAIL if customer.get("email") else SMS if customer.get("phone") else None
        if channel is None or channel not in channels:
            return []
        return [{"notice_id": notice.id, "case_id": notice.case_id, "recipient": CUSTOMER, "channel": channel,
                 "key": f"cf-{notice.id}-{channel}-{CUSTOMER}", "status": "pending", "attempts": 0, "next_at": now,
                 "sent_at": None, "created_at": now}]

    def _claim(self, batch: int) -> list[_Claimed]:
        now = self._clock.now()
        with self._db.write() as session:
            ids = session.scalars(
                select(_D.c.id).where(_D.c.status.in_(UNSETTLED), _D.c.next_at <= now)
                .order_by(_D.c.next_at, _D.c.id).limit(batch).with_for_update(skip_locked=True)).all()
            if not ids:
                return []
            session.execute(update(_D).where(_D.c.id.in_(ids)).values(
                status="sending", attempts=_D.c.attempts + 1,
                next_at=now + timedelta(seconds=self.policy.claim_seconds)))
            rows = session.execute(
                select(_D.c.id, _D.c.key, _D.c.channel, _D.c.recipient, _D.c.attempts, _D.c.notice_id,
                       _N.c.subject, _N.c.role, _N.c.created_at, _D.c.case_id, _N.c.link_token, *CASE_COLUMNS)
                .join(_N, _N.c.id == _D.c.notice_id).join(_C, _C.c.id == _D.c.case_id)
                .where(_D.c.id.in_(ids)).order_by(_D.c.id)).all()
            people = _people(session, {r.recipient for r in rows})
            customers = _customers(session, {r.case_id for r in rows if r.recipient == CUSTOMER})
        width = len(_Claimed.__dataclass_fields__) - 2
        return [_Claimed(*r[:width], dict(zip([c.name for c in CASE_COLUMNS], r[width:], strict=True)),
                         customers.get(r.case_id, {}) if r.recipient == CUSTOMER else people.get(r.recipient, {}))
                for r in rows]

    def _send(self, claimed: _Claimed) -> None:
        try:
            out = self._render(claimed)
            sender = SENDERS.get(claimed.channel)
            if sender is None:
                raise ChannelFailed("delivery_not_configured", channel=claimed.channel)
            sender(self.settings, out)
        except ChannelFailed as exc:
            self._settle(claimed, exc.code, exc.params)
            return
        except Exception:
            log.exception("notice %s on %s could not be rendered", claimed.notice_id, claimed.channel)
            self._settle(claimed, "delivery_render_failed", {})
            return
        self._settle(claimed, None, {})

    def _render(self, claimed: _Claimed) -> Outgoing:
        case, person = claimed.case, claimed.person
        files = self._deployment_files(case["deployment_id"])
        language = person.get("locale") or "zh-CN"
        values = self._values(case, files, claimed.subject, claimed.role, person, claimed.created_at, language)
        attachments: tuple = ()
        if claimed.recipient == CUSTOMER:
            values.update(self.customer_link(claimed.link_token, case["deployment_id"]))
        options = templates.options(files, claimed.subject)
        if options.get("report"):
            report, extra = self._report(options, claimed, case["deployment_id"], claimed.channel == EMAIL)
            values.update(extra)
            attachments = (report,) if report else ()
        rendered = templates.render(files, claimed.subject, language, values)
        address = person.get("email") if claimed.channel == EMAIL else person.get("phone")
        return Outgoing(claimed.key, rendered.title, rendered.text, rendered.html, address, claimed.subject, values,
                        attachments)

    def _values(self, case: dict, files: dict[str, str], subject: str, role: str, person: dict,
                created_at: datetime, language: str) -> dict[str, str]:
        """The case's own columns a template may name (templates.VARIABLES), then what the notice adds."""
        values = {name: "" if value is None else str(value) for name, value in case.items()
                  if name in templates.VARIABLES}
        values.update(case_number=case["number"], subject=_subject_label(files, subject, language),
                      role=role, recipient=person.get("display_name", ""),
                      link=f"{self.settings.base_url}/cases/{case['number']}", created_at=created_at.isoformat())
        return values

    def customer_link(self, token: str | None, deployment_id: int) -> dict[str, str]:
        """``link`` (and ``link_expires``) of a customer notice: its signed single-use link when it has one
        and this process knows the secret the web app checks it with, else the status page."""
        status_page = {"link": f"{self.settings.base_url}/c/status", "link_expires": ""}
        if not token:
            return status_page
        with self._db.reading() as conn:
            row = conn.execute(select(_LT.c.purpose, _LT.c.expires_at).where(_LT.c.id == token)).first()
        if row is None or not self.settings.link_secret:
            if row is not None:
                log.warning("no COMPLAINTFLOW_SECRET_KEY: a customer notice links to the status page instead")
            return status_page
        expires = row.expires_at.astimezone(self._zone(deployment_id)).strftime("%Y-%m-%d %H:%M")
        return {"link": self.settings.base_url + links.path(self.settings.link_secret, row.purpose, token),
                "link_expires": expires}

    def _report(self, options: dict[str, str], claimed: _Claimed, deployment_id: int, as_file: bool
                ) -> tuple[tuple[str, str, bytes] | None, dict[str, str]]:
        """The report a notice carries: its period's compliance figures as XLSX (e-mail only), and the page's link.

        Each recipient's figures leave out the cases they are involved in, as the page does for them.
        """
        zone = self._zone(deployment_id)
        start, end = report_files.last_period(options["period"], claimed.created_at, zone)
        last_day = end - timedelta(days=1)
        report = None
        if as_file:
            viewer = None if claimed.recipient in (CUSTOMER, GROUP) else claimed.recipient
            found = Reports(self._db, self._clock).compliance(start, end, viewer=viewer)
            words = report_files.Wording(zone=zone, roles=roles.of_files(self._deployment_files(deployment_id)))
            report = (f"deadline-compliance-{start:%Y%m%d}-{last_day:%Y%m%d}.xlsx", XLSX,
                      report_files.to_xlsx(found, words))
            report = (f"deadline-compliance-{start:%Y%m%d}-{last_day:%Y%m%d}.xlsx", XLSX, report_files.to_xlsx(found))
        stored = review_reports.find_id(self._db, options["period"], claimed.created_at, zone)
        return report, {
            "report_link": f"{self.settings.base_url}/statistics/reports/{stored}" if stored else "",
            "link": f"{self.settings.base_url}/audit/report?from={start:%Y-%m-%d}&to={last_day:%Y-%m-%d}",
            "period_start": f"{start:%Y-%m-%d}", "period_end": f"{last_day:%Y-%m-%d}"}

    def _zone(self, deployment_id: int) -> ZoneInfo:
        with self._db.reading() as conn:
            calendar = conn.scalar(select(Deployment.__table__.c.calendar).where(
                Deployment.__table__.c.id == deployment_id)) or {}
        return ZoneInfo(calendar.get("timezone") or "Asia/Shanghai")

    def _deployment_files(self, deployment_id: int) -> dict[str, str]:
        """A deployment's files (its notice templates); deployments never change, so they are kept."""
        with self._files_lock:
            files = self._files.get(deployment_id)
        if files is None:
            with self._db.read() as session:
                files = session.scalar(select(Deployment.files).where(Deployment.id == deployment_id)) or {}
            with self._files_lock:
                self._files[deployment_id] = files
        return files

    def _settle(self, claimed: _Claimed, code: str | None, params: dict[str, str]) -> None:
        """Record the attempt's outcome, unless another worker reclaimed the row meanwhile."""
        now = self._clock.now()
        if code is None:
            values = {"status": "sent", "sent_at": now, "error": None}
        elif claimed.attempts >= self.policy.attempts:
            values = {"status": "failed", "error": _error(code, params)}
        else:
            values = {"status": "pending", "next_at": now + self.policy.backoff(claimed.attempts),
                      "error": _error(code, params)}
        with self._db.write() as session:
            session.execute(update(_D).where(_D.c.id == claimed.id, _D.c.status == "sending",
                                             _D.c.attempts == claimed.attempts).values(**values))
            _settle_notices(session, [claimed.notice_id], now)

    # ------------------------------------------------------------ what people and pages see

    def for_user(self, username: str, limit: int = 50) -> list[AppNotice]:
        """The person's in-app notices, newest first."""
        with self._db.read() as session:
            rows = session.execute(
                select(_D.c.id, _C.c.number, _N.c.subject, _N.c.role, _N.c.created_at, _D.c.read_at,
                       _N.c.recipients)
                .join(_N, _N.c.id == _D.c.notice_id).join(_C, _C.c.id == _D.c.case_id)
                .where(_D.c.recipient == username, _D.c.channel == APP)
                .order_by(_D.c.id.desc()).limit(limit)).all()
        return [AppNotice(r.id, r.number, r.subject, r.role, r.created_at, r.read_at,
                          bool(r.recipients) and r.recipients[0] == username) for r in rows]

    def unread_count(self, username: str) -> int:
        with self._db.reading(single_statement=True) as conn:
            return conn.scalar(select(func.count()).select_from(_D).where(
                _D.c.recipient == username, _D.c.channel == APP, _D.c.read_at.is_(None))) or 0

    def open(self, username: str, notice_id: int) -> str:
        """Mark the person's in-app notice read; returns its case number (the notice links to the case)."""
        now = self._clock.now()
        with self._db.write() as session:
            number = session.scalar(select(_C.c.number).join(_D, _D.c.case_id == _C.c.id).where(
                _D.c.id == notice_id, _D.c.recipient == username, _D.c.channel == APP))
            if number is None:
                raise NotFound(f"no notice {notice_id} for {username}")
            session.execute(update(_D).where(_D.c.id == notice_id, _D.c.read_at.is_(None)).values(read_at=now))
        return number

    def to_customer(self, case_number: str, language: str) -> list[SentToCustomer]:
        """What the case's customer was sent (title, text, when), oldest first: the status page shows it.

        Only notices that went out on some channel; rendered as the customer read them, links included
        (the page is shown to the customer alone, after the one-time code).
        """
        with self._db.read() as session:
            rows = session.execute(
                select(_N.c.id, _N.c.subject, _N.c.link_token, _N.c.created_at, func.min(_D.c.sent_at).label("sent_at"),
                       *CASE_COLUMNS)
                .join(_C, _C.c.id == _N.c.case_id).join(_D, _D.c.notice_id == _N.c.id)
                .where(_C.c.number == case_number, _N.c.role == CUSTOMER, _D.c.status == "sent")
                .group_by(_N.c.id, _N.c.subject, _N.c.link_token, _N.c.created_at, *CASE_COLUMNS)
                .order_by(_N.c.id)).all()
            case_id = session.scalar(select(_C.c.id).where(_C.c.number == case_number))
            customer = _customers(session, {case_id} if case_id is not None else set()).get(case_id, {})
        found = []
        for r in rows:
            case = {c.name: getattr(r, c.name) for c in CASE_COLUMNS}
            files = self._deployment_files(case["deployment_id"])
            values = self._values(case, files, r.subject, CUSTOMER, customer, r.created_at, language)
            values.update(self.customer_link(r.link_token, case["deployment_id"]))
            rendered = templates.render(files, r.subject, language, values)
            found.append(SentToCustomer(rendered.title, rendered.text.strip(), r.sent_at))
        return found

    def for_case(self, case_number: str) -> dict[int, list[DeliveryStatus]]:
        """Every delivery of the case's notices, by notice id (a notice not yet planned has none)."""
        with self._db.read() as session:
            rows = session.execute(
                select(_D.c.notice_id, _D.c.recipient, _D.c.channel, _D.c.status, _D.c.attempts, _D.c.sent_at,
                       _D.c.next_at, _D.c.error)
                .join(_C, _C.c.id == _D.c.case_id).where(_C.c.number == case_number)
                .order_by(_D.c.notice_id, _D.c.channel, _D.c.recipient)).all()
        found: dict[int, list[DeliveryStatus]] = {}
        for r in rows:
            code, params = _parse_error(r.error)
            found.setdefault(r.notice_id, []).append(DeliveryStatus(
                r.notice_id, r.recipient, r.channel, r.status, r.attempts, r.sent_at,
                r.next_at if r.status in UNSETTLED else None, code, params))
        return found


def _people(session: Session, usernames: set[str]) -> dict[str, dict]:
    if not usernames:
        return {}
    rows = session.execute(select(_P.c.username, _P.c.display_name, _P.c.email, _P.c.phone, _P.c.channels,
                                  _P.c.locale).where(_P.c.username.in_(sorted(usernames)))).all()
    return {r.username: r._asdict() for r in rows}


def _customers(session: Session, case_ids: set[int]) -> dict[int, dict]:
    """Each case's customer as a recipient: name, the contact as e-mail or phone, and their language."""
    if not case_ids:
        return {}
    rows = session.execute(select(_CC.c.case_id, _CC.c.name, _CC.c.contact, _CC.c.locale)
                           .where(_CC.c.case_id.in_(sorted(case_ids)))).all()
    found = {}
    for r in rows:
        contact = (r.contact or "").strip()
        email = contact if "@" in contact else None
        phone = contact if email is None and is_phone(contact) else None
        found[r.case_id] = {"display_name": r.name or "", "email": email, "phone": phone, "locale": r.locale}
    return found


def is_phone(contact: str) -> bool:
    """A contact an SMS can reach: digits (7 to 15) with at most a leading + and spaces or dashes."""
    digits = contact.removeprefix("+").replace(" ", "").replace("-", "")
    return digits.isdigit() and 7 <= len(digits) <= 15


def _subject_label(files: dict[str, str], subject: str, language: str) -> str:
    """The subject's words from the deployed ``labels.toml`` (``[notifications.CODE]``), else the code."""
    try:
        entry = templates.parse_toml(files.get("labels.toml", "")).get("notifications", {}).get(subject, {})
    except ValueError:
        return subject
    return str(entry.get("en" if language.lower().startswith("en") else "zh") or subject)


def _settle_notices(session: Session, notice_ids: list[int], now: datetime) -> None:
    """A notice is delivered once none of its deliveries is still to be tried (sent or parked as failed)."""
    open_delivery = exists().where(and_(_D.c.notice_id == _N.c.id, _D.c.status.in_(UNSETTLED)))
    session.execute(update(_N).where(_N.c.id.in_(notice_ids), _N.c.delivered_at.is_(None), ~open_delivery)
                    .values(delivered_at=now))


def _error(code: str, params: dict[str, str]) -> str:
    return json.dumps({"code": code, "params": params}, ensure_ascii=False)


def _parse_error(text: str | None) -> tuple[str | None, dict[str, str]]:
    if not text:
        return None, {}
    try:
        value = json.loads(text)
        return value.get("code"), dict(value.get("params") or {})
    except ValueError:
        return None, {}


__all__ = ["AppNotice", "SentToCustomer", "ChannelSettings", "DeliveryStatus", "Notifications", "RetryPolicy"]
