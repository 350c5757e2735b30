"""The header search and the customer's other complaints, through the pages (issue 15)."""

from __future__ import annotations

import re

from tests.driver import registration
from tests.web.conftest import login


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-case="([^"]+)"', page)


def test_a_search_by_customer_name_and_by_last_four_digits_lists_the_case(client, eng):
    number = eng.runtime.start("complaint", registration(customer_name="欧阳娜娜", contact="139-1234-8765"), "cs1")
    eng.runtime.start("complaint", registration(customer_name="李四", contact="139-0000-1111"), "cs1")
    login(client, "cs1")
    for text in ("欧阳", "8765"):
        response = client.get("/cases", query_string={"q": text})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert listed(page) == [number], text
        assert "欧阳娜娜" not in page  # the list shows the masked name


def test_a_whole_number_opens_the_case_and_nothing_found_says_so(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    response = client.get("/cases", query_string={"q": number.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{number}")
    missing = client.get("/cases", query_string={"q": "20991231-PHONE-999"})
    assert missing.status_code == 200 and 'id="no-hits"' in missing.get_data(as_text=True)


def test_a_person_complained_about_finds_nothing_of_their_case(client, eng):
    number = eng.runtime.start("complaint", registration(customer_name="王五", involved_staff=["sup1"]), "cs1")
    login(client, "sup1")
    assert listed(client.get("/cases", query_string={"q": "王五"}).get_data(as_text=True)) == []
    exact = client.get("/cases", query_string={"q": number})
    assert exact.status_code == 200 and listed(exact.get_data(as_text=True)) == []


def test_the_case_page_lists_the_customers_other_complaints(client, eng):
    first = eng.runtime.start("complaint", registration(contact="139-1234-8765"), "cs1")
    second = eng.runtime.start("complaint", registration(contact="139 1234 8765"), "cs1")
    login(client, "cs1")
    page = client.get(f"/cases/{second}").get_data(as_text=True)
    assert f'href="/cases/{second}/same-customer"' in page and "该客户的其他投诉" in page
    others = client.get(f"/cases/{second}/same-customer").get_data(as_text=True)
    assert listed(others) == [first]
