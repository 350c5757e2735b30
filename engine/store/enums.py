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
    SIGN_IN_ROLES_SET = "sign_in_roles_set"  # an identity provider's groups gave an account other roles (or it)
    IMPROVEMENT_LINKED = "improvement_linked"  # an improvement item and the complaints it answers (seed 003)
    IMPROVEMENT_ANSWERED = "improvement_answered"  # a linked complaint's customer: is the problem solved? (on the item)
    KNOWLEDGE_ADDED = "knowledge_added"  # a step whose form has x-knowledge fields made a knowledge-base entry
    KNOWLEDGE_CORRECTED = "knowledge_corrected"  # its problem, cause or solution corrected (on the source case)
    KNOWLEDGE_RETIRED = "knowledge_retired"  # no longer shown as a known issue (on the source case)
    # people administration (system stream): who did what to whose account
    PERSON_CREATED = "person_created"
    PERSON_CHANGED = "person_changed"  # display name or contact addresses
    PERSON_ROLES_CHANGED = "person_roles_changed"
    ROLE_RANKS_SET = "role_ranks_set"  # a role's primary and backup
    ABSENCE_ADDED = "absence_added"
    ABSENCE_REMOVED = "absence_removed"
    PERSON_DISABLED = "person_disabled"
    PERSON_ENABLED = "person_enabled"


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


class HandOnReason(StrEnum):
    """Why the engine moved someone's open task on (the ``reason`` of its ``task_reassigned`` event)."""

    ABSENT = "absent"  # an absence period of theirs covers the day
    DISABLED = "disabled"  # their account was disabled: back to the role's group
    ROLE_REMOVED = "role_removed"  # they no longer hold the task's role


class EndReason(StrEnum):
    """Why a login session ended: the person logged out, someone ended it, or a limit ran out."""

    LOGOUT = "logout"
    ENDED = "ended"  # by an administrator or by the person from another device
    IDLE = "idle"
    LIFETIME = "lifetime"
    DISABLED = "disabled"  # the account was disabled by an administrator


class KnowledgeStatus(StrEnum):
    """A knowledge-base entry is shown as a known issue while active; a retired one stays, for the record."""

    ACTIVE = "active"
    RETIRED = "retired"
