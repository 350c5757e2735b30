"""Photos and videos of a case: stored as files outside the row, checked by content, recorded in history."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.attachments import MB, Attachments, sniff
from engine.errors import CaseArchived, FormInvalid, NotFound
from tests.driver import complete, registration, start_to_verified

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + b"\x00" * 200
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00" + b"\x00" * 200


@pytest.fixture
def files(eng, tmp_path: Path) -> Path:
    """Point the engine's attachments at a private folder (PostgreSQL has no file beside it)."""
    folder = tmp_path / "attachments"
    eng.attachments = Attachments(eng.db, eng.clock, folder)
    return folder


@pytest.fixture
def number(eng) -> str:
    return eng.runtime.start("complaint", registration(), "cs1")


def test_a_photo_is_stored_as_a_file_under_the_case_with_its_hash(eng, files, number):
    view = eng.attachments.add(number, "kettle.jpg", "image/jpeg", JPEG, "cs1")
    assert (view.case_number, view.filename, view.content_type, view.size) == (number, "kettle.jpg", "image/jpeg",
                                                                               len(JPEG))
    assert view.sha256 == hashlib.sha256(JPEG).hexdigest()
    same, path = eng.attachments.get(view.id)
    assert same == view
    assert path.read_bytes() == JPEG
    assert files.resolve() in path.parents
    assert "kettle" not in path.name  # never the uploader's name as a path
    assert eng.attachments.list(number) == [view]


def test_the_uploaders_file_name_never_becomes_a_path(eng, files, number):
    view = eng.attachments.add(number, "../../etc/passwd.png", "image/png", PNG, "cs1")
    _, path = eng.attachments.get(view.id)
    assert view.filename == "passwd.png"
    assert files.resolve() in path.parents
    assert not (files.parent.parent / "etc").exists()


def test_each_accepted_type_is_recognised_by_its_content(eng, files, number):
    for name, declared, data, expected in [
        ("a.png", "image/png", PNG, "image/png"), ("a.webp", "image/webp", WEBP, "image/webp"),
        ("a.mp4", "video/mp4", MP4, "video/mp4"), ("a.mov", "video/quicktime", MOV, "video/quicktime"),
        ("a.jpg", "application/octet-stream", JPEG, "image/jpeg"),
    ]:
        assert eng.attachments.add(number, name, declared, data, "cs1").content_type == expected
    assert sniff(b"<html><script>alert(1)</script>") is None


def test_a_script_declared_as_a_photo_is_refused(eng, files, number):
    with pytest.raises(FormInvalid) as refused:
        eng.attachments.add(number, "photo.jpg", "image/jpeg", b"<script>alert(1)</script>", "cs1")
    assert "file" in refused.value.errors
    assert eng.attachments.list(number) == []
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


def test_a_video_declared_as_a_photo_is_refused(eng, files, number):
    with pytest.raises(FormInvalid) as refused:
        eng.attachments.add(number, "clip.jpg", "image/jpeg", MP4, "cs1")
    assert "video/mp4" in refused.value.errors["file"]


def test_a_type_that_is_neither_photo_nor_video_is_refused(eng, files, number):
    with pytest.raises(FormInvalid):
        eng.attachments.add(number, "manual.pdf", "application/pdf", b"%PDF-1.7\n" + b"0" * 100, "cs1")
    with pytest.raises(FormInvalid):
        eng.attachments.add(number, "empty.jpg", "image/jpeg", b"", "cs1")


def test_photos_are_limited_to_10_mb_and_videos_to_100_mb(eng, files, number):
    with pytest.raises(FormInvalid) as refused:
        eng.attachments.add(number, "big.jpg", "image/jpeg", JPEG + b"\x00" * (10 * MB), "cs1")
    assert "10 MB" in refused.value.errors["file"]
    video = MP4 + b"\x00" * (20 * MB)  # bigger than any photo may be, well within the video limit
    assert eng.attachments.add(number, "clip.mp4", "video/mp4", video, "cs1").size == len(video)
    with pytest.raises(FormInvalid) as refused:
        eng.attachments.add(number, "long.mp4", "video/mp4", MP4 + b"\x00" * (100 * MB), "cs1")
    assert "100 MB" in refused.value.errors["file"]


def test_adding_an_attachment_is_recorded_in_the_case_history(eng, files, number):
    view = eng.attachments.add(number, "kettle.jpg", "image/jpeg", JPEG, "cs1")
    event = eng.history.events(number)[-1]
    assert (event.kind, event.actor) == ("attachment_added", "cs1")
    assert event.payload == {"attachment_id": view.id, "filename": "kettle.jpg", "content_type": "image/jpeg",
                             "size": len(JPEG), "sha256": view.sha256}
    assert eng.history.verify().ok


def test_an_archived_case_takes_no_attachments(eng, files):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    start_to_verified(eng, number, verification_outcome="not_a_defect")
    complete(eng, number, "explain_to_customer")
    complete(eng, number, "callback")
    assert eng.cases.get(number).status == "archived"
    with pytest.raises(CaseArchived):
        eng.attachments.add(number, "late.jpg", "image/jpeg", JPEG, "cs1")
    assert eng.attachments.list(number) == []
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


def test_unknown_cases_and_attachments_are_not_found(eng, files):
    with pytest.raises(NotFound):
        eng.attachments.add("20260302-PHONE-999", "a.jpg", "image/jpeg", JPEG, "cs1")
    with pytest.raises(NotFound):
        eng.attachments.get(12345)
    with pytest.raises(NotFound):
        eng.attachments.get("../1")


def test_a_missing_file_is_reported_as_not_found(eng, files, number):
    view = eng.attachments.add(number, "kettle.jpg", "image/jpeg", JPEG, "cs1")
    _, path = eng.attachments.get(view.id)
    path.unlink()
    with pytest.raises(NotFound):
        eng.attachments.get(view.id)
