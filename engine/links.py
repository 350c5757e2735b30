"""Single-use, expiring links sent to customers (confirm a plan, answer the survey)."""

from __future__ import annotations

from engine.store.db import Database


class Links:
    def __init__(self, db: Database, clock) -> None:  # noqa: ANN001
        self._db, self._clock = db, clock
