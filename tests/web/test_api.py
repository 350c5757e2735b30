"""The JSON API's happy paths through real HTTP: session, complaints, cases, tasks, messages, clock.

Every response passes ``no_trace``: no body ever carries a stack trace, and every error is
JSON with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from tests.driver import FORM_DATA, registration


@pytest.fixture
def web_database_url(database_url: str) -> str:
    """These pages and calls are checked on SQLite and on PostgreSQL."""
    return database_url


def no_trace(response: httpx.Response) -> None:
    """Event hook on every response: no stack trace; errors are JSON with a message."""
    response.read()
    assert "Traceback" not in response.text, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert response.json()["message"], response.text


class Api:
    """A client of ``/api/v1`` over real HTTP that logs people in once and sends their token."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30, event_hooks={"response": [no_trace]})
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = self.http.post("/session", json={"username": username, "password": "demo"})
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["token"]
        return self._tokens[username]

    def call(self, method: str, path: str, user: str | None = None, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, user: str | None = None, **kwargs: object) -> httpx.Response:
        return self.call("GET", path, user, **kwargs)

    def post(self, path: str, user: str | None = None, **kwargs: object) -> httpx.Response:
        return self.call("POST", path, user, **kwargs)

    def register(self, user: str = "cs1", **overrides: object) -> str:
        response = self.post("/complaints", user, json=registration(**overrides))
        assert response.status_code == 201, response.text
        return response.json()["number"]

    def task(self, user: str, number: str, name: str) -> dict:
        """``user``'s open task ``name`` on case ``number``, from GET /tasks."""
        response = self.get("/tasks", user)
        assert response.status_code == 200, response.text
        listed = response.json()["tasks"]
        found = [t for t in listed if t["case_number"] == number and t["name"] == name]
        assert len(found) == 1, f"{user} has {[t['name'] for t in listed]} on {number}"
        return found[0]

    def complete(self, user: str, number: str, name: str, **data: object) -> httpx.Response:
        task = self.task(user, number, name)
        return self.post(f"/tasks/{task['id']}/complete", user, json={"data": {**FORM_DATA[name], **data}})


@pytest.fixture
def api(served: str) -> Iterator[Api]:
    client = Api(served)
    yield client
    client.http.close()


def test_a_session_gives_a_token_for_the_right_password(api):
    response = api.post("/session", json={"username": "cs1", "password": "demo"})
    assert response.status_code == 200
    assert response.json()["token"]


def test_registering_a_complaint_answers_201_with_its_number(api):
    response = api.post("/complaints", "cs1", json=registration(channel="phone"))
    assert response.status_code == 201
    number = response.json()["number"]
    assert number == "20260302-PHONE-001"
    assert response.headers["location"].endswith(f"/api/v1/cases/{number}")


def test_a_case_shows_status_grade_tier_open_tasks_and_deadlines(api):
    number = api.register()
    response = api.get(f"/cases/{number}", "cs1")
    assert response.status_code == 200
    case = response.json()
    assert (case["number"], case["status"], case["grade"], case["escalation_tier"]) == (number, "open", None, 0)
    assert [t["name"] for t in case["open_tasks"]] == ["first_response"]
    first = case["open_tasks"][0]
    assert first["assignee"] == "cs1"
    assert first["due_at"] == "2026-03-02T01:10:00+00:00"  # phone: 10 minutes, ISO 8601 in UTC
    assert any(d["guards"] == "first_response" and d["status"] == "pending" for d in case["deadlines"])
    assert case["summary"]["customer_name"] == "张*"  # masked, never the full name


def test_the_history_lists_the_case_events_oldest_first(api):
    number = api.register()
    assert api.complete("cs1", number, "first_response").status_code == 200
    response = api.get(f"/cases/{number}/history", "cs1")
    assert response.status_code == 200
    events = response.json()
    assert [e["kind"] for e in events][:2] == ["case_started", "task_completed"]
    assert events[0]["actor"] == "cs1" and events[0]["at"].startswith("2026-03-02T01:00:00")
    assert all(e["hash"] for e in events)


