"""The customer in the loop (issue 12, part B): the flow itself writes to the customer, with single-use
links the customer follows over real HTTP, and the customer follows the case with a one-time code.

Real peers: an SMTP server (aiosmtpd) on loopback receives what the delivery worker sends, and the app is
served on a loopback port; SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from flask import Flask

from engine.notify import ChannelSettings, RetryPolicy
from engine.notify.settings import SmtpSettings
from engine.store.enums import EventKind
from tests.driver import plan_through_review, registration, start_to_verified, task, to_plan
from tests.notify_peers import SmtpPeer, WebhookPeer
from tests.web.conftest import login

CUSTOMER_MAIL = "li.si@example.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """Checked on SQLite and on PostgreSQL."""
    return database_url


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def wired(app: Flask, eng, smtp: SmtpPeer, served: str) -> str:  # noqa: ANN001
    """The engine's notices go to the SMTP peer and link to the served app, signed as the app checks links."""
    eng.notifications.settings = ChannelSettings(
        smtp=SmtpSettings.parse(smtp.url), mail_from="complaints@example.test", base_url=served, timeout=5,
        link_secret=app.config["SECRET_KEY"])
    eng.notifications.policy = RetryPolicy(attempts=3, first_backoff=60, max_backoff=600, claim_seconds=30)
    return served


def drain(eng) -> None:  # noqa: ANN001
    while eng.notifications.deliver_due():
        pass


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def link_in(mail, base: str, kind: str) -> str:  # noqa: ANN001
    text = mail.get_body(("plain",)).get_content()
    found = re.search(re.escape(base) + rf"/c/{kind}/\S+", text)
    assert found, f"no {kind} link in: {text}"
    return found.group(0)


def wait_for_mail(smtp: SmtpPeer, address: str, count: int, seconds: float = 10.0) -> list:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mails = smtp.to(address)
        if len(mails) >= count:
            return mails
        time.sleep(0.05)
    return smtp.to(address)


