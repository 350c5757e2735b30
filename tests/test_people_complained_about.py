"""The people complained about are real staff (issue 11): matched to usernames whatever the case of the
letters, an unknown name refused with a field error, and addable at later steps whose form marks a field
``x-meaning: "involved-staff"`` (verification, validity check, responsibility), each addition in the
history and the case out of that person's view at once. A customer's own words about whom they mean are
kept (``staff-named-by-customer``) for the handler to pick the real person.

The mechanism runs on a small diagram (``tests/bpmn/involved``, its fields named unlike the shipped
forms'), the shipped flow on ``workflows/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine
from engine.clock import ManualClock
from engine.errors import NotAllowed, StaffUnknown
from engine.store.enums import EventKind
from engine.tasks import InboxQuery
from tests.conftest import ROOT
from tests.driver import complete, registration, task, to_responsibility

HERE = ROOT / "tests" / "bpmn" / "involved"


def _files() -> dict[str, str]:
    files = {"involved.bpmn": (HERE / "involved.bpmn").read_text(encoding="utf-8"),
             "roles.toml": (HERE / "roles.toml").read_text(encoding="utf-8")}
    files.update({f"forms/{form.name}": form.read_text(encoding="utf-8") for form in (HERE / "forms").glob("*.json")})
    return files


@pytest.fixture
def small(database_url: str, tmp_path: Path, clock: ManualClock):  # noqa: ANN201
    """The small diagram deployed, with its demo people (cs1/cs2 specialists, sup1/sup2 supervisors)."""
    (tmp_path / "roles.toml").write_text((HERE / "roles.toml").read_text(encoding="utf-8"), encoding="utf-8")
    instance = engine.open(database_url, tmp_path, clock=clock)
    instance.repository.deploy_files(_files(), actor="owner1")
    instance.people.seed_demo()
    yield instance
    instance.close()


def _start(eng, **data: object) -> str:  # noqa: ANN001
    return eng.runtime.start(eng.repository.active().intake_process(), {"story": "rude on the phone", **data}, "cs1")


def _only_task(eng, number: str):  # noqa: ANN001, ANN202
    [found] = eng.tasks.for_case(number)
    return found


def _sees_tasks_of(eng, username: str, number: str) -> bool:  # noqa: ANN001
    """Whether any open task of the case is in ``username``'s inbox (their roles' tasks, whoever holds them)."""
    return any(t.case_number == number for t in eng.tasks.inbox(username, InboxQuery(scope="all", limit=None)).tasks)


# ---------------------------------------------------------------- the mechanism


def test_people_complained_about_are_staff_matched_whatever_the_case_of_the_letters(small):
    number = _start(small, complained_of=["CS2", "Sup1"])
    assert small.cases.get(number).involved_staff == ("cs2", "sup1")
    with pytest.raises(NotAllowed):
        small.cases.get(number, viewer="cs2")
    assert not _sees_tasks_of(small, "cs2", number)


def test_an_unknown_person_complained_about_is_refused_with_a_field_error_and_nothing_is_registered(small):
    with pytest.raises(StaffUnknown) as refused:
        _start(small, complained_of=["cs1", "wang the salesman"])
    assert refused.value.code == "staff_unknown"
    assert set(refused.value.errors) == {"complained_of"}
    assert "wang the salesman" in refused.value.text("zh") and "wang the salesman" in refused.value.text("en")
    assert "cs1" not in refused.value.params["names"]
    assert small.cases.numbers() == []
    assert small.tasks.for_user("cs1") == []


def test_a_person_added_at_a_later_step_leaves_the_case_at_once_and_the_history_says_so(small):
    number = _start(small)
    step = _only_task(small, number)
    assert step.assignee == "cs1" and _sees_tasks_of(small, "cs2", number)
    small.tasks.complete(step.id, "cs1", {"finding": "it was cs2", "also_complained_of": ["CS2"]})
    assert small.cases.get(number).involved_staff == ("cs2",)
    with pytest.raises(NotAllowed):
        small.cases.get(number, viewer="cs2")
    assert not _sees_tasks_of(small, "cs2", number)
    [added] = [e for e in small.history.events(number) if e.kind == EventKind.STAFF_INVOLVED]
    assert added.actor == "cs1" and added.payload["added"] == ["cs2"] and added.payload["element"] == step.name
    kinds = [e.kind for e in small.history.events(number)]
    assert kinds.index(EventKind.STAFF_INVOLVED) == kinds.index(EventKind.TASK_COMPLETED) + 1
    assert small.replay.run(number).ok


def test_adding_people_keeps_those_named_before_and_the_case_data_lists_everyone(small):
    number = _start(small, complained_of=["sup2"])
    step = _only_task(small, number)
    small.tasks.complete(step.id, "cs1", {"finding": "both", "also_complained_of": ["cs2", "SUP2"]})
    assert small.cases.get(number).involved_staff == ("sup2", "cs2")
    [added] = [e for e in small.history.events(number) if e.kind == EventKind.STAFF_INVOLVED]
    assert added.payload["added"] == ["cs2"]
    [completed] = [e for e in small.history.events(number) if e.kind == EventKind.TASK_COMPLETED]
    assert completed.payload["data"]["also_complained_of"] == ["sup2", "cs2"]


def test_a_handler_who_names_themselves_hands_the_next_step_to_a_colleague(small):
    number = _start(small)
    step = _only_task(small, number)
    small.tasks.complete(step.id, "cs1", {"finding": "it was me", "also_complained_of": ["cs1"]})
    assert _only_task(small, number).assignee == "cs2"
    assert not _sees_tasks_of(small, "cs1", number)


def test_when_everyone_of_the_role_is_complained_about_the_next_step_goes_to_the_fallback(small):
    number = _start(small, complained_of=["cs2"])
    step = _only_task(small, number)
    small.tasks.complete(step.id, "cs1", {"finding": "cs1 too", "also_complained_of": ["cs1"]})
    assert _only_task(small, number).assignee == "sup1"
    assert any(e.kind == EventKind.TASK_TO_FALLBACK for e in small.history.events(number))


def test_an_unknown_name_at_a_later_step_is_refused_and_nothing_changes(small):
    number = _start(small)
    step = _only_task(small, number)
    before = small.cases.get(number).version
    with pytest.raises(StaffUnknown) as refused:
        small.tasks.complete(step.id, "cs1", {"finding": "x", "also_complained_of": ["nobody"]})
    assert set(refused.value.errors) == {"also_complained_of"}
    after = small.cases.get(number)
    assert after.version == before and after.involved_staff == ()
    assert small.tasks.get(step.id).state == "open"


def test_the_customers_own_words_about_staff_are_kept_as_they_wrote_them(small):
    number = eng_number = small.runtime.start(small.repository.active().intake_process(),
                                              {"story": "rude", "whom_the_customer_means": "the salesman Wang"},
                                              "customer")
    assert small.cases.get(eng_number).summary["whom_the_customer_means"] == "the salesman Wang"
    assert small.cases.get(number).involved_staff == ()


# ---------------------------------------------------------------- the shipped flow


def test_staff_added_at_verification_are_kept_out_of_the_case(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    assert _sees_tasks_of(eng, "cs2", number)
    complete(eng, number, "verify", involved_staff=["CS2"])
    assert eng.cases.get(number).involved_staff == ("cs2",)
    assert not eng.access.may_view("cs2", number)
    assert not _sees_tasks_of(eng, "cs2", number)
    assert [e.payload["added"] for e in eng.history.events(number) if e.kind == EventKind.STAFF_INVOLVED] == [["cs2"]]


def test_staff_added_at_the_validity_check_of_a_service_complaint_are_kept_out(eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "check_validity", involved_staff=["Store1"])
    assert eng.cases.get(number).involved_staff == ("store1",)
    assert not eng.access.may_view("store1", number)


def test_staff_added_at_responsibility_are_kept_out_of_the_case(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    responsibility = task(eng, number, "determine_responsibility")
    assert eng.access.may_view("sup2", number)
    other = "sup2" if responsibility.assignee != "sup2" else "sup1"
    complete(eng, number, "determine_responsibility", involved_staff=[other.upper()])
    assert other in eng.cases.get(number).involved_staff
    assert not eng.access.may_view(other, number)


def test_an_unknown_name_at_verification_is_refused_with_the_field(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    with pytest.raises(StaffUnknown) as refused:
        complete(eng, number, "verify", involved_staff=["salesman Wang"])
    assert set(refused.value.errors) == {"involved_staff"}
    assert task(eng, number, "verify").state == "open"


def test_registration_matches_names_case_insensitively_in_the_shipped_form(eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["ENG1"]), "cs1")
    assert eng.cases.get(number).involved_staff == ("eng1",)
    with pytest.raises(StaffUnknown):
        eng.runtime.start("complaint", registration(involved_staff=["eng9"]), "cs1")


def test_a_web_complaint_keeps_the_customers_words_about_staff(eng):
    number = eng.runtime.start("complaint", registration(staff_named_by_customer="门店销售小王", channel="web"),
                               "customer")
    assert eng.cases.get(number).summary["staff_named_by_customer"] == "门店销售小王"
    assert eng.cases.get(number).involved_staff == ()
