"""Approvals as Approve / Reject buttons (issue 15): the approver sees the plan on the form, a rejection
needs a reason, and the planner sees that reason on the plan form it comes back to. Which field is the
decision and which the reason, the form says (``x-decision``); which case fields it shows, ``x-show``."""

from __future__ import annotations

import copy
import json
import re

import pytest

from engine.errors import DeployError
from tests.driver import complete, registration, task, to_plan
from tests.web.conftest import csrf_token, login


def at_supervisor_approval(eng) -> str:
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    complete(eng, number, "propose_plan", plan_type="compensation", compensation_amount=300,
             plan_details="补偿300元购物券")
    return number


def post(client, task_id: str, **fields: str):  # noqa: ANN201
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    return client.post(f"/tasks/{task_id}", data={"csrf_token": csrf_token(client, f"/tasks/{task_id}"),
                                                  "expected_version": version, **fields})


def test_the_approver_sees_the_plan_and_two_buttons_instead_of_a_checkbox(client, eng):
    number = at_supervisor_approval(eng)
    approval = task(eng, number, "approve_compensation")
    login(client, approval.assignee)
    page = client.get(f"/tasks/{approval.id}").get_data(as_text=True)
    shown = page.split('id="shown"', 1)[1].split("</dl>", 1)[0]
    assert "补偿300元购物券" in shown and "300" in shown
    button = '<button type="submit" name="approved" value="{}" class="decision {}">{}</button>'
    assert button.format("true", "approve", "批准") in page
    assert button.format("false", "reject danger", "驳回") in page
    assert 'type="checkbox" id="field-approved"' not in page
    assert re.search(r"<button type=\"submit\" disabled hidden", page)  # Enter never decides


def test_a_rejection_without_a_reason_is_refused_and_nothing_moves(client, eng):
    number = at_supervisor_approval(eng)
    approval = task(eng, number, "approve_compensation")
    login(client, approval.assignee)
    response = post(client, approval.id, approved="false")
    assert response.status_code == 422
    assert 'data-error-for="approval_comment"' in response.get_data(as_text=True)
    assert task(eng, number, "approve_compensation").state == "open"


def test_a_submission_without_pressing_a_decision_button_is_refused(client, eng):
    number = at_supervisor_approval(eng)
    approval = task(eng, number, "approve_compensation")
    login(client, approval.assignee)
    response = post(client, approval.id, approval_comment="看看")
    assert response.status_code == 422
    assert 'data-error-for="approved"' in response.get_data(as_text=True)


def test_a_rejection_reason_is_shown_to_the_planner(client, eng):
    number = at_supervisor_approval(eng)
    approval = task(eng, number, "approve_compensation")
    login(client, approval.assignee)
    assert post(client, approval.id, approved="false", approval_comment="金额过高，请改为维修").status_code == 303
    planner = task(eng, number, "propose_plan")
    login(client, planner.assignee)
    page = client.get(f"/tasks/{planner.id}").get_data(as_text=True)
    shown = page.split('id="shown"', 1)[1].split("</dl>", 1)[0]
    assert "金额过高，请改为维修" in shown and approval.assignee in shown


def test_an_approval_goes_on_with_the_approve_button(client, eng):
    number = at_supervisor_approval(eng)
    approval = task(eng, number, "approve_compensation")
    login(client, approval.assignee)
    assert post(client, approval.id, approved="true").status_code == 303
    assert {t.name for t in eng.tasks.for_case(number)} == {"management_review"}


@pytest.mark.parametrize("change, code", [
    (lambda form: form["x-decision"].update(field="approval_comment"), "decision_field_invalid"),
    (lambda form: form["x-decision"].update(reason="approved"), "decision_reason_invalid"),
    (lambda form: form.update({"x-show": "plan_details"}), "show_invalid"),
])
def test_a_wrong_decision_or_show_property_is_refused_at_deploy(eng, workflows_dir, change, code):
    path = workflows_dir / "forms" / "approve_compensation.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    changed = copy.deepcopy(form)
    change(changed)
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1", note="broken decision")
    assert code in {p.code for p in refused.value.problems}
    assert any(p.file == "forms/approve_compensation.json" for p in refused.value.problems)
