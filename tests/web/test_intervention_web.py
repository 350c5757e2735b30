"""Stepping in through the case page (issue 15): only for roles with intervene = true, a reason needed."""

from __future__ import annotations

from tests.driver import registration
from tests.web.conftest import csrf_token, login


def act(client, number: str, action: str, reason: str = "原因"):  # noqa: ANN201
    return client.post(f"/cases/{number}/intervene",
                       data={"csrf_token": csrf_token(client, f"/cases/{number}"), "action": action,
                             "reason": reason})


def test_only_roles_that_may_intervene_see_and_use_it(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "cs1")
    assert 'id="intervene"' not in client.get(f"/cases/{number}").get_data(as_text=True)
    assert act(client, number, "suspend").status_code == 403
    login(client, "sup1")
    assert 'id="intervene"' in client.get(f"/cases/{number}").get_data(as_text=True)
    assert act(client, number, "suspend").status_code == 303
    assert eng.cases.get(number).status == "suspended"


def test_without_a_reason_nothing_changes_and_a_task_of_a_suspended_case_cannot_be_done(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "sup1")
    response = act(client, number, "suspend", reason="")
    assert response.status_code == 303 and eng.cases.get(number).status == "open"
    act(client, number, "suspend")
    login(client, "cs1")
    [first] = eng.tasks.for_case(number)
    page = client.get(f"/tasks/{first.id}").get_data(as_text=True)
    assert "案件已暂停" in page and 'action="/tasks/' + first.id + '"' not in page
    assert act(client, number, "bogus").status_code == 403
