"""Internal notes through the pages (issue 15): written on the case page, shown to staff, the person
mentioned finds it in their notification list; never on the customer's status page."""

from __future__ import annotations

from tests.driver import registration
from tests.web.conftest import csrf_token, login


def test_a_note_mentioning_sup1_reaches_sup1(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    response = client.post(f"/cases/{number}/notes", data={"csrf_token": csrf_token(client, f"/cases/{number}"),
                                                          "note": "客户要求主管回电 @sup1"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已通知 @sup1" in page and "客户要求主管回电 @sup1" in page
    eng.notifications.plan()
    login(client, "sup1")
    notices = client.get("/notices").get_data(as_text=True)
    assert number in notices and "同事在案件备注中提到了您" in notices


def test_a_note_is_escaped_and_a_read_only_person_cannot_write(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    eng.notes.add(number, "cs1", "<script>alert(1)</script>")
    login(client, "auditor1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'action="/cases/' + number + '/notes"' not in page
    response = client.post(f"/cases/{number}/notes", data={"csrf_token": csrf_token(client, f"/cases/{number}"),
                                                          "note": "x"})
    assert response.status_code == 403
