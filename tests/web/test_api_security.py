"""The JSON API's refusals through real HTTP: 400, 401, 403, 404, 409, 422, 429 and 500.

Each refusal is JSON with a message a person can act on (``no_trace`` checks every response)
and never a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import engine
from tests.driver import FORM_DATA, registration
from tests.web.conftest import serve
from tests.web.test_api import Api, no_trace
from web import create_app


@pytest.fixture
def api(served: str) -> Iterator[Api]:
    client = Api(served)
    yield client
    client.http.close()


@pytest.fixture
def real_time_api(tmp_path: Path, workflows_dir: Path) -> Iterator[Api]:
    """A second app whose engine runs on the system clock, as in production."""
    eng = engine.open(f"sqlite:///{tmp_path / 'real-time.sqlite'}", workflows_dir)
    eng.repository.deploy(actor="owner1", note="real-time app")
    eng.people.seed_demo()
    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "real-time"), "SECRET_KEY": "other-secret",
                      "DATABASE_URL": eng.db.url, "WORKFLOWS_DIR": str(workflows_dir)}, eng=eng)
    try:
        for base_url in serve(app):
            client = Api(base_url)
            yield client
            client.http.close()
    finally:
        eng.close()


# ------------------------------------------------------------------------------------------ 401

def test_a_call_without_a_token_is_401_and_says_how_to_get_one(api):
    response = api.get("/tasks")
    assert response.status_code == 401
    assert "POST /api/v1/session" in response.json()["message"]


def test_a_forged_token_is_401(api):
    response = api.http.get("/tasks", headers={"Authorization": "Bearer not-a-real-token"})
    assert response.status_code == 401


def test_a_wrong_password_is_401(api):
    response = api.post("/session", json={"username": "cs1", "password": "wrong"})
    assert response.status_code == 401
    assert "password" in response.json()["message"]
    assert "token" not in response.json()


def test_api_logins_are_throttled_after_repeated_failures(api):
    codes = [api.post("/session", json={"username": "cs2", "password": "bad"}).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert api.post("/session", json={"username": "cs2", "password": "demo"}).status_code == 429
    assert api.post("/session", json={"username": "cs1", "password": "demo"}).status_code == 200


# ------------------------------------------------------------------------------------------ 403

def test_an_engineer_may_not_open_a_case_only_customer_service_worked_on(api):
    number = api.register()
    assert api.get(f"/cases/{number}", "eng1").status_code == 403
    assert api.get(f"/cases/{number}/history", "eng1").status_code == 403


def test_a_person_involved_in_the_case_may_not_read_it(api):
    number = api.register("cs2", involved_staff=["cs1"])
    response = api.get(f"/cases/{number}", "cs1")
    assert response.status_code == 403
    assert "involved" in response.json()["message"]
    assert api.get(f"/cases/{number}/history", "cs1").status_code == 403
    assert [t for t in api.get("/tasks", "cs1").json()["tasks"] if t["case_number"] == number] == []
    assert api.get(f"/cases/{number}", "cs2").status_code == 200


def test_an_engineer_may_not_register_complaints(api):
    response = api.post("/complaints", "eng1", json=registration())
    assert response.status_code == 403
    assert "register" in response.json()["message"]


def test_someone_elses_task_is_403(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    response = api.post(f"/tasks/{task['id']}/complete", "cs2", json={"data": FORM_DATA["first_response"]})
    assert response.status_code == 403
    assert "assigned to cs1" in response.json()["message"]


def test_an_auditor_may_call_no_write_endpoint(api):
    number = api.register(channel="email")
    task = api.task("cs1", number, "first_response")
    calls = [
        ("/complaints", registration()),
        (f"/tasks/{task['id']}/claim", None),
        (f"/tasks/{task['id']}/complete", {"data": FORM_DATA["first_response"]}),
        ("/messages", {"case_number": number, "name": "customer_reply", "payload": {"reply": "x"}}),
        ("/clock", {"advance": "PT1H"}),
    ]
    for path, payload in calls:
        response = api.post(path, "auditor1", json=payload)
        assert response.status_code == 403, path
        assert "may look but not change anything" in response.json()["message"], path
    # ... yet reads everything.
    assert api.get(f"/cases/{number}", "auditor1").status_code == 200
    assert api.get(f"/cases/{number}/history", "auditor1").json()[0]["kind"] == "case_started"
    assert api.get(f"/cases/{number}", "cs1").json()["open_tasks"][0]["assignee"] == "cs1"  # nothing changed


# ------------------------------------------------------------------------------------------ 404

def test_an_unknown_case_is_404(api):
    assert api.get("/cases/20990101-PHONE-999", "sup1").status_code == 404
    assert api.get("/cases/20990101-PHONE-999/history", "sup1").status_code == 404
    response = api.post("/messages", "sup1", json={"case_number": "20990101-PHONE-999", "name": "customer_reply"})
    assert response.status_code == 404


def test_an_unknown_task_is_404(api):
    unknown = "00000000-0000-0000-0000-000000000000"
    assert api.post(f"/tasks/{unknown}/claim", "cs1").status_code == 404
    response = api.post(f"/tasks/{unknown}/complete", "cs1", json={"data": {}})
    assert response.status_code == 404
    assert unknown in response.json()["message"]


def test_an_unknown_route_is_404_json(api):
    response = api.get("/nothing-here", "cs1")
    assert response.status_code == 404 and response.json()["error"] == "Not Found"


def test_the_clock_endpoint_is_404_without_a_manual_clock(real_time_api):
    assert real_time_api.post("/clock", json={"advance": "PT2H"}).status_code == 404
    response = real_time_api.post("/clock", "sup1", json={"advance": "PT2H"})
    assert response.status_code == 404
    assert "real time" in response.json()["message"]
    assert real_time_api.get("/openapi.json").status_code == 200


# ------------------------------------------------------------------------------------------ 409

def test_completing_a_task_twice_is_409_with_who_and_when(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    path, body = f"/tasks/{task['id']}/complete", {"data": FORM_DATA["first_response"]}
    assert api.post(path, "cs1", json=body).status_code == 200
    response = api.post(path, "cs1", json=body)
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "TaskAlreadyCompleted"
    assert (answer["completed_by"], answer["completed_at"]) == ("cs1", "2026-03-02T01:00:00+00:00")
    assert "cs1" in answer["message"] and "2026-03-02" in answer["message"]


def test_completing_with_a_stale_case_version_is_409(api):
    number = api.register()
    seen = api.get(f"/cases/{number}", "cs1").json()["version"]
    assert api.complete("cs1", number, "first_response").status_code == 200
    verify = api.task("cs1", number, "verify")
    response = api.post(f"/tasks/{verify['id']}/complete", "cs1",
                        json={"data": FORM_DATA["verify"], "expected_version": seen})
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "StaleCase" and answer["code"] == "stale_case"
    assert answer["params"] == {"number": number, "expected": str(seen), "actual": str(seen + 1)}
    assert "请刷新后重试" in answer["message"]  # the API speaks the default language, zh


def test_a_message_the_case_does_not_wait_for_is_409(api):
    number = api.register()
    response = api.post("/messages", "cs1", json={"case_number": number, "name": "customer_reply",
                                                  "payload": {"reply": "?"}})
    assert response.status_code == 409
    assert "customer_reply" in response.json()["message"]


# ------------------------------------------------------------------------------------------ 422

def test_invalid_form_data_is_422_with_a_message_per_field(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    response = api.post(f"/tasks/{task['id']}/complete", "cs1", json={"data": {}})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) >= {"expected_handling_time", "message_to_customer"}
    assert all(isinstance(message, str) and message for message in errors.values())
    assert api.task("cs1", number, "first_response")["id"] == task["id"]  # still open


def test_a_completion_body_of_the_wrong_shape_is_422(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    response = api.post(f"/tasks/{task['id']}/complete", "cs1", json={"data": [1], "expected_version": "new"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"data", "expected_version"}


def test_an_invalid_registration_is_422_field_by_field(api):
    response = api.post("/complaints", "cs1", json=registration(channel="fax", product_name=""))
    assert response.status_code == 422
    assert {"channel", "product_name"} <= set(response.json()["errors"])


def test_a_message_without_case_or_name_is_422(api):
    response = api.post("/messages", "cs1", json={"payload": "text"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"case_number", "name", "payload"}


@pytest.mark.parametrize("advance", ["two hours", "", "PT", "P-1D", 7200, "PT0H"])
def test_a_clock_advance_that_is_not_a_positive_iso_duration_is_422(api, advance):
    response = api.post("/clock", "sup1", json={"advance": advance})
    assert response.status_code == 422
    assert "PT2H" in response.json()["errors"]["advance"]


# ------------------------------------------------------------------------------------------ 400

@pytest.mark.parametrize("path", ["/session", "/complaints", "/tasks/any/complete", "/messages", "/clock"])
def test_a_body_that_is_not_json_is_400(api, path):
    headers = {"Authorization": f"Bearer {api.token('cs1')}", "Content-Type": "application/json"}
    response = api.http.post(path, content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]
    assert api.http.post(path, json=["a", "list"], headers=headers).status_code == 400


# ------------------------------------------------------------------------------------------ 500

def test_an_unexpected_failure_is_500_json_without_a_stack_trace(api, eng, monkeypatch):
    number = api.register()

    def broken(number: str) -> list:
        raise RuntimeError("database exploded at /srv/secret/path.py line 42")

    monkeypatch.setattr(eng.history, "events", broken)
    response = api.get(f"/cases/{number}/history", "cs1")
    assert response.status_code == 500
    assert response.json()["error"] == "Internal Server Error"
    assert "exploded" not in response.text and "secret" not in response.text


def test_no_trace_catches_a_stack_trace():
    leaked = httpx.Response(500, json={"message": "Traceback (most recent call last): ..."},
                            request=httpx.Request("GET", "http://x"))
    with pytest.raises(AssertionError):
        no_trace(leaked)
