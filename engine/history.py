"""The hash-chained event log: every state change appends one event, nothing is ever updated.

Each event's hash covers the previous hash and the event's own fields, so changing,
removing, inserting or reordering an event breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.store.db import Database
from engine.store.models import ChainHead, Event

GENESIS = "0" * 64
BATCH = 5000


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the text that is hashed (one encoder, built once)."""
    return _CANONICAL.encode(value)


PURGED = '{"purged":true}'  # what a purged event's payload becomes; its digest stays in payload_digest


def payload_digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, seq: int, case_number: str | None, at: datetime, actor: str, kind: str,
               deployment_version: int | None, payload: str, digest_of_payload: str | None = None) -> str:
    """The chain hash covers the payload through its digest, so a purge after the retention period
    can drop the payload and keep the digest: the chain stays verifiable."""
    pd = digest_of_payload if digest_of_payload is not None else payload_digest(payload)
    material = canonical([prev_hash, seq, case_number, at.isoformat(), actor, kind, deployment_version, pd])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


_H, _E = ChainHead.__table__, Event.__table__
READ_HEAD = select(_H.c.seq, _H.c.hash).where(_H.c.id == 1).with_for_update()
INSERT_EVENT = insert(_E)
MOVE_HEAD = update(_H).where(_H.c.id == 1).values(
    seq=bindparam("new_seq", type_=_H.c.seq.type), hash=bindparam("new_hash", type_=_H.c.hash.type))


