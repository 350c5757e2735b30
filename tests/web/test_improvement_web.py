"""The improvement loop over the web app: a suggestion from the public portal, sent over real HTTP, opens an
improvement item in the product manager's inbox; the case pages of the suggestion and of the item show
each other, and a recurring problem's item lists all its complaints."""

from __future__ import annotations

import re

from tests.driver import complete, registration, to_responsibility
from tests.web.conftest import login
from tests.web.http_clients import Browser, hidden

NUMBER = re.compile(r"\d{8}-WEB-\d{3}")
ITEM = re.compile(r"\d{8}-IMPROVE-\d{3}")


def test_a_suggestion_from_the_portal_reaches_the_product_managers_inbox(served, eng):
    customer = Browser(served, lang="zh-CN")
    token = hidden(customer.http.get("/c/complaint").text, "csrf_token")
    sent = customer.http.post("/c/complaint", follow_redirects=True, data={
        "complaint_type": "suggestion", "customer_name": "刘洋", "contact": "139 1234 8765",
        "product_name": "智能电水壶", "product_model": "K-200", "description": "希望增加多语言支持",
        "expectation": "explanation", "csrf_token": token})
    assert sent.status_code == 200, sent.text
    [number] = set(NUMBER.findall(sent.text))
    [item] = [link.number for link in eng.improvements.links(number).items]
    manager = Browser(served).login("pm1")
    inbox = manager.http.get("/inbox").text
    assert item in inbox and ("分析并制定改进方案" in inbox or "Analyse and plan" in inbox)
    item_page = manager.http.get(f"/cases/{item}").text
    assert 'id="improvement-links"' in item_page and f'data-linked="{number}"' in item_page
    suggestion_page = Browser(served).login("sup1").http.get(f"/cases/{number}").text
    assert f'data-linked="{item}"' in suggestion_page
    for browser in (customer, manager):
        browser.close()


def test_the_case_page_of_a_recurring_problems_item_lists_its_complaints(client, eng):
    numbers = []
    for _ in range(6):
        number = eng.runtime.start("complaint", registration(), "cs1")
        to_responsibility(eng, number)
        complete(eng, number, "determine_responsibility")
        complete(eng, number, "root_cause_analysis")
        numbers.append(number)
    [item] = [link.number for link in eng.improvements.links(numbers[-1]).items]
    login(client, "pm1")
    page = client.get(f"/cases/{item}").get_data(as_text=True)
    assert all(f'data-linked="{n}"' in page for n in numbers)
    assert "同一问题多次投诉" in page or "Recurring problem" in page
    first = client.get(f"/cases/{numbers[0]}").get_data(as_text=True)
    assert f'data-linked="{item}"' in first and ITEM.search(first)
