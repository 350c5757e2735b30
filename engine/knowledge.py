"""The knowledge base of seed 003 (《问题-原因-解决方案》知识库): every closed analysis leaves an entry.

Which steps make an entry, the deployed forms say, never this code: a form whose fields carry
``"x-knowledge": "problem" | "cause" | "solution"`` makes one entry when its step is completed, in the
step's own transaction, with a ``knowledge_added`` event in the case's history. Several fields marked
alike are joined (corrective and preventive actions are both the solution); a form marking no
``problem`` takes the case's description (``x-meaning: case-description``). The product and the defect
type are the case's fields marked ``x-meaning: product`` and ``defect-type`` in any form.

A form marked ``"x-known-issues": true`` (the defect check) shows its handler the active entries for the
case's product (and its defect type once one is known): seed 003's "is it a known issue?".

Search is by substring, every word must match: a trigram index (SQLite FTS5 ``trigram``, PostgreSQL
``pg_trgm``) answers words of three characters or more and narrows nothing for shorter ones, which are
still matched exactly (卡纸, 鼓包), so Chinese words without spaces and English words alike are found.
The quality lead (``knowledge = "edit"`` in ``roles.toml``) corrects or retires an entry: each change is
a new version, recorded on the source case's history with what it was before.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, column, exists, or_, select, table
from sqlalchemy.orm import Session

from engine import history
from engine.access import Access, not_involved
from engine.casework import lock_case
from engine.catalogue import Catalogue, Meaning
from engine.clock import Clock
from engine.errors import FormInvalid, NotAllowed, NotFound
from engine.knowledge_marks import EDIT_RIGHT, EDIT_VALUE, Part, marked_fields
from engine.store.db import Database
from engine.store.enums import EventKind, KnowledgeStatus
from engine.store.models import Case, Event, KnowledgeEntry, RoleMember, Task

SEARCH_TABLE = "knowledge_fts"  # SQLite's FTS5 mirror (and its shadow tables), made by migration 0022
SEARCH_INDEX = "ix_knowledge_entry_trgm"  # PostgreSQL's trigram index, made by migration 0022
MAX_TERMS = 6
MAX_QUERY = 200  # characters of a search, a product or a defect type asked for
TRIGRAM = 3  # characters an index entry holds: shorter search terms cannot be looked up, only scanned for
MAX_PART = 20_000  # characters of one part of an entry (the forms allow 5,000 per field)
JOINER = "\n\n"


@dataclass(frozen=True)
class Entry:
    id: int
    problem: str
    cause: str
    solution: str
    product: str
    defect_type: str | None
    source_case: str
    source_task: str
    source_element: str
    status: str
    version: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    case_visible: bool = False  # whether the viewer may open the source case (never one they are involved in)


def product_key(product: str) -> str:
    """What "the same product" compares: letters' case and spaces do not matter (智能电水壶 K-200 = 智能电水壶k-200)."""
    return re.sub(r"\s+", "", str(product or "")).casefold()[:200]


def marked_value(catalogue: Catalogue, data: dict, meaning: Meaning, first: dict | None = None) -> Any:
    """The value of the field meaning ``meaning``: in ``first`` (the step's own form) if it marks one, else the
    intake form's, else any form's field so marked that the case data holds."""
    names = _fields_meaning(first, meaning)
    if catalogue.field(meaning):
        names.append(catalogue.field(meaning))
    for schema in catalogue.forms.values():
        names += _fields_meaning(schema, meaning)
    return next((data[n] for n in names if data.get(n) not in (None, "", [])), None)


def _fields_meaning(schema: dict | None, meaning: Meaning) -> list[str]:
    props = (schema or {}).get("properties") or {}
    return [name for name, prop in props.items() if isinstance(prop, dict) and prop.get("x-meaning") == meaning]


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _search_text(problem: str, cause: str, solution: str, product: str, defect_words: Iterable[str]) -> str:
    return "\n".join([problem, cause, solution, product, *defect_words]).casefold()


