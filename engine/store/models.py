"""The tables. Alembic owns the schema (``migrations/``); these classes mirror it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The case columns a period's statistics are grouped by, each indexed with the registration time.
STATISTIC_COLUMNS = ("channel", "complaint_type", "grade", "product_name", "department", "customer_class",
                     "defect_type", "escalation_tier", "compensation")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Deployment(Base):
    """One deploy of the whole ``workflows/`` folder; never edited afterwards."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    files: Mapped[dict] = mapped_column(JSON)  # file name -> text, as deployed
    specs: Mapped[dict] = mapped_column(JSON)  # process id -> serialized spec + its subprocess specs
    forms: Mapped[dict] = mapped_column(JSON)  # form file name -> JSON Schema
    calendar: Mapped[dict] = mapped_column(JSON)


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_created", "created_at"),
        # The statistics (engine/statistics.py) group a period's complaints by each of these: index-only scans.
        *(Index(f"ix_case_stat_{column}", "process_id", "created_at", column) for column in STATISTIC_COLUMNS),
        Index("ix_case_stat_satisfaction", "process_id", "created_at", "satisfaction_level", "satisfaction"),
        # Repeat complaints (same customer, same product) are a grouped count over this index alone.
        Index("ix_case_repeat", "process_id", "created_at", "product_name", "contact_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    process_id: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | archived
    grade: Mapped[str | None] = mapped_column(String(16))
    escalation_tier: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str | None] = mapped_column(String(16))
    complaint_type: Mapped[str | None] = mapped_column(String(32))
    product_name: Mapped[str | None] = mapped_column(String(200))
    involved_staff: Mapped[list] = mapped_column(JSON, default=list)
    waiting_for: Mapped[list] = mapped_column(JSON, default=list)  # messages the case waits on
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # masked registration data
    # The workflow's unfinished part (engine/spiff.py knows the format); finished tasks are rows of workflow_task
    state: Mapped[str] = mapped_column(Text, deferred=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the statistics count, copied from the case data by the fields' x-meaning at every step
    # (engine.casework.save), so a period is grouped over indexed columns, never over JSON.
    customer_class: Mapped[str | None] = mapped_column(String(32))
    defect_type: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_level: Mapped[str | None] = mapped_column(String(32))
    compensation: Mapped[float | None] = mapped_column(Float)
    # The customer's contact without separators, lower case (``engine.deadline_rollup.contact_key``): set at
    # registration, kept by corrections, cleared with the contact; NULL when there is none.
    contact_key: Mapped[str | None] = mapped_column(String(200))
    # The head of the case's history chain (``engine.history``): the number and hash of its last event (0 and
    # NULL before the first). Kept on the case's row, so the step's own update of the row moves it.
    head_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    head_hash: Mapped[str | None] = mapped_column(String(64))


class DeadlineDay(Base):
    """The deadline outcomes of one calendar day, step and role, for the whole (``dim`` "") and for each
    value of one case column the statistics filter by: what the on-time rate and the compliance report
    read instead of every deadline (``engine.deadline_rollup``). Steps only append ``deadline_delta`` rows;
    the scheduler folds them in here."""

    __tablename__ = "deadline_day"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)  # the calendar zone the day is in
    dim: Mapped[str] = mapped_column(String(32), primary_key=True)  # "" (all) or a case column's name
    value: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" (all) or the column's value
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)  # the guarded task's element id
    role: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" when the step has no task row
    title: Mapped[str] = mapped_column(String(200))
    met: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    late_max: Mapped[float | None] = mapped_column(Float)  # seconds, the missed whose step was closed
    open_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # earliest due of the missed still open


