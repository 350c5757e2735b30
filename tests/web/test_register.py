"""Registering a complaint taken by phone or in store: every field of SPEC step 1, attachments, validation."""

from __future__ import annotations

import io
import re

from tests.web.conftest import csrf_token, login

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 500

FORM = {
    "channel": "store", "complaint_type": "product_quality", "customer_name": "李四", "contact": "139 1234 8765",
    "product_name": "智能电水壶", "product_model": "K-200", "batch_no": "B2026-02", "serial_no": "SN0099",
    "purchase_date": "2026-02-01", "purchase_channel": "门店", "description": "壶底漏水", "expectation": "repair",
    "involved_staff": "",
}


def post(client, **changes: object):  # noqa: ANN201
    data = {"csrf_token": csrf_token(client, "/register"), **FORM, **changes}
    return client.post("/register", data=data, content_type="multipart/form-data")


def test_the_intake_form_has_every_field_of_step_1(client):
    login(client, "cs1")
    response = client.get("/register")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("channel", "complaint_type", "customer_name", "contact", "product_name", "product_model",
                 "batch_no", "serial_no", "purchase_date", "purchase_channel", "description", "expectation",
                 "involved_staff"):
        assert f'name="{name}"' in page, name
    assert 'type="file"' in page and 'name="files"' in page and "multiple" in page
    assert 'type="date"' in page and "<textarea" in page
    assert "投诉渠道" in page and '<option value="store">门店</option>' in page and "客户期望" in page


def test_a_phone_complaint_is_registered_and_opens_its_first_step(client, eng):
    login(client, "cs1")
    response = post(client, channel="phone", involved_staff="eng2\nmgr2",
                    files=[(io.BytesIO(JPEG), "壶底.jpg", "image/jpeg")])
    assert response.status_code == 303
    [number] = eng.cases.numbers()
    assert re.fullmatch(r"20260302-PHONE-\d{3}", number)
    [first] = eng.tasks.for_case(number)
    assert first.assignee == "cs1" and response.location.endswith(f"/tasks/{first.id}")
    case = eng.cases.get(number)
    assert case.channel == "phone" and case.summary["customer_name"] == "李*"
    assert case.summary["contact_last4"] == "8765" and case.summary["involved_staff"] == ["eng2", "mgr2"]
    assert case.summary["attachments"] == ["壶底.jpg"]
    assert [a.filename for a in eng.attachments.list(number)] == ["壶底.jpg"]
    assert eng.cases.contact(number, "cs1").contact == "139 1234 8765"
    assert "投诉已登记" in client.get(f"/cases/{number}").get_data(as_text=True)


def test_missing_and_wrong_fields_are_marked_and_the_entries_kept(client, eng):
    login(client, "cs1")
    response = post(client, customer_name="", description="", purchase_date="2026-02-30", expectation="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("customer_name", "description", "expectation"):
        assert f'data-error-for="{field}">此项为必填项。' in page, field
    assert 'data-error-for="purchase_date">请输入日期' in page
    assert 'value="139 1234 8765"' in page and 'value="K-200"' in page
    assert '<option value="store" selected>' in page
    assert eng.cases.numbers(process_id="complaint") == []


def test_a_refused_file_registers_nothing(client, eng):
    login(client, "cs1")
    response = post(client, files=[(io.BytesIO(b"MZ\x90\x00 not a photo"), "invoice.jpg", "image/jpeg")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-error-for="attachments"' in page and "invoice.jpg" in page
    assert "请重新选择文件" in page
    assert eng.cases.numbers(process_id="complaint") == []


def test_roles_that_do_not_register_are_refused(client, eng):
    for username in ("eng1", "auditor1"):
        login(client, username)
        assert client.get("/register").status_code == 403
        assert "登记投诉" not in client.get("/inbox").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    login(client, "eng1")
    assert post(client).status_code == 403
    assert eng.cases.numbers(process_id="complaint") == []


def test_the_register_page_speaks_english_on_request(client):
    login(client, "sup1")
    client.get("/lang/en")
    page = client.get("/register").get_data(as_text=True)
    assert "Register a complaint" in page and "Customer expectation" in page and ">Store</option>" in page


def test_a_purchase_date_in_the_future_and_a_300_character_name_are_refused_and_nothing_is_lost(client, eng):
    login(client, "cs1")
    assert 'name="purchase_date" value="" maxlength="10" max="2026-03-02"' in client.get("/register").get_data(
        as_text=True)  # the date picker stops at today (the calendar's day)
    response = post(client, purchase_date="2030-01-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "日期不能晚于今天（2026-03-02）" in page
    assert "壶底漏水</textarea>" in page  # what was typed is kept
    response = post(client, customer_name="张" * 300)
    assert response.status_code == 422 and "内容过长。" in response.get_data(as_text=True)
    assert eng.cases.numbers() == []
    assert post(client, purchase_date="2026-03-02").status_code == 303  # today is fine
