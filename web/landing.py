"""Where a person lands after signing in without asking for a page: their one waiting step, else the inbox.

A handler who signs in because a step was handed to them (a notice, a colleague's call) has exactly one
thing to do: with one open step in their inbox and no notice they must act on, the step opens at once and
a message says so, the inbox one click away in the header (Zendesk's "play mode" idea, without the mode).
With two steps or none, a notice to act on, a page asked for (``next``) or read-only rights, the inbox.
"""

from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _

from engine.tasks import InboxQuery
from web.services import engine, local_path

LANDED = "landed"  # the step's page was opened by signing in


def after_sign_in(username: str, read_only: bool, asked: str | None) -> str:
    """The path to send a person to right after signing in."""
    inbox = url_for("inbox.index")
    if asked:
        return local_path(asked, inbox)
    if read_only:
        return inbox
    eng = engine()
    waiting = eng.tasks.inbox(username, InboxQuery(limit=2)).tasks
    if len(waiting) != 1 or waiting[0].assignee not in (None, username):
        return inbox
    if any(n.must_act and not n.read_at for n in eng.notifications.for_user(username)):
        return inbox
    return url_for("cases.task", task_id=waiting[0].id, **{LANDED: 1})


def say_landed() -> None:
    """On the step's page, say why it opened (a query parameter, not the session's messages: a message
    kept for "the next page" would turn up on whatever page that is)."""
    flash(_("One step waits for you, so it is open. Your inbox lists all your work."), "ok")
