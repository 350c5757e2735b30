"""Attachments (photos, video) of a case: files outside the database, limits on size and type."""

from __future__ import annotations

from engine.store.db import Database


class Attachments:
    def __init__(self, db: Database, clock, folder) -> None:  # noqa: ANN001
        self._db, self._clock, self._folder = db, clock, folder
