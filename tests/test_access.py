"""Who sees what (roles.toml): a group's cases, oversight roles, contact details, customers."""

from __future__ import annotations

import pytest

from engine.errors import NotAllowed, NotFound
from tests.driver import complete, registration


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


def test_a_customer_sees_the_status_with_the_number_and_the_last_4_digits(eng):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "customer")
    status = eng.cases.public_status(number, "5678")
    assert status.status == "open"
    assert status.stage == ("首次响应 First response",)
    assert status.next_due is not None


def test_a_wrong_last_4_digits_is_the_same_not_found_as_a_wrong_number(eng):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678"), "customer")
    with pytest.raises(NotFound) as wrong_digits:
        eng.cases.public_status(number, "0000")
    with pytest.raises(NotFound) as wrong_number:
        eng.cases.public_status("20990101-WEB-999", "5678")
    assert str(wrong_digits.value) == str(wrong_number.value)
