"""Attachments (photos, video) of a case: files outside the database, limits on size and type.

The bytes go to ``<folder>/<case id>/<random name>``: the uploader's file name is kept in
the row to show it, never used as a path. The type is read from the content's first
bytes (a script renamed ``photo.jpg`` is refused whatever the browser declared), each
file's SHA-256 is recorded, and the history gets an ``attachment_added`` event in the
same transaction as the row.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from engine import history
from engine.casework import CaseRow, lock_case
from engine.clock import Clock
from engine.errors import CaseArchived, FormInvalid, NotFound
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Attachment, Case

MB = 1024 * 1024


@dataclass(frozen=True)
class Kind:
    """An accepted file type: its family (image, video), size limit and stored extension."""

    family: str
    max_bytes: int
    extension: str


ACCEPTED: dict[str, Kind] = {
    "image/jpeg": Kind("image", 10 * MB, ".jpg"),
    "image/png": Kind("image", 10 * MB, ".png"),
    "image/webp": Kind("image", 10 * MB, ".webp"),
    "video/mp4": Kind("video", 100 * MB, ".mp4"),
    "video/quicktime": Kind("video", 100 * MB, ".mov"),
}
MAX_BYTES = max(kind.max_bytes for kind in ACCEPTED.values())
# What browsers and phones also send for the same types.
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "video/x-m4v": "video/mp4",
           "video/mov": "video/quicktime"}
# Declared types that say nothing about the content: the sniffed type decides.
UNSPECIFIC = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class AttachmentView:
    id: int
    case_number: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


def sniff(data: bytes) -> str | None:
    """The accepted type the content's magic bytes show, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data[4:8] in QUICKTIME_ATOMS:
        return "video/quicktime"
    return None