def record(conn: Connection, head: Any, *, catalogue: Catalogue, number: str, task_id: str, element: str,
           schema: dict | None, submitted: dict, data: dict, actor: str, at: datetime,
           deployment_version: int | None) -> Any:
    """The entry of a completed step whose form marks ``x-knowledge`` fields, with its history event; returns
    the case's new history head (``head`` unchanged when the form makes no entry). Runs in the step's
    transaction, holding the case: the entry exists exactly when the step does."""
    marks = marked_fields(schema)
    if not marks:
        return head
    parts = {part: JOINER.join(_text(submitted.get(n)) for n in marks.get(part, []) if _text(submitted.get(n)))
             for part in Part}
    if not parts[Part.PROBLEM]:
        parts[Part.PROBLEM] = _text(catalogue.value(data, Meaning.DESCRIPTION))
    parts = {part: text[:MAX_PART] for part, text in parts.items()}
    product = _text(marked_value(catalogue, {**data, **submitted}, Meaning.PRODUCT, schema))[:200]
    defect = _text(marked_value(catalogue, {**data, **submitted}, Meaning.DEFECT_TYPE, schema))[:200] or None
    row = {"problem": parts[Part.PROBLEM], "cause": parts[Part.CAUSE], "solution": parts[Part.SOLUTION],
           "product": product, "product_key": product_key(product), "defect_type": defect, "source_case": number,
           "source_task": task_id, "source_element": element, "status": KnowledgeStatus.ACTIVE, "version": 1,
           "search_text": _search_text(parts[Part.PROBLEM], parts[Part.CAUSE], parts[Part.SOLUTION], product,
                                       defect_words(catalogue, defect)),
           "created_by": actor, "created_at": at, "updated_by": actor, "updated_at": at}
    entry_id = conn.execute(KnowledgeEntry.__table__.insert().returning(KnowledgeEntry.__table__.c.id),
                            row).scalar_one()
    return history.append_at(conn, head, case_number=number, at=at, actor=actor, kind=EventKind.KNOWLEDGE_ADDED,
                             payload={"entry": entry_id, "task_id": task_id, "element": element,
                                      "product": product, "defect_type": defect},
                             deployment_version=deployment_version)


def defect_words(catalogue: Catalogue, code: str | None) -> list[str]:
    """The defect type's words in both languages (from the option list the deployed form was given), so a
    search for 裂纹 or "shell crack" finds entries filed under the code."""
    if not code:
        return []
    words: list[str] = []
    for schema in catalogue.forms.values():
        for name in _fields_meaning(schema, Meaning.DEFECT_TYPE):
            labels = (schema.get("x-ui") or {}).get("labels") or {}
            for language in labels.values():
                word = ((language or {}).get("enum") or {}).get(name, {}).get(code)
                if word and word not in words:
                    words.append(str(word))
    return words


def defect_list(catalogue: Catalogue) -> tuple[dict, str] | None:
    """The form and field the defect types are picked in (the first field marked ``defect-type``), for their
    codes (``enum``) and words (``x-ui`` labels); None when no form marks one."""
    for _name, schema in sorted(catalogue.forms.items()):
        fields = _fields_meaning(schema, Meaning.DEFECT_TYPE)
        if fields:
            return schema, fields[0]
    return None


_FTS = table(SEARCH_TABLE, column("rowid"), column("search_text"))


def _like(term: str) -> tuple[str, bool]:
    """A ``LIKE`` pattern for ``term`` and whether it needs an escape (FTS5 uses its index only without one)."""
    if any(ch in term for ch in "%_\\"):
        return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", True
    return f"%{term}%", False


def _matches(term: str, dialect: str) -> ColumnElement[bool]:
    """``term`` anywhere in the entry's text. SQLite's FTS5 trigram table answers three characters or more;
    shorter terms go to the entry's own column (a scan): SQLite 3.40's trigram ``LIKE`` counts a shorter
    pattern's bytes, not its characters, and finds nothing for two Chinese characters (6 bytes)."""
    pattern, escaped = _like(term.casefold())
    if dialect == "sqlite" and len(term) >= TRIGRAM:
        found = _FTS.c.search_text.like(pattern, escape="\\") if escaped else _FTS.c.search_text.like(pattern)
        return KnowledgeEntry.id.in_(select(_FTS.c.rowid).where(found))
    column_ = KnowledgeEntry.search_text
    return column_.like(pattern, escape="\\") if escaped else column_.like(pattern)


