"""How many cases had each defect type in a period: the "top defect types" of the monthly review (seed 000).

The defect type is whatever field a step's form marks ``"x-meaning": "defect-type"`` (its options a list
the process owner keeps, see ``engine.options``); a case counts once, with the last type recorded for it
in the period. Read from the history's completed steps, each judged by the form of its own version, so
a renamed field or a new list in a later version counts the same.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.catalogue import Meaning, form_field
from engine.store.db import Database
from engine.store.enums import EventKind
from engine.store.models import Deployment, Event

if TYPE_CHECKING:  # the repository's module imports the reports, which import this
    from engine.repository import Repository


def defect_types(db: Database, repository: Repository, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """(defect type code, cases) for steps completed in ``[start, end)``, most frequent first."""
    with db.read() as session:
        ids = dict(session.execute(select(Deployment.version, Deployment.id)).all())
        rows = session.execute(select(Event.case_number, Event.payload, Event.deployment_version).where(
            Event.kind == EventKind.TASK_COMPLETED, Event.at >= start, Event.at < end).order_by(Event.seq)).all()
    latest: dict[str, str] = {}
    for number, text, version in rows:
        try:
            payload = json.loads(text)
        except ValueError:  # a purged case keeps only its payload's digest
            continue
        data, element = payload.get("data"), payload.get("element")
        if not isinstance(data, dict) or version not in ids:
            continue
        deployment = repository.load(ids[version])
        field = form_field(deployment.form(deployment.catalogue.step_forms.get(element)), Meaning.DEFECT_TYPE)
        if field and data.get(field):
            latest[number] = str(data[field])
    return sorted(Counter(latest.values()).items(), key=lambda item: (-item[1], item[0]))
