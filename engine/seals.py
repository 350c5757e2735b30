"""Seals: the head of the history chain, signed with a key the database does not hold.

A seal is a small JSON file (``seal-<seq>.json``) an auditor keeps outside the database:
the chain head's ``seq`` and ``hash``, the number of events, when it was sealed and an
HMAC-SHA256 signature over all of that. Whoever controls the database can rewrite the
history and recompute every hash after the change (and the chain head), and plain
``verify`` will pass; but the chain recomputed up to a seal's ``seq`` then no longer
reaches the sealed hash, and a truncated history no longer holds the sealed events.
Without the key no one can make or edit a seal to match.

The key comes from ``COMPLAINTFLOW_SEAL_KEY`` or from the file named by
``COMPLAINTFLOW_SEAL_KEY_FILE``; without one, nothing is sealed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from engine.clock import Clock
from engine.errors import EngineError
from engine.history import History, Progress, VerifyResult, canonical
from engine.store.db import Database
from engine.store.models import ChainHead, Event

FORMAT = "complaintflow-seal/1"
KEY_ENV = "COMPLAINTFLOW_SEAL_KEY"
KEY_FILE_ENV = "COMPLAINTFLOW_SEAL_KEY_FILE"
MIN_KEY_BYTES = 16
FIELDS = ("format", "seq", "hash", "events", "sealed_at", "signature")


class SealError(EngineError):
    """No usable key, a seal that is not genuine, or a history that may not be sealed."""


@dataclass(frozen=True)
class Seal:
    seq: int
    hash: str
    events: int
    sealed_at: datetime
    signature: str
    path: Path | None = None

    def body(self) -> dict:
        """What the signature covers."""
        return {"format": FORMAT, "seq": self.seq, "hash": self.hash, "events": self.events,
                "sealed_at": self.sealed_at.isoformat()}


def seal_key(key: bytes | str | None = None) -> bytes:
    """The given key, else the one from the environment; refuse when there is none or it is too short."""
    if key is None:
        if os.environ.get(KEY_ENV):
            key = os.environ[KEY_ENV]
        elif os.environ.get(KEY_FILE_ENV):
            path = Path(os.environ[KEY_FILE_ENV])
            try:
                key = path.read_bytes().strip()
            except OSError as exc:
                raise SealError(f"cannot read the seal key file {path} ({KEY_FILE_ENV}): {exc.strerror}") from exc
        else:
            raise SealError(f"no seal key: set {KEY_ENV} or {KEY_FILE_ENV} to a secret the database does not "
                            f"hold (at least {MIN_KEY_BYTES} bytes); nothing was sealed or checked")
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise SealError(f"the seal key is too short: {len(raw)} bytes, at least {MIN_KEY_BYTES} are needed")
    return raw


def sign(body: dict, key: bytes) -> str:
    return hmac.new(key, canonical(body).encode("utf-8"), hashlib.sha256).hexdigest()


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class Seals:
    """Write seals of the chain head, read them back (signature checked) and verify against them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._history = History(db)

    # -- writing -------------------------------------------------------------------------------

    def seal(self, folder: str | Path, key: bytes | str | None = None, progress: Progress | None = None) -> Path:
        """Seal the current chain head into ``folder`` and return the seal file.

        The history is verified first, so a broken chain is never sealed: from the newest seal
        already in the folder when there is one (only the events since, anchored at its hash),
        else from the beginning. When nothing was appended since that seal, its file is returned.
        """
        key = seal_key(key)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        latest = max(self.load_folder(folder, key), key=lambda s: s.seq, default=None)
        with self._db.read() as session:
            head = session.execute(select(ChainHead.seq, ChainHead.hash).where(ChainHead.id == 1)).one_or_none()
            if head is None:
                raise SealError("the history has no chain head; nothing was sealed")
            events = session.scalar(select(func.count()).select_from(Event).where(Event.seq <= head.seq))
        if events != head.seq:
            raise SealError(f"not sealed: the chain head is at event {head.seq} but the database holds {events} "
                            f"events up to it; run complaintflow verify")
        if latest is not None:
            if head.seq < latest.seq or (head.seq == latest.seq and head.hash != latest.hash):
                raise SealError(f"not sealed: the history no longer matches {latest.path.name} (event {latest.seq}); "
                                f"run complaintflow verify --seal {latest.path}")
            if head.seq == latest.seq:
                return latest.path
            result = self._history.verify(progress, up_to=head.seq, after=(latest.seq, latest.hash),
                                          anchors={head.seq: head.hash})
        else:
            result = self._history.verify(progress, up_to=head.seq, anchors={head.seq: head.hash})
        if not result.ok:
            raise SealError(f"not sealed: the history is broken at event {result.first_bad_seq}: {result.reason}")
        made = Seal(head.seq, head.hash, events, self._clock.now(), "")
        body = made.body()
        document = {**body, "signature": sign(body, key)}
        target = folder / f"seal-{head.seq}.json"
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".seal-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=2)
                out.write("\n")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def run(self, folder: str | Path, key: bytes | str | None, every_seconds: float,
            stop: threading.Event, on_seal: Callable[[Path], None] | None = None) -> None:
        """Seal every ``every_seconds`` until ``stop`` is set (the interval sealing job)."""
        key = seal_key(key)
        while not stop.is_set():
            path = self.seal(folder, key)
            if on_seal is not None:
                on_seal(path)
            stop.wait(every_seconds)

    # -- reading -------------------------------------------------------------------------------

    def load(self, path: str | Path, key: bytes | str | None = None) -> Seal:
        """Read a seal file; refuse one whose signature does not match (forged, edited, other key)."""
        key = seal_key(key)
        path = Path(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SealError(f"cannot read seal {path}: {exc}") from exc
        if (not isinstance(document, dict) or set(document) != set(FIELDS) or document["format"] != FORMAT
                or type(document["seq"]) is not int or type(document["events"]) is not int
                or document["seq"] < 0 or not _is_hex64(document["hash"])
                or not isinstance(document["signature"], str) or not isinstance(document["sealed_at"], str)):
            raise SealError(f"{path} is not a complaintflow seal (fields {', '.join(FIELDS)} expected)")
        body = {k: document[k] for k in FIELDS if k != "signature"}
        if not hmac.compare_digest(sign(body, key), document["signature"]):
            raise SealError(f"seal {path} is not genuine: its signature does not match its content (it was edited, "
                            f"forged or signed with another key)")
        try:
            sealed_at = datetime.fromisoformat(document["sealed_at"])
        except ValueError as exc:
            raise SealError(f"seal {path} has an unreadable sealed_at") from exc
        return Seal(document["seq"], document["hash"], document["events"], sealed_at, document["signature"], path)

    def load_folder(self, folder: str | Path, key: bytes | str | None = None) -> list[Seal]:
        """Every ``seal-*.json`` in ``folder``, oldest first; any one not genuine refuses them all."""
        key = seal_key(key)
        return sorted((self.load(p, key) for p in Path(folder).glob("seal-*.json")), key=lambda s: s.seq)

    # -- verifying -----------------------------------------------------------------------------

    def verify_against(self, seal: Seal | Iterable[Seal], progress: Progress | None = None, *,
                       whole_chain: bool = False) -> VerifyResult:
        """Recompute the chain up to the seal's ``seq`` (in batches) and compare with the sealed hash.

        Catches what plain verify cannot: a tail rewritten with fresh hashes (the chain no longer
        reaches the sealed hash; the sealed event is named, or the first event after an earlier
        seal that still matched) and a truncated history (fewer events than sealed). Several
        seals are checked in one pass. ``whole_chain`` also verifies the events after the last
        seal and the chain head.
        """
        seals = [seal] if isinstance(seal, Seal) else list(seal)
        if not seals:
            raise SealError("no seal to verify against")
        anchors: dict[int, str] = {}
        for s in seals:
            if anchors.get(s.seq, s.hash) != s.hash:
                raise SealError(f"two seals of event {s.seq} disagree: at most one of them can be right")
            anchors[s.seq] = s.hash
        newest = max(seals, key=lambda s: s.seq)
        result = self._history.verify(progress, up_to=None if whole_chain else newest.seq, anchors=anchors)
        if result.ok and result.checked < max(s.events for s in seals):
            most = max(s.events for s in seals)
            return VerifyResult(False, result.checked, result.checked + 1,
                                f"a seal counted {most} events but the history holds {result.checked}: "
                                f"events were removed")
        return result