class Knowledge:
    def __init__(self, db: Database, clock: Clock, access: Access, catalogue: Any) -> None:
        """``catalogue()`` gives the active version's catalogue (the defect types' words, the forms)."""
        self._db, self._clock, self._access, self._catalogue = db, clock, access, catalogue

    def may_edit(self, username: str) -> bool:
        """``knowledge = "edit"`` on one of the person's roles (the quality lead's, as shipped)."""
        return self._access.has_setting(username, EDIT_RIGHT, EDIT_VALUE)

    def search(self, viewer: str, text: str = "", *, product: str = "", defect_type: str = "",
               include_retired: bool = False, limit: int = 50) -> list[Entry]:
        """Entries whose text holds every word of ``text`` (any case), for ``product`` and ``defect_type``
        when given, newest first; each says whether ``viewer`` may open its source case."""
        text, product, defect_type = (_query_text(value, name) for value, name in (
            (text, "q"), (product, "product"), (defect_type, "defect_type")))
        query = select(KnowledgeEntry)
        if not include_retired:
            query = query.where(KnowledgeEntry.status == KnowledgeStatus.ACTIVE)
        if product.strip():
            query = query.where(KnowledgeEntry.product_key == product_key(product))
        if defect_type.strip():
            query = query.where(KnowledgeEntry.defect_type == defect_type.strip())
        with self._db.read() as session:
            dialect = session.get_bind().dialect.name
            for term in [t for t in text.split() if t][:MAX_TERMS]:
                query = query.where(_matches(term, dialect))
            rows = session.scalars(query.order_by(KnowledgeEntry.created_at.desc(), KnowledgeEntry.id.desc())
                                   .limit(max(1, min(limit, 200)))).all()
            visible = self._visible(session, viewer, {r.source_case for r in rows})
        return [_entry(r, r.source_case in visible) for r in rows]

    def get(self, viewer: str, entry_id: int) -> Entry:
        with self._db.read() as session:
            row = session.get(KnowledgeEntry, entry_id)
            if row is None:
                raise NotFound(f"no knowledge entry {entry_id}")
            return _entry(row, row.source_case in self._visible(session, viewer, {row.source_case}))

    def products(self) -> list[str]:
        """The products entries exist for (one spelling per product), for the filter."""
        with self._db.read() as session:
            rows = session.execute(select(KnowledgeEntry.product_key, KnowledgeEntry.product).distinct()
                                   .order_by(KnowledgeEntry.product)).all()
        return list({key: name for key, name in rows if key}.values())

    def known_issues(self, viewer: str, number: str, limit: int = 20) -> list[Entry]:
        """The active entries for case ``number``'s product (and its defect type once a step recorded one),
        from other cases: what the handler checking the complaint should know first."""
        catalogue: Catalogue = self._catalogue()
        with self._db.read() as session:
            case = session.execute(select(Case.product_name, Case.summary).where(Case.number == number)).first()
            if case is None:
                raise NotFound(f"no case {number}")
            product = _text(case.product_name or marked_value(catalogue, case.summary or {}, Meaning.PRODUCT))
            steps = session.scalars(select(Event.payload).where(Event.stream == number,
                                                                Event.kind == EventKind.TASK_COMPLETED)
                                    .order_by(Event.stream_seq.desc())).all()
        if not product:
            return []
        defect = None
        for payload in steps:
            defect = _text(marked_value(catalogue, (_payload(payload).get("data") or {}), Meaning.DEFECT_TYPE))
            if defect:
                break
        found = self.search(viewer, product=product, defect_type=defect or "", limit=limit + 5)
        return [e for e in found if e.source_case != number][:limit]

    def correct(self, entry_id: int, editor: str, problem: str, cause: str, solution: str,
                expected_version: int | None = None) -> Entry:
        """The quality lead's correction of an entry's words: a new version, the old words in the history."""
        new = {Part.PROBLEM: _text(problem), Part.CAUSE: _text(cause), Part.SOLUTION: _text(solution)}
        missing = {str(part): "this field is required" for part, value in new.items() if not value}
        too_long = {str(part): f"at most {MAX_PART} characters" for part, value in new.items() if len(value) > MAX_PART}
        if missing or too_long:
            raise FormInvalid({**too_long, **missing})
        return self._change(entry_id, editor, expected_version, EventKind.KNOWLEDGE_CORRECTED, new, None, "")

    def retire(self, entry_id: int, editor: str, reason: str, expected_version: int | None = None) -> Entry:
        """No longer a known issue (the product changed, the entry was wrong); kept, with the reason, for the record."""
        reason = _text(reason)
        if not reason:
            raise FormInvalid({"reason": "this field is required"})
        if len(reason) > 2000:
            raise FormInvalid({"reason": "at most 2000 characters"})
        return self._change(entry_id, editor, expected_version, EventKind.KNOWLEDGE_RETIRED, None,
                            KnowledgeStatus.RETIRED, reason)

    def _change(self, entry_id: int, editor: str, expected_version: int | None, kind: EventKind,
                words: dict[Part, str] | None, status: KnowledgeStatus | None, reason: str) -> Entry:
        if not self.may_edit(editor):
            raise NotAllowed(f"{editor} may not correct or retire knowledge-base entries")
        self._access.require_write(editor)
        with self._db.write() as session:
            row = session.get(KnowledgeEntry, entry_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no knowledge entry {entry_id}")
            if expected_version is not None and expected_version != row.version:
                raise FormInvalid({"_form": "the entry changed meanwhile: read it again"})
            if row.status == KnowledgeStatus.RETIRED:
                raise FormInvalid({"_form": "the entry is retired"})
            with contextlib.suppress(NotFound):  # its history is the case's: no step of it may append meanwhile
                lock_case(session, number=row.source_case)
            now = self._clock.now()
            before = {"problem": row.problem, "cause": row.cause, "solution": row.solution, "status": row.status}
            if words is not None:
                row.problem, row.cause, row.solution = words[Part.PROBLEM], words[Part.CAUSE], words[Part.SOLUTION]
                row.search_text = _search_text(row.problem, row.cause, row.solution, row.product,
                                               defect_words(self._catalogue(), row.defect_type))
            if status is not None:
                row.status = status
            row.version += 1
            row.updated_by, row.updated_at = editor, now
            session.flush()
            payload: dict[str, Any] = {"entry": row.id, "version": row.version}
            if words is not None:
                payload["before"] = {k: v for k, v in before.items() if k != "status"}
            if reason:
                payload["reason"] = reason
            history.append(session, case_number=row.source_case, at=now, actor=editor, kind=kind, payload=payload,
                           deployment_version=None)
            return _entry(row, row.source_case in self._visible(session, editor, {row.source_case}))

    def _visible(self, session: Session, viewer: str, numbers: set[str]) -> set[str]:
        """Which of the cases ``numbers`` ``viewer`` may open (the case page's rule, in one query)."""
        if not numbers:
            return set()
        query = select(Case.number).where(Case.number.in_(sorted(numbers)), not_involved(Case.id, viewer))
        if not self._access.sees_all(viewer):
            mine = select(RoleMember.role).where(RoleMember.username == viewer)
            query = query.where(exists().where(Task.case_id == Case.id,
                                               or_(Task.role.in_(mine), Task.assignee == viewer)))
        return set(session.scalars(query).all())


def _query_text(value: str | None, name: str) -> str:
    """What was asked, as the database can take it: NUL characters dropped, at most ``MAX_QUERY`` characters."""
    text = str(value or "").replace("\x00", "")
    if len(text) > MAX_QUERY:
        raise FormInvalid({name: f"at most {MAX_QUERY} characters"})
    return text


def _payload(text: Any) -> dict:
    if isinstance(text, dict):
        return text
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _entry(row: KnowledgeEntry, visible: bool) -> Entry:
    return Entry(row.id, row.problem, row.cause, row.solution, row.product, row.defect_type, row.source_case,
                 row.source_task, row.source_element, row.status, row.version, row.created_by, row.created_at,
                 row.updated_by, row.updated_at, visible)
