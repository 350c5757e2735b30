"""A supervisor steps in (issue 15), on both databases: suspend and resume (deadlines held, then fired),
cancel with a reason; each in the history, followed by replay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import engine
from engine.catalogue import Meaning
from engine.errors import (
    CaseArchived,
    CaseNotOpen,
    CaseSuspended,
    CorrectionBreaksForm,
    FormInvalid,
    StepNotDone,
)
from tests.driver import complete, registration, subjects, task, to_callback, to_responsibility


def test_a_suspended_case_holds_its_deadline_and_fires_it_once_resumed(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    eng.intervention.suspend(number, "sup1", "客户出差，下周再联系")
    assert eng.cases.get(number).status == "suspended"
    clock.advance(timedelta(hours=3))
    assert eng.timers.fire_due() == 0  # the first-response deadline passed while on hold: nothing fired
    assert ("cs_supervisor", "first_response_overdue") not in subjects(eng, number)
    with pytest.raises(CaseSuspended):
        complete(eng, number, "first_response")
    eng.intervention.resume(number, "sup1", "客户已回来")
    assert eng.timers.fire_due() == 1
    assert ("cs_supervisor", "first_response_overdue") in subjects(eng, number)
    complete(eng, number, "first_response")
    kinds = [e.kind for e in eng.history.events(number)]
    assert kinds.index("case_suspended") < kinds.index("case_resumed") < kinds.index("timer_fired")
    report = eng.replay.run(number)
    assert report, report.first_difference


def test_a_cancelled_case_is_archived_with_its_reason_and_nothing_left_open(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    eng.intervention.cancel(number, "sup1", "重复登记，见另一案件")
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "cancelled")
    assert eng.tasks.for_case(number) == [] and case.pending_deadlines == ()
    [event] = [e for e in eng.history.events(number) if e.kind == "case_cancelled"]
    assert event.actor == "sup1" and event.payload["reason"] == "重复登记，见另一案件"
    assert eng.replay.run(number)
    with pytest.raises(CaseArchived):
        eng.intervention.suspend(number, "sup1", "x")


def test_stepping_in_needs_a_reason_and_the_right_state(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    with pytest.raises(FormInvalid):
        eng.intervention.suspend(number, "sup1", "  ")
    with pytest.raises(CaseNotOpen):
        eng.intervention.resume(number, "sup1", "not suspended")
    eng.intervention.suspend(number, "sup1", "hold")
    with pytest.raises(CaseNotOpen):
        eng.intervention.suspend(number, "sup1", "again")
    with pytest.raises(CaseSuspended):
        eng.tasks.claim(task(eng, number, "first_response").id, "cs2")


# ---------------------------------------------------------------- correcting recorded data, moving back

def test_a_supervisor_corrects_recorded_data_with_a_reason_and_replay_follows(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    fields = {f.name: f for f in eng.corrections.fields(number)}
    assert "purchase_date" in fields and "channel" not in fields  # the number carries the channel
    old = fields["purchase_date"].value
    clock.advance(timedelta(minutes=5))
    changes = eng.corrections.correct(number, "sup1", {"purchase_date": "2026-01-05", "product_name": "电水壶 K2"},
                                      "客户来电更正购买日期")
    assert changes["purchase_date"] == {"before": old, "after": "2026-01-05"}
    assert {f.name: f.value for f in eng.corrections.fields(number)}["purchase_date"] == "2026-01-05"
    assert [hit.number for hit in eng.search.find("sup1", "电水壶 K2")] == [number]  # the search reads it
    [event] = [e for e in eng.history.events(number) if e.kind == "case_data_corrected"]
    assert event.actor == "sup1" and event.payload["reason"] == "客户来电更正购买日期"
    assert event.payload["changes"]["product_name"]["after"] == "电水壶 K2"
    complete(eng, number, "verify")
    report = eng.replay.run(number)
    assert report, report.first_difference
    assert "case_data_corrected" in [s.kind for s in report.steps if s.workflow_input]


def test_a_correction_is_checked_against_the_deployed_forms(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    with pytest.raises(FormInvalid) as refused:
        eng.corrections.correct(number, "sup1", {"expectation": "a pony"}, "原因")
    assert "expectation" in refused.value.errors
    with pytest.raises(FormInvalid) as refused:
        eng.corrections.correct(number, "sup1", {"not_a_field_of_any_form": "x"}, "原因")
    assert "not_a_field_of_any_form" in refused.value.errors
    with pytest.raises(FormInvalid) as refused:
        eng.corrections.correct(number, "sup1", {"product_model": "x" * 101}, "原因")
    assert "product_model" in refused.value.errors
    with pytest.raises(FormInvalid):
        eng.corrections.correct(number, "sup1", {"product_model": "K-300"}, " ")
    assert [e for e in eng.history.events(number) if e.kind == "case_data_corrected"] == []


def test_a_suspended_or_archived_case_is_neither_corrected_nor_moved_back(eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    eng.intervention.suspend(number, "sup1", "hold")
    with pytest.raises(CaseSuspended):
        eng.corrections.correct(number, "sup1", {"product_model": "K-300"}, "原因")
    with pytest.raises(CaseSuspended):
        eng.corrections.move_back(number, "sup1", "first_response", "原因")
    eng.intervention.cancel(number, "sup1", "重复")
    with pytest.raises(CaseArchived):
        eng.corrections.correct(number, "sup1", {"product_model": "K-300"}, "原因")
    with pytest.raises(CaseArchived):
        eng.corrections.move_back(number, "sup1", "first_response", "原因")


def test_moving_back_reopens_the_step_for_its_role_and_rearms_its_deadline(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    assert [s.element for s in eng.corrections.done_steps(number)] == ["first_response"]
    [verify] = eng.tasks.for_case(number)
    clock.advance(timedelta(hours=1))
    with pytest.raises(StepNotDone):
        eng.corrections.move_back(number, "sup1", "verify", "原因")
    reopened = eng.corrections.move_back(number, "sup1", "first_response", "回复内容有误，重新首次响应")
    assert reopened == ["first_response"]
    [again] = eng.tasks.for_case(number)
    assert again.name == "first_response" and again.role == "cs_specialist" and again.assignee
    assert eng.tasks.get(verify.id).state == "cancelled"
    deadlines = eng.cases.get(number).deadlines
    assert [d.element_id for d in eng.cases.get(number).pending_deadlines] == ["first_response_deadline"]
    rearmed = eng.cases.get(number).pending_deadlines[0]
    assert rearmed.due_at > clock.now()  # armed again from the move back, as the diagram says
    assert {d.element_id: d.status for d in deadlines if d.status != "pending"}.get("verify_deadline") == "cancelled"
    [event] = [e for e in eng.history.events(number) if e.kind == "case_moved_back"]
    assert event.payload["element"] == "first_response" and event.payload["reason"] == "回复内容有误，重新首次响应"
    complete(eng, number, "first_response")
    assert [t.name for t in eng.tasks.for_case(number)] == ["verify"]
    report = eng.replay.run(number)
    assert report, report.first_difference
    assert "case_moved_back" in [s.kind for s in report.steps if s.workflow_input]


def test_a_deadline_that_passes_after_a_move_back_fires_and_replays(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    eng.corrections.move_back(number, "sup1", "first_response", "重新响应")
    clock.advance(eng.cases.get(number).pending_deadlines[0].due_at - clock.now() + timedelta(minutes=1))
    assert eng.timers.fire_due() == 1
    assert ("cs_supervisor", "first_response_overdue") in subjects(eng, number)
    complete(eng, number, "first_response")
    report = eng.replay.run(number)
    assert report, report.first_difference


# ---------------------------------------------------------------- the mechanism on a diagram of its own

BPMN = Path(__file__).resolve().parent / "bpmn"


@pytest.fixture
def small(database_url: str, tmp_path: Path, clock):  # noqa: ANN001, ANN201
    """An engine running tests/bpmn/runs/move_back.bpmn only."""
    roles = (BPMN / "timer_at" / "roles.toml").read_text(encoding="utf-8")
    (tmp_path / "roles.toml").write_text(roles, encoding="utf-8")
    instance = engine.open(database_url, tmp_path, clock=clock)
    instance.repository.deploy_files({"move_back.bpmn": (BPMN / "runs" / "move_back.bpmn").read_text(
        encoding="utf-8"), "roles.toml": roles}, actor="owner1")
    instance.people.seed_demo()
    yield instance
    instance.close()


def _open(eng, number: str) -> dict[str, str]:  # noqa: ANN001
    return {t.name: t.id for t in eng.tasks.for_case(number)}


def test_moving_back_in_one_branch_leaves_the_other_and_back_past_the_split_undoes_both(small, clock):
    number = small.runtime.start("move_back", {"channel": "test"}, actor="cs1")
    first_due = small.cases.get(number).pending_deadlines[0].due_at
    small.tasks.complete(_open(small, number)["first"], "cs1", {})
    small.tasks.complete(_open(small, number)["left"], "cs1", {})
    right = _open(small, number)["right"]
    assert set(_open(small, number)) == {"right"}

    small.corrections.move_back(number, "sup1", "left", "左侧需重做")
    assert _open(small, number) == {"left": _open(small, number)["left"], "right": right}  # right untouched
    small.tasks.complete(_open(small, number)["left"], "cs1", {})

    clock.advance(timedelta(minutes=30))
    small.corrections.move_back(number, "sup1", "first", "从头再来")
    assert set(_open(small, number)) == {"first"}
    assert {d.element_id for d in small.cases.get(number).pending_deadlines} == {"first_deadline"}
    assert small.cases.get(number).pending_deadlines[0].due_at == first_due + timedelta(minutes=30)
    assert small.tasks.get(right).state == "cancelled"
    moved = [e for e in small.history.events(number) if e.kind == "case_moved_back"]
    assert [sorted(e.payload["undone"]) for e in moved] == [[], ["left"]]

    clock.advance(timedelta(hours=2))
    assert small.timers.fire_due() == 1  # the deadline armed again fires once
    for name in ("first", "left", "right"):
        small.tasks.complete(_open(small, number)[name], "cs1" if name != "right" else "eng1", {})
    assert small.cases.get(number).status == "archived"
    report = small.replay.run(number)
    assert report, report.first_difference


def test_moving_back_from_the_callbacks_to_verification_undoes_every_called_process_after_it(eng, clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    to_callback(eng, number)
    clock.advance(timedelta(minutes=5))
    assert eng.corrections.move_back(number, "sup1", "verify", "核实结论有误") == ["verify"]
    [event] = [e for e in eng.history.events(number) if e.kind == "case_moved_back"]
    assert {"propose_plan", "determine_responsibility", "notify_result"} <= set(event.payload["undone"])
    assert "first_response" not in event.payload["undone"]
    assert [d.element_id for d in eng.cases.get(number).pending_deadlines] == ["verify_deadline"]
    complete(eng, number, "verify")
    report = eng.replay.run(number)
    assert report, report.first_difference


def test_a_corrected_customer_name_is_kept_masked_in_the_case_and_in_full_for_those_who_call(eng):
    number = eng.runtime.start("complaint", registration(channel="phone", customer_name="张三"), "cs1")
    name_field = eng.repository.active().catalogue.field(Meaning.CUSTOMER_NAME)
    changes = eng.corrections.correct(number, "sup1", {name_field: "章珊"}, "客户名字登记错了")
    assert changes[name_field] == {"before": "张*", "after": "章*"}  # the case data never holds the full name
    assert eng.cases.contact(number, "sup1").name == "章珊"  # the supervisor calls customers: in full
    assert [hit.number for hit in eng.search.find("sup1", "章珊")] == [number]
    assert eng.replay.run(number)


def test_a_correction_that_breaks_a_whole_form_rule_is_refused_naming_it_and_a_valid_one_is_kept(eng):
    """determine_responsibility.json: ``if`` responsibility is not_determinable ``then`` pending_reason is
    required. Each value is valid on its own; the correction must still leave the form's data valid."""
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="company")
    version = eng.cases.get(number).version
    with pytest.raises(CorrectionBreaksForm) as refused:
        eng.corrections.correct(number, "sup1", {"responsibility": "not_determinable"}, "责任判定有误")
    assert refused.value.params["form"] == "forms/determine_responsibility.json"
    assert refused.value.params["rule"] == "then/required" and refused.value.params["field"] == "pending_reason"
    assert "pending_reason" in refused.value.text("zh") and "then/required" in refused.value.text("en")
    assert "未做任何更改" in refused.value.text("zh") and "nothing changed" in refused.value.text("en")
    # lost nothing: the case holds what it held, no event, no new version
    assert {f.name: f.value for f in eng.corrections.fields(number)}["responsibility"] == "company"
    assert [e for e in eng.history.events(number) if e.kind == "case_data_corrected"] == []
    assert eng.cases.get(number).version == version

    changes = eng.corrections.correct(number, "sup1", {"responsibility": "third_party"}, "实为第三方责任")
    assert changes == {"responsibility": {"before": "company", "after": "third_party"}}
    report = eng.replay.run(number)
    assert report, report.first_difference


def test_a_rule_the_recorded_data_never_met_does_not_block_a_correction(eng):
    """A form the case has not filled yet breaks its ``required`` before and after alike: only what the
    correction itself breaks is refused (the registration's product is also a field of the improvement item's form)."""
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    # improvement_item.json defines product_name too and requires fields no complaint holds
    changes = eng.corrections.correct(number, "sup1", {"product_name": "电水壶 K3"}, "产品登记错了")
    assert changes["product_name"]["after"] == "电水壶 K3"
