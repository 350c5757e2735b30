"""Reassigning a task to a named person (issue 15), on both databases: recorded, checked against the role
and the people the case is about, and replayed."""

from __future__ import annotations

import pytest

from engine.errors import NotAllowed
from tests.driver import complete, registration, task


def test_a_task_reassigned_goes_to_the_named_person_and_is_in_the_history(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    assert eng.tasks.reassign(first.id, "sup1", "cs2") == "cs1"
    assert task(eng, number, "first_response").assignee == "cs2"
    event = [e for e in eng.history.events(number) if e.kind == "task_reassigned"][-1]
    assert (event.actor, event.payload["from"], event.payload["to"]) == ("sup1", "cs1", "cs2")
    complete(eng, number, "first_response", user="cs2")
    assert eng.replay.run(number), eng.replay.run(number)


def test_reassigning_to_someone_without_the_role_or_involved_is_refused(eng):
    number = eng.runtime.start("complaint", registration(channel="phone", involved_staff=["cs2"]), "cs1")
    first = task(eng, number, "first_response")
    with pytest.raises(NotAllowed):
        eng.tasks.reassign(first.id, "sup1", "eng1")
    with pytest.raises(NotAllowed):
        eng.tasks.reassign(first.id, "sup1", "cs2")
    assert task(eng, number, "first_response").assignee == "cs1"


def test_the_board_lists_open_tasks_by_deadline_with_counts_per_step(eng):
    numbers = [eng.runtime.start("complaint", registration(channel="phone"), "cs1") for _ in range(3)]
    page = eng.tasks.board("sup1", sees_all=True, limit=2)
    assert len(page.tasks) == 2 and page.more
    assert ("first_response", 3) in {(element, count) for element, _, _, count in page.steps}
    rest = eng.tasks.board("sup1", sees_all=True, offset=2, limit=2)
    assert {t.case_number for t in page.tasks + rest.tasks} == set(numbers)
    assert eng.tasks.board("eng1", sees_all=False).tasks == []
