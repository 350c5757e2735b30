"""A handler's day (issue 15): what comes next after a submit, inbox rows that can be told apart,
planned waits that are never overdue, durations in days and hours."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.driver import FORM_DATA, complete, registration, task, to_callback
from tests.web.conftest import csrf_token, login


def as_fields(element: str) -> dict[str, str]:
    """The demo's form data for a step as a browser posts it (ticked boxes "on", unticked ones absent)."""
    return {k: ("on" if v is True else str(v)) for k, v in FORM_DATA[element].items()
            if v is not None and v is not False}


def submit(client, task_id: str, **fields: str):  # noqa: ANN201
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    version = re.search(r'name="expected_version" value="(\d+)"', page)
    data = {"csrf_token": csrf_token(client, f"/tasks/{task_id}"), **fields}
    if version:
        data["expected_version"] = version.group(1)
    return client.post(f"/tasks/{task_id}", data=data, follow_redirects=True)


def test_after_a_submit_the_message_says_what_comes_next_and_who_holds_it(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    page = submit(client, first.id, **as_fields("first_response")).get_data(as_text=True)
    flash = re.search(r'<p class="flash ok"[^>]*>(.*?)</p>', page, re.S)
    assert flash, page[:2000]
    text = flash.group(1)
    assert "已完成" in text and number in text
    following = [t for t in eng.tasks.for_case(number) if t.state == "open"]
    assert following, "the case should have a next step"
    for step in following:
        assert "下一步" in text
        holder = "您" if step.assignee == "cs1" else (step.assignee or "组")
        assert holder in text
    assert f'href="/cases/{number}"' in text
    mine = [t for t in following if t.assignee == "cs1"]
    for step in mine:
        assert f'href="/tasks/{step.id}"' in text


def test_the_message_after_the_last_callback_says_the_case_is_archived(client, eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    callback = task(eng, number, "callback")
    holder = callback.assignee or "cs1"
    eng.tasks.claim(callback.id, holder)
    login(client, holder)
    text = submit(client, callback.id, **as_fields("callback")).get_data(as_text=True)
    assert eng.cases.get(number).status == "archived"
    assert "案件已归档" in text


def test_inbox_rows_show_the_customer_the_product_and_the_first_words_of_the_problem(client, eng):
    long_problem = "充电底座插上后指示灯不亮，手表无法充电，已经换过插座和数据线，问题依旧，" * 3
    number = eng.runtime.start("complaint", registration(channel="phone", description=long_problem,
                                                         product_name="智能手表 X2"), "cs1")
    login(client, "cs1")
    page = client.get("/inbox").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*{number}(?:(?!</tr>).)*</tr>', page, re.S)
    assert row, page[:3000]
    cells = row.group(0)
    assert "智能手表 X2" in cells
    assert "充电底座插上后指示灯不亮" in cells and "…" in cells  # the first words, cut
    assert long_problem not in cells
    assert "张*" in cells  # the registration's 张三, masked as the case keeps it
    assert "138-0013-5678" not in page and "张三" not in page  # never the contact, the name masked


def test_a_planned_wait_is_never_shown_as_overdue(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(complaint_type="product_quality"), "cs1")
    to_callback(eng, number)
    complete(eng, number, "callback")  # the first callback: the second one comes 3 days later
    login(client, "sup1")
    waiting = client.get(f"/cases/{number}").get_data(as_text=True)
    waits = {name for name, status in re.findall(r'data-wait="([^"]+)" data-status="([^"]+)"', waiting)
             if status == "pending"}
    assert len(waits) == 1, waiting  # the next callback, 3 days away
    assert "计划等待" in waiting and "等待中" in waiting
    assert all(name not in re.findall(r'data-deadline="([^"]+)"', waiting) for name in waits)
    web_clock.advance(timedelta(days=3, minutes=1))
    eng.timers.fire_due()
    after = client.get(f"/cases/{number}").get_data(as_text=True)
    assert {name: status for name, status in re.findall(r'data-wait="([^"]+)" data-status="([^"]+)"', after)
            if name in waits} == dict.fromkeys(waits, "fired")
    assert "已结束，流程已继续" in after
    section = after.split('id="waits"', 1)[1].split("</section>", 1)[0]
    assert "已超时" not in section and "missed" not in section


def test_margins_read_in_days_and_hours_not_minutes(client, eng, web_clock):
    late = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(days=2, hours=3, minutes=10))
    eng.timers.fire_due()
    complete(eng, late, "first_response")
    login(client, "sup1")
    page = client.get(f"/cases/{late}").get_data(as_text=True)
    margins = re.findall(r'<small class="margin" data-minutes="(\d+)">\s*(.*?)</small>', page, re.S)
    assert margins, "the late first response shows its margin"
    minutes, text = margins[0]
    assert int(minutes) > 1440
    assert "天" in text and "小时" in text and minutes not in text


def test_a_form_sent_after_the_session_ended_leads_to_sign_in_and_back(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    response = client.post(f"/tasks/{first.id}", data={"csrf_token": "stale", "note": "x"},
                           headers={"Referer": f"http://localhost/tasks/{first.id}"})
    assert response.status_code == 303
    assert "/login" in response.location and f"next=/tasks/{first.id}" in response.location.replace("%2F", "/")
    page = client.get(response.location).get_data(as_text=True)
    assert "您的登录已结束" in page
    assert eng.tasks.get(first.id).state == "open"


def test_a_stale_token_of_a_signed_in_person_gets_a_page_in_their_language(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    response = client.post(f"/tasks/{first.id}", data={"csrf_token": "stale"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "此页面打开时间过长" in page and "CSRF" not in page


def sign_in(client, username: str, **extra: str) -> str:  # noqa: ANN001
    """Where the login form sends the person (the redirect's location)."""
    response = client.post("/login", data={"username": username, "password": "demo",
                                           "csrf_token": csrf_token(client), **extra})
    assert response.status_code == 302, response.status_code
    return response.location


def test_signing_in_with_exactly_one_step_waiting_opens_it_otherwise_the_inbox(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs1"
    assert sign_in(client, "cs1") == f"/tasks/{first.id}?landed=1"
    page = client.get(f"/tasks/{first.id}?landed=1").get_data(as_text=True)
    assert "只有一个环节在等您处理，已为您打开" in page and 'href="/inbox"' in page
    assert "只有一个环节在等您处理" not in client.get(f"/tasks/{first.id}").get_data(as_text=True)
    client.get("/lang/en")
    assert "One step waits for you" in client.get(f"/tasks/{first.id}?landed=1").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    # a page asked for wins; a colleague's step (cs2 shares the role) is not theirs to land on
    assert sign_in(client, "cs1", next=f"/cases/{number}") == f"/cases/{number}"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    assert sign_in(client, "cs2") == "/inbox"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    eng.runtime.start("complaint", registration(channel="phone"), "cs1")  # two steps waiting: the inbox
    assert sign_in(client, "cs1") == "/inbox"
