"""The inbox: my tasks and my group's, filters, soonest deadline first, countdowns, claim and give back."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.driver import complete, registration, start_to_verified, task
from tests.web.conftest import csrf_token, login


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """These pages and calls are checked on SQLite and on PostgreSQL."""
    return database_url


def rows(page: str) -> list[str]:
    """The task ids of the table's rows, in order."""
    return re.findall(r'<tr class="[^"]*" data-task="([^"]+)"', page)


def test_my_tasks_are_listed_soonest_deadline_first_with_a_countdown(client, eng):
    store = eng.runtime.start("complaint", registration(channel="store"), "cs1")  # first response due in 1 h
    phone = eng.runtime.start("complaint", registration(channel="phone"), "cs1")  # due in 10 min
    login(client, "cs1")
    page = client.get("/inbox").get_data(as_text=True)
    first_phone, first_store = task(eng, phone, "first_response"), task(eng, store, "first_response")
    assert rows(page) == [first_phone.id, first_store.id]
    assert f'data-due="{first_phone.due_at.isoformat()}"' in page
    assert f'href="/tasks/{first_phone.id}"' in page and f'href="/cases/{phone}"' in page
    assert "首次响应" in page  # the step's title in zh-CN, from its form
    latest_first = client.get("/inbox?sort=due_desc").get_data(as_text=True)
    assert rows(latest_first) == [first_store.id, first_phone.id]


def test_overdue_tasks_are_marked_and_can_be_filtered(client, eng, web_clock):
    phone = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    store = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    web_clock.advance(timedelta(minutes=11))
    login(client, "cs1")
    page = client.get("/inbox").get_data(as_text=True)
    late = task(eng, phone, "first_response").id
    assert re.search(rf'<tr class="overdue[^"]*" data-task="{late}"', page)
    assert "overdue-badge" in page
    assert rows(client.get("/inbox?overdue=1").get_data(as_text=True)) == [late]
    assert task(eng, store, "first_response").id not in client.get("/inbox?overdue=1").get_data(as_text=True)


def test_filters_by_grade_channel_and_step(client, eng):
    general = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    start_to_verified(eng, general)  # graded general: start handling with the CS specialists
    fresh = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    login(client, "cs1")
    handling, responding = task(eng, general, "start_handling_general").id, task(eng, fresh, "first_response").id
    assert rows(client.get("/inbox?grade=general").get_data(as_text=True)) == [handling]
    assert rows(client.get("/inbox?grade=none").get_data(as_text=True)) == [responding]
    assert rows(client.get("/inbox?channel=store").get_data(as_text=True)) == [responding]
    assert rows(client.get("/inbox?step=start_handling_general").get_data(as_text=True)) == [handling]
    empty = client.get("/inbox?grade=urgent").get_data(as_text=True)
    assert rows(empty) == []
    assert 'name="grade"' in empty and '<option value="urgent" selected>' in empty  # the filter stays as chosen


def test_my_groups_tasks_can_be_claimed_and_given_back(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs1"
    login(client, "cs2")
    group = client.get("/inbox?scope=group").get_data(as_text=True)
    assert rows(group) == [first.id]
    assert f'action="/inbox/tasks/{first.id}/claim"' in group
    token = csrf_token(client, "/inbox")
    response = client.post(f"/inbox/tasks/{first.id}/claim", data={"csrf_token": token, "next": "/inbox?scope=mine"})
    assert response.status_code == 303 and response.location.endswith("/inbox?scope=mine")
    assert eng.tasks.get(first.id).assignee == "cs2"
    mine = client.get("/inbox?scope=mine").get_data(as_text=True)
    assert rows(mine) == [first.id] and f'action="/inbox/tasks/{first.id}/unclaim"' in mine
    client.post(f"/inbox/tasks/{first.id}/unclaim", data={"csrf_token": token})
    assert eng.tasks.get(first.id).assignee == "cs1"
    assert [e.kind for e in eng.history.events(number)][-2:] == ["task_claimed", "task_unclaimed"]


def test_claiming_a_task_finished_meanwhile_says_so_instead_of_failing(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs2")
    token = csrf_token(client, "/inbox")
    complete(eng, number, "first_response")
    response = client.post(f"/inbox/tasks/{first.id}/claim", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'class="flash error"' in page and "cs1" in page


def test_the_table_refreshes_alone_so_the_filters_keep_what_is_typed(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    full = client.get("/inbox?channel=phone").get_data(as_text=True)
    assert 'data-refresh="/inbox?partial=1&amp;channel=phone"' in full
    assert 'id="inbox-filters"' in full
    partial = client.get("/inbox?partial=1&channel=phone").get_data(as_text=True)
    assert rows(partial) == [task(eng, number, "first_response").id]
    assert "<html" not in partial and 'id="inbox-filters"' not in partial
    assert '<table id="tasks">' in partial


def test_the_inbox_speaks_english_on_request(client, eng):
    eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    assert "收件箱" in client.get("/inbox").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/inbox").get_data(as_text=True)
    assert "Inbox" in page and "First response" in page


def test_the_person_complained_about_never_sees_the_task(client, eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["cs1"]), "sup1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs2"
    login(client, "cs1")
    assert first.id not in client.get("/inbox").get_data(as_text=True)


def test_a_long_inbox_is_shown_a_page_at_a_time(client, eng):
    from tests.driver import registration
    from tests.web.conftest import login
    from web.inbox import PAGE_SIZE

    for _ in range(PAGE_SIZE + 3):
        eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    first = client.get("/inbox").get_data(as_text=True)
    assert first.count("data-task=") == PAGE_SIZE
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert second.count("data-task=") == 3
