"""Stepping in through the case page (issue 15): only for roles with intervene = true, a reason needed."""

from __future__ import annotations

from tests.driver import complete, registration, to_responsibility
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


def test_a_supervisor_corrects_a_value_on_the_case_page_and_the_history_shows_before_and_after(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "sup1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'id="correct"' in page and 'value="purchase_date"' in page
    token = csrf_token(client, f"/cases/{number}")
    response = client.post(f"/cases/{number}/correct", data={"csrf_token": token, "field": "purchase_date",
                                                             "value": "2026-01-05", "reason": "客户更正购买日期"})
    assert response.status_code == 303
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "已更正" in page and "→ 2026-01-05" in page and "客户更正购买日期" in page
    assert {f.name: f.value for f in eng.corrections.fields(number)}["purchase_date"] == "2026-01-05"
    assert eng.replay.run(number)


def test_a_correction_the_form_refuses_changes_nothing_and_says_why(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "sup1")
    token = csrf_token(client, f"/cases/{number}")
    client.post(f"/cases/{number}/correct", data={"csrf_token": token, "field": "purchase_date",
                                                  "value": "not a date", "reason": "原因"})
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "请输入日期（年-月-日）" in page
    client.post(f"/cases/{number}/correct", data={"csrf_token": token, "field": "purchase_date",
                                                  "value": "2026-01-05", "reason": ""})
    assert "请填写原因" in client.get(f"/cases/{number}").get_data(as_text=True)
    assert [e for e in eng.history.events(number) if e.kind == "case_data_corrected"] == []
    login(client, "cs1")
    token = csrf_token(client, f"/cases/{number}")
    assert client.post(f"/cases/{number}/correct", data={"csrf_token": token, "field": "purchase_date",
                                                         "value": "2026-01-05", "reason": "x"}).status_code == 403


def test_a_supervisor_moves_a_case_back_and_a_suspended_case_is_refused(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, number, "first_response")
    login(client, "sup1")
    act(client, number, "suspend")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'id="move-back"' not in page and "需先恢复案件" in page
    token = csrf_token(client, f"/cases/{number}")
    refused = client.post(f"/cases/{number}/move-back", data={"csrf_token": token, "step": "first_response",
                                                              "reason": "回复有误"}, follow_redirects=True)
    assert "案件已暂停" in refused.get_data(as_text=True)
    assert [t.name for t in eng.tasks.for_case(number)] == ["verify"]
    act(client, number, "resume")
    token = csrf_token(client, f"/cases/{number}")
    response = client.post(f"/cases/{number}/move-back", data={"csrf_token": token, "step": "first_response",
                                                               "reason": "回复有误"})
    assert response.status_code == 303
    assert [t.name for t in eng.tasks.for_case(number)] == ["first_response"]
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "已退回到" in page and "退回到先前环节" in page
    replay = client.get(f"/cases/{number}/replay").get_data(as_text=True)
    assert 'data-ok="true"' in replay and '<td data-kind="case_moved_back">退回到先前环节</td>' in replay


def test_a_correction_that_breaks_a_rule_of_its_form_is_refused_in_either_language_and_changes_nothing(client,
                                                                                                          eng):
    """Responsibility "not determinable" needs the reason it cannot be (determine_responsibility.json's
    if/then): correcting a recorded "company" to it is refused naming the form, the rule and the field."""
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="company")
    login(client, "sup1")
    token = csrf_token(client, f"/cases/{number}")
    refused = client.post(f"/cases/{number}/correct", follow_redirects=True,
                          data={"csrf_token": token, "field": "responsibility", "value": "not_determinable",
                                "reason": "责任判定有误"}).get_data(as_text=True)
    assert "责任方 未更正" in refused and "“责任判定”" in refused and "then/required" in refused
    assert "无法确定的原因：此项为必填" in refused and "未做任何更改" in refused
    client.get("/lang/en")
    refused = client.post(f"/cases/{number}/correct", follow_redirects=True,
                          data={"csrf_token": token, "field": "responsibility", "value": "not_determinable",
                                "reason": "wrong"}).get_data(as_text=True)
    assert "breaks its rule then/required" in refused and "Nothing changed" in refused
    assert [e for e in eng.history.events(number) if e.kind == "case_data_corrected"] == []
    assert {f.name: f.value for f in eng.corrections.fields(number)}["responsibility"] == "company"

    client.post(f"/cases/{number}/correct", data={"csrf_token": token, "field": "responsibility",
                                                  "value": "third_party", "reason": "实为承运商责任"})
    assert {f.name: f.value for f in eng.corrections.fields(number)}["responsibility"] == "third_party"
    assert eng.replay.run(number)
