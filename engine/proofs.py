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
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine import merkle
from engine.errors import EngineError
from engine.history import GENESIS, LOG_ROWS, SYSTEM, log_leaf, name, row_event_data
from engine.seals import Seal, SealError, parse, seal_key
from engine.store.db import Database
from engine.store.models import Event

FORMAT = "complaintflow-proof/1"
CONSISTENCY_FORMAT = "complaintflow-consistency/1"


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
            mine = session.execute(select(Event.log_index).where(
                Event.stream == number, Event.log_index.is_not(None), Event.log_index < seal.size)
                .order_by(Event.stream_seq)).scalars().all()
            if not mine:
                raise ProofError(f"case {number} has no event in the sealed log (size {seal.size}): seal first")
            hashes, leaves = self._subtrees(session, seal, {s for i in mine for s in merkle.path_ranges(i, seal.size)},
                                            set(mine))
        events = [{"event": leaves[index].decode("utf-8"), "leaf_index": index,
                   "audit_path": [hashes[span] for span in merkle.path_ranges(index, seal.size)]} for index in mine]
        return {"format": FORMAT, "case": number, "tree_head": seal_document, "events": events}

    def consistency(self, old: Seal, old_document: dict, new: Seal, new_document: dict) -> dict:
        """The proof that the log sealed by ``old`` is a prefix of the log sealed by ``new`` (RFC 9162)."""
        if not 0 < old.size <= new.size:
            raise ProofError(f"no consistency proof from size {old.size} to {new.size}: the older seal comes first")
        spans = merkle.consistency_ranges(old.size, new.size)
        with self._db.read() as session:
            hashes, _ = self._subtrees(session, new, set(spans), set())
        proof = [hashes[span] for span in spans]
        if not merkle.consistent(old.size, new.size, old.root, new.root, proof):
            raise ProofError(f"the log sealed at size {new.size} does not extend the one sealed at size {old.size}: "
                             f"the log was rewritten between them")
        return {"format": CONSISTENCY_FORMAT, "old": old_document, "new": new_document, "proof": proof}

    def _subtrees(self, session: Any, seal: Seal, spans: set[tuple[int, int]],
                  events: set[int]) -> tuple[dict[tuple[int, int], str], dict[int, bytes]]:
        """The hashes of ``spans`` (RFC 9162 subtrees of the sealed tree) and the data of the ``events``
        leaves, in one pass over the sealed log that must rebuild the sealed root."""
        found: dict[tuple[int, int], str] = {}
        leaves: dict[int, bytes] = {}
        frontier: list[str] = []
        size = 0
        for r in self._sealed_rows(session.connection(), seal.size):
            if size in events:
                leaves[size] = row_event_data(r)
                if hashlib.sha256(leaves[size]).hexdigest() != r.hash:
                    raise ProofError(f"{name(r.stream, r.stream_seq)} no longer matches its hash: it was changed; "
                                     f"run complaintflow verify")
            merkle.push(frontier, size, log_leaf(r.hash),
                        lambda span, digest: found.__setitem__(span, digest) if span in spans else None)
            size += 1
        if size != seal.size or merkle.root(frontier) != seal.root:
            raise ProofError(f"the log no longer matches the seal of size {seal.size}: run complaintflow verify "
                             f"--seal with it")
        for span in spans - set(found):
            found[span] = merkle.range_hash_from_frontier(frontier, size, span)
        return found, leaves

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


def check_consistency(document: dict, key: bytes | str | None = None) -> ProofCheck:
    """Check a consistency proof between two seals without the database (their signatures with the key)."""
    problems: list[str] = []
    checked = False
    try:
        old, new = (parse(document[side], seal_key(key), f"({side} seal in the proof)") for side in ("old", "new"))
        checked = True
    except SealError as exc:
        if "no seal key" not in str(exc):
            return ProofCheck(False, 0, [str(exc)])
        old, new = (_unsigned(document[side]) for side in ("old", "new"))
    proof = [str(p) for p in document.get("proof", [])]
    if not merkle.consistent(old.size, new.size, old.root, new.root, proof):
        problems.append(f"the log of size {new.size} is not shown to extend the log of size {old.size}")
    return ProofCheck(not problems, 0, problems, checked)


def _unsigned(head: object) -> Seal:
    try:
        return Seal(int(head["size"]), str(head["root"]), datetime.fromisoformat(head["sealed_at"]), "")
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError("a tree head of the proof has no size, root and sealed_at") from exc


def check(document: object, key: bytes | str | None = None) -> ProofCheck:
    """Check a proof without the database; with ``key`` (or the seal key's environment) its seal too."""
    if isinstance(document, dict) and document.get("format") == CONSISTENCY_FORMAT:
        return check_consistency(document, key)
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
