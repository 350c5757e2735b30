"""The tables of the improvement loop (seed 003): which complaints an improvement item answers, and the
recurring-problem counters that open items. Alembic owns the schema (migration 0021)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, UTCDateTime


class ImprovementLink(Base):
    """A complaint (or suggestion) an improvement item answers; the item's complainants can be asked later."""

    __tablename__ = "improvement_link"
    __table_args__ = (UniqueConstraint("item_case_id", "case_id"), Index("ix_improvement_link_case", "case_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    source: Mapped[str] = mapped_column(String(100))  # why: the opening's source (suggestion, recurrence, capa)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecurrenceGroup(Base):
    """Complaints of one group (e.g. product and defect type) in one calendar month, counted as they come.

    The unique (group, month) row is the race guard: its counter is raised by an upsert that holds the
    row until the commit, so two complaints of a group never both see "the sixth", and the item it opens
    is written once (``item_case_id``).
    """

    __tablename__ = "recurrence_group"
    __table_args__ = (UniqueConstraint("group_key", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(500))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the business calendar's zone
    members: Mapped[int] = mapped_column(Integer)
    item_case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))


class RecurrenceMember(Base):
    """A complaint counted in a recurrence group: each complaint counts once, whatever step counts it again."""

    __tablename__ = "recurrence_member"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("recurrence_group.id"), index=True)