def confirmation_waiting(eng) -> str:  # noqa: ANN001
    number = eng.runtime.start("complaint", registration(contact=CUSTOMER_MAIL), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    assert "plan_confirmation" in eng.cases.get(number).waiting_for
    return number


def test_a_customer_receives_the_plan_link_by_email_confirms_through_it_and_the_case_moves_on(eng, smtp, wired):
    number = confirmation_waiting(eng)
    drain(eng)
    [mail] = smtp.to(CUSTOMER_MAIL)
    assert number in mail["Subject"] and "请确认处理方案" in mail["Subject"]  # registered by staff: Chinese
    url = link_in(mail, wired, "confirm")
    assert f'href="{url}"' in mail.get_body(("html",)).get_content()

    with httpx.Client() as browser:
        shown = browser.get(url)
        assert shown.status_code == 200 and "同型号换新" in shown.text  # the plan the customer decides on
        answered = browser.post(url, data={"answer": "accept", "csrf_token": csrf(shown.text)})
        assert answered.status_code == 200
        assert browser.post(url, data={"answer": "accept", "csrf_token": csrf(shown.text)}).status_code == 410
    assert task(eng, number, "ship_exchange")  # the case moved on
    assert "plan_confirmation" not in eng.cases.get(number).waiting_for
    deliveries = [d for ds in eng.notifications.for_case(number).values() for d in ds]
    assert [(d.recipient, d.channel, d.status) for d in deliveries if d.recipient == "customer"] == [
        ("customer", "email", "sent")]
    with httpx.Client(base_url=wired, follow_redirects=True) as staff:  # the case page shows the delivery
        login = staff.get("/login")
        staff.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": csrf(login.text)})
        page = staff.get(f"/cases/{number}").text
        assert 'data-channel="email" data-recipient="customer" data-status="sent"' in page


def test_a_customer_who_filed_in_english_is_written_to_in_english(app, eng, smtp, wired):
    with httpx.Client(base_url=wired, follow_redirects=True) as browser:
        browser.get("/lang/en")
        form = browser.get("/c/complaint")
        data = {**{k: str(v) for k, v in registration(contact=CUSTOMER_MAIL).items() if isinstance(v, str)},
                "registration_token": "t" * 24, "csrf_token": csrf(form.text)}
        filed = browser.post("/c/complaint", data=data)
        assert filed.status_code == 200
        number = re.search(r"\d{8}-WEB-\d{3}", filed.text).group(0)
    to_plan(eng, number)
    plan_through_review(eng, number)
    drain(eng)
    [mail] = smtp.to(CUSTOMER_MAIL)
    assert mail["Subject"] == f"[{number}] Please confirm the proposed plan"


def test_a_customer_answers_a_request_for_more_information_from_the_portal_with_a_photo(eng, smtp, wired):
    number = eng.runtime.start("complaint", registration(contact=CUSTOMER_MAIL), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    assert "customer_reply" in eng.cases.get(number).waiting_for
    drain(eng)
    [mail] = smtp.to(CUSTOMER_MAIL)
    url = link_in(mail, wired, "reply")

    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200 and number in page.text
        token = csrf(page.text)
        refused = browser.post(url, data={"answer": "底座有焦痕", "csrf_token": token},
                               files={"files": ("notes.txt", b"just text", "text/plain")})
        assert refused.status_code == 422  # nothing delivered, the link still works
        assert "customer_reply" in eng.cases.get(number).waiting_for and eng.attachments.list(number) == []
        assert browser.post(url, data={"answer": "x"}).status_code == 400  # no CSRF token: refused
        answered = browser.post(url, data={"answer": "底座有焦痕，照片见附件", "csrf_token": token},
                                files={"files": ("base.png", PNG, "image/png")})
        assert answered.status_code == 200
        assert browser.get(url).status_code == 410  # single use

    case = eng.cases.get(number)
    assert "customer_reply" not in case.waiting_for
    assert task(eng, number, "verify")  # the defect check runs again with the customer's answer
    [photo] = eng.attachments.list(number)
    assert (photo.filename, photo.content_type, photo.uploaded_by) == ("base.png", "image/png", "customer")
    [event] = [e for e in eng.history.events(number) if e.kind == EventKind.MESSAGE_RECEIVED]
    assert event.payload["payload"] == {"text": "底座有焦痕，照片见附件",
                                        "attachments": [{"id": photo.id, "filename": "base.png"}]}


def status_session(browser: httpx.Client, number: str, contact: str) -> httpx.Response:
    form = browser.get("/c/status")
    return browser.post("/c/status", data={"number": number, "address": contact, "csrf_token": csrf(form.text)})


def code_in(mail) -> str:  # noqa: ANN001
    return re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)


def test_lookup_by_one_time_code_sent_to_the_email_contact(eng, smtp, wired):
    number = eng.runtime.start("complaint", registration(contact=CUSTOMER_MAIL), "cs1")
    with httpx.Client(base_url=wired, follow_redirects=True) as browser:
        # The same answer whether or not the pair matches; only a matching pair gets a code.
        wrong_contact = status_session(browser, number, "someone@example.test")
        unknown_case = status_session(browser, "20990101-WEB-001", CUSTOMER_MAIL)
        asked = status_session(browser, number, " LI.SI@example.test ")
        assert wrong_contact.status_code == unknown_case.status_code == asked.status_code == 200
        assert re.sub(r"\d{8}-\w+-\d{3}|value=\"[^\"]+\"", "", wrong_contact.text) == \
            re.sub(r"\d{8}-\w+-\d{3}|value=\"[^\"]+\"", "", asked.text)
        [mail] = wait_for_mail(smtp, CUSTOMER_MAIL, 1)
        assert len(smtp.messages) == 1
        code = code_in(mail)
        wrong = "0" * 6 if code != "000000" else "111111"
        refused = browser.post("/c/status/code", data={"code": wrong, "csrf_token": csrf(asked.text)})
        assert refused.status_code == 422 and number not in re.sub(r"<strong>[^<]*</strong>", "", refused.text)
        shown = browser.post("/c/status/code", data={"code": code, "csrf_token": csrf(asked.text)})
        assert shown.status_code == 200 and "dl class=\"status\"" in shown.text and number in shown.text
        assert "involved_staff" not in shown.text and "张三" not in shown.text  # never who is complained about
        assert browser.get("/c/status").status_code == 200  # the session keeps this one case open

    with httpx.Client(base_url=wired, follow_redirects=True) as other:
        again = status_session(other, number, CUSTOMER_MAIL)
        used = other.post("/c/status/code", data={"code": code, "csrf_token": csrf(again.text)})
        assert used.status_code == 422  # a code works once (a fresh one was sent meanwhile)
    assert eng.lookup.verify(number, code) is False

    # Per case: at most 5 codes an hour, whoever asks (2 already went out).
    for _ in range(6):
        eng.lookup.request(number, CUSTOMER_MAIL)
    assert len(wait_for_mail(smtp, CUSTOMER_MAIL, 5)) == 5
    time.sleep(0.3)
    assert len(smtp.to(CUSTOMER_MAIL)) == 5


def test_wrong_codes_use_a_code_up_after_five_tries(eng, smtp, wired):
    number = eng.runtime.start("complaint", registration(contact=CUSTOMER_MAIL), "cs1")
    issued = eng.lookup.request(number, CUSTOMER_MAIL)
    issued.thread.join(10)
    code = code_in(smtp.to(CUSTOMER_MAIL)[0])
    wrong = "0" * 6 if code != "000000" else "111111"
    assert [eng.lookup.verify(number, wrong) for _ in range(5)] == [False] * 5
    assert eng.lookup.verify(number, code) is False


def test_the_status_page_shows_the_messages_sent_to_the_customer(eng, smtp, wired):
    number = confirmation_waiting(eng)
    drain(eng)
    with httpx.Client(base_url=wired, follow_redirects=True) as browser:
        asked = status_session(browser, number, CUSTOMER_MAIL)
        [_, code_mail] = wait_for_mail(smtp, CUSTOMER_MAIL, 2)
        shown = browser.post("/c/status/code", data={"code": code_in(code_mail), "csrf_token": csrf(asked.text)})
    page = shown.text
    assert "我们发给您的消息" in page or "Messages we sent you" in page
    assert "请确认处理方案" in page and "/c/confirm/" in page  # the notice as the customer read it
    assert "同型号换新" in page  # the plan to confirm
    # Internal words never: the staff's notices and the handlers' notes.
    for internal in ("first_response", "management_review", "管理部审核"):
        assert internal not in page


def test_a_customer_with_a_phone_contact_is_texted_through_the_gateway_and_only_with_one(app, eng, web_clock):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    eng.notifications.settings = ChannelSettings(link_secret=app.config["SECRET_KEY"])  # no gateway: no SMS
    staff = app.test_client()
    login(staff, "cs1")
    drain(eng)
    assert [d for ds in eng.notifications.for_case(number).values() for d in ds if d.recipient == "customer"] == []
    assert "未发送：目前尚无可送达客户的渠道" in staff.get(f"/cases/{number}").get_data(as_text=True)

    other = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "cs1")
    start_to_verified(eng, other, verification_outcome="need_more_info")
    with WebhookPeer("sms") as gateway:
        eng.notifications.settings = ChannelSettings(sms_url=gateway.url, base_url="https://cf.example.test",
                                                     timeout=5, link_secret=app.config["SECRET_KEY"])
        drain(eng)
        [sms] = gateway.bodies
    assert (sms["to"], sms["template"]) == ("138-0013-5678", "more_info_requested")
    url = re.search(r"https://cf\.example\.test(/c/reply/\S+)", sms["text"]).group(1)
    client = app.test_client()
    assert client.get(url).status_code == 200
    web_clock.advance(timedelta(days=3, seconds=1))  # the catch event's customerLinkDays
    expired = client.get(url)
    assert expired.status_code == 410 and "过期" in expired.get_data(as_text=True)


