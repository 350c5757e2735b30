"""The words stored in ``event.kind``, ``case.status``, ``task.state`` and ``timer.status``.

They are StrEnums so the code names them once and a typo is an ``AttributeError`` at import,
while the database and the JSON API keep plain strings (a StrEnum member *is* its string).
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What a history event records."""

    DEPLOYED = "deployed"
    ROLES_CHANGED = "roles_changed"
    CASE_STARTED = "case_started"
    TASK_CLAIMED = "task_claimed"
    TASK_UNCLAIMED = "task_unclaimed"
    TASK_REASSIGNED = "task_reassigned"
    TASK_TO_FALLBACK = "task_to_fallback"  # the task's role had nobody available: its fallback role's person got it
    STAFF_INVOLVED = "staff_involved"  # people complained about added after registration
    TASK_COMPLETED = "task_completed"
    MESSAGE_RECEIVED = "message_received"
    TIMER_FIRED = "timer_fired"
    INCIDENT = "incident"
    MIGRATED = "migrated"
    ATTACHMENT_ADDED = "attachment_added"
    CASE_PURGED = "case_purged"
    NOTE_ADDED = "note_added"
    CASE_SUSPENDED = "case_suspended"
    CASE_RESUMED = "case_resumed"
    CASE_CANCELLED = "case_cancelled"
    CASE_DATA_CORRECTED = "case_data_corrected"  # a supervisor set recorded values (before/after, reason)
    CASE_MOVED_BACK = "case_moved_back"  # a supervisor reset the case to a completed step (reason)
    SESSION_ENDED = "session_ended"
    TOKEN_REVOKED = "token_revoked"


class CaseStatus(StrEnum):
    """A case is open until its process ends, then archived (read-only, later purged)."""

    OPEN = "open"
    SUSPENDED = "suspended"  # on hold by a supervisor: no step, message or deadline moves it
    ARCHIVED = "archived"


class TaskState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TimerStatus(StrEnum):
    """A timer waits (pending), fires once (fired), ends with its task (cancelled) or is parked (failed)."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    HELD = "held"  # its case is suspended: not due until the case is resumed


class EndReason(StrEnum):
    """Why a login session ended: the person logged out, someone ended it, or a limit ran out."""

    LOGOUT = "logout"
    ENDED = "ended"  # by an administrator or by the person from another device
    IDLE = "idle"
    LIFETIME = "lifetime"