def append(session: Session, *, case_number: str | None, at: datetime, actor: str, kind: str,
           payload: dict, deployment_version: int | None) -> str:
    """Append inside the caller's transaction and return the event's hash.

    The head row lock orders concurrent writers, so the chain never forks.
    """
    conn = session.connection()
    head = conn.execute(READ_HEAD).one()
    seq = head.seq + 1
    text = canonical(payload)
    digest = event_hash(head.hash, seq, case_number, at, actor, kind, deployment_version, text)
    conn.execute(INSERT_EVENT, {
        "seq": seq, "case_number": case_number, "at": at, "actor": actor, "kind": kind, "payload": text,
        "deployment_version": deployment_version, "prev_hash": head.hash, "hash": digest})
    conn.execute(MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    return digest


@dataclass(frozen=True)
class HistoryEvent:
    seq: int
    case_number: str | None
    at: datetime
    actor: str
    kind: str
    payload: dict
    deployment_version: int | None
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.ok


class History:
    def __init__(self, db: Database) -> None:
        self._db = db

    def events(self, number: str) -> list[HistoryEvent]:
        with self._db.read() as session:
            rows = session.scalars(select(Event).where(Event.case_number == number).order_by(Event.seq)).all()
            return [
                HistoryEvent(r.seq, r.case_number, r.at, r.actor, r.kind, json.loads(r.payload),
                             r.deployment_version, r.hash)
                for r in rows
            ]

    def verify(self, progress: Progress | None = None, up_to: int | None = None, *,
               after: tuple[int, str] | None = None, anchors: Mapping[int, str] | None = None,
               batch_size: int = BATCH) -> VerifyResult:
        """Recompute the chain in batches (constant memory); name the first event that does not fit.

        ``progress(checked, total)`` is called after every batch. ``up_to`` stops after that event
        (and skips the chain-head check). ``after=(seq, hash)`` starts from a trusted point, such as a
        seal, instead of the beginning. ``anchors`` maps seq -> the hash the chain must have there
        (seals): a tail rewritten with fresh hashes passes the plain check but not its anchors.
        ``checked`` is the last event known good: the chain is intact through it. Events are read
        ``batch_size`` at a time, so memory stays the same however long the history is.
        """
        anchors = {seq: digest for seq, digest in (anchors or {}).items() if seq > (after[0] if after else 0)}
        last, prev = after if after else (0, GENESIS)
        prev2: str | None = None  # the hash before ``prev``: tells an inserted event from a changed one
        matched_anchor = after[0] if after else None
        purged: dict[str | None, int] = {}  # case -> its first purged event
        purges: dict[str | None, int] = {}  # case -> the event that recorded its purge
        with self._db.read() as session:
            if self._db.dialect == "postgresql":  # one snapshot: appends made meanwhile are not half-seen
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            head = session.execute(READ_HEAD_PLAIN).one_or_none()
            total = up_to if up_to is not None else max(head.seq if head else 0, last)
            query = SELECT_EVENTS.limit(batch_size)
            if up_to is not None:
                query = query.where(_E.c.seq <= up_to)
            while True:
                rows = session.execute(query, {"after": last}).all()
                if not rows:
                    break
                for r in rows:
                    seq, case_number, at, actor, kind, payload, version, prev_hash, digest, kept = r  # not r.seq
                    if seq != last + 1:
                        return VerifyResult(False, last, last + 1, f"event {last + 1} is missing (the next stored "
                                            f"is {seq}): it was removed")
                    if kept is not None:  # purged: its content is gone, its digest must be all that is left
                        if payload != PURGED:
                            return VerifyResult(False, seq - 1, seq, f"event {seq} claims to be purged but still "
                                                f"carries a payload: it was changed")
                        purged.setdefault(case_number, seq)
                    if kind == "case_purged":
                        purges[case_number] = seq
                    if prev_hash != prev or event_hash(prev, seq, case_number, at, actor, kind, version,
                                                       payload, kept) != digest:
                        bad, reason = _diagnose(session, r, prev, prev2)
                        return VerifyResult(False, bad - 1, bad, reason)
                    prev2, prev, last = prev, digest, seq
                    if last in anchors:
                        if anchors[last] != prev:
                            since = f"after event {matched_anchor}" if matched_anchor else "from the start"
                            return VerifyResult(False, last - 1, last, (
                                f"the chain no longer reaches the sealed hash at event {last}: events {since} "
                                f"up to {last} were rewritten and their hashes recomputed"))
                        matched_anchor = last
                if progress is not None:
                    progress(last, max(total, last))
            unrecorded = [seq for number, seq in purged.items() if purges.get(number, 0) < seq]
            if unrecorded:
                first = min(unrecorded)
                return VerifyResult(False, first - 1, first, (
                    f"event {first} was emptied as if purged, but no purge of its case is recorded: "
                    f"its content was removed"))
            beyond = [seq for seq in anchors if seq > last]
            if beyond:
                return VerifyResult(False, last, last + 1, (
                    f"the history ends at event {last} but a seal covers event {max(beyond)}: "
                    f"events {last + 1} to {max(beyond)} were removed"))
            if up_to is None:
                if head is None:
                    return VerifyResult(False, last, None, "the chain head is missing")
                if head.seq > last:
                    return VerifyResult(False, last, last + 1, (
                        f"the chain head says {head.seq} events but the history ends at event {last}: "
                        f"event {last + 1} and any after it were removed"))
                if head.seq < last:
                    return VerifyResult(False, head.seq, head.seq + 1, (
                        f"event {head.seq + 1} lies beyond the chain head ({head.seq}): it was inserted"))
                if head.hash != prev:
                    return VerifyResult(False, last - 1, last, (
                        f"the chain head does not match event {last}: it or the head was rewritten"))
        if progress is not None:
            progress(last, max(total, last))
        return VerifyResult(True, last)


Progress = Callable[[int, int], None]
READ_HEAD_PLAIN = select(_H.c.seq, _H.c.hash).where(_H.c.id == 1)
SELECT_EVENTS = (
    select(_E.c.seq, _E.c.case_number, _E.c.at, _E.c.actor, _E.c.kind, _E.c.payload, _E.c.deployment_version,
           _E.c.prev_hash, _E.c.hash, _E.c.payload_digest)
    .where(_E.c.seq > bindparam("after", type_=_E.c.seq.type)).order_by(_E.c.seq).limit(BATCH)
)


def _own_hash(r: Any, seq: int) -> str:
    """The hash ``r`` would have at ``seq`` chained to its own stored ``prev_hash``."""
    return event_hash(r.prev_hash, seq, r.case_number, r.at, r.actor, r.kind, r.deployment_version, r.payload,
                      r.payload_digest)


def _diagnose(session: Session, r: Any, prev: str, prev2: str | None) -> tuple[int, str]:
    """Event ``r`` does not fit after a chain ending in ``prev``: which event is bad, and how.

    Looks one event back (``prev2``) and one ahead, so that an inserted event, a reordering, a
    removal with renumbering and a change whose hash was recomputed are each named as such.
    """
    after = session.execute(SELECT_EVENTS.limit(1), {"after": r.seq}).one_or_none()
    following = after if after is not None and after.seq == r.seq + 1 else None
    if r.prev_hash == prev:
        if following is not None and following.prev_hash == prev:
            return r.seq, f"event {r.seq} was inserted: event {following.seq} was chained directly to the one before it"
        return r.seq, f"event {r.seq} does not match its hash: its content was changed"
    if prev2 is not None and r.prev_hash == prev2:
        return r.seq - 1, (f"event {r.seq - 1} was inserted: event {r.seq} was chained directly to "
                           f"event {r.seq - 2}")
    if _own_hash(r, r.seq) == r.hash and r.seq > 1:
        return r.seq - 1, (f"event {r.seq - 1} was changed and its hash recomputed: event {r.seq} was chained "
                           f"to a different version of it")
    if following is not None and following.hash == r.prev_hash and following.prev_hash == prev:
        return r.seq, f"events {r.seq} and {r.seq + 1} were swapped: they are in the wrong order"
    if _own_hash(r, r.seq + 1) == r.hash:
        return r.seq, (f"event {r.seq} is missing: it was removed and the later events renumbered "
                       f"(the one now stored as {r.seq} was {r.seq + 1})")
    return r.seq, (f"event {r.seq} does not follow event {r.seq - 1}: it was moved, inserted or its content "
                   f"changed")
