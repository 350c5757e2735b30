"""Customers' public pages: intake, status, and the single-use links to confirm a plan and answer the survey."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.notify import ChannelSettings
from tests.driver import plan_through_review, registration, task, to_callback, to_plan
from tests.notify_peers import WebhookPeer
from tests.web.conftest import csrf_token
from web.portal import link_url

NUMBER = re.compile(r"\d{8}-WEB-\d{3}")


def intake_data(client: FlaskClient, **overrides: str) -> dict:
    data = {
        "complaint_type": "product_quality", "customer_name": "李四", "contact": "139 1234 8765",
        "product_name": "智能电水壶", "product_model": "K-200", "description": "底座漏电", "expectation": "exchange",
        "purchase_date": "2026-01-15", "csrf_token": csrf_token(client, "/c/complaint"),
    }
    data.update(overrides)
    return data


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def link(app: Flask, number: str, purpose: str) -> str:
    with app.test_request_context():
        return link_url(number, purpose)


def post_status(client: FlaskClient, number: str, contact: str):  # noqa: ANN201
    return client.post("/c/status", data={"number": number, "address": contact,
                                          "csrf_token": csrf_token(client, "/c/status")})


@pytest.fixture
def sms(eng) -> Iterator[WebhookPeer]:  # noqa: ANN001
    """An SMS gateway on loopback: look-up codes for the sample registration's phone contact go there."""
    with WebhookPeer("sms") as peer:
        eng.notifications.settings = ChannelSettings(sms_url=peer.url, timeout=5)
        yield peer


def open_status(client: FlaskClient, sms: WebhookPeer, number: str, contact: str = "138 0013 5678"):  # noqa: ANN201
    """Number and contact, then the one-time code the gateway got: the status page of the case."""
    asked = post_status(client, number, contact)
    assert asked.status_code == 200
    deadline = time.monotonic() + 10
    while not sms.bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    code = re.search(r"\b(\d{6})\b", sms.bodies.pop()["text"]).group(1)
    return client.post("/c/status/code", data={"code": code, "csrf_token": csrf_token(client, "/c/status")},
                       follow_redirects=True)


def ready_for_confirmation(eng) -> str:  # noqa: ANN001
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    assert "plan_confirmation" in eng.cases.get(number).waiting_for
    return number


# ---------------------------------------------------------------- intake

def test_a_customer_files_a_complaint_without_logging_in_and_gets_the_number(client, eng):
    form = client.get("/c/complaint")
    assert form.status_code == 200
    page = text(form)
    assert "投诉类型" in page and "involved_staff" not in page and 'name="channel"' not in page
    response = client.post("/c/complaint", data=intake_data(client), follow_redirects=True)
    assert response.status_code == 200
    number = NUMBER.search(text(response)).group(0)
    case = eng.cases.get(number)
    assert (case.channel, case.summary["contact_last4"], case.summary["customer_name"]) == ("web", "8765", "李*")
    assert case.summary["involved_staff"] == []
    assert eng.history.events(number)[0].actor == "customer"


def test_an_invalid_intake_shows_messages_next_to_the_fields_and_keeps_the_values(client, eng):
    data = intake_data(client, description="", purchase_date="not a date", customer_name="<b>王五</b>")
    response = client.post("/c/complaint", data=data)
    assert response.status_code == 422
    page = text(response)
    assert page.count('class="field-error"') == 2
    assert "请填写此项" in page and "请检查此项" in page
    assert 'value="&lt;b&gt;王五&lt;/b&gt;"' in page and 'value="139 1234 8765"' in page
    assert eng.cases.numbers() == []


def test_intake_is_rate_limited(app, client):
    app.config["INTAKE_LIMIT"] = "2 per hour"
    codes = [client.post("/c/complaint", data=intake_data(client)).status_code for _ in range(3)]
    assert codes == [302, 302, 429]
    assert client.get("/c/complaint").status_code == 200  # looking at the form is not limited


# ---------------------------------------------------------------- status