class DeadlineDelta(Base):
    """A step's change to ``deadline_day`` rows (signed counts, the lateness it adds), appended in the step's own
    transaction and never updated: no two steps wait on one shared row. The scheduler's lease holder folds
    them into ``deadline_day`` and deletes them in one transaction; readers add the ones not folded yet."""

    __tablename__ = "deadline_delta"
    __table_args__ = (Index("ix_deadline_delta_key", "zone", "dim", "value", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    zone: Mapped[str] = mapped_column(String(64))
    dim: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    met: Mapped[int] = mapped_column(Integer, default=0)
    missed: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    late_max: Mapped[float | None] = mapped_column(Float)
    open_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a missed deadline was taken away: the row's greatest lateness / earliest open due must be read again
    stale: Mapped[bool] = mapped_column(Boolean, default=False)


class StatisticsReport(Base):
    """The review report of a period as it was on the day the diagram's timer produced it (a snapshot)."""

    __tablename__ = "statistics_report"
    __table_args__ = (UniqueConstraint("kind", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # week | month
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkflowTask(Base):
    """One finished SpiffWorkflow task of a case, written once when it settles (see ``engine/spiff.py``).

    Kept apart from ``case.state`` so a step writes the few tasks that settled, not the whole workflow.
    """

    __tablename__ = "workflow_task"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(36))  # "" for the case's process, else the subprocess id
    body: Mapped[str] = mapped_column(Text)  # the serialized task
class InvolvedPerson(Base):
    """A member of staff the complaint is about: they never see or handle the case.

    Mirrors ``case.involved_staff`` as rows so every list can exclude the case with an
    indexed ``NOT EXISTS`` instead of searching the JSON text.
    """

    __tablename__ = "involved_person"
    __table_args__ = (Index("ix_involved_person_username", "username", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)


class Task(Base):
    """A user task, mirrored from the workflow state so inbox queries need no SpiffWorkflow."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_assignee_state", "assignee", "state"),
        Index("ix_task_case_state", "case_id", "state"),
        # The inbox walks these in its sort orders (due, newest), a role's tasks or those one person
        # holds in a role, so a page reads about what it shows.
        Index("ix_task_state_role_due", "state", "role", "due_at", "created_at", "case_id", "id"),
        Index("ix_task_state_role_assignee_due", "state", "role", "assignee", "due_at", "created_at", "case_id", "id"),
        Index("ix_task_state_role_created", "state", "role", "created_at", "case_id", "id"),
        Index("ix_task_state_role_assignee_created", "state", "role", "assignee", "created_at", "case_id", "id"),
        # A deadline's step judged from the index alone (the statistics' on-time rate, engine/statistics.py).
        Index("ix_task_judged", "id", "state", "completed_at", "role"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    element_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64))
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    form: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(64))


class Timer(Base):
    """A waiting timer event and when it falls due: the truth the scheduler reads."""

    __tablename__ = "timer"
    __table_args__ = (
        Index("ix_timer_status_due", "status", "due_at"),
        Index("ix_timer_case_status_due", "case_id", "status", "due_at"),  # a step's deadline check, a case's timers
        Index("ix_timer_due", "due_at"),  # the compliance report's period
        # The statistics' on-time rate reads a period's deadlines from the index alone (engine/statistics.py).
        Index("ix_timer_due_judged", "due_at", "attached_to", "status", "guarded_task_id", "case_id"),
        # Workers claim pending timers in this order; partial, so it holds only what is waiting.
        # A step's missed deadlines of a period, oldest first (the compliance report names the first few).
        Index("ix_timer_step_status_due", "attached_to", "status", "due_at", "id"),
        Index("ix_timer_pending_due", "due_at", "id", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    attached_to: Mapped[str | None] = mapped_column(String(100))  # element id of the guarded task
    guarded_task_id: Mapped[str | None] = mapped_column(String(36))  # the task instance it guards
    interrupting: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | fired | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """Outbox: written in the same transaction as the step that sent it; delivered later."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_case", "case_id"),
                      Index("ix_outbox_unplanned", "id", postgresql_where=text("planned_at IS NULL"),
                            sqlite_where=text("planned_at IS NULL")))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    role: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # every delivery settled (sent or failed)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its delivery rows exist
    link_token: Mapped[str | None] = mapped_column(String(64))  # a customer notice's single-use link


class Delivery(Base):
    """One notice to one recipient on one channel; ``key`` is what the channel sees to tell a resend.

    ``status``: pending (due at ``next_at``), sending (claimed until ``next_at``: a worker that died
    leaves it to be claimed again), sent (at ``sent_at``), failed (parked after the last attempt).
    In-app deliveries are the notification list; ``read_at`` is when the recipient opened it.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_notice", "notice_id"),
        Index("ix_delivery_case", "case_id"),
        Index("ix_delivery_due", "next_at", "id", postgresql_where=text("status IN ('pending', 'sending')"),
              sqlite_where=text("status IN ('pending', 'sending')")),
        Index("ix_delivery_inbox", "recipient", "channel", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    recipient: Mapped[str] = mapped_column(String(64))  # a username, "customer", or "group" for robots
    channel: Mapped[str] = mapped_column(String(16))  # app | email | dingtalk | wecom | sms
    key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """One event of a stream's hash chain (a case's, or ``system`` for events without a case).

    Rows are only ever inserted; the sequencer later sets ``log_index`` (its place in the Merkle log)
    and a retention purge swaps ``payload`` for its digest.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_stream_seq", "stream", "stream_seq", unique=True),
        Index("ix_event_log_index", "log_index", unique=True),
        Index("ix_event_unsequenced", "seq", postgresql_where=text("log_index IS NULL"),
              sqlite_where=text("log_index IS NULL")),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the event's id, in order of writing
    stream: Mapped[str] = mapped_column(String(40))  # the case number, or "system"
    stream_seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the stream
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    deployment_version: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))  # the previous event of the same stream
    hash: Mapped[str] = mapped_column(String(64))
    payload_digest: Mapped[str | None] = mapped_column(String(64))  # set when purged: the payload's sha256
    log_index: Mapped[int | None] = mapped_column(Integer)  # leaf index in the Merkle log, once sequenced


