"""Grow a database to many open cases quickly: copy the rows of cases the engine registered.

Registering 100,000 complaints through the engine takes ~20 minutes. Lists and pages only
read rows, so most cases can be copies: for each copy of a template case, new rows in
``case``, ``workflow_task``, ``task``, ``timer``, ``outbox``, ``customer_contact`` and ``involved_person``
with fresh ids, a fresh case number, and every SpiffWorkflow task UUID in the state (the case's
document and its settled task rows, and the task and timer rows that name them) replaced
consistently, so a copy can still be opened and worked.
Not copied: history events and attachments (a copy's history is empty).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import sqlalchemy as sa

from engine.catalogue import Meaning
from engine.demo import DemoData, complete_step
from engine.store.models import Case, CustomerContact, InvolvedPerson, Notification, Task, Timer, WorkflowTask

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BATCH = 2000
_C, _T, _TM, _N, _CC, _IP, _WT = (Case.__table__, Task.__table__, Timer.__table__, Notification.__table__,
                                  CustomerContact.__table__, InvolvedPerson.__table__, WorkflowTask.__table__)
SERIAL = ("case", "timer", "outbox")  # tables whose ids the copies take by hand


def register_templates(eng, count: int, involved: str = "cs1", every: int = 10) -> list[str]:  # noqa: ANN001
    """Register ``count`` cases through the engine, moved to the demo cases' states in turn (fresh,
    urgent, waiting for the customer, serious, a compensation to approve), ``involved`` named as
    involved staff in one case of ``every``: the templates the copies repeat."""
    numbers = []
    deployed = eng.repository.active()
    sample = DemoData.of(deployed.catalogue.demo)
    staff_field = deployed.catalogue.field(Meaning.INVOLVED_STAFF)
    for i in range(count):
        case = sample.cases[i % len(sample.cases)]
        staff = [involved] if i % every == every - 1 else []
        data = sample.registration(**case.get("registration", {}), **{staff_field: staff})
        number = eng.runtime.start(deployed.intake_process(), data, "cs2" if staff else "cs1")
        for element, values in case.get("steps", []):
            complete_step(eng, number, element, sample.forms, **values)
        numbers.append(number)
    return numbers


def _rows(conn: sa.Connection, table: sa.Table, case_ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    for row in conn.execute(sa.select(table).where(table.c.case_id.in_(case_ids))).mappings():
        found.setdefault(row["case_id"], []).append(dict(row))
    return found


def _copies(templates: list[dict], children: dict[str, dict[int, list[dict]]], count: int,
            first_ids: dict[str, int]) -> Iterator[dict[str, list[dict]]]:
    """Batches of new rows per table: copy i of template i % len(templates)."""
    batch: dict[str, list[dict]] = {name: [] for name in ("case", "workflow_task", "task", "timer", "outbox",
                                                          "customer_contact", "involved_person")}
    next_id = dict(first_ids)
    for i in range(count):
        template = templates[i % len(templates)]
        new_id = next_id["case"] + i
        settled = children["workflow_task"].get(template["id"], [])
        texts = [template["state"], *(row["body"] for row in settled)]
        fresh = {old: str(uuid.uuid4()) for text in texts for old in set(UUID.findall(text))}
        number = f"{template['number']}-K{i:06d}"

        def renamed(text: str, fresh: dict = fresh, number: str = number, old: str = template["number"]) -> str:
            return UUID.sub(lambda m: fresh[m.group(0)], text).replace(old, number)

        state = renamed(template["state"])
        summary = dict(template["summary"] or {}, case_number=number)
        batch["case"].append({**template, "id": new_id, "number": number, "state": state, "summary": summary,
                              "head_seq": 0, "head_hash": None})  # a copy has no history of its own
        batch["workflow_task"] += [{**row, "case_id": new_id, "task_id": fresh[row["task_id"]],
                                    "workflow": fresh.get(row["workflow"], row["workflow"]),
                                    "body": renamed(row["body"])} for row in settled]
        for child in children["task"].get(template["id"], []):
            batch["task"].append({**child, "id": fresh.get(child["id"], str(uuid.uuid4())), "case_id": new_id})
        for child in children["timer"].get(template["id"], []):
            batch["timer"].append({**child, "id": next_id["timer"], "case_id": new_id,
                                   "spiff_task_id": fresh.get(child["spiff_task_id"], child["spiff_task_id"]),
                                   "guarded_task_id": fresh.get(child["guarded_task_id"], child["guarded_task_id"])})
            next_id["timer"] += 1
        for child in children["outbox"].get(template["id"], []):
            batch["outbox"].append({**child, "id": next_id["outbox"], "case_id": new_id})
            next_id["outbox"] += 1
        for name in ("customer_contact", "involved_person"):
            batch[name] += [{**child, "case_id": new_id} for child in children[name].get(template["id"], [])]
        if len(batch["case"]) >= BATCH:
            yield batch
            batch = {name: [] for name in batch}
    if batch["case"]:
        yield batch


def clone_open_cases(db: sa.Engine, total: int) -> int:
    """Copy the open complaint cases until ``total`` cases are open; returns how many copies were made."""
    tables = {"case": _C, "workflow_task": _WT, "task": _T, "timer": _TM, "outbox": _N, "customer_contact": _CC,
              "involved_person": _IP}
    with db.begin() as conn:
        templates = [dict(r) for r in conn.execute(
            sa.select(_C).where(_C.c.status == "open", _C.c.process_id == "complaint").order_by(_C.c.id)).mappings()]
        open_now = conn.scalar(sa.select(sa.func.count()).select_from(_C).where(_C.c.status == "open"))
        count = max(0, total - open_now)
        if not templates or not count:
            return 0
        ids = [t["id"] for t in templates]
        children = {name: _rows(conn, table, ids) for name, table in tables.items() if name != "case"}
        first_ids = {name: (conn.scalar(sa.select(sa.func.max(tables[name].c.id))) or 0) + 1 for name in SERIAL}
        for batch in _copies(templates, children, count, first_ids):
            for name, table in tables.items():
                if batch[name]:
                    conn.execute(sa.insert(table), batch[name])
        if db.dialect.name == "postgresql":  # the copies took ids by hand: move the sequences past them
            for table in SERIAL:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT max(id) FROM \"{table}\"))"))
    with db.connect() as conn:  # fresh statistics, as a production database would have
        names = ", ".join(f'"{name}"' for name in tables) if db.dialect.name == "postgresql" else ""
        conn.execute(sa.text(f"ANALYZE {names}"))
        conn.commit()
    return count
