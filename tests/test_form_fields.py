"""The forms' missing fields (issue 11, "Data the procedures record"): order number and customer class at
registration, the defect type from the process owner's list (``defect_types.toml`` through
``"x-options"``), refund amount and route, warranty extension, return shipping and the customer's
confirmation of the plan, each on the form where the seeds record it."""

from __future__ import annotations

import tomllib

import pytest

from engine.catalogue import Meaning, form_field
from engine.errors import DeployError, FormInvalid
from tests.conftest import WORKFLOWS
from tests.driver import FORM_DATA, complete, registration, task, to_responsibility

PLAN_FORMS = ("propose_plan.json", "tier1_new_plan.json", "tier2_new_plan.json", "tier3_new_plan.json")
REFUND_ROUTES = ["original_payment", "bank_transfer", "store_credit"]


def _form(eng, name: str) -> dict:  # noqa: ANN001
    return eng.repository.active().form(name)


def _shipped_defect_types() -> dict:
    return tomllib.loads((WORKFLOWS / "defect_types.toml").read_text(encoding="utf-8"))


def test_registration_records_the_order_number_the_customer_class_and_the_customers_words_about_staff(eng):
    form = eng.repository.active().intake_form()
    props = form["properties"]
    assert form_field(form, Meaning.ORDER_NUMBER) == "order_number" and props["order_number"]["x-customer"] is True
    assert form_field(form, Meaning.CUSTOMER_CLASS) == "customer_class"
    assert props["customer_class"]["enum"] == ["A", "B", "C", "D"]
    assert "x-customer" not in props["customer_class"]  # staff classify the customer, the customer does not
    assert form_field(form, Meaning.STAFF_NAMED) == "staff_named_by_customer"
    number = eng.runtime.start("complaint", registration(order_number="20240508001", customer_class="A"), "cs1")
    summary = eng.cases.get(number).summary
    assert (summary["order_number"], summary["customer_class"]) == ("20240508001", "A")
    with pytest.raises(FormInvalid) as refused:
        eng.runtime.start("complaint", registration(customer_class="E"), "cs1")
    assert set(refused.value.errors) == {"customer_class"}


def test_the_defect_type_options_come_from_the_process_owners_list(eng):
    form = _form(eng, "root_cause_analysis.json")
    field = form_field(form, Meaning.DEFECT_TYPE)
    listed = _shipped_defect_types()
    assert form["properties"][field]["enum"] == list(listed)
    labels = form["x-ui"]["labels"]
    assert labels["zh-CN"]["enum"][field] == {code: entry["zh"] for code, entry in listed.items()}
    assert labels["en"]["enum"][field] == {code: entry["en"] for code, entry in listed.items()}
    assert FORM_DATA["root_cause_analysis"][field] in listed  # the demo picks from the list too


def test_a_changed_defect_list_changes_the_options_after_deploy(eng, workflows_dir):
    before = eng.repository.active()
    path = workflows_dir / "defect_types.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[water_ingress]\nzh = "进水"\nen = "Water ingress"\n',
                    encoding="utf-8")
    assert eng.repository.deploy(actor="owner1", note="a new defect type")
    form = _form(eng, "root_cause_analysis.json")
    field = form_field(form, Meaning.DEFECT_TYPE)
    assert form["properties"][field]["enum"][-1] == "water_ingress"
    assert form["x-ui"]["labels"]["zh-CN"]["enum"][field]["water_ingress"] == "进水"
    assert "water_ingress" not in before.form("root_cause_analysis.json")["properties"][field]["enum"]
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    complete(eng, number, "root_cause_analysis", **{field: "water_ingress"})
    assert "root_cause_analysis" not in {t.name for t in eng.tasks.for_case(number)}


