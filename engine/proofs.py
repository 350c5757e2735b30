"""Inclusion proofs: a case's events are in the sealed log, checkable without the database.

A proof is one JSON document: the seal (a signed tree head: size, root, time, HMAC) and, for each
event of the case in the sealed log, the event (the text its hash covers; that hash is the leaf
data), its leaf index and its RFC 9162 audit path. ``check`` recomputes each path up to the sealed
root (nothing needed), the case chain through the events (each one's ``prev_hash`` is the hash of
the one before, from the first), and with the seal key the seal's signature.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import merkle
from engine.errors import EngineError
from engine.history import GENESIS, LOG_ROWS, SYSTEM, log_leaf, name, row_event_data
from engine.seals import Seal, SealError, parse, seal_key
from engine.store.db import Database
from engine.store.models import Event

FORMAT = "complaintflow-proof/1"


class ProofError(EngineError):
    """No sealed event to prove, or a log that no longer matches its seal."""


@dataclass
class ProofCheck:
    ok: bool
    events: int
    problems: list[str] = field(default_factory=list)
    signature_checked: bool = False


class Proofs:
    def __init__(self, db: Database, batch_size: int = 5000) -> None:
        self._db, self._batch = db, batch_size

    def build(self, number: str, seal: Seal, seal_document: dict) -> dict:
        """The proof that case ``number``'s events up to the seal are leaves of its tree.

        One pass over the sealed log (constant memory besides the paths): every subtree hash an
        audit path needs is caught as the tree is rebuilt, and the rebuilt root must be the
        sealed one, else the database no longer holds what was sealed.
        """
        with self._db.read() as session:
            mine = session.execute(select(Event.log_index, Event.stream_seq).where(
                Event.stream == number, Event.log_index.is_not(None), Event.log_index < seal.size)
                .order_by(Event.stream_seq)).all()
            if not mine:
                raise ProofError(f"case {number} has no event in the sealed log (size {seal.size}): seal first")
            wanted = {span for index, _ in mine for span in merkle.path_ranges(index, seal.size)}
            indexes = {index for index, _ in mine}
            leaves: dict[int, bytes] = {}
            found: dict[tuple[int, int], str] = {}
            frontier: list[str] = []
            size = 0
            for r in self._sealed_rows(session.connection(), seal.size):
                if size in indexes:
                    leaves[size] = row_event_data(r)
                    if hashlib.sha256(leaves[size]).hexdigest() != r.hash:
                        raise ProofError(f"{name(r.stream, r.stream_seq)} no longer matches its hash: it was changed; "
                                         f"run complaintflow verify")
                merkle.push(frontier, size, log_leaf(r.hash),
                            lambda span, digest: found.__setitem__(span, digest) if span in wanted else None)
                size += 1
        if size != seal.size or merkle.root(frontier) != seal.root:
            raise ProofError(f"the log no longer matches the seal of size {seal.size}: run complaintflow verify "
                             f"--seal with it")
        events = []
        for index, _ in mine:
            path = [found.get(span) or merkle.range_hash_from_frontier(frontier, size, span)
                    for span in merkle.path_ranges(index, size)]
            events.append({"event": leaves[index].decode("utf-8"), "leaf_index": index, "audit_path": path})
        return {"format": FORMAT, "case": number, "tree_head": seal_document, "events": events}


    def _sealed_rows(self, conn, size: int) -> Iterator[Any]:  # noqa: ANN001
        """The events in log order from entry 0, up to ``size`` or the first gap."""
        index = 0
        while index < size:
            rows = conn.execute(LOG_ROWS.limit(self._batch), {"from_index": index}).all()
            for r in rows:
                if r.log_index != index or index >= size:
                    return
                yield r
                index += 1
            if len(rows) < self._batch:
                return


def check(document: object, key: bytes | str | None = None) -> ProofCheck:
    """Check a proof without the database; with ``key`` (or the seal key's environment) its seal too."""
    if (not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("events"),
                                                                                               list)
            or not isinstance(document.get("tree_head"), dict) or not isinstance(document.get("case"), str)):
        raise ProofError(f"not a complaintflow proof ({FORMAT} with case, tree_head and events expected)")
    head = document["tree_head"]
    problems: list[str] = []
    signature_checked = False
    try:
        size, root = int(head["size"]), str(head["root"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError("the proof's tree head has no size and root") from exc
    try:
        parse(head, seal_key(key), "in the proof")
        signature_checked = True
    except SealError as exc:
        if "no seal key" not in str(exc):
            problems.append(str(exc))
    prev = GENESIS
    for n, event in enumerate(document["events"], start=1):
        try:
            data = str(event["event"]).encode("utf-8")
            index, path = int(event["leaf_index"]), [str(p) for p in event["audit_path"]]
            fields = json.loads(data)
        except (KeyError, TypeError, ValueError):
            problems.append(f"event {n} of the proof is malformed")
            continue
        if merkle.root_from_path(index, size, log_leaf(hashlib.sha256(data).hexdigest()), path) != root:
            problems.append(f"event {n} (leaf {index}): its audit path does not lead to the sealed root")
        stream = document["case"] or SYSTEM
        if not isinstance(fields, list) or len(fields) != 9 or fields[1] != stream or fields[2] != n:
            problems.append(f"event {n} (leaf {index}) is not event {n} of case {document['case']}")
        elif fields[0] != prev:
            problems.append(f"event {n} (leaf {index}) is not chained to event {n - 1} of the case")
        prev = hashlib.sha256(data).hexdigest()
    return ProofCheck(not problems, len(document["events"]), problems, signature_checked)
