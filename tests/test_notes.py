"""Internal notes with @mentions (issue 15), on both databases: kept in the history, each person named
told through the notification list, never the people the case is about."""

from __future__ import annotations

import pytest

from engine.errors import FormInvalid, NotAllowed
from tests.driver import registration


def test_a_note_mentioning_sup1_reaches_sup1_and_stays_in_the_history(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    note = eng.notes.add(number, "cs1", "客户情绪激动，@SUP1 请关注；@nobody 不存在")
    assert note.mentioned == ("sup1",)
    eng.notifications.plan()
    [notice] = [n for n in eng.notifications.for_user("sup1") if n.case_number == number]
    assert notice.subject == "note_mention"
    [event] = [e for e in eng.history.events(number) if e.kind == "note_added"]
    assert event.actor == "cs1" and "客户情绪激动" in event.payload["text"]
    assert [n.text for n in eng.notes.for_case(number)] == [note.text]
    assert eng.replay.run(number)
    assert eng.history.verify().ok


def test_a_person_the_case_is_about_is_never_told_nor_may_write(eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["sup2"]), "cs1")
    assert eng.notes.add(number, "cs1", "@sup2 看一下").mentioned == ()
    with pytest.raises(NotAllowed):
        eng.notes.add(number, "sup2", "我来解释")


def test_an_empty_or_overlong_note_is_refused(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    with pytest.raises(FormInvalid):
        eng.notes.add(number, "cs1", "   ")
    with pytest.raises(FormInvalid):
        eng.notes.add(number, "cs1", "长" * 2001)
    assert eng.notes.for_case(number) == []
