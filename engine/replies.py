"""The customer's answer to a request for more information, from the portal's reply page.

The diagram marks the message a customer answers this way (``customerReplies = FIELD`` on its catch
event); the notice asking for the information carries a single-use link to the page. The answer is
delivered as that message, ``{FIELD: text, "attachments": [{"id", "filename"}, ...]}``, and in the
same transaction the link is spent and each photo is recorded on the case (with its history event):
all of it happens, or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.attachments import ACCEPTED, Attachments, Staged, check
from engine.casework import CaseRow
from engine.catalogue import REPLY_ATTACHMENTS, CustomerReply
from engine.errors import FormInvalid, MessageNotExpected
from engine.links import Links
from engine.people import CUSTOMER
from engine.repository import Repository
from engine.runtime import Runtime
from engine.store.db import Database
from engine.store.models import Case

PURPOSE = "reply"
MAX_FILES = 5
MAX_TEXT = 4000


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    data: bytes


class CustomerReplies:
    def __init__(self, db: Database, repository: Repository, runtime: Runtime, links: Links,
                 attachments: Attachments) -> None:
        self._db, self._repository, self._runtime = db, repository, runtime
        self._links, self._attachments = links, attachments

    def waiting(self, number: str) -> CustomerReply | None:
        """The message the case now waits for that a customer answers from the reply page, if any."""
        with self._db.reading() as conn:
            row = conn.execute(select(Case.waiting_for, Case.deployment_id).where(Case.number == number)).first()
        if row is None:
            return None
        replies = self._repository.load(row.deployment_id).catalogue.customer_replies
        return next((replies[name] for name in sorted(row.waiting_for or ()) if name in replies), None)

    def open(self, token: str) -> tuple[str, CustomerReply]:
        """(case number, the reply it waits for) for a link usable now: ``LinkInvalid``, or
        ``MessageNotExpected`` once the case no longer waits (answered by phone, timed out)."""
        number = self._links.check(token, PURPOSE)
        reply = self.waiting(number)
        if reply is None:
            raise MessageNotExpected(f"case {number} waits for no reply now", number, PURPOSE)
        return number, reply

    def answer(self, token: str, text: str, uploads: list[Upload]) -> str:
        """Deliver the customer's text and photos, spending the link, in one transaction; the case number.

        ``FormInvalid`` (nothing changed, the link still works) for an empty or long text, too many
        files, or a file that is not a photo.
        """
        number, reply = self.open(token)
        text = (text or "").strip()
        errors = {}
        if not text and not uploads:
            errors["text"] = "write an answer or add a photo"
        elif len(text) > MAX_TEXT:
            errors["text"] = f"at most {MAX_TEXT} characters"
        if len(uploads) > MAX_FILES:
            errors["file"] = f"at most {MAX_FILES} photos"
        for upload in uploads:
            if not errors:
                try:
                    kind = check(upload.filename, upload.content_type, upload.data)
                except FormInvalid as error:
                    errors.update(error.errors)
                    continue
                if ACCEPTED[kind].family != "image":
                    errors["file"] = "only photos (JPEG, PNG, WebP) are accepted here"
        if errors:
            raise FormInvalid(errors)
        with self._db.reading() as conn:
            case_id = conn.scalar(select(Case.id).where(Case.number == number))
        staged = [self._attachments.stage(case_id, u.filename, u.content_type, u.data) for u in uploads]

        def within(session: Session, case: CaseRow, now: datetime) -> dict:
            self._links.use_in(session, token, PURPOSE)
            return {REPLY_ATTACHMENTS: [
                {"id": self._attachments.record(session, case, item, CUSTOMER, now), "filename": item.filename}
                for item in staged]}

        try:
            self._runtime.message(number, reply.name, {reply.text_field: text}, CUSTOMER, within=within)
        except BaseException:
            self._attachments.discard(staged)
            raise
        return number


__all__ = ["MAX_FILES", "CustomerReplies", "Staged", "Upload"]
