"""Engine errors carry a code and params; their words come from engine/refusals.py in zh and en,
never from the English of the exception (which may hold a deployed script's own error text)."""

from __future__ import annotations

import pytest

from engine import refusals
from engine.errors import (
    CaseArchived,
    EngineError,
    IdempotencyKeyReused,
    MessageNotExpected,
    StaleCase,
    TaskAlreadyCompleted,
    TaskHeldByOther,
    TaskNotOpen,
    WorkflowFailure,
)
from engine.store.enums import EventKind
from tests.driver import FORM_DATA, complete, registration, task


def _codes_with_params() -> list[EngineError]:
    from datetime import UTC, datetime

    return [TaskAlreadyCompleted("t1", "cs1", datetime(2026, 3, 2, 1, tzinfo=UTC)), TaskNotOpen("t1", "cancelled"),
            StaleCase("N-1", 1, 2), CaseArchived("N-1"), MessageNotExpected("...", "N-1", "a_message"),
            WorkflowFailure("the diagram failed: NameError: name 'secret' is not defined", "check_it"),
            WorkflowFailure("the diagram failed: ...", "loop_it", limit="time"), TaskHeldByOther("t1", "cs2"),
            IdempotencyKeyReused("k", "N-1")]


@pytest.mark.parametrize("error", _codes_with_params(), ids=lambda e: e.code)
def test_every_engine_error_code_has_words_in_both_languages_with_its_params_filled(error):
    assert error.code in refusals.MESSAGES
    for lang in ("zh", "en"):
        words = error.text(lang)
        assert words and "{" not in words, (lang, words)
        for key, value in error.params.items():  # a task's id is for machines: people read the step's page
            if key != "task" and value and value not in refusals.WORDS:
                assert value in words, (lang, value, words)


def test_a_failing_script_tells_people_the_element_not_the_exception_text():
    failure = WorkflowFailure("the diagram failed: NameError: name 'secret' is not defined", "check_it")
    assert failure.params == {"element": "check_it", "limit": ""}
    for lang in ("zh", "en"):
        assert "check_it" in failure.text(lang) and "NameError" not in failure.text(lang)
    limited = WorkflowFailure("the diagram failed: the time limit ...", "loop_it", limit="time")
    assert limited.code == "workflow_limit" and "时间" in limited.text("zh") and "time" in limited.text("en")


def test_a_task_completed_twice_says_by_whom_and_when_in_both_languages(eng):
    number = eng.runtime.start(eng.repository.active().intake_process(), registration(), "cs1")
    first = task(eng, number, "first_response")
    complete(eng, number, "first_response")
    with pytest.raises(TaskAlreadyCompleted) as caught:
        eng.tasks.complete(first.id, "cs1", FORM_DATA["first_response"])
    assert caught.value.code == "task_already_completed" and caught.value.params["by"] == "cs1"
    assert "cs1" in caught.value.text("zh") and "已由" in caught.value.text("zh")
    assert "already completed by cs1" in caught.value.text("en")


def test_a_message_the_case_does_not_wait_for_names_the_case_and_the_message(eng):
    number = eng.runtime.start(eng.repository.active().intake_process(), registration(), "cs1")
    with pytest.raises(MessageNotExpected) as caught:
        eng.runtime.message(number, "no_such_message", {}, "cs1")
    assert caught.value.params == {"number": number, "message": "no_such_message"}
    assert number in caught.value.text("zh") and "no_such_message" in caught.value.text("zh")


def test_event_kinds_are_the_stored_strings():
    assert EventKind.TIMER_FIRED == "timer_fired" and f"{EventKind.INCIDENT}" == "incident"