def test_a_reply_after_the_request_timed_out_changes_nothing(app, eng, smtp, wired, web_clock, workflows_dir):
    intake = workflows_dir / "intake.bpmn"  # the link outlives the wait for an answer
    intake.write_text(intake.read_text(encoding="utf-8").replace(
        '"customerLinkDays" value="3"', '"customerLinkDays" value="10"'), encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1")
    number = eng.runtime.start("complaint", registration(contact=CUSTOMER_MAIL), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    drain(eng)
    [mail] = smtp.to(CUSTOMER_MAIL)
    url = link_in(mail, wired, "reply")
    with httpx.Client() as browser:
        page = browser.get(url)
        [deadline] = [d for d in eng.cases.get(number).pending_deadlines]
        web_clock.set(deadline.due_at + timedelta(minutes=1))  # due, not fired yet: the answer finds it first
        late = browser.post(url, data={"answer": "太晚了", "csrf_token": csrf(page.text)},
                            files={"files": ("late.png", PNG, "image/png")})
    assert late.status_code == 410 and "已处理完毕" in late.text  # the deadline fired first: refused
    case = eng.cases.get(number)
    assert case.outcome == "unresolved" and "customer_reply" not in case.waiting_for
    assert eng.attachments.list(number) == []  # nothing of the refused answer was kept
    assert not [e for e in eng.history.events(number) if e.kind == EventKind.MESSAGE_RECEIVED]
