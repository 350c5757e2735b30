"""Search across the cases a person may open (issue 15): number fragments, the customer's name, the
contact's last digits, product, model, serial and words of the problem; never a case the person may
not open; the customer's other complaints."""

from __future__ import annotations

from tests.driver import registration, start_to_verified


def numbers(hits) -> list[str]:  # noqa: ANN001
    return [h.number for h in hits]


def test_search_finds_a_case_by_name_last_digits_product_model_serial_and_words(eng):
    wanted = eng.runtime.start("complaint", registration(customer_name="欧阳娜娜", contact="139-1234-8765",
                                                         product_name="Smart Kettle K2", product_model="K-900",
                                                         serial_no="SN77421", description="底座漏电，跳闸两次"), "cs1")
    other = eng.runtime.start("complaint", registration(customer_name="李四", contact="li@example.com",
                                                        product_name="电饭煲", description="按键失灵"), "cs1")
    for text in ("欧阳", "8765", "139 1234 8765", "kettle", "K-900", "SN774", "漏电", wanted[-9:].lower(),
                 "kettle 8765"):
        assert numbers(eng.search.find("sup1", text)) == [wanted], text
    assert numbers(eng.search.find("sup1", "按键")) == [other]
    assert eng.search.find("sup1", "kettle 按键") == []  # every word must match
    hit = eng.search.find("sup1", "欧阳")[0]
    assert hit.customer != "欧阳娜娜" and "*" in hit.customer  # the masked name, never the full one
    assert hit.product == "Smart Kettle K2" and "漏电" in hit.problem


def test_three_digits_of_a_contact_match_nothing_of_the_contact(eng):
    eng.runtime.start("complaint", registration(contact="139-1234-8765", description="无"), "cs1")
    assert eng.search.find("sup1", "876") == []


def test_search_never_finds_a_case_the_person_may_not_open(eng):
    about_sup1 = eng.runtime.start("complaint", registration(customer_name="王五", involved_staff=["sup1"]), "cs1")
    plain = eng.runtime.start("complaint", registration(customer_name="王六"), "cs1")
    assert numbers(eng.search.find("sup1", "王")) == [plain]  # never the case sup1 is involved in
    assert about_sup1 in numbers(eng.search.find("sup2", "王"))
    assert eng.search.find("eng1", "王") == []  # no task of the engineers' on either case yet


def test_the_customers_other_complaints_are_found_by_contact(eng):
    first = eng.runtime.start("complaint", registration(contact="139-1234-8765"), "cs1")
    second = eng.runtime.start("complaint", registration(contact="13912348765"), "cs1")
    eng.runtime.start("complaint", registration(contact="139-0000-0000"), "cs1")
    start_to_verified(eng, first)
    assert numbers(eng.search.same_customer("sup1", second)) == [first]
    assert numbers(eng.search.same_customer("sup1", first)) == [second]
