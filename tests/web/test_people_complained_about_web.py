"""People complained about, on the web: added at verification by the handler (the customer's own words
shown there to pick the real person), they get 403 on the case page and lose its tasks from their inbox
at once; an unknown name is refused at its field in the person's language."""

from __future__ import annotations

from tests.driver import complete, registration, task
from tests.web.conftest import csrf_token, login
from tests.web.test_task_page import error_for, page_of, post


def _logout(client) -> None:  # noqa: ANN001
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})


def _verify_fields() -> dict[str, str]:
    return {"verification_outcome": "defect_confirmed", "misuse_excluded": "true"}


def test_a_person_added_at_verification_gets_403_on_the_case_and_loses_the_task_from_the_inbox(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    verify = task(eng, number, "verify")
    login(client, "cs2")
    assert client.get(f"/cases/{number}").status_code == 200
    assert number in client.get("/inbox").get_data(as_text=True)
    _logout(client)

    login(client, "cs1")
    response = post(client, verify.id, page_of(client, verify.id), involved_staff="CS2", **_verify_fields())
    assert response.status_code == 303
    assert eng.cases.get(number).involved_staff == ("cs2",)
    _logout(client)

    login(client, "cs2")
    assert client.get(f"/cases/{number}").status_code == 403
    assert number not in client.get("/inbox").get_data(as_text=True)
    next_step = eng.tasks.for_case(number)[0]
    assert client.get(f"/tasks/{next_step.id}").status_code == 403


def test_the_verification_page_shows_the_customers_words_and_refuses_an_unknown_name(client, eng):
    number = eng.runtime.start("complaint", registration(channel="web", staff_named_by_customer="门店销售小王"),
                               "customer")
    complete(eng, number, "first_response")
    verify = task(eng, number, "verify")
    login(client, verify.assignee)
    page = page_of(client, verify.id)
    assert "门店销售小王" in page and 'class="flash staff-named"' in page
    response = post(client, verify.id, page, involved_staff="小王", **_verify_fields())
    assert response.status_code == 422
    message = error_for(response.get_data(as_text=True), "involved_staff")
    assert message and "小王" in message and "员工" in message
    assert eng.tasks.get(verify.id).state == "open" and eng.cases.get(number).involved_staff == ()


def test_the_timeline_records_the_addition(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "verify", involved_staff=["eng2"])
    login(client, "sup1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "追加被投诉人员" in page and "eng2" in page


def test_the_public_form_takes_the_customers_words_about_staff_and_nobody_is_excluded_by_them(client, eng):
    from tests.web.test_portal import NUMBER, intake_data

    page = client.get("/c/complaint").get_data(as_text=True)
    assert 'name="staff_named_by_customer"' in page and 'name="involved_staff"' not in page
    response = client.post("/c/complaint", data=intake_data(client, staff_named_by_customer="门店的销售员小王"),
                           follow_redirects=True)
    number = NUMBER.search(response.get_data(as_text=True)).group(0)
    case = eng.cases.get(number)
    assert case.summary["staff_named_by_customer"] == "门店的销售员小王" and case.involved_staff == ()


def test_the_api_refuses_an_unknown_person_complained_about_with_the_code_and_the_field(served):
    from tests.web.test_api import Api

    api = Api(served)
    try:
        refused = api.post("/complaints", "cs1", json=registration(involved_staff=["Wang"]))
        assert refused.status_code == 422
        body = refused.json()
        assert body["code"] == "staff_unknown" and set(body["errors"]) == {"involved_staff"}
        assert "Wang" in body["message"]
        number = api.register("cs1", involved_staff=["SUP2"])
        assert api.get(f"/cases/{number}", "sup2").status_code == 403
        assert api.get(f"/cases/{number}", "sup1").status_code == 200
    finally:
        api.http.close()