def test_status_shows_stage_and_next_deadline_and_nothing_internal(client, eng, sms):
    data = registration(involved_staff=["cs2"], description="<script>alert(1)</script>")
    number = eng.runtime.start("complaint", data, "cs1")
    assert client.get(f"/c/status?number={number}").status_code == 200
    response = open_status(client, sms, number)
    assert response.status_code == 200
    page = text(response)
    due = eng.cases.public(number).next_due
    assert number in page and "首次响应" in page and "First response" not in page
    assert due.astimezone(eng.repository.active().calendar.zone).strftime("%Y-%m-%d %H:%M") in page
    for internal in ("cs1", "cs2", "involved", "cs_specialist", "张三", "138"):
        assert internal not in page, internal
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_wrong_contact_and_a_wrong_number_get_the_same_answer_and_no_code(client, eng, sms):
    number = eng.runtime.start("complaint", registration(), "cs1")
    wrong_contact = post_status(client, number, "13900000000")
    wrong_number = post_status(client, "20990101-WEB-001", "13800135678")
    assert wrong_contact.status_code == wrong_number.status_code == 200
    message = re.compile(r'<p class="flash"[^>]*>(.*?)</p>')
    assert message.search(text(wrong_contact)).group(1) == message.search(text(wrong_number)).group(1)
    time.sleep(0.2)
    assert sms.bodies == []
    guessed = client.post("/c/status/code", data={"code": "123456", "csrf_token": csrf_token(client, "/c/status")})
    assert guessed.status_code == 422 and "dl class=\"status\"" not in text(guessed)


def test_status_lookups_are_rate_limited(app, client, eng):
    app.config["STATUS_LIMIT"] = "2 per hour"
    number = eng.runtime.start("complaint", registration(), "cs1")
    codes = [post_status(client, number, contact).status_code for contact in ("0000", "1111", "13800135678")]
    assert codes == [200, 200, 429]


def test_pages_speak_chinese_by_default(client):
    page = text(client.get("/c/complaint"))
    assert "投诉登记" in page and "提交投诉" in page and "Send complaint" not in page


def test_the_status_page_speaks_english_after_the_switch(client, eng, sms):
    number = eng.runtime.start("complaint", registration(), "cs1")
    client.get("/lang/en")
    page = text(open_status(client, sms, number))
    assert "Complaint status" in page and "First response" in page and "首次响应" not in page
    intake = text(client.get("/c/complaint"))
    assert "Register a complaint" in intake and "Send complaint" in intake and "Complaint type" in intake


# ---------------------------------------------------------------- plan confirmation

def test_a_plan_confirmation_link_works_once(app, client, eng):
    number = ready_for_confirmation(eng)
    url = link(app, number, "confirm")
    assert url.startswith("/c/confirm/")
    shown = client.get(url)
    assert shown.status_code == 200 and "同型号换新" in text(shown) and "换货" in text(shown)
    assert client.get(url).status_code == 200  # looking does not use the link up
    token = csrf_token(client, url)
    assert client.post(url, data={"answer": "accept", "csrf_token": token}).status_code == 200
    assert task(eng, number, "ship_exchange")
    again = client.post(url, data={"answer": "accept", "csrf_token": token})
    assert again.status_code == 410 and "已经使用" in text(again)
    assert client.get(url).status_code == 410


def test_an_expired_link_is_gone_and_a_tampered_one_unknown(app, client, eng, web_clock):
    number = ready_for_confirmation(eng)
    url = link(app, number, "confirm")
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 404
    assert client.get("/c/confirm/nonsense").status_code == 404
    web_clock.advance(timedelta(days=3, seconds=1))
    expired = client.get(url)
    assert expired.status_code == 410 and "过期" in text(expired)
    with app.app_context():  # outside a request the path is built by hand
        assert link_url(number, "survey").startswith("/c/survey/")


def test_a_signed_link_for_one_purpose_does_not_open_the_other(app, client, eng):
    number = ready_for_confirmation(eng)
    signed = link(app, number, "confirm").rsplit("/", 1)[1]
    assert client.get(f"/c/survey/{signed}").status_code == 404


# ---------------------------------------------------------------- survey

def test_a_satisfied_answer_to_the_survey_archives_a_service_complaint(app, client, eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    url = link(app, number, "survey")
    assert client.get(url).status_code == 200
    token = csrf_token(client, url)
    missing = client.post(url, data={"comments": "很好", "csrf_token": token})
    assert missing.status_code == 422 and "很好" in text(missing)
    answered = client.post(url, data={"satisfaction": "5", "satisfaction_label": "very_satisfied",
                                      "comments": "很好", "csrf_token": token})
    assert answered.status_code == 200
    case = eng.cases.get(number)
    assert (case.status, case.outcome) == ("archived", "resolved")
    assert client.post(url, data={"satisfaction": "5", "csrf_token": token}).status_code == 410


def test_a_low_score_escalates(app, client, eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    to_callback(eng, number)
    url = link(app, number, "survey")
    response = client.post(url, data={"satisfaction": "2", "comments": "太慢", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 200
    assert eng.cases.get(number).escalation_tier == 1


def test_a_survey_link_for_a_case_not_at_the_callback_is_refused_without_using_it(app, client, eng):
    number = ready_for_confirmation(eng)
    url = link(app, number, "survey")
    assert client.get(url).status_code == 410