def test_my_tasks_list_names_the_form_and_the_task_gives_its_schema(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    assert {"id", "name", "case_number", "due_at", "form_name"} <= set(task) and "form" not in task
    one = api.get(f"/tasks/{task['id']}", "cs1").json()
    assert one["form_name"] == task["form_name"] and one["id"] == task["id"]
    assert one["form"]["type"] == "object" and "message_to_customer" in one["form"]["properties"]
    assert api.get("/tasks", "eng1").json() == {"tasks": [], "next": None}
    assert api.get(f"/tasks/{task['id']}", "eng1").status_code == 403  # another group's case


def test_my_tasks_come_a_page_at_a_time_each_once_following_next(api, eng):
    numbers = [api.register() for _ in range(7)]
    hidden = api.register("cs2", involved_staff=["cs1"])
    seen, url, pages = [], "/tasks?limit=3", 0
    while url:
        response = api.get(url.removeprefix("/api/v1"), "cs1")
        assert response.status_code == 200, response.text
        seen += [t["id"] for t in response.json()["tasks"]]
        url, pages = response.json()["next"], pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    assert [t.id for t in eng.tasks.for_user("cs1")] == seen  # soonest due first, as the inbox
    assert {eng.tasks.get(i).case_number for i in seen} == set(numbers)
    hidden_task = api.task("cs2", hidden, "first_response")
    assert api.get(f"/tasks/{hidden_task['id']}", "cs1").status_code == 403
    assert api.get("/tasks?limit=0", "cs1").status_code == 422
    assert api.get("/tasks?offset=-1", "cs1").status_code == 422


def test_claiming_a_task_of_my_role_makes_it_mine(api):
    number = api.register()
    task = api.task("cs1", number, "first_response")
    response = api.post(f"/tasks/{task['id']}/claim", "cs2")
    assert response.status_code == 200
    assert response.json()["assignee"] == "cs2"
    assert api.task("cs2", number, "first_response")["id"] == task["id"]


def test_completing_a_task_moves_the_case_on(api):
    number = api.register()
    version = api.get(f"/cases/{number}", "cs1").json()["version"]
    task = api.task("cs1", number, "first_response")
    response = api.post(f"/tasks/{task['id']}/complete", "cs1",
                        json={"data": FORM_DATA["first_response"], "expected_version": version})
    assert response.status_code == 200
    assert response.json()["case_number"] == number and response.json()["case_version"] > version
    assert [t["name"] for t in api.get(f"/cases/{number}", "cs1").json()["open_tasks"]] == ["verify"]


def test_a_customer_reply_reaches_a_case_waiting_for_more_information(api):
    number = api.register(channel="email")
    assert api.complete("cs1", number, "first_response").status_code == 200
    assert api.complete("cs1", number, "verify", verification_outcome="need_more_info").status_code == 200
    assert "customer_reply" in api.get(f"/cases/{number}", "cs1").json()["waiting_for"]
    response = api.post("/messages", "cs1", json={"case_number": number, "name": "customer_reply",
                                                  "payload": {"reply": "补充照片已上传"}})
    assert response.status_code == 200
    case = api.get(f"/cases/{number}", "cs1").json()
    assert case["waiting_for"] == [] and [t["name"] for t in case["open_tasks"]] == ["verify"]
    assert api.get(f"/cases/{number}/history", "cs1").json()[-1]["kind"] == "message_received"


def test_a_supervisor_sees_the_urgent_case_escalate_after_two_hours(api):
    number = api.register()
    assert api.complete("cs1", number, "first_response").status_code == 200
    assert api.complete("cs1", number, "verify", safety_hazard=True).status_code == 200
    before = api.get(f"/cases/{number}", "sup1").json()
    assert (before["grade"], before["escalation_tier"]) == ("urgent", 0)
    assert [t["name"] for t in before["open_tasks"]] == ["start_emergency_handling"]

    response = api.post("/clock", "sup1", json={"advance": "PT2H"})
    assert response.status_code == 200
    assert response.json()["fired"] >= 1
    assert response.json()["now"] == "2026-03-02T03:00:00+00:00"

    after = api.get(f"/cases/{number}", "sup1").json()
    assert after["escalation_tier"] == 2
    # Escalation adds oversight (the CS manager is told); the emergency handling is still to be started.
    assert [(t["name"], t["assignee"]) for t in after["open_tasks"]] == [("start_emergency_handling", "ql1")]
    assert "fired" in [d["status"] for d in after["deadlines"] if d["guards"] == "start_emergency_handling"]


def test_the_openapi_document_is_public_and_3_1(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["paths"]["/api/v1/session"]["post"]["security"] == []
    for schema in document["components"]["schemas"].values():  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        Draft202012Validator.check_schema(schema)


def test_the_openapi_document_describes_every_route_with_its_methods(app: Flask, api):
    document = api.get("/openapi.json").json()
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m for m in item if m != "parameters"} for path, item in document["paths"].items()}
    assert routes == documented
    for path, item in document["paths"].items():
        for method in documented[path]:
            operation = item[method]
            assert operation["summary"] and {"200", "201"} & set(operation["responses"])
            assert all("description" in answer for answer in operation["responses"].values())
            if method == "post" and path not in ("/api/v1/tasks/{task_id}/claim",):
                assert "requestBody" in operation, f"{method} {path} has no request body"
            for code, answer in operation["responses"].items():
                ref = answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if ref:
                    assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"], code


