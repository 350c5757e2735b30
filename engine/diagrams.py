"""A case's diagram with the path it took: done, current and overdue elements (for bpmn-js markers).

Read from the workflow state itself (not the history), on the version the case runs on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import spiff, workflow_state
from engine.access import Access
from engine.errors import NotFound
from engine.repository import Repository
from engine.store.db import Database
from engine.store.models import Case, Deployment, Timer


@dataclass(frozen=True)
class StageDiagram:
    """The called process (a stage) the case is in now, with its own path: what a process owner reads."""

    process_id: str
    name: str
    file: str
    xml: str
    done: tuple[str, ...]
    current: tuple[str, ...]


@dataclass(frozen=True)
class CaseDiagram:
    number: str
    process_id: str
    version: int
    file: str  # the BPMN file holding the process
    xml: str
    done: tuple[str, ...]  # element ids of steps completed
    current: tuple[str, ...]  # steps ready or waiting now
    overdue: tuple[str, ...]  # steps whose deadline fired (missed)
    stage: StageDiagram | None = None  # the stage the case is in now, when its process calls stages


def process_file(files: dict[str, str], process_id: str) -> str:
    pattern = re.compile(r"<(?:\w+:)?process\b[^>]*\bid=\"" + re.escape(process_id) + '"')
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn") and pattern.search(text):
            return name
    raise NotFound(f"no BPMN file holds process {process_id!r}")


class Diagrams:
    def __init__(self, db: Database, repository: Repository, access: Access) -> None:
        self._db, self._repository, self._access = db, repository, access

    def for_case(self, number: str, viewer: str | None = None) -> CaseDiagram:
        if viewer is not None:
            self._access.require_view(viewer, number)
        with self._db.read() as session:
            row = session.execute(
                select(Case.id, Case.process_id, Case.deployment_id, Deployment.version, Deployment.files)
                .join(Deployment, Deployment.id == Case.deployment_id).where(Case.number == number)
            ).first()
            if row is None:
                raise NotFound(f"no case {number}")
            missed = set(session.scalars(select(Timer.attached_to).where(
                Timer.case_id == row.id, Timer.status == "fired", Timer.attached_to.is_not(None))))
            deployment = self._repository.load(row.deployment_id)
            spec, subs = deployment.specs(row.process_id)
            workflow = workflow_state.load(session.connection(), row.id, spec, subs, deployment.script_engine)
        done = spiff.done_elements(workflow)
        current = {t.task_spec.bpmn_id for t in workflow.tasks.values()
                   if t.task_spec.bpmn_id and t.state & (TaskState.READY | TaskState.WAITING | TaskState.STARTED)}
        file = process_file(row.files, row.process_id)
        return CaseDiagram(number, row.process_id, row.version, file, row.files[file], tuple(sorted(done)),
                           tuple(sorted(current)), tuple(sorted(missed)), _stage(workflow, row.files))


_NOW = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _stage(workflow: Any, files: dict[str, str]) -> StageDiagram | None:
    """The innermost called process holding a step under way (a person's step first), or None at the top."""
    under_way = [t for t in workflow.get_tasks(state=_NOW) if t.task_spec.bpmn_id and t.workflow is not workflow]
    if not under_way:
        return None
    chosen = next((t for t in under_way if t.state == TaskState.READY), under_way[0]).workflow
    process_id = chosen.spec.name
    try:
        file = process_file(files, process_id)
    except NotFound:
        return None
    tasks = [t for t in chosen.tasks.values() if t.task_spec.bpmn_id]
    done = {t.task_spec.bpmn_id for t in tasks if t.state == TaskState.COMPLETED}
    current = {t.task_spec.bpmn_id for t in tasks if t.state & _NOW}
    return StageDiagram(process_id, chosen.spec.description or process_id, file, files[file], tuple(sorted(done)),
                        tuple(sorted(current)))
