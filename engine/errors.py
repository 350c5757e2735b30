"""Errors a caller can tell apart (the web maps each to one HTTP status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import refusals


class EngineError(Exception):
    """Base of every error the engine raises on purpose.

    ``code`` and ``params`` say what happened without words: callers show ``text(lang)`` (from
    ``engine.refusals.MESSAGES``, zh and en) and never parse the English of ``str(error)``, which
    is for logs and developers.
    """

    code = "engine_error"

    @property
    def params(self) -> dict[str, str]:
        return dict(getattr(self, "_params", {}))

    @params.setter
    def params(self, value: dict[str, str]) -> None:
        self._params = dict(value)

    def _coded(self, **params: object) -> None:
        self._params = {key: "" if value is None else str(value) for key, value in params.items()}

    def text(self, lang: str = "en") -> str:
        """The error in a person's language (``zh`` or ``en``)."""
        return refusals.render(self.code, self.params, lang)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deployment: where it is, a code, and the facts its message needs.

    The words are in ``engine.refusals`` (zh and en); ``message`` is the English text, ``text(lang)``
    any language. ``element`` is the element's id with its name in brackets when it has one.
    """

    file: str
    element: str | None
    code: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, file: str, element: str | None, code: str, **params: object) -> Problem:
        return cls(file, element or None, code, tuple((k, str(v)) for k, v in params.items()))

    def text(self, lang: str = "en") -> str:
        return refusals.render(self.code, dict(self.params), lang)

    @property
    def message(self) -> str:
        return self.text("en")

    def as_dict(self, lang: str = "en") -> dict:
        return {"file": self.file, "element": self.element, "code": self.code, "params": dict(self.params),
                "message": self.text(lang)}

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.element}]" if self.element else "")
        return f"{where}: {self.message}"


class DeployError(EngineError):
    """The files were refused; the active versions are unchanged."""

    code = "deploy_refused"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("deployment refused:\n" + "\n".join(f"  - {p}" for p in problems))


class FormInvalid(EngineError):
    """Submitted data does not match the task's form; ``errors`` maps field -> message."""

    code = "form_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        self._coded(fields=", ".join(errors))
        super().__init__("invalid form data: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))


class StaffUnknown(FormInvalid):
    """A person complained about who is nobody on the staff: a typo must not slip past the exclusion."""

    code = "staff_unknown"

    def __init__(self, field: str, names: list[str]) -> None:
        shown = ", ".join(names)
        super().__init__({field: f"no member of staff is called {shown}: name people by their username"})
        self._coded(field=field, names=shown)


class CorrectionBreaksForm(FormInvalid):
    """A correction of recorded data would leave the data a form recorded against one of that form's
    whole-form rules (``if``/``then``, ``allOf``, ``dependentRequired``...): a decision changed so a reason
    it requires is missing. ``form`` is the form's file, ``rule`` where the rule sits in its schema,
    ``field`` the field it finds wrong."""

    code = "correction_breaks_form"

    def __init__(self, form: str, rule: str, field: str, problem: str, schema: dict | None = None) -> None:
        super().__init__({field: problem})
        self.form, self.rule, self.field, self.problem = form, rule, field, problem
        self.schema = schema or {}  # the form's schema: its labels name the form and the field to people
        self._coded(form=form, rule=rule, field=field, problem=problem)


class TaskAlreadyCompleted(EngineError):
    code = "task_already_completed"

    def __init__(self, task_id: str, by: str | None, at: datetime | None) -> None:
        self.task_id, self.by, self.at = task_id, by, at
        when = at.isoformat() if at else "an earlier time"
        self._coded(task=task_id, by=by or "engine", at=when)
        super().__init__(f"task {task_id} was already completed by {by or 'the engine'} at {when}")


class TaskNotOpen(EngineError):
    """The task was cancelled (an interrupting deadline or another path won)."""

    code = "task_not_open"

    def __init__(self, task_id: str, state: str) -> None:
        self.task_id, self.state = task_id, state
        self._coded(task=task_id, state=state)
        super().__init__(f"task {task_id} is {state} and can no longer be completed")


class NotAllowed(EngineError):
    """This person may not do this (role, assignment, or they are involved in the case)."""

    code = "not_allowed"


class StaleCase(EngineError):
    """The case changed since the caller read it (optimistic lock)."""

    code = "stale_case"

    def __init__(self, number: str, expected: int, actual: int) -> None:
        self.number, self.expected, self.actual = number, expected, actual
        self._coded(number=number, expected=expected, actual=actual)
        super().__init__(f"case {number} is at version {actual}, not {expected}: reload and try again")


class CaseArchived(EngineError):
    code = "case_archived"

    def __init__(self, number: str) -> None:
        self.number = number
        self._coded(number=number)
        super().__init__(f"case {number} is archived and read-only")


class CaseSuspended(EngineError):
    """A supervisor put the case on hold: nothing moves (no step, no message, no deadline) until resumed."""

    code = "case_suspended"

    def __init__(self, number: str) -> None:
        self.number = number
        self._coded(number=number)
        super().__init__(f"case {number} is suspended")


class CaseNotOpen(EngineError):
    """Suspend an open case, resume a suspended one: anything else is refused."""

    code = "case_not_open"

    def __init__(self, number: str, status: str) -> None:
        self.number, self.status = number, status
        self._coded(number=number, status=status)
        super().__init__(f"case {number} is {status}")


class StepNotDone(EngineError):
    """A move back names a step the case has not completed (or whose run lies in history cut off)."""

    code = "step_not_done"

    def __init__(self, number: str, element: str) -> None:
        self._coded(number=number, element=element)
        super().__init__(f"case {number} has no completed step {element!r} to go back to")


class NotFound(EngineError):
    """No such case, task, person or process."""

    code = "not_found"


class MessageNotExpected(EngineError):
    """The case is not waiting for that message now."""

    code = "message_not_expected"

    def __init__(self, message: str, number: str | None = None, name: str | None = None) -> None:
        self._coded(number=number, message=name)
        super().__init__(message)


class WorkflowFailure(EngineError):
    """The deployed diagram failed while running (a script or expression error, or a sandbox limit).

    ``element``: the id of the element whose code failed, when known; ``limit``: ``time`` or ``size``
    when a sandbox limit stopped it. The message (with the error's own text) is for the incident
    and the process owner; people get ``text(lang)``, which names only the element.
    """

    code = "workflow_failed"

    def __init__(self, message: str, element: str | None = None, limit: str | None = None) -> None:
        self.element, self.limit = element, limit
        if limit:
            self.code = "workflow_limit"
        if not getattr(self, "_params", None):  # a subclass (DecisionFailure) may have set its own
            self._coded(element=element or "?", limit=limit)
        super().__init__(message)


class DecisionFailure(WorkflowFailure):
    """A decision failed while a case ran (rules overlap under UNIQUE, ANY results differ, a cell fails).

    It has a code of ``engine.refusals`` and its facts, so the person completing the task reads it in
    their language; the case's incident keeps the English text.
    """

    def __init__(self, code: str, params: dict[str, str], element: str | None = None) -> None:
        self.code, self.params = code, dict(params)
        super().__init__(f"the diagram failed at {element}: {refusals.render(code, self.params)}", element=element)

    def text(self, lang: str = "en") -> str:
        return refusals.render(self.code, self.params, lang)


class TaskHeldByOther(EngineError):
    """Someone else holds the task now (a colleague's claim won): reload, or claim it from them."""

    code = "task_held_by_other"

    def __init__(self, task_id: str, holder: str | None) -> None:
        self.task_id, self.holder = task_id, holder
        self._coded(task=task_id, holder=holder or "-")
        super().__init__(f"task {task_id} is held by {holder or 'nobody'} now")


class IdempotencyKeyReused(EngineError):
    """The idempotency key was already used for a different request (the body differs)."""

    code = "idempotency_key_reused"

    def __init__(self, key: str, number: str | None) -> None:
        self.key, self.number = key, number
        self._coded(number=number or "-")
        super().__init__(f"the Idempotency-Key {key!r} was already used for a different registration "
                         f"({number or 'under way'}); send a new key for a new complaint")


class DatabaseUnavailable(Exception):
    """The database cannot answer now (unreachable, locked, or a timeout): nothing was changed, retry later.

    Deliberately not an ``EngineError``: those are final answers (a timer that raises one is
    parked as an incident), while this one only says "not now", and the work must be retried.
    """

    code = "database_unavailable"
    retry_after = 5  # seconds a client should wait before retrying
