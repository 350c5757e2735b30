"""Compensation paid (issue 14): the statistics count what the step carrying the plan out recorded in the
field its form marks ``"x-meaning": "compensation-paid"``, never a proposed plan's amount (a plan the
customer rejected paid nothing). Deploy refuses a malformed mark."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from engine.errors import DeployError
from engine.statistics import Drill, PeriodKind, Query, period_of
from tests.conftest import SHANGHAI
from tests.driver import complete, plan_through_review, registration, task, to_plan

APRIL = date(2026, 4, 1)


def april() -> Query:
    return Query(period_of(PeriodKind.MONTH, APRIL, SHANGHAI), process="complaint")


def rejected_then_paid(eng, clock) -> str:
    """A compensation of 300 the customer rejects, then one of 120 accepted and paid (the refund step)."""
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number, plan_type="compensation", compensation_amount=300, plan_details="赔偿300")
    eng.runtime.message(number, "plan_confirmation", {"accepted": False}, "customer")
    plan_through_review(eng, number, plan_type="refund", compensation_amount=120, plan_details="退款并补偿120")
    return number


def test_a_rejected_plans_amount_is_not_counted_only_the_amount_paid_when_the_plan_is_carried_out(eng, clock):
    number = rejected_then_paid(eng, clock)
    assert eng.statistics.figures(april())["compensation"] == {"total": 0.0, "cases": 0}  # proposed, not paid
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "pay_refund", refund_reference="R-1", refunded_at="2026-04-11", compensation_paid=120)
    found = eng.statistics.figures(april())
    assert found["compensation"] == {"total": 120.0, "cases": 1}
    assert found["previous"]["compensation"] == 0.0
    assert [c["number"] for c in eng.statistics.cases(april(), Drill(compensated=True))] == [number]


def test_a_plan_carried_out_without_a_payment_counts_no_compensation(eng, clock):
    number = rejected_then_paid(eng, clock)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "pay_refund", refund_reference="R-2", refunded_at="2026-04-11")
    assert task(eng, number, "notify_result").state == "open"
    assert eng.statistics.figures(april())["compensation"] == {"total": 0.0, "cases": 0}


def _form(workflows_dir, name: str) -> tuple:
    path = workflows_dir / "forms" / f"{name}.json"
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_a_compensation_paid_field_that_is_no_number_is_refused_at_deploy(eng, workflows_dir):
    path, form = _form(workflows_dir, "deliver_plan")
    form["properties"]["compensation_paid"] = {"type": "string", "maxLength": 20, "x-meaning": "compensation-paid"}
    path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    [problem] = [p for p in refused.value.problems if p.code == "meaning_not_number"]
    assert (problem.file, problem.element) == ("forms/deliver_plan.json", "compensation_paid")
    assert '"type": "number"' in problem.text("en") and "string" in problem.text("en")
    assert "统计" in problem.text("zh")


def test_compensation_paid_on_two_field_names_is_refused_naming_both(eng, workflows_dir):
    path, form = _form(workflows_dir, "ship_exchange")
    form["properties"]["paid_amount"] = form["properties"].pop("compensation_paid")
    form["x-ui"]["order"] = [n if n != "compensation_paid" else "paid_amount" for n in form["x-ui"]["order"]]
    path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    path, form = _form(workflows_dir, "deliver_plan")
    form["properties"]["compensation_paid"]["x-default-from"] = "the approved amount"
    path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    [differs] = [p for p in refused.value.problems if p.code == "meaning_field_differs"]
    assert (differs.file, differs.element) == ("forms/ship_exchange.json", "paid_amount")
    assert "compensation_paid" in differs.text("en") and "forms/complete_repair.json" in differs.text("en")
    [default] = [p for p in refused.value.problems if p.code == "default_from_invalid"]
    assert (default.file, default.element) == ("forms/deliver_plan.json", "compensation_paid")
    assert "the approved amount" in default.text("zh")
