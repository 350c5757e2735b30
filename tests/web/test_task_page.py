"""The task page: the form from the task's JSON Schema beside the case, validation per field, stale pages."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.driver import complete, registration, start_to_verified, task, to_callback, to_plan
from tests.web.conftest import csrf_token, login


def page_of(client, task_id: str) -> str:
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def expected_version(page: str) -> str:
    return re.search(r'name="expected_version" value="(\d+)"', page).group(1)


def post(client, task_id: str, page: str, **fields: object):  # noqa: ANN201
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "expected_version": expected_version(page), **fields}
    return client.post(f"/tasks/{task_id}", data=data)


def error_for(page: str, field: str) -> str | None:
    found = re.search(rf'data-error-for="{field}">([^<]*)<', page)
    return found.group(1) if found else None


def test_the_form_is_rendered_from_the_schema_beside_the_case_and_its_timeline(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    page = page_of(client, first.id)
    assert "首次响应" in page  # title from the form's zh-CN labels
    assert 'name="expected_handling_time"' in page and 'name="message_to_customer"' in page
    assert "预计处理时间" in page and 'class="required"' in page
    assert f'name="expected_version" value="{eng.cases.get(number).version}"' in page
    assert number in page and "智能电水壶" in page  # the case summary
    assert 'id="timeline"' in page and "case_started" in page
    assert f'data-due="{first.due_at.isoformat()}"' in page


def test_a_valid_submission_completes_the_task_and_goes_on_to_my_next_step_of_the_case(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    response = post(client, first.id, page_of(client, first.id), expected_handling_time="2 个工作日内",
                    message_to_customer="您好，已收到")
    assert eng.tasks.get(first.id).state == "completed"
    assert task(eng, number, "verify").assignee == "cs1"
    assert response.status_code == 303 and response.location.endswith(f"/tasks/{task(eng, number, 'verify').id}")
    event = eng.history.events(number)[-1]
    assert event.payload["data"] == {"expected_handling_time": "2 个工作日内", "message_to_customer": "您好，已收到"}


def test_a_submission_asked_to_return_to_the_inbox_does_so(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    response = post(client, first.id, page_of(client, first.id), expected_handling_time="2 个工作日内",
                    message_to_customer="您好，已收到", then="inbox")
    assert response.status_code == 303 and response.location.endswith("/inbox")
    assert eng.tasks.get(first.id).state == "completed"


def test_checkboxes_become_booleans_and_an_unchecked_box_is_false(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    verify = task(eng, number, "verify")
    login(client, "cs1")
    response = post(client, verify.id, page_of(client, verify.id), verification_outcome="defect_confirmed",
                    safety_hazard="true", misuse_excluded="true")
    assert response.status_code == 303
    data = eng.history.events(number)[-1].payload["data"]
    assert data["safety_hazard"] is True and data["batch_defect"] is False and data["misuse_excluded"] is True
    assert eng.cases.get(number).grade == "urgent"


def test_missing_fields_get_a_message_each_and_the_entries_are_kept(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    response = post(client, first.id, page_of(client, first.id), expected_handling_time="明天 <b>下午</b>",
                    message_to_customer="   ")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_for(page, "message_to_customer") == "此项为必填项。"
    assert error_for(page, "expected_handling_time") is None
    assert 'value="明天 &lt;b&gt;下午&lt;/b&gt;"' in page  # kept, and shown as text
    assert eng.tasks.get(first.id).state == "open"


def test_a_number_that_is_not_a_number_is_refused_at_its_field(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan = task(eng, number, "propose_plan")
    login(client, plan.assignee)
    page = page_of(client, plan.id)
    assert 'type="number"' in page and 'name="compensation_amount"' in page
    response = post(client, plan.id, page, plan_type="compensation", compensation_amount="五百",
                    plan_details="赔偿")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert error_for(page, "compensation_amount") == "请输入数字。"
    assert '<option value="compensation" selected>' in page and 'value="五百"' in page
    response = post(client, plan.id, page, plan_type="compensation", compensation_amount="300", plan_details="赔偿")
    assert response.status_code == 303
    assert eng.history.events(number)[-1].payload["data"]["compensation_amount"] == 300


def test_a_rule_across_fields_is_explained_above_the_form(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_callback(eng, number)
    callback = task(eng, number, "callback")
    login(client, callback.assignee)
    page = page_of(client, callback.id)
    response = post(client, callback.id, page, reached="true", satisfaction="", satisfaction_label="",
                    comments="还行")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="form-errors"' in page and "表单上方的说明" in page
    assert 'value="还行"' not in page and ">还行</textarea>" in page  # the comment is kept in its textarea
    response = post(client, callback.id, page, reached="true", satisfaction="5", satisfaction_label="",
                    comments="满意")
    assert response.status_code == 303
    assert eng.history.events(number)[-1].payload["data"] == {
        "reached": True, "satisfaction": 5, "satisfaction_label": None, "comments": "满意"}


def test_a_page_gone_stale_keeps_the_entries_and_says_why(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    page = page_of(client, first.id)
    web_clock.advance(timedelta(minutes=11))
    eng.timers.fire_due()  # the 10-minute deadline notifies the supervisor: the case moved on
    response = post(client, first.id, page, expected_handling_time="今天", message_to_customer="已收到")
    assert response.status_code == 409
    stale = response.get_data(as_text=True)
    assert "stale-notice" in stale and 'value="今天"' in stale
    assert expected_version(stale) == str(eng.cases.get(number).version)
    assert post(client, first.id, stale, expected_handling_time="今天", message_to_customer="已收到").status_code == 303


def test_a_task_completed_elsewhere_says_by_whom_and_when(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    page = page_of(client, first.id)
    complete(eng, number, "first_response")  # in another tab
    response = post(client, first.id, page, expected_handling_time="今天", message_to_customer="已收到")
    assert response.status_code == 409
    answer = response.get_data(as_text=True)
    assert "task-closed" in answer and "cs1" in answer and "2026-03-02 09:00" in answer
    assert 'href="/inbox"' in answer and f'href="/cases/{number}"' in answer
    assert 'class="error-message"' in answer and "409 ·" not in answer  # not the generic error page


def test_a_task_a_deadline_closed_meanwhile_says_so(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)  # urgent: emergency handling within 2 hours
    emergency = task(eng, number, "start_emergency_handling")
    login(client, emergency.assignee)
    page = page_of(client, emergency.id)
    web_clock.advance(timedelta(hours=2, minutes=1))  # the page was left open: the case escalated
    response = post(client, emergency.id, page, team="专项小组", actions="召回", customer_unreachable="")
    assert response.status_code == 409
    assert "task-closed" in response.get_data(as_text=True)
    assert eng.tasks.get(emergency.id).state == "cancelled"


def test_someone_elses_task_is_shown_without_a_form_and_may_be_claimed(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs2")
    page = page_of(client, first.id)
    assert 'name="expected_version"' not in page
    assert f'action="/inbox/tasks/{first.id}/claim"' in page
    assert "<fieldset class=\"stack readonly-form\" disabled>" in page
    response = client.post(f"/tasks/{first.id}", data={
        "csrf_token": csrf_token(client, "/inbox"), "expected_version": eng.cases.get(number).version,
        "expected_handling_time": "x", "message_to_customer": "y"})
    assert response.status_code == 403  # the engine: it is cs1's task
    assert eng.tasks.get(first.id).state == "open"


def test_a_completed_task_shows_who_completed_it(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = complete(eng, number, "first_response")
    login(client, "cs1")
    page = page_of(client, first.id)
    assert "closed-notice" in page and "cs1" in page and 'name="expected_version"' not in page


def test_the_task_page_speaks_english_on_request(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    client.get("/lang/en")
    page = page_of(client, first.id)
    assert "First response" in page and "Expected handling time" in page
    assert csrf_token(client, f"/tasks/{first.id}")
