"""The handlers' pages refuse what a role may not do: other groups' cases, one's own case, writes by
read-only roles, posts without the CSRF token; complaint text is shown as text; contact is masked."""

from __future__ import annotations

import io

import pytest

from tests.driver import registration, start_to_verified, task
from tests.web.conftest import csrf_token, login

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 500


@pytest.fixture
def general_case(eng) -> str:
    """A general complaint: only the CS specialists have had tasks on it."""
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number)
    return number


def test_a_handler_cannot_open_another_groups_case_by_url(client, eng, general_case):
    handling = task(eng, general_case, "start_handling_general")
    eng.attachments.add(general_case, "a.jpg", "image/jpeg", JPEG, "cs1")
    attachment = eng.attachments.list(general_case)[0]
    login(client, "eng1")  # engineers have no task on a general case
    assert client.get(f"/cases/{general_case}").status_code == 403
    assert client.get(f"/tasks/{handling.id}").status_code == 403
    assert client.get(f"/cases/{general_case}/attachments/{attachment.id}").status_code == 403
    token = csrf_token(client, "/inbox")
    upload = client.post(f"/cases/{general_case}/attachments", content_type="multipart/form-data",
                         data={"csrf_token": token, "files": [(io.BytesIO(JPEG), "x.jpg", "image/jpeg")]})
    assert upload.status_code == 403
    assert len(eng.attachments.list(general_case)) == 1


def test_the_person_complained_about_cannot_open_their_own_case(client, eng):
    number = eng.runtime.start("complaint", registration(involved_staff=["cs2"]), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs2")
    assert client.get(f"/cases/{number}").status_code == 403
    assert client.get(f"/tasks/{first.id}").status_code == 403
    assert number not in client.get("/inbox").get_data(as_text=True)
    claim = client.post(f"/inbox/tasks/{first.id}/claim", data={"csrf_token": csrf_token(client, "/inbox")})
    assert claim.status_code == 403
    assert eng.tasks.get(first.id).assignee == "cs1"


def test_an_attachment_is_only_served_under_its_own_case(client, eng):
    first = eng.runtime.start("complaint", registration(), "cs1")
    second = eng.runtime.start("complaint", registration(), "cs1")
    photo = eng.attachments.add(first, "a.jpg", "image/jpeg", JPEG, "cs1")
    login(client, "cs1")
    assert client.get(f"/cases/{second}/attachments/{photo.id}").status_code == 404


def test_complaint_text_with_a_script_is_shown_as_text(client, eng):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    number = eng.runtime.start("complaint", registration(description=script, product_name=script), "cs1")
    eng.attachments.add(number, '"><script>alert(2)</script>.jpg', "image/jpeg", JPEG, "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    for path in (f"/cases/{number}", f"/tasks/{first.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(" in page, path


def test_posts_without_the_csrf_token_are_refused(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    version = eng.cases.get(number).version
    posts = [
        (f"/tasks/{first.id}", {"expected_version": version, "expected_handling_time": "x",
                                 "message_to_customer": "y"}),
        (f"/inbox/tasks/{first.id}/unclaim", {}),
        ("/register", {"channel": "phone"}),
        (f"/cases/{number}/attachments", {"files": [(io.BytesIO(JPEG), "a.jpg", "image/jpeg")]}),
    ]
    for path, data in posts:
        response = client.post(path, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, path
    assert eng.tasks.get(first.id).state == "open" and eng.tasks.get(first.id).assignee == "cs1"
    assert eng.attachments.list(number) == []


def test_contact_details_are_masked_for_roles_that_may_not_see_them(client, eng):
    number = eng.runtime.start("complaint", registration(contact="138-0013-5678", customer_name="张三"), "cs1")
    start_to_verified(eng, number, core_function_failure=True)  # serious: the engineers get a task
    engineer = task(eng, number, "start_handling")
    login(client, "cs1")
    full = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "138-0013-5678" in full and "张三" in full and 'data-contact="full"' in full
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    login(client, engineer.assignee)
    for path in (f"/cases/{number}", f"/tasks/{engineer.id}"):
        page = client.get(path).get_data(as_text=True)
        assert "138-0013-5678" not in page and "张三" not in page, path
        assert "****5678" in page and "张*" in page and 'data-contact="masked"' in page, path


def test_an_auditor_may_look_but_every_write_is_refused(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, "auditor1")
    case_page = client.get(f"/cases/{number}")
    assert case_page.status_code == 200 and 'enctype="multipart/form-data"' not in case_page.get_data(as_text=True)
    task_page = client.get(f"/tasks/{first.id}").get_data(as_text=True)
    assert 'name="expected_version"' not in task_page and "/claim" not in task_page
    token = csrf_token(client, f"/cases/{number}")
    version = eng.cases.get(number).version
    writes = [
        (f"/tasks/{first.id}", {"expected_version": version, "expected_handling_time": "x",
                                 "message_to_customer": "y"}),
        (f"/inbox/tasks/{first.id}/claim", {}),
        (f"/inbox/tasks/{first.id}/unclaim", {}),
        ("/register", {"channel": "phone"}),
        (f"/cases/{number}/attachments", {"files": [(io.BytesIO(JPEG), "a.jpg", "image/jpeg")]}),
    ]
    for path, data in writes:
        response = client.post(path, data={"csrf_token": token, **data}, content_type="multipart/form-data")
        assert response.status_code == 403, path
    assert eng.tasks.get(first.id).state == "open" and eng.tasks.get(first.id).assignee == "cs1"
    assert eng.attachments.list(number) == []
    assert [e.kind for e in eng.history.events(number)] == ["case_started"]


def test_strangers_are_sent_to_the_login_page(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    for path in ("/inbox", f"/cases/{number}", f"/tasks/{first.id}", "/register", "/inbox?partial=1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path


def test_an_oversized_upload_is_refused_before_it_is_read(client, eng, app):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    token = csrf_token(client, f"/cases/{number}")
    too_big = b"\x00" * (3 * 1024 * 1024)  # beyond what an ordinary form post may carry
    response = client.post(f"/tasks/{task(eng, number, 'first_response').id}", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(too_big), "a.bin", "application/x")]})
    assert response.status_code == 413


def test_a_refusal_page_speaks_the_persons_language(client, eng):
    from tests.web.conftest import login

    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "eng1")
    page = client.get(f"/cases/{number}")
    assert page.status_code == 403
    assert "您无权查看或修改" in page.get_data(as_text=True)
