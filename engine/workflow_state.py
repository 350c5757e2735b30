"""A case's SpiffWorkflow state in the database: read it whole, write only what changed.

The unsettled part of the workflow is one small document in ``case.state``; every settled
task is a ``workflow_task`` row written once (``engine.spiff`` decides which is which and
knows the format). Every reader and writer of a case's workflow goes through here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, bindparam, cast, delete, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from engine import spiff
from engine.store.models import Case, WorkflowTask
from engine.store.prepared import Prepared

_C, _W = Case.__table__, WorkflowTask.__table__

# One round trip: the document (workflow key NULL) and the rows.
READ = union_all(
    select(cast(null(), String(36)).label("workflow"), _C.c.state.label("body")).where(
        _C.c.id == bindparam("case_id")),
    select(_W.c.workflow, _W.c.body).where(_W.c.case_id == bindparam("case_id")),
)
DROP_ROWS = delete(_W).where(_W.c.case_id == bindparam("case_id"), _W.c.task_id.in_(bindparam("task_ids",
                                                                                                expanding=True)))
DROP_CASE = delete(_W).where(_W.c.case_id == bindparam("case_id"))


def _upsert(insert):  # noqa: ANN001, ANN202
    statement = insert(_W)
    return statement.on_conflict_do_update(index_elements=[_W.c.case_id, _W.c.task_id], set_={
        "workflow": statement.excluded.workflow, "body": statement.excluded.body})


WRITE_ROWS = {name: Prepared(_upsert(insert), ("case_id", "task_id", "workflow", "body"))
              for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))}


def load(conn: Connection, case_id: int, spec: Any, subprocess_specs: dict, script_engine: Any) -> Any:
    """The case's workflow as last saved."""
    document, rows = None, []
    for workflow, body in conn.execute(READ, {"case_id": case_id}):
        if workflow is None:
            document = body
        else:
            rows.append((workflow, body))
    if document is None:
        raise LookupError(f"no case {case_id}")
    return spiff.load_state(document, rows, spec, subprocess_specs, script_engine)


def write(conn: Connection, case_id: int, workflow: Any) -> str:
    """Write the rows that changed; returns the document for the caller's ``case`` update.

    A step's rows go in one batched statement (a second one only when a compaction dropped tasks).
    """
    changes = spiff.dump_changes(workflow)
    if changes.dropped:
        conn.execute(DROP_ROWS, {"case_id": case_id, "task_ids": changes.dropped})
    if changes.rows:
        WRITE_ROWS[conn.dialect.name].run_many(conn, [{"case_id": case_id, **row} for row in changes.rows])
    return changes.document


def drop(conn: Connection, case_id: int) -> None:
    """Remove the case's rows (a purge); the caller empties ``case.state``."""
    conn.execute(DROP_CASE, {"case_id": case_id})
