"""Prepared hot-path statements (``engine/store/prepared.py``) behave as ``Connection.execute`` would."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.casework import LOCK_BY_NUMBER
from engine.history import INSERT_STREAM_HEAD
from engine.store.models import Case, Task
from engine.store.prepared import Prepared
from tests.driver import registration


def test_a_prepared_read_gives_the_columns_converted_as_the_orm_does(eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["cs2"]), "cs1")
    with eng.db.write() as session:
        found = LOCK_BY_NUMBER.first(session.connection(), {"number": number})
        row = session.scalars(sa.select(Case).where(Case.number == number)).one()
        assert (found.id, found.number, found.version, found.involved_staff, found.archived_at) == (
            row.id, row.number, row.version, row.involved_staff, row.archived_at)
        assert found.involved_staff == ["cs2"]  # JSON decoded, not its text
        assert LOCK_BY_NUMBER.first(session.connection(), {"number": "no-such-case"}) is None


def test_a_driver_error_of_a_prepared_write_is_sqlalchemys_and_rolls_the_transaction_back(eng):
    with pytest.raises(sa.exc.IntegrityError), eng.db.write() as session:
        INSERT_STREAM_HEAD.run(session.connection(), {"stream": "s", "seq": 1, "hash": "a"})
        INSERT_STREAM_HEAD.run(session.connection(), {"stream": "s", "seq": 2, "hash": "b"})
    with eng.db.read() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM stream_head WHERE stream = 's'")) == 0


def test_a_write_that_needs_python_side_defaults_is_refused_when_first_run(eng):
    """``task.claimed`` has a Python-side default a prepared insert would silently leave NULL."""
    partial = Prepared(sa.insert(Task.__table__), ("id", "case_id"))
    with pytest.raises(ValueError, match="Python-side defaults"), eng.db.write() as session:
        partial.run(session.connection(), {"id": "t", "case_id": 1})


def test_prepared_statements_are_seen_by_the_statement_event(eng):
    """Whoever counts statements (the bench, a test) still sees every prepared one."""
    seen: list[str] = []

    def record(_conn, _cursor, sql, *_rest) -> None:  # noqa: ANN001
        seen.append(sql)

    sa.event.listen(eng.db.engine, "before_cursor_execute", record)
    with eng.db.write() as session:
        INSERT_STREAM_HEAD.run(session.connection(), {"stream": "s", "seq": 1, "hash": "a"})
    sa.event.remove(eng.db.engine, "before_cursor_execute", record)
    [head] = [sql for sql in seen if "stream_head" in sql]
    assert head.startswith("INSERT INTO stream_head")
