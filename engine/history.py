"""The history: one hash chain per case, written in the case's own transaction, and one Merkle log over all.

Every state change appends one event to its *stream* (its case, or ``system`` for events without a
case such as deploys): the event's hash covers the previous event of the same stream, its number in
the stream and its own fields, and the stream's head moves with it (a case's on its own row,
``case.head_seq``/``head_hash``, moved by the step's update of that row; the system stream's in
``stream_head``). Writers of two cases never touch the same row, so no write waits on another case
and none takes a global lock.

The sequencer (``History.sequence``, run every few seconds by the scheduler's lease holder and before
every seal) gives committed events their place in one append-only log, an RFC 9162 Merkle tree,
and stores each tree head it produced. Seals sign a tree head with a key the database never holds;
an inclusion proof (``engine.proofs``) shows a case's events are in a sealed tree.

``verify`` checks both: each case chain (naming the first changed, removed, inserted or reordered
event) and the log (every stored tree head recomputed from the events, each seal's root matched).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, insert, select, tuple_, union_all, update
from sqlalchemy.orm import Session

from engine import merkle
from engine.clock import Clock, SystemClock
from engine.errors import EngineError
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Case, Event, LogState, StreamHead, TreeHead
from engine.store.prepared import Prepared

GENESIS = "0" * 64
SYSTEM = "system"  # the stream of events that belong to no case
BATCH = 5000

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the text that is hashed (one encoder, built once)."""
    return _CANONICAL.encode(value)


PURGED = '{"purged":true}'  # what a purged event's payload becomes; its digest stays in payload_digest


