"""The hash-chained event log: every state change appends one event, nothing is ever updated.

Each event's hash covers the previous hash and the event's own fields, so changing,
removing, inserting or reordering an event breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.store.db import Database
from engine.store.models import ChainHead, Event

GENESIS = "0" * 64
BATCH = 5000


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str, seq: int, case_number: str | None, at: datetime, actor: str, kind: str,
               deployment_version: int | None, payload: str) -> str:
    material = canonical([prev_hash, seq, case_number, at.isoformat(), actor, kind, deployment_version, payload])
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

    def verify(self) -> VerifyResult:
        """Recompute the whole chain in batches; name the first event that does not fit."""
        prev, expected_seq, checked = GENESIS, 1, 0
        with self._db.read() as session:
            last = 0
            while True:
                rows = session.scalars(
                    select(Event).where(Event.seq > last).order_by(Event.seq).limit(BATCH)
                ).all()
                if not rows:
                    break
                for r in rows:
                    if r.seq != expected_seq:
                        return VerifyResult(False, checked, expected_seq if r.seq > expected_seq else r.seq,
                                            f"event {expected_seq} is missing (next stored is {r.seq})")
                    if r.prev_hash != prev:
                        return VerifyResult(False, checked, r.seq, "does not follow the previous event")
                    digest = event_hash(prev, r.seq, r.case_number, r.at, r.actor, r.kind,
                                        r.deployment_version, r.payload)
                    if digest != r.hash:
                        return VerifyResult(False, checked, r.seq, "its content was changed")
                    prev, expected_seq, checked = r.hash, expected_seq + 1, checked + 1
                last = rows[-1].seq
            head = session.get(ChainHead, 1)
            if head is not None and (head.seq != checked or head.hash != prev):
                return VerifyResult(False, checked, checked + 1 if head.seq > checked else head.seq,
                                    f"the chain head says {head.seq} events but {checked} were found")
        return VerifyResult(True, checked)
