"""Nothing lost, nothing doubled, over real HTTP on both databases: retried registrations and racing claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask

from engine.clock import ManualClock
from tests.driver import FORM_DATA, at_once, complaint_count, registration, task
from tests.web.conftest import serve
from tests.web.http_clients import Browser, app_on, bearer, hidden, register_over_api


@pytest.fixture
def both_app(database_url: str, tmp_path: Path, workflows_dir: Path, web_clock: ManualClock) -> Iterator[Flask]:
    """The app on each database (``database_url`` runs every test on SQLite and on PostgreSQL)."""
    app = app_on(database_url, workflows_dir, tmp_path, web_clock)
    yield app
    app.extensions["complaintflow.engine"].close()


@pytest.fixture
def eng(both_app: Flask):  # noqa: ANN201
    return both_app.extensions["complaintflow.engine"]


@pytest.fixture
def base(both_app: Flask) -> Iterator[str]:
    yield from serve(both_app)


# ------------------------------------------------------------------ idempotent registration

def test_a_registration_retried_with_its_idempotency_key_answers_the_same_201_and_files_one_complaint(base, eng):
    headers = bearer(base, "cs1")
    first = register_over_api(base, headers, key="a1b2c3")
    retry = register_over_api(base, headers, key="a1b2c3")
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json() == {"number": "20260302-PHONE-001"}
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert retry.headers["Location"] == first.headers["Location"]
    assert complaint_count(eng) == 1
    assert register_over_api(base, headers).json() == {"number": "20260302-PHONE-002"}  # no key: a new one


def test_concurrent_retries_with_one_key_file_one_complaint_and_all_answer_its_number(base, eng):
    headers = bearer(base, "cs1")
    answers = at_once(*[lambda: register_over_api(base, headers, key="same-request")] * 4)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert {a.json()["number"] for a in answers} == {"20260302-PHONE-001"}
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 3
    assert complaint_count(eng) == 1


def test_the_same_key_with_a_different_body_is_refused_with_a_clear_error(base, eng):
    headers = bearer(base, "cs1")
    assert register_over_api(base, headers, key="k-1").status_code == 201
    refused = register_over_api(base, headers, key="k-1", description="another fault entirely")
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_key_reused" and refused.json()["number"] == "20260302-PHONE-001"
    assert "幂等键" in refused.json()["message"]  # the API speaks the default language, zh
    assert complaint_count(eng) == 1


def test_the_portal_form_sent_twice_files_one_complaint_and_confirms_the_same_number(base, eng):
    browser = Browser(base)
    page = browser.http.get("/c/complaint").text
    form = {"csrf_token": hidden(page, "csrf_token"), "registration_token": hidden(page, "registration_token"),
            "complaint_type": "product_quality", "customer_name": "李四", "contact": "139 1234 8765",
            "product_name": "智能电水壶", "product_model": "K-200", "description": "底座漏电",
            "expectation": "exchange", "purchase_date": "2026-01-15"}
    sent = [browser.http.post("/c/complaint", data=form) for _ in range(2)]  # a double click, or a retry
    assert [s.status_code for s in sent] == [302, 302]
    confirmation = browser.http.get("/c/complaint/received").text
    assert "20260302-WEB-001" in confirmation
    assert complaint_count(eng) == 1
    other = Browser(base)  # the same page sent from another tab after a reload: it carries its own token
    fresh = other.http.get("/c/complaint").text
    assert hidden(fresh, "registration_token") != form["registration_token"]
    browser.close()
    other.close()


def test_the_register_page_sent_twice_files_one_complaint(base, eng):
    browser = Browser(base).login("cs1")
    page = browser.http.get("/register").text
    form = {"csrf_token": hidden(page, "csrf_token"), "registration_token": hidden(page, "registration_token"),
            "channel": "phone", "complaint_type": "product_quality", "customer_name": "王五",
            "contact": "13712345678", "product_name": "智能电水壶", "product_model": "K-200",
            "description": "开关失灵", "expectation": "repair", "purchase_date": "2026-01-15"}
    sent = [browser.http.post("/register", data=form) for _ in range(2)]
    assert [s.status_code for s in sent] == [303, 303], sent[0].text[:2000]
    assert sent[0].headers["location"] == sent[1].headers["location"]
    assert complaint_count(eng) == 1
    browser.close()


# ------------------------------------------------------------------ claim as compare-and-set

def claim_race_task(eng) -> str:  # noqa: ANN001
    """A first-response task held (by default) by cs1, and cs3 a third colleague in the same role."""
    eng.people.add("cs3", "客服三", "demo", {"cs_specialist": 3})
    number = eng.runtime.start("complaint", registration(), "sup1")
    return task(eng, number, "first_response").id


def test_two_colleagues_claiming_at_once_over_the_api_one_wins_the_other_gets_409_naming_them(base, eng):
    task_id = claim_race_task(eng)
    heads = {name: bearer(base, name) for name in ("cs2", "cs3")}
    answers = at_once(*[lambda name=name: httpx.post(f"{base}/api/v1/tasks/{task_id}/claim", headers=heads[name],
                                                     timeout=60) for name in ("cs2", "cs3")])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200).json()["assignee"]
    loser = next(a for a in answers if a.status_code == 409).json()
    assert loser["code"] == "task_held_by_other" and loser["holder"] == winner
    assert eng.tasks.get(task_id).assignee == winner
    claims = [e for e in eng.history.events(eng.tasks.get(task_id).case_number) if e.kind == "task_claimed"]
    assert [e.actor for e in claims] == [winner]


def test_two_colleagues_claiming_at_once_in_the_inbox_the_loser_reads_who_holds_it_in_chinese(base, eng):
    task_id = claim_race_task(eng)
    people = {name: Browser(base, lang="zh_CN").login(name) for name in ("cs2", "cs3")}
    forms = {name: {"csrf_token": hidden(b.http.get("/inbox").text, "csrf_token"), "holder": "cs1"}
             for name, b in people.items()}
    answers = at_once(*[lambda name=name: people[name].http.post(f"/inbox/tasks/{task_id}/claim", data=forms[name])
                        for name in people])
    assert sorted(a.status_code for a in answers) == [303, 409], [a.status_code for a in answers]
    holder = eng.tasks.get(task_id).assignee
    lost = next(a for a in answers if a.status_code == 409).text
    assert f"{holder} 已经领取了它" in lost and "Internal Server Error" not in lost
    for browser in people.values():
        browser.close()


def test_an_assignees_submit_after_a_colleagues_claim_is_409_naming_the_colleague(base, eng):
    task_id = claim_race_task(eng)
    assert httpx.post(f"{base}/api/v1/tasks/{task_id}/claim", headers=bearer(base, "cs2")).status_code == 200
    late = httpx.post(f"{base}/api/v1/tasks/{task_id}/complete", headers=bearer(base, "cs1"),
                      json={"data": FORM_DATA["first_response"]})
    assert late.status_code == 409, late.text
    assert late.json()["holder"] == "cs2" and late.json()["code"] == "task_held_by_other"
    assert eng.tasks.get(task_id).state == "open"
    browser = Browser(base, lang="zh_CN").login("cs1")
    page = browser.http.get(f"/tasks/{task_id}").text
    posted = browser.http.post(f"/tasks/{task_id}", data={
        "csrf_token": hidden(page, "csrf_token"), **{k: str(v) for k, v in FORM_DATA["first_response"].items()}})
    assert posted.status_code == 409, posted.text[:3000]
    assert "cs2" in posted.text and "您填写的内容未保存" in posted.text
    browser.close()
