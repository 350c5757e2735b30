"""Hot-path statements compiled once per dialect and run on the driver's cursor.

Every step of every case runs the same handful of writes (the case's update, the task and
timer mirrors, the workflow rows, the history event and head). Through ``Connection.execute``
each one pays SQLAlchemy's per-execution work (cache key, execution context, result set-up,
event dispatch): several times what SQLite spends running it. A ``Prepared`` statement keeps
the SQL text, the order of its parameters and their type conversions from one compilation,
and hands the rows straight to the driver, inside the caller's transaction.

What stays the same as ``Connection.execute``: the caller's connection and transaction,
the column types' conversions (``UTCDateTime``, JSON, booleans), driver errors wrapped as
SQLAlchemy's (so ``translated`` still answers "try again" and a lost connection is
invalidated), and the ``before_cursor_execute`` event for whoever counts statements.
Only plain writes qualify: no expanding IN, no Python-side column defaults (each row must
give every column it sets), no RETURNING but for ``PreparedValue`` (one value the driver gives
as is); anything else is refused when the statement is first compiled. ``PreparedQuery`` does
the same for the few reads every step makes (the case's lock, its task), converting each column
of the result as its type says.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase

Row = Mapping[str, Any]


@dataclass(frozen=True)
class _Form:
    """One dialect's compilation: the SQL text and, per parameter in the driver's order, how to fill it."""

    sql: str
    positional: bool
    # (the name the driver sees, the caller's key or None for a constant, the constant, the type's conversion)
    slots: tuple[tuple[str, str | None, Any, Callable[[Any], Any] | None], ...]
    # A query's: its rows' class (fields named as the columns) and each column's conversion.
    row_class: Any = None
    results: tuple[Callable[[Any], Any] | None, ...] = ()

    def parameters(self, row: Row) -> Sequence[Any] | dict[str, Any]:
        values = []
        for _name, key, constant, convert in self.slots:
            value = constant if key is None else row[key]
            values.append(convert(value) if convert is not None else value)
        if self.positional:
            return values
        return {slot[0]: value for slot, value in zip(self.slots, values, strict=True)}


class Prepared:
    """A write statement run with one row (``run``) or many in one round trip (``run_many``)."""

    returns = False

    def __init__(self, statement: UpdateBase | Select, keys: Sequence[str] | None = None) -> None:
        """``keys``: for an INSERT without ``values()``, the columns every row gives (it sets those, no other)."""
        self.statement, self._keys = statement, list(keys) if keys is not None else None
        self._forms: dict[str, _Form] = {}

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect.name)
        if form is None:
            form = self._forms[dialect.name] = self._compile(dialect)
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        # As for executemany: no implicit RETURNING of the new primary key (nobody here reads it back).
        compiled = self.statement.compile(dialect=dialect, column_keys=self._keys, for_executemany=True)
        if compiled.insert_prefetch or compiled.update_prefetch or \
                not isinstance(self.statement, Select) and bool(compiled.returning) != self.returns:
            raise ValueError(f"not a plain write (Python-side defaults or RETURNING): {compiled.string}")
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        order = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        slots = []
        for name in order:
            bind = by_name[name]
            if bind.expanding:
                raise ValueError(f"an expanding IN cannot be prepared: {compiled.string}")
            user_given = bind.required or bind.callable is None and bind.value is None
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            slots.append((compiled.escaped_bind_names.get(name, name), bind.key if user_given else None,
                          None if user_given else bind.effective_value, convert))
        if not isinstance(self.statement, Select):
            return _Form(compiled.string, compiled.positional, tuple(slots))
        columns = list(self.statement.selected_columns)
        row_class = namedtuple("Row", [column.key for column in columns], rename=True)  # noqa: PYI024
        results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
        return _Form(compiled.string, compiled.positional, tuple(slots), row_class, results)

    def run(self, conn: Connection, row: Row) -> int:
        """Execute with one row in the connection's transaction; returns the rows affected."""
        form = self._form(conn.dialect)
        return self._execute(conn, form, form.parameters(row), many=False)

    def run_many(self, conn: Connection, rows: Sequence[Row]) -> int:
        """Execute once per row, in one driver call (``executemany``)."""
        if not rows:
            return 0
        form = self._form(conn.dialect)
        return self._execute(conn, form, [form.parameters(row) for row in rows], many=True)

    def _execute(self, conn: Connection, form: _Form, parameters: Any, *, many: bool, fetch: bool = False) -> Any:
        if not conn.in_transaction():
            conn.begin()  # as ``execute`` would (autobegin): the backend's BEGIN is emitted by the begin event
        cursor = conn.connection.cursor()
        try:
            if conn.dispatch.before_cursor_execute:
                conn.dispatch.before_cursor_execute(conn, cursor, form.sql, parameters, None, many)
            if many:
                cursor.executemany(form.sql, parameters)
            else:
                cursor.execute(form.sql, parameters)
            if fetch:
                return cursor.fetchall()
            return cursor.fetchone()[0] if self.returns else cursor.rowcount
        except conn.dialect.loaded_dbapi.Error as error:
            conn._handle_dbapi_exception(error, form.sql, parameters, cursor, None)  # raises it wrapped
            raise  # not reached
        finally:
            cursor.close()


class PreparedValue(Prepared):
    """A write that returns one value (``RETURNING`` one column of one row): ``run`` gives the value.

    Only for a column the driver hands over as the Python value (an integer, a text): no result
    conversion is applied.
    """

    returns = True


class PreparedQuery(Prepared):
    """A read: ``all`` gives its rows, ``first`` the first or None, as named tuples of converted values."""

    def all(self, conn: Connection, row: Row) -> list[Any]:
        form = self._form(conn.dialect)
        make, results = form.row_class._make, form.results
        return [make(value if convert is None else convert(value) for convert, value in zip(results, found,
                                                                                               strict=True))
                for found in self._execute(conn, form, form.parameters(row), many=False, fetch=True)]

    def first(self, conn: Connection, row: Row) -> Any | None:
        found = self.all(conn, row)
        return found[0] if found else None
