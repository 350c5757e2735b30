"""complaintflow's engine: SpiffWorkflow run on a database, with real timers.

``engine.open(database_url, workflows_dir)`` wires the services (≈ Camunda's):
``repository`` (deploy), ``runtime`` (start, message), ``tasks`` (inbox, complete),
``timers`` (fire, scheduler), ``cases``, ``history``, ``people``, ``notifications`` (delivery). No Flask here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from engine.access import Access
from engine.attachments import Attachments
from engine.cases import Cases
from engine.casework import CaseWork
from engine.clock import Clock, SystemClock
from engine.corrections import Corrections
from engine.deadline_rollup import Folder as RollupFolder
from engine.diagrams import Diagrams
from engine.errors import (
    CaseArchived,
    DecisionFailure,
    DeployError,
    EngineError,
    FormInvalid,
    MessageNotExpected,
    NotAllowed,
    NotFound,
    Problem,
    StaleCase,
    TaskAlreadyCompleted,
    TaskNotOpen,
    WorkflowFailure,
)
from engine.health import Health
from engine.history import History
from engine.identities import Identities
from engine.improvement_answers import VerificationAnswers
from engine.improvements import Improvements
from engine.intervention import Intervention
from engine.knowledge import Knowledge
from engine.links import Links
from engine.lookup import LookupCodes
from engine.migration import Migration
from engine.notes import Notes
from engine.notify import Notifications
from engine.pending import PendingMatters
from engine.people import People
from engine.people_admin import PeopleAdmin
from engine.proofs import Proofs
from engine.replay import Replay
from engine.replies import CustomerReplies
from engine.reports import Reports
from engine.repository import Repository
from engine.retention import Retention
from engine.runtime import Runtime
from engine.saved_views import SavedViews
from engine.seals import Seals
from engine.search import CaseSearch
from engine.sessions import Sessions
from engine.statistics import Statistics
from engine.store.db import Database, Timeouts, upgrade
from engine.tasks import Tasks
from engine.timers import Timers

__all__ = [
    "CaseArchived", "DecisionFailure", "DeployError", "Engine", "EngineError", "FormInvalid", "MessageNotExpected",
    "NotAllowed", "NotFound", "Problem", "StaleCase", "TaskAlreadyCompleted", "TaskNotOpen", "WorkflowFailure", "open",
]


class Engine:
    """The services over one database and one ``workflows/`` folder."""

    def __init__(self, database_url: str, workflows_dir: str | Path, clock: Clock | None = None,
                 attachments_dir: str | Path | None = None, timeouts: Timeouts | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.workflows_dir = Path(workflows_dir)
        self.db = Database(database_url, timeouts)
        upgrade(self.db.engine)
        self.repository = Repository(self.db, self.clock, self.workflows_dir)
        self.people = People(self.db, self.clock, self.repository.active_roles, self.repository.zone)
        self.identities = Identities(self.db, self.clock, self.repository.active_roles, self.people.today)
        self.history = History(self.db, self.clock)
        self.seals = Seals(self.db, self.clock)
        self.proofs = Proofs(self.db)
        work = CaseWork(self.repository, self.clock)
        self.timers = Timers(self.db, self.clock, work)
        self.runtime = Runtime(self.db, self.clock, self.repository, work, self.timers)
        self.tasks = Tasks(self.db, self.clock, self.repository, work, self.timers)
        self.access = Access(self.db, self.repository.active_roles)
        self.sessions = Sessions(self.db, self.clock, self.access.is_admin)
        self.people_admin = PeopleAdmin(self.db, self.clock, self.repository.active_roles, self.repository.zone,
                                        self.access.is_admin, self.sessions)
        self.cases = Cases(self.db, self.access)
        self.search = CaseSearch(self.db, self.access, self.repository)
        self.notes = Notes(self.db, self.clock, self.history)
        self.intervention = Intervention(self.db, self.clock)
        self.corrections = Corrections(self.db, self.clock, self.repository, work, self.timers)
        self.saved_views = SavedViews(self.db, self.clock)
        self.pending = PendingMatters(self.db, self.repository, self.access)
        self.knowledge = Knowledge(self.db, self.clock, self.access, lambda: self.repository.active().catalogue)
        files = Path(attachments_dir) if attachments_dir else _default_attachments_dir(database_url)
        self.attachments = Attachments(self.db, self.clock, files)
        self.retention = Retention(self.db, self.clock, files)
        self.links = Links(self.db, self.clock)
        self.reports = Reports(self.db, self.clock, self.repository)
        self.statistics = Statistics(self.db)
        self.rollup = RollupFolder(self.db)
        self.diagrams = Diagrams(self.db, self.repository, self.access)
        self.migration = Migration(self.db, self.clock, self.repository, work, self.timers)
        self.replay = Replay(self.db, self.repository)
        self.health = Health(self.db, self.clock)
        self.notifications = Notifications(self.db, self.clock)
        self.lookup = LookupCodes(self.db, self.clock, self.notifications)
        self.improvements = Improvements(self.db, self.repository, self.runtime)
        self.verification = VerificationAnswers(self.db, self.clock, self.links, self.history)
        work.after_save.append(self.improvements.after_save)
        self.replies = CustomerReplies(self.db, self.repository, self.runtime, self.links, self.attachments)

    def duties(self) -> list[tuple[Callable[[], object], float]]:
        """What the scheduler's lease holder runs besides the timers, and how often (seconds).

        Sequencing links committed history events into the Merkle log soon after they are written,
        so the window in which an event is protected by its case chain alone stays short. Rows of
        long-ended sessions and dead API tokens (addresses, browsers) are deleted once an hour. Tasks
        held by someone whose absence period has begun move on every five minutes. The deadline roll-up's
        deltas, which steps only append, are folded into its daily rows every minute (readers add the
        rest, so the interval bounds the deltas' size, not the answers' freshness).
        """
        return [(self.history.sequence, float(os.environ.get("COMPLAINTFLOW_SEQUENCE_SECONDS", "5"))),
                (self.sessions.forget_old, 3600.0), (self.people.hand_on_from_absent, 300.0),
                (self.rollup.fold, float(os.environ.get("COMPLAINTFLOW_ROLLUP_FOLD_SECONDS", "60")))]

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(database_url: str, workflows_dir: str | Path, clock: Clock | None = None,  # noqa: A001
         attachments_dir: str | Path | None = None, timeouts: Timeouts | None = None) -> Engine:
    """The engine over one database and one workflows folder.

    Attachments are files kept outside the database: by default in ``attachments/`` beside a
    SQLite file, else under the instance folder's ``attachments`` (``COMPLAINTFLOW_INSTANCE``).
    ``timeouts`` default to the environment's
    (``Timeouts.from_environment``).
    """
    return Engine(database_url, workflows_dir, clock, attachments_dir, timeouts)


def _default_attachments_dir(database_url: str) -> Path:
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///")).resolve().parent / "attachments"
    from engine import instance

    return instance.resolve().folder / "attachments"
