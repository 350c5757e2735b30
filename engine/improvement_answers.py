"""Customers' answers to an improvement item's verification: is the problem they complained about solved?

When the improvement process tells the customers of the linked complaints with a notice whose template says
``link = "verify"`` (``engine.improvements``), each gets a single-use, expiring link naming their complaint
and the item. Answering uses the link up and appends the answer to the item's history in one transaction:
a second answer through the same link is refused (``LinkInvalid("used")``) and nothing is lost or doubled.
The step marked ``customerVerification = true`` shows the answers to the person verifying with customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine import history
from engine.clock import Clock
from engine.errors import CaseArchived, FormInvalid
from engine.history import History
from engine.links import VERIFY, LinkInvalid, Links
from engine.people import CUSTOMER
from engine.store.db import Database
from engine.store.enums import CaseStatus, EventKind
from engine.store.models import Case, LinkToken

MAX_COMMENT = 1000  # the customer's words with their answer


@dataclass(frozen=True)
class Question:
    """What a verification link asks about: the customer's own complaint and its product, and the item."""

    complaint: str
    item: str
    product: str | None


@dataclass(frozen=True)
class CustomerAnswer:
    complaint: str
    solved: bool
    comment: str
    at: datetime


class VerificationAnswers:
    def __init__(self, db: Database, clock: Clock, links: Links, events: History) -> None:
        self._db, self._clock, self._links, self._history = db, clock, links, events

    def question(self, token: str) -> Question:
        """What the link asks, if it can be answered now (``LinkInvalid`` otherwise); never uses it up."""
        complaint = self._links.check(token, VERIFY)
        with self._db.read() as session:
            item = session.scalar(select(LinkToken.item_number).where(LinkToken.id == token))
            product = session.scalar(select(Case.product_name).where(Case.number == complaint))
        if not item:
            raise LinkInvalid("unknown")
        return Question(complaint, item, product)

    def answer(self, token: str, solved: bool, comment: str = "") -> CustomerAnswer:
        """Record the customer's answer on the item and use the link up, in one transaction.

        The item's row is locked first, so its own steps and other answers append to its history one after
        the other; an archived item takes no answer and the link stays unused.
        """
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT:
            raise FormInvalid({"comment": f"at most {MAX_COMMENT} characters"})
        with self._db.write() as session:
            item = session.scalar(select(LinkToken.item_number).where(LinkToken.id == token))
            if not item:
                raise LinkInvalid("unknown")
            status = session.scalar(select(Case.status).where(Case.number == item).with_for_update(
                key_share=True))
            if status == CaseStatus.ARCHIVED:
                raise CaseArchived(item)
            complaint = self._links.use_in(session, token, VERIFY)
            now = self._clock.now()
            history.append(session, case_number=item, at=now, actor=CUSTOMER, kind=EventKind.IMPROVEMENT_ANSWERED,
                           payload={"case": complaint, "solved": bool(solved), "comment": comment},
                           deployment_version=None)
        return CustomerAnswer(complaint, bool(solved), comment, now)

    def answers(self, item: str) -> list[CustomerAnswer]:
        """The customers' answers recorded on item ``item``, oldest first."""
        return [CustomerAnswer(str(e.payload.get("case") or ""), bool(e.payload.get("solved")),
                               str(e.payload.get("comment") or ""), e.at)
                for e in self._history.events(item) if e.kind == EventKind.IMPROVEMENT_ANSWERED]
