"""A process owner renames the callback task, the customer's message and the intake process, deploys,
and the customers' pages and registration keep working: the web asks the deployment, not its own list."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import WORKFLOWS
from tests.driver import complete, plan_through_review, registration, task, to_plan
from tests.web.conftest import csrf_token, login
from tests.web.test_portal import intake_data, link, text

RENAMES = {  # file -> (pattern, replacement): ids changed as a modeler's rename changes them
    "callback.bpmn": [(r"(?<![\w.])callback(?![\w.])", "customer_callback")],
    "complaint.bpmn": [(r'="complaint"', '="grievance"')],
    "plan.bpmn": [(r"(?<![\w.])plan_confirmation(?!\w)", "proposal_reply")],
    "labels.toml": [(r"\.plan_confirmation\]", ".proposal_reply]")],
}


@pytest.fixture
def workflows_dir(tmp_path: Path) -> Path:
    """The shipped workflows with the renames applied (the web fixtures deploy this folder)."""
    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    for name, changes in RENAMES.items():
        path = target / name
        text_ = path.read_text(encoding="utf-8")
        for pattern, replacement in changes:
            text_, count = re.subn(pattern, replacement, text_)
            assert count, f"{pattern} not found in {name}"
        path.write_text(text_, encoding="utf-8")
    return target


def test_the_renamed_ids_are_the_deployed_ones(eng):
    deployed = eng.repository.active()
    assert deployed.intake_process() == "grievance"
    assert set(deployed.catalogue.customer_steps) == {"customer_callback"}
    assert set(deployed.catalogue.customer_messages) == {"proposal_reply"}


def test_the_public_form_registers_on_the_renamed_intake_process(client, eng):
    response = client.post("/c/complaint", data=intake_data(client), follow_redirects=True)
    assert response.status_code == 200
    [number] = eng.cases.numbers()
    assert eng.history.events(number)[0].payload["process"] == "grievance"
    assert task(eng, number, "first_response")


def test_staff_register_on_the_renamed_intake_process(client, eng):
    login(client, "cs1")
    page = "/register"
    fields = {k: v for k, v in registration().items() if isinstance(v, str)}
    response = client.post(page, data={**fields, "csrf_token": csrf_token(client, page)})
    assert response.status_code in (302, 303), text(response)
    [number] = eng.cases.numbers()
    assert eng.history.events(number)[0].payload["process"] == "grievance"


def test_the_customer_answers_the_renamed_message_through_the_confirm_link(app, client, eng):
    number = eng.runtime.start(eng.repository.active().intake_process(), registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    assert "proposal_reply" in eng.cases.get(number).waiting_for
    url = link(app, number, "confirm")
    shown = client.get(url)
    assert shown.status_code == 200 and "同型号换新" in text(shown)
    answered = client.post(url, data={"answer": "accept", "csrf_token": csrf_token(client, url)})
    assert answered.status_code == 200, text(answered)
    assert task(eng, number, "ship_exchange")


def test_the_survey_answers_the_renamed_callback_task(app, client, eng):
    number = eng.runtime.start(eng.repository.active().intake_process(), registration(complaint_type="service"),
                               "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    eng.runtime.message(number, "proposal_reply", {"accepted": True}, "customer")
    complete(eng, number, "ship_exchange")
    complete(eng, number, "notify_result")
    assert task(eng, number, "customer_callback")
    url = link(app, number, "survey")
    assert client.get(url).status_code == 200
    answered = client.post(url, data={"satisfaction": "5", "satisfaction_label": "very_satisfied",
                                      "comments": "很好", "csrf_token": csrf_token(client, url)})
    assert answered.status_code == 200, text(answered)
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "resolved")
    assert [e.actor for e in eng.history.events(number) if e.kind == "task_completed"][-1] == "customer"
