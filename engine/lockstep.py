"""A step applies as of the moment it holds its case, after every deadline that passed before then.

A step that waited for its case's lock (another step, a slow transaction) must not be applied as of
when it was asked for: a deadline may have passed meanwhile, and the history would then show a step
taken after a deadline whose timer never fired (replay flags exactly that). So the step takes its
moment once the case is locked and calls ``raise_if_timers_due``; ``after_due_timers`` then fires
those timers in their own transactions and runs the step again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.store.models import Timer

T = TypeVar("T")
MAX_ATTEMPTS = 5
_TM = Timer.__table__


def timers_due(case_id):  # noqa: ANN001, ANN201
    """Whether a pending timer of the case fell due by the ``now`` parameter (a column to add to a locked read)."""
    return exists().where(_TM.c.case_id == case_id, _TM.c.status == "pending",
                          _TM.c.due_at <= bindparam("now", type_=_TM.c.due_at.type))


TIMERS_DUE = select(timers_due(bindparam("case_id")))


class DeadlinePassed(Exception):
    """A timer of the case fell due before the step could apply: fire it, then try again."""


class DeadlinesKeptPassing(EngineError):
    """The case's timers kept falling due while the step waited; nothing was written."""


def raise_if_timers_due(session: Session, case_id: int, now: datetime) -> None:
    """Inside the step's transaction, with the case locked: stop if a timer fell due by ``now``."""
    if session.connection().execute(TIMERS_DUE, {"case_id": case_id, "now": now}).scalar():
        raise DeadlinePassed


def after_due_timers(fire: Callable[[], object], step: Callable[[], T], fire_first: bool = True) -> T:
    """Run ``step`` (one transaction), firing the case's due timers first and whenever it says some fell due."""
    for _ in range(MAX_ATTEMPTS):
        if fire_first:
            fire()
        try:
            return step()
        except DeadlinePassed:
            fire_first = True
    raise DeadlinesKeptPassing("the case's deadlines kept falling due while this step waited for it; try again")