def test_a_process_owner_deploys_a_changed_deadline_through_the_api(served):


    owner = httpx.post(f"{served}/api/v1/session", json={"username": "owner1", "password": "demo"}).json()["token"]
    headers = {"Authorization": f"Bearer {owner}"}
    files = httpx.get(f"{served}/api/v1/deployments", headers=headers)
    assert files.status_code == 200 and [v["version"] for v in files.json()] == [1]
    bpmn = (Path(__file__).resolve().parents[2] / "workflows" / "dispatch.bpmn").read_text(encoding="utf-8")
    changed = bpmn.replace('"PT2H"', '"PT3H"')
    made = httpx.post(f"{served}/api/v1/deployments", headers=headers,
                      json={"files": {"dispatch.bpmn": changed}, "note": "urgent start within 3 h"})
    assert made.status_code == 201, made.text
    assert made.json()["versions"][0]["version"] == 2
    again = httpx.post(f"{served}/api/v1/deployments", headers=headers, json={"files": {"dispatch.bpmn": changed}})
    assert again.status_code == 200 and again.json()["unchanged"]
    diff = httpx.get(f"{served}/api/v1/deployments/2/diff", headers=headers).json()
    assert [(d["before"], d["after"]) for d in diff["deadlines_changed"]] == [('"PT2H"', '"PT3H"')]


def test_a_broken_deploy_through_the_api_is_422_with_file_and_element(served):


    owner = httpx.post(f"{served}/api/v1/session", json={"username": "owner1", "password": "demo"}).json()["token"]
    headers = {"Authorization": f"Bearer {owner}"}
    bpmn = (Path(__file__).resolve().parents[2] / "workflows" / "dispatch.bpmn").read_text(encoding="utf-8")
    broken = {"files": {"dispatch.bpmn": bpmn.replace('"PT2H"', "PT2H")}}
    refused = httpx.post(f"{served}/api/v1/deployments", headers={**headers, "Accept-Language": "en"}, json=broken)
    assert refused.status_code == 422
    problem = refused.json()["problems"][0]
    assert problem["file"] == "dispatch.bpmn" and problem["element"] and problem["code"] == "timer_unquoted"
    assert "quoted" in problem["message"] and '"PT2H"' in problem["message"]
    in_chinese = httpx.post(f"{served}/api/v1/deployments", headers={**headers, "Accept-Language": "zh-CN"},
                            json=broken).json()["problems"][0]
    assert in_chinese["code"] == "timer_unquoted" and "引号" in in_chinese["message"]
    assert [v["version"] for v in httpx.get(f"{served}/api/v1/deployments", headers=headers).json()] == [1]


def test_only_a_process_owner_may_deploy(served):


    handler = httpx.post(f"{served}/api/v1/session", json={"username": "sup1", "password": "demo"}).json()["token"]
    refused = httpx.post(f"{served}/api/v1/deployments", headers={"Authorization": f"Bearer {handler}"},
                         json={"files": {"calendar.toml": "[calendar]\n"}})
    assert refused.status_code == 403


def test_a_process_owner_moves_a_case_to_the_new_version_or_hears_why_not(served, eng):
    from tests.driver import registration

    number = eng.runtime.start("complaint", registration(), "cs1")
    owner = httpx.post(f"{served}/api/v1/session", json={"username": "owner1", "password": "demo"}).json()["token"]
    headers = {"Authorization": f"Bearer {owner}"}
    workflows = Path(__file__).resolve().parents[2] / "workflows"
    bpmn = (workflows / "intake.bpmn").read_text(encoding="utf-8")
    renamed = bpmn.replace('"first_response"', '"first_contact"').replace(">first_response<", ">first_contact<")
    assert httpx.post(f"{served}/api/v1/deployments", headers=headers,
                      json={"files": {"intake.bpmn": renamed}}).status_code == 201
    refused = httpx.post(f"{served}/api/v1/cases/{number}/migration", headers=headers, json={})
    assert refused.status_code == 409 and any("first_response" in r for r in refused.json()["reasons"])
    assert httpx.post(f"{served}/api/v1/deployments", headers=headers,
                      json={"files": {"intake.bpmn": bpmn,  # first_response back, a later deadline changed
                                      "plan.bpmn": (workflows / "plan.bpmn").read_text(encoding="utf-8")
                                      .replace('"PT4H"', '"PT6H"')}}).status_code == 201
    moved = httpx.post(f"{served}/api/v1/cases/{number}/migration", headers=headers, json={"to_version": 3})
    assert moved.status_code == 200 and moved.json()["to_version"] == 3