def payload_digest(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_data(prev_hash: str, stream: str, stream_seq: int, case_number: str | None, at: datetime, actor: str,
              kind: str, deployment_version: int | None, digest_of_payload: str) -> bytes:
    """What an event's hash covers (and what a proof shows of it): readable JSON, never the payload itself.

    The payload enters through its digest, so a purge after the retention period can drop the
    payload and keep the digest: the chain and the log stay verifiable.
    """
    return canonical([prev_hash, stream, stream_seq, case_number, at.astimezone(UTC).isoformat(), actor, kind,
                      deployment_version, digest_of_payload]).encode("utf-8")


def event_hash(prev_hash: str, stream: str, stream_seq: int, case_number: str | None, at: datetime, actor: str,
               kind: str, deployment_version: int | None, payload: str, digest_of_payload: str | None = None) -> str:
    pd = digest_of_payload if digest_of_payload is not None else payload_digest(payload)
    return hashlib.sha256(event_data(prev_hash, stream, stream_seq, case_number, at, actor, kind, deployment_version,
                                    pd)).hexdigest()


def row_event_data(r: Any, prev_hash: str | None = None, stream_seq: int | None = None) -> bytes:
    """The event data of a stored event row (optionally as if chained to ``prev_hash`` at ``stream_seq``)."""
    return event_data(r.prev_hash if prev_hash is None else prev_hash, r.stream,
                     r.stream_seq if stream_seq is None else stream_seq, r.case_number, r.at, r.actor, r.kind,
                     r.deployment_version, r.payload_digest or payload_digest(r.payload))


def row_hash(r: Any, prev_hash: str | None = None, stream_seq: int | None = None) -> str:
    return hashlib.sha256(row_event_data(r, prev_hash, stream_seq)).hexdigest()


def log_leaf(digest: str) -> str:
    """An event's leaf in the Merkle log: its leaf data is the event's hash (32 bytes), which covers its
    content and its place in its case chain. The log pass of a full verify then only rehashes hashes."""
    return merkle.leaf_hash(bytes.fromhex(digest))


_E, _S, _L, _T, _C = Event.__table__, StreamHead.__table__, LogState.__table__, TreeHead.__table__, Case.__table__
READ_STREAM_HEAD = select(_S.c.seq, _S.c.hash).where(_S.c.stream == bindparam("stream")).with_for_update()
# A case's head is on its row (``case.head_seq``, ``case.head_hash``; 0 and NULL before its first event).
READ_CASE_HEAD = select(_C.c.head_seq, _C.c.head_hash).where(_C.c.number == bindparam("stream")).with_for_update(
    key_share=True)
MOVE_CASE_HEAD = Prepared(update(_C).where(
    _C.c.number == bindparam("head_stream"), _C.c.head_seq == bindparam("old_seq")).values(
    head_seq=bindparam("new_seq", type_=_C.c.head_seq.type),
    head_hash=bindparam("new_hash", type_=_C.c.head_hash.type)))
# Every state change appends: prepared (``engine.store.prepared``), as the rest of a step's writes.
INSERT_STREAM_HEAD = Prepared(insert(_S), ("stream", "seq", "hash"))
MOVE_STREAM_HEAD = Prepared(update(_S).where(
    _S.c.stream == bindparam("head_stream"), _S.c.seq == bindparam("old_seq")).values(
    seq=bindparam("new_seq", type_=_S.c.seq.type), hash=bindparam("new_hash", type_=_S.c.hash.type)))
INSERT_EVENT = Prepared(insert(_E), ("stream", "stream_seq", "case_number", "at", "actor", "kind", "payload",
                                     "deployment_version", "prev_hash", "hash"))


class Unread:
    """The caller has not read the stream's head: ``append`` reads (and locks) it."""


UNREAD = Unread()


class HeadMoved(RuntimeError):
    """The stream's head was not where the caller read it: an append to a case without its lock (a bug)."""


def append(session: Session, *, case_number: str | None, at: datetime, actor: str, kind: str,
           payload: dict, deployment_version: int | None) -> str:
    """Append inside the caller's transaction and return the event's hash.

    Only the stream's own head row is locked (the case's, which its writer already holds), so
    writers of different cases never wait on each other and the chain of one case never forks.
    """
    return append_at(session.connection(), UNREAD, case_number=case_number, at=at, actor=actor, kind=kind,
                     payload=payload, deployment_version=deployment_version)[1]


def append_at(conn: Connection, head: tuple[int, str] | None | Unread, *, case_number: str | None, at: datetime,
              actor: str, kind: str, payload: dict, deployment_version: int | None) -> tuple[int, str]:
    """``append`` for a writer that read the stream's head (``(seq, hash)``, None: no event yet) with its case's
    lock, saving a statement; returns the new head. The head's update checks it was read right (``HeadMoved``)."""
    stream = case_number or SYSTEM
    if isinstance(head, Unread):
        head = read_head(conn, case_number)
    (row,), new = chained(head, [(actor, kind, payload)], case_number=case_number, at=at,
                          deployment_version=deployment_version)
    INSERT_EVENT.run(conn, row)
    if case_number is not None and MOVE_CASE_HEAD.run(conn, {"head_stream": stream, "old_seq": head[0] if head else 0,
                                                             "new_seq": new[0], "new_hash": new[1]}) == 1:
        return new
    if case_number is not None and conn.execute(READ_CASE_HEAD, {"stream": stream}).first() is not None:
        raise HeadMoved(f"the head of stream {stream} is no longer at {head[0] if head else 0}")
    # A stream of no case (the system stream).
    if head is None:
        INSERT_STREAM_HEAD.run(conn, {"stream": stream, "seq": new[0], "hash": new[1]})
    elif MOVE_STREAM_HEAD.run(conn, {"head_stream": stream, "old_seq": head[0], "new_seq": new[0],
                                     "new_hash": new[1]}) != 1:
        raise HeadMoved(f"the head of stream {stream} is no longer at {head[0]}")
    return new


def read_head(conn: Connection, case_number: str | None) -> tuple[int, str] | None:
    """The stream's head, locked for this transaction (a case's from its row, else from ``stream_head``)."""
    stream = case_number or SYSTEM
    if case_number is not None:
        found = conn.execute(READ_CASE_HEAD, {"stream": stream}).first()
        if found is not None:
            return (found.head_seq, found.head_hash) if found.head_seq else None
    found = conn.execute(READ_STREAM_HEAD, {"stream": stream}).first()
    return (found.seq, found.hash) if found is not None else None


def chained(head: tuple[int, str] | None, events: list[tuple[str, str, dict]], *, case_number: str | None,
            at: datetime, deployment_version: int | None) -> tuple[list[dict], tuple[int, str] | None]:
    """The ``event`` rows of ``events`` ((actor, kind, payload) each) chained after ``head``, and the head they
    leave: nothing is written. The caller inserts the rows (``INSERT_EVENT``) and moves the head in the same
    transaction (a case step does both with its own statements: the head with the case row's update)."""
    stream = case_number or SYSTEM
    rows = []
    for actor, kind, payload in events:
        prev, seq = (head[1], head[0] + 1) if head is not None else (GENESIS, 1)
        text = canonical(payload)
        digest = event_hash(prev, stream, seq, case_number, at, actor, kind, deployment_version, text)
        rows.append({"stream": stream, "stream_seq": seq, "case_number": case_number, "at": at, "actor": actor,
                     "kind": kind, "payload": text, "deployment_version": deployment_version, "prev_hash": prev,
                     "hash": digest})
        head = (seq, digest)
    return rows, head


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
    stream_seq: int = 0
    log_index: int | None = None


@dataclass(frozen=True)
class VerifyResult:
    """``checked``: events whose chain was found intact before the first problem.

    A problem names the event by its id (``first_bad_seq``, when the row exists), its stream and
    number in it (``stream``, ``stream_seq``), or its place in the log (``log_index``).
    """

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    stream: str | None = None
    stream_seq: int | None = None
    log_index: int | None = None

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class TreeHeadView:
    size: int
    root: str
    at: datetime


class SequenceError(EngineError):
    """An event that does not fit its case chain was found while sequencing; it is not put in the log."""

    code = "history_broken"


Progress = Callable[[int, int], None]
_COLUMNS = (_E.c.seq, _E.c.stream, _E.c.stream_seq, _E.c.case_number, _E.c.at, _E.c.actor, _E.c.kind, _E.c.payload,
            _E.c.deployment_version, _E.c.prev_hash, _E.c.hash, _E.c.payload_digest, _E.c.log_index)
_AFTER = tuple_(bindparam("after_stream", type_=_E.c.stream.type), bindparam("after_seq", type_=_E.c.stream_seq.type))
_CASE_HAS_HEAD = _C.c.head_seq > 0  # a case's head on its row, else the stream's row in stream_head (if any)
CHAIN_ROWS = (
    select(*_COLUMNS, case((_CASE_HAS_HEAD, _C.c.head_seq), else_=_S.c.seq).label("head_seq"),
           case((_CASE_HAS_HEAD, _C.c.head_hash), else_=_S.c.hash).label("head_hash"))
    .select_from(_E.outerjoin(_S, _S.c.stream == _E.c.stream).outerjoin(_C, _C.c.number == _E.c.stream))
    .where(tuple_(_E.c.stream, _E.c.stream_seq) > _AFTER).order_by(_E.c.stream, _E.c.stream_seq)
)
STREAM_EVENT = select(*_COLUMNS).where(_E.c.stream == bindparam("stream"), _E.c.stream_seq == bindparam("n"))
_HEADS = union_all(select(_S.c.stream, _S.c.seq), select(_C.c.number.label("stream"), _C.c.head_seq.label("seq"))
                   .where(_CASE_HAS_HEAD)).subquery()
HEADS_WITHOUT_EVENTS = select(_HEADS.c.stream, _HEADS.c.seq).where(
    _HEADS.c.seq > 0, ~select(_E.c.seq).where(_E.c.stream == _HEADS.c.stream).exists()).order_by(
    _HEADS.c.stream).limit(1)
LOG_ROWS = (select(*_COLUMNS).where(_E.c.log_index >= bindparam("from_index", type_=_E.c.log_index.type))
            .order_by(_E.c.log_index))
LOG_HASHES = (select(_E.c.seq, _E.c.log_index, _E.c.hash)
              .where(_E.c.log_index >= bindparam("from_index", type_=_E.c.log_index.type)).order_by(_E.c.log_index))
HEADS_AFTER = select(_T.c.size, _T.c.root, _T.c.at).where(_T.c.size > bindparam("after_size")).order_by(_T.c.size)
_PREV = _E.alias("prev")
UNSEQUENCED = (
    select(*_COLUMNS, _PREV.c.hash.label("link"))
    .select_from(_E.outerjoin(_PREV, and_(_PREV.c.stream == _E.c.stream, _PREV.c.stream_seq == _E.c.stream_seq - 1)))
    .where(_E.c.log_index.is_(None)).order_by(_E.c.seq)
)
LOCK_LOG = select(_L.c.size, _L.c.root, _L.c.frontier).where(_L.c.id == 1).with_for_update()
READ_LOG = select(_L.c.size, _L.c.root, _L.c.frontier).where(_L.c.id == 1)
SET_LOG_INDEX = update(_E).where(_E.c.seq == bindparam("event_id")).values(
    log_index=bindparam("index", type_=_E.c.log_index.type))


def name(stream: str, n: int) -> str:
    """How an event is named to people: its place in its case's chain."""
    return f"event {n} of {'the system stream' if stream == SYSTEM else 'case ' + stream}"


class History:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    def events(self, number: str) -> list[HistoryEvent]:
        """A case's events in the order of its chain."""
        with self._db.read() as session:
            rows = session.scalars(select(Event).where(Event.stream == number).order_by(Event.stream_seq)).all()
            return [
                HistoryEvent(r.seq, r.case_number, r.at, r.actor, r.kind, json.loads(r.payload),
                             r.deployment_version, r.hash, r.stream_seq, r.log_index)
                for r in rows
            ]

    # -- the sequencer -------------------------------------------------------------------------

    def sequence(self, batch_size: int = BATCH) -> int:
        """Put every committed event not yet in the log into it, in batches; return how many.

        Safe to run in several processes at once (the log state row orders them; the second finds
        the work done) and idempotent. Each batch is one transaction that extends the tree and
        stores the new tree head. An event that does not fit its case chain (changed since it
        was written) is not sequenced: the events before it are, then ``SequenceError`` names it.
        """
        done = 0
        while True:
            with self._db.write() as session:
                conn = session.connection()
                state = conn.execute(LOCK_LOG).one()
                rows = conn.execute(UNSEQUENCED.limit(batch_size)).all()
                size, frontier, placed, broken = state.size, json.loads(state.frontier), [], None
                for r in rows:
                    expected_link = GENESIS if r.stream_seq == 1 else r.link
                    if r.prev_hash != expected_link or row_hash(r) != r.hash:
                        broken = r
                        break
                    merkle.push(frontier, size, log_leaf(r.hash))
                    placed.append({"event_id": r.seq, "index": size})
                    size += 1
                if placed:
                    conn.execute(SET_LOG_INDEX, placed)
                    top = merkle.root(frontier)
                    conn.execute(update(_L).where(_L.c.id == 1).values(size=size, root=top,
                                                                       frontier=json.dumps(frontier)))
                    conn.execute(insert(_T).values(size=size, root=top, frontier=json.dumps(frontier),
                                                   at=self._clock.now()))
            done += len(placed)
            if broken is not None:
                raise SequenceError(
                    f"{name(broken.stream, broken.stream_seq)} (id {broken.seq}) does not fit its case chain: it "
                    f"was changed after it was written; it and the events after it are not sequenced; run "
                    f"complaintflow verify")
            if len(rows) < batch_size:
                return done

    def tree_head(self) -> TreeHeadView:
        """The log's newest tree head."""
        with self._db.read() as session:
            state = session.execute(READ_LOG).one()
            at = session.scalar(select(_T.c.at).where(_T.c.size == state.size))
        return TreeHeadView(state.size, state.root, at or self._clock.now())

    def unsequenced(self) -> int:
        with self._db.read() as session:
            return session.scalar(select(func.count()).select_from(_E).where(_E.c.log_index.is_(None)))

    # -- verifying -----------------------------------------------------------------------------

    def verify(self, progress: Progress | None = None, *, anchors: Mapping[int, str] | None = None,
               chains: bool = True, log_from: tuple[int, str] | None = None,
               batch_size: int = BATCH) -> VerifyResult:
        """Check every case chain, then the log, in batches (constant memory); name the first problem.

        Case chains: each event's hash recomputed and linked to the one before it in its case,
        numbers without gaps, the stream's head at the last event. The log: events in log order
        without gaps, every stored tree head recomputed (so they are consistent with one another),
        each of ``anchors`` (size -> root, from seals) matched, the log state at the end.
        ``chains=False`` checks only the log; ``log_from=(size, root)`` starts the log there (a seal
        already checked). ``progress(done, total)`` is called after every batch, total being the
        events to chain-check plus the log entries to recompute.
        """
        with self._db.read() as session:
            if self._db.dialect == "postgresql":  # one snapshot: appends made meanwhile are not half-seen
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            conn = session.connection()
            events = conn.execute(select(func.count()).select_from(_E)).scalar_one() if chains else 0
            state = conn.execute(READ_LOG).one()
            start = log_from[0] if log_from else 0
            total = events + max(state.size - start, 0)
            ticks = _Ticks(progress, total)
            checked = 0
            if chains:
                result = _ChainCheck(conn, batch_size, ticks).run()
                if not result.ok:
                    return result
                checked = result.checked
            result = _LogCheck(conn, batch_size, ticks, state, anchors or {}, log_from, checked,
                               contents=not chains).run()
            if result.ok:
                ticks.done_all()
            return result


class _Ticks:
    """Progress reporting shared by both passes."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))

    def done_all(self) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))


class _Broken(Exception):
    def __init__(self, result: VerifyResult) -> None:
        self.result = result


class _ChainCheck:
    """Every stream's chain, stream by stream (by number in the stream), joined with its head."""

    def __init__(self, conn: Any, batch_size: int, ticks: _Ticks) -> None:
        self.conn, self.batch_size, self.ticks = conn, batch_size, ticks
        self.checked = 0
        self.stream: str | None = None

    def run(self) -> VerifyResult:
        try:
            self._run()
        except _Broken as broken:
            return broken.result
        return VerifyResult(True, self.checked)

    def fail(self, reason: str, seq: int | None, stream: str, n: int) -> None:
        raise _Broken(VerifyResult(False, self.checked, seq, reason, stream, n))

    def _rows(self) -> Iterator[Any]:
        after = ("", 0)
        query = CHAIN_ROWS.limit(self.batch_size)
        while True:
            rows = self.conn.execute(query, {"after_stream": after[0], "after_seq": after[1]}).all()
            yield from rows
            self.ticks.add(len(rows))
            if len(rows) < self.batch_size:
                return
            after = (rows[-1].stream, rows[-1].stream_seq)

    def _run(self) -> None:
        last: Any = None
        n, prev, prev2 = 0, GENESIS, None
        first_purged: tuple[int, int] | None = None
        purge_recorded: int | None = None
        for r in self._rows():
            if last is None or r.stream != last.stream:
                if last is not None:
                    self._close(last, n, prev, first_purged, purge_recorded)
                n, prev, prev2, first_purged, purge_recorded = 0, GENESIS, None, None, None
                if r.head_seq is None:
                    self.fail(f"{name(r.stream, r.stream_seq)} belongs to a chain that has no head: the events of "
                              f"{r.stream} were inserted", r.seq, r.stream, r.stream_seq)
            if r.stream_seq != n + 1:
                if r.stream_seq > n + 1:
                    self.fail(f"{name(r.stream, n + 1)} is missing (the next stored is {r.stream_seq}): "
                              f"it was removed", None, r.stream, n + 1)
                self.fail(f"{name(r.stream, r.stream_seq)} comes twice: it was inserted", r.seq, r.stream,
                          r.stream_seq)
            if r.payload_digest is not None:  # purged: its content is gone, its digest must be all that is left
                if r.payload != PURGED:
                    self.fail(f"{name(r.stream, r.stream_seq)} claims to be purged but still carries a payload: "
                              f"it was changed", r.seq, r.stream, r.stream_seq)
                first_purged = first_purged or (r.stream_seq, r.seq)
            if r.kind == EventKind.CASE_PURGED:
                purge_recorded = r.stream_seq
            if r.prev_hash != prev or row_hash(r) != r.hash:
                bad, reason = self._diagnose(r, prev, prev2)
                self.fail(reason, r.seq if bad == r.stream_seq else None, r.stream, bad)
            prev2, prev, n, last = prev, r.hash, r.stream_seq, r
            self.checked += 1
        if last is not None:
            self._close(last, n, prev, first_purged, purge_recorded)
        orphan = self.conn.execute(HEADS_WITHOUT_EVENTS).first()
        if orphan is not None:
            self.fail(f"the chain head of {orphan.stream} says {orphan.seq} events but none is stored: "
                      f"they were removed", None, orphan.stream, 1)

    def _close(self, last: Any, n: int, prev: str, first_purged: tuple[int, int] | None,
               purge_recorded: int | None) -> None:
        stream = last.stream
        if first_purged is not None and (purge_recorded or 0) < first_purged[0]:
            self.fail(f"{name(stream, first_purged[0])} was emptied as if purged, but no purge of its case is "
                      f"recorded: its content was removed", first_purged[1], stream, first_purged[0])
        if last.head_seq > n:
            self.fail(f"the chain head of {stream} says {last.head_seq} events but its chain ends at event {n}: "
                      f"event {n + 1} and any after it were removed", None, stream, n + 1)
        if last.head_seq < n:
            self.fail(f"{name(stream, last.head_seq + 1)} lies beyond its chain head ({last.head_seq}): it was "
                      f"inserted", None, stream, last.head_seq + 1)
        if last.head_hash != prev:
            self.fail(f"the chain head of {stream} does not match {name(stream, n)}: it or the head was rewritten",
                      last.seq, stream, n)

    def _diagnose(self, r: Any, prev: str, prev2: str | None) -> tuple[int, str]:
        """Event ``r`` does not fit after a chain ending in ``prev``: which event is bad, and how.

        Looks one event back (``prev2``) and one ahead in the same stream, so that an inserted
        event, a reordering, a removal with renumbering and a change whose hash was recomputed
        are each named as such.
        """
        n, s = r.stream_seq, r.stream
        following = self.conn.execute(STREAM_EVENT, {"stream": s, "n": n + 1}).first()
        if r.prev_hash == prev:
            if following is not None and following.prev_hash == prev:
                return n, f"{name(s, n)} was inserted: event {n + 1} was chained directly to the one before it"
            return n, f"{name(s, n)} does not match its hash: its content was changed"
        if prev2 is not None and r.prev_hash == prev2:
            return n - 1, f"{name(s, n - 1)} was inserted: event {n} was chained directly to event {n - 2}"
        if row_hash(r) == r.hash and n > 1:
            return n - 1, (f"{name(s, n - 1)} was changed and its hash recomputed: event {n} was chained to a "
                           f"different version of it")
        if following is not None and following.hash == r.prev_hash and following.prev_hash == prev:
            return n, f"events {n} and {n + 1} of {s} were swapped: they are in the wrong order"
        if row_hash(r, stream_seq=n + 1) == r.hash:
            return n, (f"{name(s, n)} is missing: it was removed and the later events renumbered "
                       f"(the one now stored as {n} was {n + 1})")
        return n, f"{name(s, n)} does not follow event {n - 1}: it was moved, inserted or its content changed"


class _LogCheck:
    """The log in order: leaves recomputed from the events, every stored tree head and seal matched."""

    def __init__(self, conn: Any, batch_size: int, ticks: _Ticks, state: Any, anchors: Mapping[int, str],
                 log_from: tuple[int, str] | None, checked: int, contents: bool) -> None:
        self.conn, self.batch_size, self.ticks, self.state = conn, batch_size, ticks, state
        self.anchors, self.log_from, self.checked = dict(anchors), log_from, checked
        self.contents = contents  # also check each event against its hash (when the chains were not checked)

    def fail(self, reason: str, index: int | None, seq: int | None = None) -> VerifyResult:
        return VerifyResult(False, self.checked, seq, reason, log_index=index)

    def run(self) -> VerifyResult:
        size, frontier = 0, []
        if self.log_from is not None:
            size, trusted_root = self.log_from
            stored = self.conn.execute(select(_T.c.frontier).where(_T.c.size == size)).scalar_one_or_none()
            frontier = json.loads(stored) if stored is not None else []
            if merkle.root(frontier) != trusted_root:
                return self.fail(f"the stored tree head of size {size} no longer matches the sealed root: the log "
                                 f"up to there was rewritten", size - 1 if size else None)
        self.anchors = {k: v for k, v in self.anchors.items() if k > size}
        heads = self._heads(size)
        head = next(heads, None)
        matched = sealed = size  # the log matches its stored heads / its seals up to these sizes
        query = (LOG_ROWS if self.contents else LOG_HASHES).limit(self.batch_size)
        while True:
            rows = self.conn.execute(query, {"from_index": size}).all()
            for r in rows:
                if r.log_index != size:
                    return self.fail(f"log entry {size} is missing (the next is {r.log_index}): the event "
                                     f"sequenced there was removed or taken out of the log", size, r.seq)
                if self.contents and row_hash(r) != r.hash:
                    return self.fail(f"{name(r.stream, r.stream_seq)} (log entry {size}) does not match its hash: "
                                     f"its content was changed", size, r.seq)
                merkle.push(frontier, size, log_leaf(r.hash))
                size += 1
                while head is not None and head.size <= size:
                    if head.size == size and merkle.root(frontier) != head.root:
                        return self.fail(
                            f"the tree head of size {size} (made {head.at:%Y-%m-%d %H:%M:%S}) no longer matches the "
                            f"events in log entries {matched} to {size - 1}: one of them was changed after it was "
                            f"sequenced (its case chain recomputed to hide it)", matched)
                    matched = size
                    head = next(heads, None)
                if size in self.anchors:
                    if merkle.root(frontier) != self.anchors[size]:
                        return self.fail(
                            f"the log no longer reaches the sealed root at size {size}: events in log entries "
                            f"{sealed} to {size - 1} were changed or rewritten and their hashes recomputed", sealed)
                    sealed = size
            self.ticks.add(len(rows))
            if len(rows) < self.batch_size:
                break
        beyond = [k for k in self.anchors if k > size]
        if beyond:
            return self.fail(f"the log ends at {size} entries but a seal covers {max(beyond)}: log entries {size} to "
                             f"{max(beyond) - 1} were removed", size)
        if head is not None:
            return self.fail(f"the log ends at {size} entries but a tree head of size {head.size} was stored: log "
                             f"entries {size} to {head.size - 1} were removed", size)
        if self.state.size != size or self.state.root != merkle.root(frontier):
            return self.fail(f"the log state (size {self.state.size}) does not match the {size} entries in the log: "
                             f"it or the log was rewritten", min(size, self.state.size))
        return VerifyResult(True, self.checked)

    def _heads(self, after: int) -> Iterator[Any]:
        while True:
            rows = self.conn.execute(HEADS_AFTER.limit(1000), {"after_size": after}).all()
            yield from rows
            if len(rows) < 1000:
                return
            after = rows[-1].size
