"""The pending-matters ledger page (/pending-matters/) and its XLSX export, over the web app."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

from openpyxl import load_workbook

from tests.conftest import SHANGHAI
from tests.driver import complete, registration, to_responsibility
from tests.web.conftest import login


def to_pending(eng, number: str, next_action: str = "等配件") -> None:
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable", pending_reason="parts_delayed")
    complete(eng, number, "notify_customer_pending", pending_next_action=next_action)
    complete(eng, number, "approve_pending_matter", pending_approved=True)


def test_the_ledger_lists_open_pending_matters_by_month_with_their_columns(client, eng, web_clock):
    march = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, march, next_action="等配件到货")
    web_clock.advance(datetime(2026, 4, 6, 10, 0, tzinfo=SHANGHAI) - web_clock.now())
    eng.timers.fire_due()  # the 4th of April: March's matter gets its reminder
    complete(eng, march, "remind_pending_customer", reminder_contacted=True, reminder_answer="客户下周回店",
             pending_next_action="下周回店")
    april = eng.runtime.start("complaint", registration(customer_name="李四"), "cs1")
    to_pending(eng, april, next_action="客户出差回来后联系")
    login(client, "am1")
    page = client.get("/pending-matters/").get_data(as_text=True)
    assert 'id="pending-link"' in page and "未了事宜台帐" in page
    assert page.index('id="month-2026-04"') < page.index('id="month-2026-03"')  # newest month first
    assert march in page and april in page and "配件延时" in page and "下周回店" in page
    assert "客户下周回店" in page  # the last reminder as recorded
    only_march = client.get("/pending-matters/?month=2026-03").get_data(as_text=True)
    assert march in only_march and april not in only_march
    assert client.get("/pending-matters/?holder=am2").get_data(as_text=True).count('data-case="') == 0
    assert client.get("/pending-matters/?month=March").status_code == 400
    case_page = client.get(f"/cases/{march}")
    assert case_page.status_code == 200 and "提醒客户并记录变化" in case_page.get_data(as_text=True)
    assert client.get(f"/cases/{march}/diagram.json").status_code == 200


def test_a_person_involved_in_a_case_never_sees_it_in_the_ledger(client, eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["mgmt1"]), "cs1")
    to_pending(eng, number)
    login(client, "mgmt1")
    page = client.get("/pending-matters/").get_data(as_text=True)
    assert number not in page and 'id="no-pending"' in page
    login(client, "mgmt2")
    assert number in client.get("/pending-matters/").get_data(as_text=True)


def test_roles_without_the_ledger_right_are_refused_and_see_no_link(client, eng):
    login(client, "cs1")
    assert 'id="pending-link"' not in client.get("/inbox").get_data(as_text=True)
    assert client.get("/pending-matters/").status_code == 403
    assert client.get("/pending-matters/ledger.xlsx").status_code == 403


def test_the_xlsx_export_has_real_dates_and_numbers_and_keeps_formulas_as_text(client, eng):
    number = eng.runtime.start("complaint", registration(product_name="=HYPERLINK(\"http://x\")"), "cs1")
    to_pending(eng, number, next_action="+1 call the customer")
    login(client, "sup1")
    client.get("/lang/en")
    response = client.get("/pending-matters/ledger.xlsx?month=2026-03")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Complaint number", "Customer", "Product", "Reason"]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Complaint number"].value == number
    assert row["Product"].value == '=HYPERLINK("http://x")' and row["Product"].data_type == "s"
    assert row["Next action"].value == "+1 call the customer" and row["Next action"].data_type == "s"
    assert row["Reason"].value == "Parts delayed"
    assert row["Pending since"].value == datetime(2026, 3, 2, 9, 0) and row["Pending since"].is_date
    assert row["Reminders"].value == 0 and row["Reminders"].data_type == "n"
    assert row["Customer"].value == "张三"  # the CS supervisor may see contact details
    client.get("/lang/zh_CN")
    zh = load_workbook(io.BytesIO(client.get("/pending-matters/ledger.xlsx?month=2026-03").data)).active
    assert [c.value for c in zh[1]][:2] == ["投诉编号", "客户"] and zh.max_row == 2
    empty = load_workbook(io.BytesIO(client.get("/pending-matters/ledger.xlsx?month=2026-02").data)).active
    assert empty.max_row == 1


def test_expected_return_is_a_date_cell(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable",
             pending_reason="customer_absent")
    complete(eng, number, "notify_customer_pending", expected_return="2026-03-20")
    complete(eng, number, "approve_pending_matter", pending_approved=True)
    login(client, "am1")
    sheet = load_workbook(io.BytesIO(client.get("/pending-matters/ledger.xlsx").data)).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(2, header.index("预计回来日期") + 1)
    assert cell.is_date and cell.value.date() == date(2026, 3, 20)


def test_the_account_manager_records_a_reminder_through_its_task_page_and_the_ledger_shows_it(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_pending(eng, number)
    web_clock.advance(datetime(2026, 4, 4, 9, 30, tzinfo=SHANGHAI) - web_clock.now())
    eng.timers.fire_due()
    login(client, "am1")
    inbox = client.get("/inbox").get_data(as_text=True)
    reminder = next(t for t in eng.tasks.for_user("am1")
                    if t.case_number == number and t.name == "remind_pending_customer")
    assert f"/tasks/{reminder.id}" in inbox
    page = client.get(f"/tasks/{reminder.id}").get_data(as_text=True)
    assert "提醒客户并记录变化" in page and 'name="expected_return"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    version = re.search(r'name="expected_version" value="(\d+)"', page).group(1)
    response = client.post(f"/tasks/{reminder.id}", data={
        "csrf_token": token, "expected_version": version, "reminder_contacted": "true",
        "reminder_answer": "配件到了再来", "pending_next_action": "配件到货通知", "expected_return": "2026-04-25"})
    assert response.status_code in (302, 303)
    assert eng.tasks.get(reminder.id).state == "completed"
    ledger = client.get("/pending-matters/").get_data(as_text=True)
    assert "配件到了再来" in ledger and "配件到货通知" in ledger and "2026-04-25" in ledger


def test_the_general_manager_sees_why_and_rejects_with_a_reason_through_the_buttons(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility", responsibility="not_determinable",
             pending_reason="quality_undetermined")
    complete(eng, number, "notify_customer_pending", pending_next_action="等检测报告")
    approval = next(t for t in eng.tasks.for_case(number) if t.name == "approve_pending_matter")
    login(client, "gm1")
    page = client.get(f"/tasks/{approval.id}").get_data(as_text=True)
    shown = page.split('id="shown"', 1)[1].split("</dl>", 1)[0]
    assert "质量问题暂无法判定" in shown and "等检测报告" in shown
    assert 'value="false" class="decision reject danger">不认可，重新判定责任</button>' in page

    def post(**fields: str):  # noqa: ANN202
        current = client.get(f"/tasks/{approval.id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', current).group(1)
        version = re.search(r'name="expected_version" value="(\d+)"', current).group(1)
        return client.post(f"/tasks/{approval.id}", data={"csrf_token": token, "expected_version": version,
                                                          **fields})

    assert post(pending_approved="false").status_code == 422
    assert post(pending_approved="false", pending_opinion="可以先做检测").status_code in (302, 303)
    assert [t.name for t in eng.tasks.for_case(number)] == ["determine_responsibility"]
