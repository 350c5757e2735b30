"""Who sees what (roles.toml): a group's cases, oversight roles, contact details, customers."""

from __future__ import annotations

import re

import pytest

from engine.errors import NotAllowed, NotFound
from engine.notify import ChannelSettings
from tests.driver import complete, registration
from tests.notify_peers import WebhookPeer


def test_an_engineer_cannot_open_a_case_only_customer_service_worked_on(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    assert eng.cases.get(number, viewer="cs1").number == number
    with pytest.raises(NotAllowed):
        eng.cases.get(number, viewer="eng1")


def test_an_engineer_sees_a_case_once_their_group_has_a_task_on_it(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "verify", core_function_failure=True)  # serious: the engineer starts handling
    assert eng.cases.get(number, viewer="eng2").grade == "serious"


def test_supervisors_management_and_auditors_see_every_case(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    for viewer in ("sup1", "mgr2", "mgmt1", "gm1", "auditor1"):
        assert eng.cases.get(number, viewer=viewer).number == number


def test_contact_is_full_for_customer_service_and_masked_for_others(eng):
    number = eng.runtime.start("complaint", registration(customer_name="张三", contact="138-0013-5678"), "cs1")
    full = eng.cases.contact(number, "cs1")
    assert (full.name, full.contact, full.full) == ("张三", "138-0013-5678", True)
    masked = eng.cases.contact(number, "mgmt1")
    assert (masked.name, masked.contact, masked.full) == ("张*", "****5678", False)
    assert "138-0013-5678" not in str(eng.cases.get(number).summary)


def test_the_auditor_is_read_only(eng):
    assert eng.access.is_read_only("auditor1")
    assert not eng.access.is_read_only("sup1")
    with pytest.raises(NotAllowed):
        eng.access.require_write("auditor1")


def test_a_customer_sees_the_status_of_their_case_after_a_code_sent_to_their_phone(eng):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "customer")
    with WebhookPeer("sms") as gateway:
        eng.notifications.settings = ChannelSettings(sms_url=gateway.url, timeout=5)
        issued = eng.lookup.request(number, "13800135678")
        issued.thread.join(10)
        [sms] = gateway.bodies
    assert sms["to"] == "138-0013-5678" and number in sms["text"]
    code = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
    assert eng.lookup.verify(number, code) is True
    status = eng.cases.public(number)
    assert status.status == "open"
    assert status.stage == ("首次响应 First response",)
    assert status.next_due is not None


def test_a_wrong_contact_or_a_wrong_number_gets_no_code_and_a_guess_opens_nothing(eng):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "customer")
    with WebhookPeer("sms") as gateway:
        eng.notifications.settings = ChannelSettings(sms_url=gateway.url, timeout=5)
        assert eng.lookup.request(number, "13800130000") is None
        assert eng.lookup.request("20990101-WEB-999", "13800135678") is None
        assert gateway.bodies == []
    assert eng.lookup.verify(number, "123456") is False
    with pytest.raises(NotFound):
        eng.cases.public("20990101-WEB-999")
