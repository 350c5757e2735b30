"""Finding cases the way handlers remember them: a fragment of the number, the customer's name, the
last digits of the contact, the product, model or serial, words of the description.

Only cases the person may open are searched (the same rule as the case page: never a case they are
involved in; every case for roles that see all, else cases their roles have or had a task on), so a
search can never reveal more than opening the cases would. Which fields of the registration are the
product, the description and the like, the deployed intake form says: its text fields are searched
by name through JSON access, never by matching the serialized summary. The customer's full name and
contact are read from the protected contact table to match, never returned: hits carry the masked
name the case keeps.

Every term must match some field (``手表 5678`` finds watch complaints of the customer whose contact
ends in 5678). It is a scan of the visible cases with ``LIKE``: at 100,000 cases it stays within a
few hundred milliseconds; a trigram index (PostgreSQL ``pg_trgm``) is the next step if it must go
further.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, or_, select

from engine.access import Access, not_involved
from engine.catalogue import Meaning
from engine.errors import NotFound
from engine.repository import Repository
from engine.store.db import Database
from engine.store.models import Case, CustomerContact, RoleMember, Task

MAX_TERMS = 6
MIN_DIGITS = 4  # digits of a contact are matched from four on: fewer would match nearly everyone
PROBLEM_CHARS = 60
_SEPARATORS = ("-", " ", "+", "(", ")", ".")


@dataclass(frozen=True)
class CaseHit:
    number: str
    status: str
    grade: str | None
    product: str
    customer: str  # masked, as the case keeps it
    problem: str  # the first words of the description
    created_at: datetime


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _digits_only(column: ColumnElement) -> ColumnElement:
    for separator in _SEPARATORS:
        column = func.replace(column, separator, "")
    return column


class CaseSearch:
    def __init__(self, db: Database, access: Access, repository: Repository) -> None:
        self._db, self._access, self._repository = db, access, repository

    def find(self, viewer: str, text: str, limit: int = 50) -> list[CaseHit]:
        """Cases ``viewer`` may open whose fields match every term of ``text``, newest first."""
        if re.fullmatch(r"[\d\s\-+().]+", text) and len(re.sub(r"\D", "", text)) >= MIN_DIGITS:
            terms = [re.sub(r"\D", "", text)]  # a phone number typed in groups: "139 1234 8765"
        else:
            terms = [t for t in text.split() if t][:MAX_TERMS]
        if not terms:
            return []
        fields = self._text_fields()
        query = self._visible(viewer).outerjoin(CustomerContact, CustomerContact.case_id == Case.id)
        for term in terms:
            query = query.where(self._matches(term, fields))
        return self._hits(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))

    def same_customer(self, viewer: str, number: str, limit: int = 20) -> list[CaseHit]:
        """The customer's other complaints (same contact, separators ignored) that ``viewer`` may open."""
        with self._db.read() as session:
            contact = session.scalar(select(CustomerContact.contact).join(Case, Case.id == CustomerContact.case_id)
                                     .where(Case.number == number))
        key = re.sub(r"[\s\-+().]", "", contact or "").casefold()
        if not key:
            return []
        query = (self._visible(viewer).join(CustomerContact, CustomerContact.case_id == Case.id)
                 .where(func.lower(_digits_only(CustomerContact.contact)) == key, Case.number != number))
        return self._hits(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))

    def _visible(self, viewer: str):  # noqa: ANN202
        query = select(Case.number, Case.status, Case.grade, Case.product_name, Case.summary, Case.created_at,
                       Case.deployment_id).where(not_involved(Case.id, viewer))
        if not self._access.sees_all(viewer):
            mine = select(RoleMember.role).where(RoleMember.username == viewer)
            query = query.where(exists().where(Task.case_id == Case.id, Task.role.in_(mine)))
        return query

    def _text_fields(self) -> list[str]:
        """The intake form's text fields that describe the complaint (not the contact, not the staff named)."""
        try:
            active = self._repository.active()
        except NotFound:
            return []
        schema = active.intake_form() or {}
        hidden = {active.catalogue.field(m) for m in (Meaning.CONTACT, Meaning.INVOLVED_STAFF, Meaning.CUSTOMER_NAME)}
        return [name for name, spec in (schema.get("properties") or {}).items()
                if isinstance(spec, dict) and spec.get("type") == "string" and "enum" not in spec
                and spec.get("format") not in ("date", "date-time") and name not in hidden]

    @staticmethod
    def _matches(term: str, fields: list[str]) -> ColumnElement[bool]:
        like = _like(term)
        found = [Case.number.like(_like(term.upper()), escape="\\"),
                 Case.product_name.ilike(like, escape="\\"),
                 CustomerContact.name.ilike(like, escape="\\")]
        found += [cast(Case.summary[name].as_string(), String).ilike(like, escape="\\") for name in fields]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= MIN_DIGITS and len(digits) == len(re.sub(r"[\s\-+().]", "", term)):
            found.append(_digits_only(CustomerContact.contact).like(_like(digits), escape="\\"))
        return and_(or_(*found))

    def _hits(self, query) -> list[CaseHit]:  # noqa: ANN001
        with self._db.read() as session:
            rows = session.execute(query).all()
        hits = []
        for r in rows:
            summary = r.summary or {}
            try:
                facts = self._repository.load(r.deployment_id).catalogue
            except NotFound:
                facts = None
            name = str(facts.value(summary, Meaning.CUSTOMER_NAME) or "") if facts else ""
            problem = " ".join(str(facts.value(summary, Meaning.DESCRIPTION) or "").split()) if facts else ""
            hits.append(CaseHit(r.number, r.status, r.grade, r.product_name or "", name,
                                problem if len(problem) <= PROBLEM_CHARS else problem[:PROBLEM_CHARS] + "…",
                                r.created_at))
        return hits
