"""Seals: a tree head of the Merkle log, signed with a key the database does not hold.

A seal is a small JSON file (``seal-<size>.json``) an auditor keeps outside the database: the
log's size and root hash, when it was sealed and an HMAC-SHA256 signature over all of that.
Whoever controls the database can rewrite events and recompute their case chains, the tree heads
and the log state, and plain ``verify`` will pass; but the log recomputed up to a seal's size then
no longer reaches the sealed root, and a truncated log no longer holds the sealed entries. Without
the key no one can make or edit a seal to match. Sealing runs the sequencer first, so every event
committed before it is covered.

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

from engine.clock import Clock
from engine.errors import EngineError
from engine.history import History, Progress, SequenceError, VerifyResult, canonical
from engine.store.db import Database

FORMAT = "complaintflow-seal/2"
KEY_ENV = "COMPLAINTFLOW_SEAL_KEY"
KEY_FILE_ENV = "COMPLAINTFLOW_SEAL_KEY_FILE"
MIN_KEY_BYTES = 16
FIELDS = ("format", "size", "root", "sealed_at", "signature")


class SealError(EngineError):
    """No usable key, a seal that is not genuine, or a history that may not be sealed."""


@dataclass(frozen=True)
class Seal:
    """A signed tree head: the log's first ``size`` entries have Merkle root ``root``."""

    size: int
    root: str
    sealed_at: datetime
    signature: str
    path: Path | None = None

    def body(self) -> dict:
        """What the signature covers."""
        return {"format": FORMAT, "size": self.size, "root": self.root, "sealed_at": self.sealed_at.isoformat()}


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
    """Write seals of the log's tree head, read them back (signature checked) and verify against them."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._history = History(db, clock)

    # -- writing -------------------------------------------------------------------------------

    def seal(self, folder: str | Path, key: bytes | str | None = None, progress: Progress | None = None) -> Path:
        """Sequence what is committed, then seal the log's tree head into ``folder``; return the seal file.

        The log is verified first, so a broken log is never sealed: from the newest seal already
        in the folder when there is one (only the entries since, starting from its root), else
        from the beginning. When nothing was sequenced since that seal, its file is returned.
        """
        key = seal_key(key)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        latest = max(self.load_folder(folder, key), key=lambda s: s.size, default=None)
        try:
            self._history.sequence()
        except SequenceError as exc:
            raise SealError(f"not sealed: the history is broken: {exc}") from exc
        head = self._history.tree_head()
        if latest is not None:
            if head.size < latest.size or (head.size == latest.size and head.root != latest.root):
                raise SealError(f"not sealed: the log no longer matches {latest.path.name} (size {latest.size}); "
                                f"run complaintflow verify --seal {latest.path}")
            if head.size == latest.size:
                return latest.path
            result = self._history.verify(progress, chains=False, log_from=(latest.size, latest.root),
                                          anchors={head.size: head.root})
        else:
            result = self._history.verify(progress, chains=False, anchors={head.size: head.root})
        if not result.ok:
            raise SealError(f"not sealed: the history is broken at log entry {result.log_index}: {result.reason}")
        body = Seal(head.size, head.root, self._clock.now(), "").body()
        document = {**body, "signature": sign(body, key)}
        target = folder / f"seal-{head.size}.json"
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
        return parse(document, key, str(path), path)

    def load_folder(self, folder: str | Path, key: bytes | str | None = None) -> list[Seal]:
        """Every ``seal-*.json`` in ``folder``, oldest first; any one not genuine refuses them all."""
        key = seal_key(key)
        return sorted((self.load(p, key) for p in Path(folder).glob("seal-*.json")), key=lambda s: s.size)

    # -- verifying -----------------------------------------------------------------------------

    def verify_against(self, seal: Seal | Iterable[Seal], progress: Progress | None = None, *,
                       whole_chain: bool = False) -> VerifyResult:
        """Recompute the log (in batches) and compare it with each seal's root at its size.

        Catches what plain verify cannot: events rewritten with their case chains, the tree heads
        and the log state recomputed (the log no longer reaches a sealed root; the entries since
        the last seal that still matched are named) and a truncated log. Several seals are
        checked in one pass. ``whole_chain`` also verifies every case chain first.
        """
        seals = [seal] if isinstance(seal, Seal) else list(seal)
        if not seals:
            raise SealError("no seal to verify against")
        anchors: dict[int, str] = {}
        for s in seals:
            if anchors.get(s.size, s.root) != s.root:
                raise SealError(f"two seals of size {s.size} disagree: at most one of them can be right")
            anchors[s.size] = s.root
        return self._history.verify(progress, anchors=anchors, chains=whole_chain)


def parse(document: object, key: bytes, where: str, path: Path | None = None) -> Seal:
    """A seal from its JSON form; refuse one whose signature does not match (forged, edited, other key)."""
    if (not isinstance(document, dict) or set(document) != set(FIELDS) or document["format"] != FORMAT
            or type(document["size"]) is not int or document["size"] < 0 or not _is_hex64(document["root"])
            or not isinstance(document["signature"], str) or not isinstance(document["sealed_at"], str)):
        raise SealError(f"{where} is not a complaintflow seal (fields {', '.join(FIELDS)} expected)")
    body = {k: document[k] for k in FIELDS if k != "signature"}
    if not hmac.compare_digest(sign(body, key), document["signature"]):
        raise SealError(f"seal {where} is not genuine: its signature does not match its content (it was edited, "
                        f"forged or signed with another key)")
    try:
        sealed_at = datetime.fromisoformat(document["sealed_at"])
    except ValueError as exc:
        raise SealError(f"seal {where} has an unreadable sealed_at") from exc
    return Seal(document["size"], document["root"], sealed_at, document["signature"], path)