def test_a_defect_type_not_on_the_list_is_refused(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    with pytest.raises(FormInvalid) as refused:
        complete(eng, number, "root_cause_analysis", defect_type="外壳裂纹")
    assert set(refused.value.errors) == {"defect_type"}
    assert task(eng, number, "root_cause_analysis").state == "open"


@pytest.mark.parametrize("form_name", PLAN_FORMS)
def test_every_plan_records_refund_warranty_and_return_shipping_for_the_customer_to_see(eng, form_name):
    props = _form(eng, form_name)["properties"]
    assert props["refund_amount"]["type"] == "number" and props["refund_amount"]["minimum"] == 0
    assert props["refund_route"]["enum"] == REFUND_ROUTES
    assert props["warranty_extension_months"]["type"] == "integer"
    assert props["return_shipping_by_company"]["type"] == "boolean"
    assert all(props[name]["x-customer"] is True for name in
               ("refund_amount", "refund_route", "warranty_extension_months", "return_shipping_by_company"))


def test_the_refund_step_records_amount_and_route_and_the_follow_up_how_the_customer_confirmed(eng):
    refund = _form(eng, "pay_refund.json")["properties"]
    assert refund["refund_route"]["enum"] == REFUND_ROUTES and refund["refund_amount"]["minimum"] == 0
    confirmation = _form(eng, "follow_up_confirmation.json")["properties"]
    assert confirmation["confirmation_form"]["enum"] == ["written_signed", "online"]


def test_a_plan_with_a_refund_route_not_offered_is_refused(eng):
    from tests.driver import to_plan
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    with pytest.raises(FormInvalid) as refused:
        complete(eng, number, "propose_plan", plan_type="refund", refund_amount=99, refund_route="cash_in_hand")
    assert set(refused.value.errors) == {"refund_route"}
    complete(eng, number, "propose_plan", plan_type="refund", refund_amount=99, refund_route="bank_transfer",
             warranty_extension_months=0, return_shipping_by_company=True)
    [done] = [e for e in eng.history.events(number) if e.payload.get("element") == "propose_plan"]
    assert (done.payload["data"]["refund_amount"], done.payload["data"]["refund_route"]) == (99, "bank_transfer")


def _refused(eng, workflows_dir, name: str, old: str, new: str) -> list:  # noqa: ANN001
    path = workflows_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    return refused.value.problems


def test_deploy_refuses_a_form_naming_a_list_that_does_not_exist(eng, workflows_dir):
    problems = _refused(eng, workflows_dir, "forms/root_cause_analysis.json", '"x-options": "defect_types"',
                        '"x-options": "defect_kinds"')
    [found] = [p for p in problems if p.code == "options_unknown"]
    assert (found.file, found.element) == ("forms/root_cause_analysis.json", "defect_type")
    assert "defect_kinds.toml" in found.text("zh") and "defect_kinds.toml" in found.text("en")


def test_deploy_refuses_an_option_without_both_words(eng, workflows_dir):
    problems = _refused(eng, workflows_dir, "defect_types.toml", 'en = "Overheating"\n', "")
    [found] = [p for p in problems if p.code == "option_needs_words"]
    assert (found.file, found.element) == ("defect_types.toml", "overheating")


def test_deploy_refuses_an_empty_list(eng, workflows_dir):
    (workflows_dir / "defect_types.toml").write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    assert [p.file for p in refused.value.problems if p.code == "options_empty"] == ["defect_types.toml"]


def test_the_statistics_count_cases_per_defect_type_most_frequent_first(eng, clock):
    from datetime import timedelta
    start = clock.now()
    for defect in ("battery_swelling", "overheating", "battery_swelling"):
        number = eng.runtime.start("complaint", registration(), "cs1")
        to_responsibility(eng, number)
        complete(eng, number, "determine_responsibility")
        complete(eng, number, "root_cause_analysis", defect_type=defect)
    assert eng.reports.defect_types(start, clock.now() + timedelta(seconds=1)) == [
        ("battery_swelling", 2), ("overheating", 1)]
    assert eng.reports.defect_types(clock.now() + timedelta(days=1), clock.now() + timedelta(days=2)) == []