class StreamHead(Base):
    """The head of a chain that belongs to no case (the ``system`` stream); a case's head is on its row."""

    __tablename__ = "stream_head"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class LogState(Base):
    """The Merkle log's current size, root and frontier; only the sequencer locks it (one row)."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[str] = mapped_column(Text)  # JSON list of the perfect subtrees' hashes, largest first


class TreeHead(Base):
    """Every tree head the sequencer produced (size, root, when): later ones must extend earlier ones."""

    __tablename__ = "tree_head"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    frontier: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Person(Base):
    __tablename__ = "person"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set: no login, no task, no notice
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    channels: Mapped[list | None] = mapped_column(JSON)  # wanted channels; None: every configured one but SMS
    locale: Mapped[str | None] = mapped_column(String(10))  # zh-CN (default) or en


class ExternalIdentity(Base):
    """An account signed in through an identity provider (OpenID Connect): the provider's issuer and subject.

    The subject, not the username, is who the person is at the provider: a renamed or reused
    ``preferred_username`` never hands one person's account to another.
    """

    __tablename__ = "external_identity"

    issuer: Mapped[str] = mapped_column(String(500), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("person.username"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Absence(Base):
    """A period someone is away: whole days of the calendar's zone, the first and the last included.

    ``last_day`` None means "until further notice" (the old on/off flag, and ``People.set_absent``).
    """

    __tablename__ = "absence"
    __table_args__ = (Index("ix_absence_username_days", "username", "first_day", "last_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("person.username"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoleMember(Base):
    """Who holds a role; rank 1 is the primary, 2 the backup, and so on."""

    __tablename__ = "role_member"
    __table_args__ = (UniqueConstraint("role", "rank"),)

    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("person.username"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class SavedView(Base):
    """A person's named inbox filters (the query string of the inbox), to come back to in one click."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("username", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("person.username"))
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ComplaintCounter(Base):
    """Daily serial per channel for complaint numbers ``YYYYMMDD-<CHANNEL>-<NNN>``."""

    __tablename__ = "complaint_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class SchedulerLease(Base):
    """At most one scheduler fires timers per database; a dead holder's lease expires."""

    __tablename__ = "scheduler_lease"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomerContact(Base):
    """The customer's full name and contact, kept apart from the case (which holds them masked).

    Only roles with ``contact = "full"`` in roles.toml read it: the case row, its history
    and every export carry the masked form.
    """

    __tablename__ = "customer_contact"

    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))  # the language the customer used at intake


class Attachment(Base):
    """A photo or video of a case; the bytes live in a file outside the database row."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # as the uploader named it (shown, never used as a path)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_as: Mapped[str] = mapped_column(String(255))  # path under the attachments folder
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkToken(Base):
    """A signed link sent to a customer (confirm a plan, answer a survey): usable once, until it expires."""

    __tablename__ = "link_token"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_number: Mapped[str] = mapped_column(String(40), index=True)
    purpose: Mapped[str] = mapped_column(String(40))  # confirm | survey | reply | verify
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # verify: the improvement item whose effect the customer of ``case_number`` (a linked complaint) is asked
    item_number: Mapped[str | None] = mapped_column(String(40))


class LookupCode(Base):
    """A one-time code sent to a customer's contact to open their case's status page.

    Only a salted hash is kept; it works until ``expires_at``, for a few attempts, once.
    """

    __tablename__ = "lookup_code"
    __table_args__ = (Index("ix_lookup_code_case", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # email | sms
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RegistrationKey(Base):
    """A caller's idempotency key, written in the registration's own transaction.

    A retry with the same key finds the complaint it made instead of filing another; the
    request's hash tells a true retry from a different request that reused the key.
    """

    __tablename__ = "registration_key"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSession(Base):
    """One login to the pages. The cookie carries a random token; only its SHA-256 (the id) is kept here.

    A row that is ended (logout, an administrator, the idle or absolute limit) refuses every copy of the
    cookie, including one taken before the end.
    """

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_username", "username", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    end_reason: Mapped[str | None] = mapped_column(String(16))  # an EndReason
    user_agent: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token of the API, kept hashed; revoked or expired, it is refused at once."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_username", "username", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, shown to its owner and admins
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class KnowledgeEntry(Base):
    """A "problem – cause – solution" entry of the knowledge base, made by a step whose form marks fields
    ``x-knowledge`` (``engine.knowledge``). ``search_text`` is what the trigram search reads (casefolded; on
    SQLite mirrored into the FTS5 table ``knowledge_fts`` by triggers, on PostgreSQL a ``pg_trgm`` GIN index
    the migration makes). The source case is named by its number, not a key: a purged case leaves its lesson."""

    __tablename__ = "knowledge_entry"
    __table_args__ = (Index("ix_knowledge_entry_product", "product_key", "defect_type", "status"),
                      UniqueConstraint("source_task"))

    id: Mapped[int] = mapped_column(primary_key=True)
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    solution: Mapped[str] = mapped_column(Text)
    product: Mapped[str] = mapped_column(String(200))
    product_key: Mapped[str] = mapped_column(String(200))  # casefolded, spaces removed: what "same product" compares
    defect_type: Mapped[str | None] = mapped_column(String(200))
    source_case: Mapped[str] = mapped_column(String(40))
    source_task: Mapped[str] = mapped_column(String(64))
    source_element: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # a KnowledgeStatus
    version: Mapped[int] = mapped_column(Integer)  # 1 when made, +1 per correction or retirement
    search_text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