def clean_filename(filename: str | None) -> str:
    """The name to show: its last path part, without control characters, at most 255 characters."""
    name = str(filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 16 else name[:255]
    return name or "attachment"


def check(filename: str | None, content_type: str | None, data: bytes) -> str:
    """The stored content type for this file, or ``FormInvalid({"file": reason})``.

    Callers may check every file before they create anything (the intake form does).
    """
    if not data:
        raise FormInvalid({"file": f"{clean_filename(filename)}: the file is empty"})
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    declared = ALIASES.get(declared, declared)
    detected = sniff(data)
    name = clean_filename(filename)
    if detected is None:
        raise FormInvalid({"file": f"{name}: only photos (JPEG, PNG, WebP) and videos (MP4, MOV) are accepted"})
    kind = ACCEPTED[detected]
    if declared not in UNSPECIFIC:
        claimed = ACCEPTED.get(declared)
        if claimed is None or claimed.family != kind.family:
            raise FormInvalid({"file": f"{name}: the content is {detected}, not the declared {declared}"})
    if len(data) > kind.max_bytes:
        raise FormInvalid({"file": f"{name}: {kind.family}s may be at most {kind.max_bytes // MB} MB "
                                   f"(this one is {len(data) / MB:.1f} MB)"})
    return detected


_A, _C = Attachment.__table__, Case.__table__
_LIST = select(
    _A.c.id, _C.c.number, _A.c.filename, _A.c.content_type, _A.c.size, _A.c.sha256, _A.c.uploaded_by,
    _A.c.uploaded_at, _A.c.stored_as,
).join(_C, _C.c.id == _A.c.case_id)
BY_CASE = _LIST.where(_C.c.number == bindparam("number")).order_by(_A.c.id)
BY_ID = _LIST.where(_A.c.id == bindparam("attachment_id"))
CASE_ID = select(_C.c.id).where(_C.c.number == bindparam("number"))


def _view(row) -> AttachmentView:  # noqa: ANN001
    return AttachmentView(row.id, row.number, row.filename, row.content_type, row.size, row.sha256,
                          row.uploaded_by, row.uploaded_at)


@dataclass(frozen=True)
class Staged:
    """A checked file already written under the attachments folder, not yet recorded (``Attachments.stage``)."""

    filename: str
    content_type: str
    size: int
    sha256: str
    stored_as: str
    path: Path


class Attachments:
    def __init__(self, db: Database, clock: Clock, folder: str | Path) -> None:
        self._db, self._clock, self._folder = db, clock, Path(folder)

    def stage(self, case_id: int, filename: str | None, content_type: str | None, data: bytes) -> Staged:
        """Check a file and write it beside the case's others, for ``record`` in someone's transaction.

        A caller that records several files with one step (the customer's reply) stages them all
        first, so a refused file changes nothing; ``discard`` removes them if the step fails.
        """
        content_type = check(filename, content_type, data)
        stored_as = f"{case_id}/{secrets.token_hex(16)}{ACCEPTED[content_type].extension}"
        path = self._folder / stored_as
        self._write_file(path, data)
        return Staged(clean_filename(filename), content_type, len(data), hashlib.sha256(data).hexdigest(),
                      stored_as, path)

    @staticmethod
    def record(session: Session, case: CaseRow, staged: Staged, actor: str, now: datetime) -> int:
        """The staged file's row and its ``attachment_added`` event, in the caller's transaction on the locked
        case (its history head moves with the event, so the step's own event follows it)."""
        conn = session.connection()
        attachment_id = conn.execute(insert(_A).values(
            case_id=case.id, filename=staged.filename, content_type=staged.content_type, size=staged.size,
            sha256=staged.sha256, stored_as=staged.stored_as, uploaded_by=actor, uploaded_at=now,
        ).returning(_A.c.id)).scalar_one()
        case.head = history.append_at(conn, case.head, case_number=case.number, at=now, actor=actor,
                                      kind=EventKind.ATTACHMENT_ADDED,
                                      payload={"attachment_id": attachment_id, "filename": staged.filename,
                                               "content_type": staged.content_type, "size": staged.size,
                                               "sha256": staged.sha256}, deployment_version=None)
        return attachment_id

    @staticmethod
    def discard(staged: list[Staged]) -> None:
        for item in staged:
            with contextlib.suppress(OSError):
                item.path.unlink()

    def add(self, number: str, filename: str | None, content_type: str | None, data: bytes,
            actor: str) -> AttachmentView:
        """Store a photo or video for case ``number``; the row and the history event in one transaction.

        Raises ``FormInvalid({"file": ...})`` for a refused file, ``CaseArchived`` once the
        case is read-only and ``NotFound`` for no such case.
        """
        content_type = check(filename, content_type, data)
        name = clean_filename(filename)
        with self._db.read() as session:
            case_id = session.connection().execute(CASE_ID, {"number": number}).scalar()
        if case_id is None:
            raise NotFound(f"no case {number}")
        stored_as = f"{case_id}/{secrets.token_hex(16)}{ACCEPTED[content_type].extension}"
        path = self._folder / stored_as
        digest = hashlib.sha256(data).hexdigest()
        self._write_file(path, data)
        try:
            now = self._clock.now()
            with self._db.write() as session:
                case = lock_case(session, case_id=case_id)
                if case.status == CaseStatus.ARCHIVED:
                    raise CaseArchived(case.number)
                attachment_id = session.connection().execute(insert(_A).values(
                    case_id=case_id, filename=name, content_type=content_type, size=len(data), sha256=digest,
                    stored_as=stored_as, uploaded_by=actor, uploaded_at=now,
                ).returning(_A.c.id)).scalar_one()
                history.append(session, case_number=case.number, at=now, actor=actor, kind=EventKind.ATTACHMENT_ADDED,
                               payload={"attachment_id": attachment_id, "filename": name,
                                        "content_type": content_type, "size": len(data), "sha256": digest},
                               deployment_version=None)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return AttachmentView(attachment_id, case.number, name, content_type, len(data), digest, actor, now)

    def list(self, number: str) -> list[AttachmentView]:  # noqa: A003
        with self._db.read() as session:
            rows = session.connection().execute(BY_CASE, {"number": number}).all()
        return [_view(r) for r in rows]

    def get(self, attachment_id: int) -> tuple[AttachmentView, Path]:
        """The attachment and the file that holds its bytes (``NotFound`` if either is gone)."""
        try:
            key = int(attachment_id)
        except (TypeError, ValueError):
            raise NotFound(f"no attachment {attachment_id}") from None
        with self._db.read() as session:
            row = session.connection().execute(BY_ID, {"attachment_id": key}).first()
        if row is None:
            raise NotFound(f"no attachment {attachment_id}")
        path = (self._folder / row.stored_as).resolve()
        if self._folder.resolve() not in path.parents or not path.is_file():
            raise NotFound(f"the file of attachment {attachment_id} is missing")
        return _view(row), path

    @staticmethod
    def _write_file(path: Path, data: bytes) -> None:
        """Write beside the target and rename, so a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        with partial.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
