"""Server-side sessions and API tokens (issue 13): logout, an administrator or a limit ends them for every copy;
length limits on free text, in the forms and at the HTTP layer of the public pages and the API."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask

import engine
from engine.clock import ManualClock
from engine.errors import DeployError, FormInvalid
from engine.history import SYSTEM
from engine.sessions import digest
from engine.store.enums import EventKind
from tests.driver import registration
from tests.web.http_clients import Browser, api_token, hidden

MB = 1024 * 1024


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """Sessions and tokens are rows: checked on SQLite and on PostgreSQL."""
    return database_url


@pytest.fixture
def session_clock(eng: engine.Engine) -> ManualClock:
    """The sessions' own clock, made manual: they run on real time, not on the cases' manual clock."""
    eng.sessions.clock = ManualClock(datetime.now(UTC))
    return eng.sessions.clock


@pytest.fixture
def browsers(served: str) -> Iterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        browser.close()


def browser(browsers: list[Browser], served: str, cookies: httpx.Cookies | None = None) -> Browser:
    opened = Browser(served)
    if cookies is not None:
        opened.http.cookies = httpx.Cookies(cookies)
    browsers.append(opened)
    return opened


def logged_in(response: httpx.Response) -> bool:
    return response.status_code == 200 and "/login" not in response.headers.get("location", "")


def logout(page: Browser) -> None:
    token = hidden(page.http.get("/inbox").text, "csrf_token")
    assert page.http.post("/logout", data={"csrf_token": token}).status_code == 302


def count_cases(eng: engine.Engine) -> int:
    with eng.db.engine.connect() as conn:
        return conn.execute(sa.text('SELECT count(*) FROM "case"')).scalar_one()


def system_events(eng: engine.Engine, kind: EventKind) -> list:
    return [e for e in eng.history.events(SYSTEM) if e.kind == kind]


# ---------------------------------------------------------------- page sessions

def test_a_cookie_copied_before_logout_is_refused_after_it(served, browsers):
    owner = browser(browsers, served).login("cs1")
    copy = browser(browsers, served, owner.http.cookies)
    assert logged_in(copy.http.get("/inbox")), "the copy works while the session lives"
    logout(owner)
    refused = copy.http.get("/inbox")
    assert refused.status_code == 302 and "/login" in refused.headers["location"]
    assert copy.http.get("/account/sessions").status_code == 302


def test_login_rotates_the_session(served, browsers):
    first = browser(browsers, served).login("cs1")
    old = browser(browsers, served, first.http.cookies)
    first.login("cs1")  # a new login in the same browser: a new row, a new cookie
    assert first.http.cookies.get("session") != old.http.cookies.get("session")
    assert logged_in(first.http.get("/inbox"))


def test_a_session_older_than_the_absolute_lifetime_is_refused(app: Flask, served, browsers, session_clock, eng):
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=2)  # the idle limit out of the way
    app.config["SESSION_MAX_HOURS"] = 12
    page = browser(browsers, served).login("cs1")
    for _ in range(11):  # busy all day long: activity does not extend the absolute lifetime
        session_clock.advance(timedelta(hours=1))
        assert logged_in(page.http.get("/inbox"))
    session_clock.advance(timedelta(minutes=59))
    assert logged_in(page.http.get("/inbox"))
    session_clock.advance(timedelta(minutes=2))
    refused = page.http.get("/inbox")
    assert refused.status_code == 302 and "/login" in refused.headers["location"]
    [ended] = system_events(eng, EventKind.SESSION_ENDED)  # found run out: written to the history once
    assert (ended.actor, ended.payload["username"], ended.payload["reason"]) == ("system", "cs1", "lifetime")
    page.login("cs1")  # a new login starts a new lifetime
    assert logged_in(page.http.get("/inbox"))
    assert len(system_events(eng, EventKind.SESSION_ENDED)) == 1


def test_the_server_ends_an_idle_session_though_the_inbox_refreshes_itself(app: Flask, served, browsers, session_clock,
                                                                         eng):
    page = browser(browsers, served).login("cs1")
    session_clock.advance(timedelta(minutes=20))
    assert logged_in(page.http.get("/inbox"))  # activity: idle time starts again
    session_clock.advance(timedelta(minutes=20))
    assert page.http.get("/inbox?partial=1", headers={"X-Auto-Refresh": "1"}).status_code == 200
    session_clock.advance(timedelta(minutes=15))  # 35 minutes since the person last did something
    assert page.http.get("/inbox").status_code == 302
    assert page.http.get("/inbox").status_code == 302
    [ended] = system_events(eng, EventKind.SESSION_ENDED)
    assert (ended.actor, ended.payload["username"], ended.payload["reason"]) == ("system", "cs1", "idle")
    assert eng.history.verify()


def test_an_admin_ends_a_users_session(served, browsers, eng):
    user = browser(browsers, served).login("cs1")
    admin = browser(browsers, served).login("owner1")  # process_owner: admin = true in roles.toml
    listing = admin.http.get("/account/sessions/cs1")
    assert listing.status_code == 200
    [session_id] = re.findall(r'data-session="([0-9a-f]{64})"', listing.text)
    action = f"/account/sessions/cs1/end/{session_id}"
    assert action in listing.text
    assert admin.http.post(action, data={"csrf_token": hidden(listing.text, "csrf_token")}).status_code == 302
    refused = user.http.get("/inbox")
    assert refused.status_code == 302 and "/login" in refused.headers["location"]
    assert logged_in(admin.http.get("/inbox")), "the administrator's own session goes on"
    [ended] = system_events(eng, EventKind.SESSION_ENDED)
    assert ended.actor == "owner1" and ended.payload["username"] == "cs1" and ended.payload["reason"] == "ended"
    after = admin.http.get("/account/sessions/cs1").text
    assert session_id in after and action not in after, "listed as ended, with nothing left to end"
    assert "已结束" in after


def test_someone_who_is_not_an_admin_neither_sees_nor_ends_anothers_session(served, browsers, eng):
    user = browser(browsers, served).login("cs1")
    [row] = eng.sessions.of("cs1")
    other = browser(browsers, served).login("sup1")
    assert other.http.get("/account/sessions/cs1").status_code == 404
    token = hidden(other.http.get("/account/sessions").text, "csrf_token")
    assert other.http.post(f"/account/sessions/sup1/end/{row.id}", data={"csrf_token": token}).status_code == 404
    assert other.http.post(f"/account/sessions/cs1/end/{row.id}", data={"csrf_token": token}).status_code == 404
    assert logged_in(user.http.get("/inbox"))
    assert system_events(eng, EventKind.SESSION_ENDED) == []


def test_logout_is_recorded_in_the_history(served, browsers, eng):
    logout(browser(browsers, served).login("cs2"))
    [ended] = system_events(eng, EventKind.SESSION_ENDED)
    assert (ended.actor, ended.payload["username"], ended.payload["reason"]) == ("cs2", "cs2", "logout")
    [row] = eng.sessions.of("cs2")
    assert row.ended_at is not None and row.end_reason == "logout"
    assert eng.history.verify()


# ---------------------------------------------------------------- API tokens

def test_a_revoked_token_is_refused(served, eng):
    issued = httpx.post(f"{served}/api/v1/session",
                        json={"username": "cs1", "password": "demo", "name": "crm sync"}).json()
    token = issued["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{served}/api/v1/tasks", headers=headers).status_code == 200
    [listed] = httpx.get(f"{served}/api/v1/tokens", headers=headers).json()
    assert listed["name"] == "crm sync" and listed["active"] and listed["current"] and "token" not in listed
    assert (listed["id"], listed["expires_at"]) == (issued["id"], issued["expires_at"])
    assert listed["last_used_at"] is not None
    revoked = httpx.delete(f"{served}/api/v1/tokens/{listed['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] and revoked.json()["revoked_by"] == "cs1"
    assert httpx.get(f"{served}/api/v1/tasks", headers=headers).status_code == 401
    assert httpx.get(f"{served}/api/v1/tokens", headers=headers).status_code == 401
    [event] = system_events(eng, EventKind.TOKEN_REVOKED)
    assert event.actor == "cs1" and event.payload["token"] == listed["id"]
    with eng.db.engine.connect() as conn:  # the token itself is never stored
        stored = conn.execute(sa.text("SELECT token_hash FROM api_token")).scalars().all()
    assert token not in stored and len(stored) == 1


def test_only_the_owner_or_an_admin_revokes_a_token(served):
    victim = api_token(served, "cs1")
    victim_headers = {"Authorization": f"Bearer {victim}"}
    [mine] = httpx.get(f"{served}/api/v1/tokens", headers=victim_headers).json()
    colleague = {"Authorization": f"Bearer {api_token(served, 'cs2')}"}
    assert httpx.delete(f"{served}/api/v1/tokens/{mine['id']}", headers=colleague).status_code == 404
    assert httpx.get(f"{served}/api/v1/tokens", params={"username": "cs1"}, headers=colleague).status_code == 404
    assert httpx.get(f"{served}/api/v1/tasks", headers=victim_headers).status_code == 200
    admin = {"Authorization": f"Bearer {api_token(served, 'owner1')}"}
    [seen] = httpx.get(f"{served}/api/v1/tokens", params={"username": "cs1"}, headers=admin).json()
    assert seen["id"] == mine["id"] and not seen["current"]
    assert httpx.delete(f"{served}/api/v1/tokens/{mine['id']}", headers=admin).json()["revoked_by"] == "owner1"
    assert httpx.get(f"{served}/api/v1/tasks", headers=victim_headers).status_code == 401


def test_an_expired_token_is_refused(app: Flask, served, session_clock):
    headers = {"Authorization": f"Bearer {api_token(served, 'cs1')}"}
    session_clock.advance(timedelta(hours=app.config["API_TOKEN_HOURS"], seconds=1))
    assert httpx.get(f"{served}/api/v1/tasks", headers=headers).status_code == 401


def test_the_account_page_lists_and_revokes_ones_tokens(served, browsers):
    token = httpx.post(f"{served}/api/v1/session",
                       json={"username": "cs1", "password": "demo", "name": "nightly export"}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    page = browser(browsers, served).login("cs1")
    listing = page.http.get("/account/sessions")
    assert "nightly export" in listing.text and token not in listing.text
    [token_id] = re.findall(r'data-token="([0-9a-f]+)"', listing.text)
    action = f"/account/sessions/cs1/revoke/{token_id}"
    assert page.http.post(action, data={"csrf_token": hidden(listing.text, "csrf_token")}).status_code == 302
    assert httpx.get(f"{served}/api/v1/tasks", headers=headers).status_code == 401


# ---------------------------------------------------------------- length limits

def test_a_30_mb_description_is_refused_and_nothing_is_stored(app: Flask, served, eng):
    before = count_cases(eng)
    huge = "漏" * (10 * MB)  # 30 MB in UTF-8
    api = httpx.post(f"{served}/api/v1/complaints", json=registration(description=huge),
                     headers={"Authorization": f"Bearer {api_token(served, 'cs1')}"}, timeout=120)
    assert api.status_code == 413
    assert api.json()["code"] == "request_too_large" and api.json()["message"]
    with httpx.Client(base_url=served, timeout=120) as customer:
        token = hidden(customer.get("/c/complaint").text, "csrf_token")
        page = customer.post("/c/complaint", data={
            "csrf_token": token, "complaint_type": "product_quality", "customer_name": "李四",
            "contact": "139 1234 8765", "product_name": "智能电水壶", "product_model": "K-200",
            "description": huge, "expectation": "exchange"})
    assert page.status_code == 413 and "text/html" in page.headers["content-type"]
    assert "kB" in page.text
    assert count_cases(eng) == before


def test_a_description_past_its_max_length_is_refused_field_by_field(served, eng):
    before = count_cases(eng)
    too_long = "x" * 5001  # under the HTTP limit, over the form's maxLength
    answer = httpx.post(f"{served}/api/v1/complaints", json=registration(description=too_long),
                        headers={"Authorization": f"Bearer {api_token(served, 'cs1')}"}, timeout=60)
    assert answer.status_code == 422 and "description" in answer.json()["errors"]
    with pytest.raises(FormInvalid) as refused:
        eng.runtime.start(eng.repository.active().intake_process(), registration(description=too_long), "cs1")
    assert "description" in refused.value.errors
    assert count_cases(eng) == before


def test_deploy_refuses_a_form_with_a_free_text_field_without_max_length(eng, workflows_dir: Path, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(workflows_dir, changed)
    form = changed / "forms" / "verify.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    [name] = [k for k, p in schema["properties"].items() if p.get("type") == "string" and "enum" not in p]
    del schema["properties"][name]["maxLength"]
    schema["properties"]["photos"] = {"type": "array", "items": {"type": "string", "maxLength": 100}}
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(changed, actor="owner1", note="no limits")
    found = {(p.file, p.element, p.code) for p in refused.value.problems}
    assert found == {("forms/verify.json", name, "form_text_needs_max_length"),
                     ("forms/verify.json", "photos", "form_list_needs_max_items")}
    problem = refused.value.problems[0].as_dict("zh")
    assert "maxLength" in problem["message"] or "maxItems" in problem["message"]
    assert all("max" in p.as_dict("en")["message"] for p in refused.value.problems)
    assert len(eng.repository.versions()) == 1, "nothing deployed"


def test_the_login_page_takes_no_large_body_either(served):
    answer = httpx.post(f"{served}/login", data={"username": "x" * MB, "password": "demo"}, timeout=60)
    assert answer.status_code == 413 and "kB" in answer.text


def test_rows_of_long_ended_sessions_and_dead_tokens_are_forgotten(eng, session_clock):
    ended = eng.sessions.start("cs1", user_agent="old browser", address="127.0.0.1")
    eng.sessions.end_current(ended, "cs1")
    eng.sessions.issue_token("cs1", "old", timedelta(hours=1))
    session_clock.advance(timedelta(days=91))
    live = eng.sessions.start("cs1")
    fresh = eng.sessions.issue_token("cs1", "fresh", timedelta(hours=12))
    assert eng.sessions.forget_old() == 2
    assert [s.id for s in eng.sessions.of("cs1")] == [digest(live)]
    assert eng.sessions.check(live, idle=timedelta(minutes=30), lifetime=timedelta(hours=12)) == "cs1"
    assert [t.name for t in eng.sessions.tokens("cs1")] == ["fresh"] and eng.sessions.token_user(fresh.token)
    assert eng.history.verify(), "the history keeps the end of a forgotten session"


def test_moving_the_cases_clock_logs_nobody_out(served, browsers, web_clock):
    page = browser(browsers, served).login("cs1")
    web_clock.advance(timedelta(days=3))  # business time (deadlines) in a demo or a test, not the sessions' time
    assert logged_in(page.http.get("/inbox"))
