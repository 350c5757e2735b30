"""The people administration pages (issue 13): only an administrator (``admin = true``) opens them, each
change is made through them and recorded with who did it, and a refusal says why in the person's language
with nothing changed. The board shows the absence calendar (issue 15).

The web clock starts on Monday 2 March 2026, 09:00 in Shanghai.
"""

from __future__ import annotations

import html

import pytest

from engine.history import SYSTEM
from engine.store.enums import EventKind
from tests.driver import registration, task
from tests.web.conftest import csrf_token, login


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """People are rows that every assignment reads: checked on SQLite and on PostgreSQL."""
    return database_url


def post(client, path: str, page: str, **data: object):  # noqa: ANN201
    """A form on ``page`` sent as the browser sends it, following the redirect to the page it leads to."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data}, follow_redirects=True)


def system_events(eng, kind: EventKind) -> list:
    return [e for e in eng.history.events(SYSTEM) if e.kind == kind]


@pytest.mark.parametrize("who", ["sup1", "cs1", "auditor1"])
def test_someone_who_is_not_an_administrator_is_refused_every_page_and_change(client, eng, who):
    login(client, who)
    token = csrf_token(client, "/inbox")
    for path in ("/people/", "/people/new", "/people/accounts/cs1", "/people/roles"):
        assert client.get(path).status_code == 403, path
    for path, data in (("/people/new", {"username": "x1", "display_name": "x", "password": "long enough pw"}),
                       ("/people/accounts/cs1/absences", {"first_day": "2026-03-09", "last_day": "2026-03-15"}),
                       ("/people/accounts/cs2/disable", {}),
                       ("/people/accounts/cs1/roles", {"role": "process_owner"}),
                       ("/people/roles/cs_specialist", {"primary": "cs2", "backup": "cs1"})):
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 403, path
    assert "/people/" not in client.get("/inbox").get_data(as_text=True), "no link to pages they cannot open"
    assert eng.people_admin.account("cs1").absences == () and not eng.people.get("cs2").disabled
    assert not eng.access.is_admin("cs1")
    assert system_events(eng, EventKind.PERSON_CREATED) == []


def test_not_logged_in_leads_to_the_login(client):
    response = client.get("/people/")
    assert response.status_code == 302 and "/login" in response.headers["location"]


def test_an_administrator_creates_an_account_that_can_log_in(client, eng):
    login(client, "owner1")
    assert 'href="/people/"' in client.get("/inbox").get_data(as_text=True)
    page = post(client, "/people/new", "/people/new", username="li.na", display_name="李娜",
                password="first-password-1", email="li.na@example.cn", phone="138 0000 1111",
                role=["cs_specialist", "account_manager"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "账户 li.na 已创建" in text and "李娜" in text
    assert eng.people.get("li.na").roles == ("account_manager", "cs_specialist")
    [created] = system_events(eng, EventKind.PERSON_CREATED)
    assert created.actor == "owner1" and created.payload["roles"] == ["cs_specialist", "account_manager"]
    listing = client.get("/people/").get_data(as_text=True)
    assert 'data-username="li.na"' in listing
    other = client.application.test_client()
    login(other, "li.na", "first-password-1")


def test_a_refused_account_keeps_what_was_typed_and_says_why_in_each_language(client, eng):
    login(client, "owner1")
    page = post(client, "/people/new", "/people/new", username="cs1", display_name="重名", password="long enough pw",
                email="x@example.cn")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "用户名 cs1 已被使用" in text and 'value="x@example.cn"' in text
    page = post(client, "/people/new", "/people/new", username="new.one", display_name="新人",
                password="long enough pw", role=["nobody_role"])
    assert page.status_code == 422 and "当前部署的 roles.toml 中没有角色 nobody_role" in page.get_data(as_text=True)
    page = post(client, "/people/new", "/people/new", username="new.one", display_name="新人", password="short")
    assert page.status_code == 422 and "初始密码至少需要 10 个字符" in page.get_data(as_text=True)
    client.get("/lang/en")
    page = post(client, "/people/new", "/people/new", username="bad name", display_name="x", password="long enough pw")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 422 and 'the username "bad name" is not valid' in text
    assert system_events(eng, EventKind.PERSON_CREATED) == []
    assert "new.one" not in [account.username for account in eng.people_admin.accounts()]


def test_absence_dates_are_added_checked_and_removed_through_the_pages(client, eng):
    login(client, "owner1")
    here = "/people/accounts/cs1"
    page = post(client, f"{here}/absences", here, first_day="2026-03-09", last_day="2026-03-15", note="年假")
    text = page.get_data(as_text=True)
    assert "缺勤期已添加" in text and "2026-03-09" in text and "2026-03-15" in text and "年假" in text
    inverted = post(client, f"{here}/absences", here, first_day="2026-03-20", last_day="2026-03-18")
    assert "结束日期 2026-03-18 早于开始日期 2026-03-20" in inverted.get_data(as_text=True)
    overlap = post(client, f"{here}/absences", here, first_day="2026-03-14", last_day="")
    assert "与已有的缺勤期 2026-03-09 至 2026-03-15 重叠" in overlap.get_data(as_text=True)
    bad = post(client, f"{here}/absences", here, first_day="next monday", last_day="")
    assert "日期“next monday”无效" in bad.get_data(as_text=True)
    [period] = eng.people_admin.account("cs1").absences
    assert [e.actor for e in system_events(eng, EventKind.ABSENCE_ADDED)] == ["owner1"]
    removed = post(client, f"{here}/absences/{period.id}/remove", here).get_data(as_text=True)
    assert eng.people_admin.account("cs1").absences == ()
    changes = removed[removed.index('id="changes"'):]  # the account's own history, newest first
    assert changes.index('data-kind="absence_removed"') < changes.index('data-kind="absence_added"')
    assert "删除缺勤" in changes and "添加缺勤: 2026-03-09 – 2026-03-15" in changes and "owner1" in changes
    assert client.post(f"{here}/absences/999999/remove",
                       data={"csrf_token": csrf_token(client, here)}).status_code == 404
    assert client.get("/people/accounts/nobody").status_code == 404


def test_disabling_through_the_page_ends_the_login_and_gives_tasks_back(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    user = client.application.test_client()
    login(user, "cs1")
    assert user.get("/inbox").status_code == 200
    login(client, "owner1")
    page = post(client, "/people/accounts/cs1/disable", "/people/accounts/cs1")
    assert "账户已停用" in page.get_data(as_text=True)
    refused = user.get("/inbox")
    assert refused.status_code == 302 and "/login" in refused.headers["location"]
    denied = user.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": csrf_token(user)})
    assert denied.status_code == 401
    assert user.post("/api/v1/session", json={"username": "cs1", "password": "demo"}).status_code == 401
    assert task(eng, number, "first_response").assignee is None
    supervisor = client.application.test_client()
    login(supervisor, "sup1")
    timeline = supervisor.get(f"/cases/{number}").get_data(as_text=True)
    assert "原因" in timeline and "停用账户" in timeline, "the case history says why the task moved"
    themselves = post(client, "/people/accounts/owner1/disable", "/people/accounts/owner1")
    assert "不能停用自己的账户" in themselves.get_data(as_text=True)
    assert not eng.people.get("owner1").disabled
    post(client, "/people/accounts/cs1/enable", "/people/accounts/cs1")
    login(user, "cs1")
    assert [e.kind for e in eng.history.events(SYSTEM)][-2:] == [EventKind.PERSON_DISABLED, EventKind.PERSON_ENABLED]


def test_roles_and_primary_and_backup_are_set_through_the_pages(client, eng):
    login(client, "owner1")
    page = post(client, "/people/accounts/sup2/roles", "/people/accounts/sup2", role=["cs_supervisor", "cs_specialist"])
    assert "角色已保存" in page.get_data(as_text=True)
    page = post(client, "/people/roles/cs_specialist", "/people/roles", primary="sup2", backup="cs2")
    assert "主岗和备岗已保存" in page.get_data(as_text=True)
    assert task(eng, eng.runtime.start("complaint", registration(), "cs1"), "first_response").assignee == "sup2"
    same = post(client, "/people/roles/cs_specialist", "/people/roles", primary="cs2", backup="cs2")
    assert "角色 cs_specialist 需要一名主岗，备岗须是另一个人" in same.get_data(as_text=True)
    [ranks] = system_events(eng, EventKind.ROLE_RANKS_SET)
    assert ranks.actor == "owner1" and ranks.payload["after"] == ["sup2", "cs2", "cs1"]


def test_the_board_shows_who_is_away_in_the_coming_weeks(client, eng):
    eng.people_admin.add_absence("owner1", "cs1", "2026-03-09", "2026-03-15", note="年假")
    eng.people_admin.add_absence("owner1", "eng1", "2026-03-10", "2026-03-11")
    eng.people_admin.add_absence("owner1", "cs2", "2026-05-01", "2026-05-03")  # beyond four weeks
    login(client, "sup1")
    page = client.get("/board").get_data(as_text=True)
    calendar = page[page.index('id="absence-calendar"'):]
    assert 'data-username="cs1"' in calendar and "2026-03-09" in calendar and "年假" in calendar
    assert 'data-username="eng1"' in calendar, "a supervisor who sees all cases sees every role"
    assert 'data-username="cs2"' not in calendar
    assert "/people/accounts/cs1" not in calendar, "no administration link for a non-administrator"
    eng.people_admin.set_roles("owner1", "owner1", ["process_owner", "cs_supervisor"])
    login(client, "owner1")  # an administrator who also supervises: each name leads to the administration
    calendar = client.get("/board").get_data(as_text=True).split('id="absence-calendar"')[1]
    assert 'href="/people/accounts/cs1"' in calendar and 'id="manage-people"' in calendar
