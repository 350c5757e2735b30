"""Manual tasks and deploy refusals of task types, through the web: the task page's "done" and the API's 422."""

from __future__ import annotations

from flask.testing import FlaskClient

import engine
from tests.test_task_types import BPMN, files_of
from tests.web.conftest import csrf_token, login


def test_an_empty_script_is_refused_through_the_api_with_422_never_a_crash(client: FlaskClient):
    text = (BPMN / "refused" / "script_empty.bpmn").read_text(encoding="utf-8")
    token = client.post("/api/v1/session", json={"username": "owner1", "password": "demo"}).get_json()["token"]
    answer = client.post("/api/v1/deployments", headers={"Authorization": f"Bearer {token}"},
                         json={"files": {"script_empty.bpmn": text}})
    assert answer.status_code == 422
    problems = answer.get_json()["problems"]
    assert [(p["file"], p["element"], p["code"]) for p in problems] == [
        ("script_empty.bpmn", "refused_here (To do)", "script_empty")]
    assert "没有脚本" in problems[0]["message"]  # the API answers in the default language, zh


def test_a_manual_task_is_done_from_the_web_task_page_with_a_done_button(client: FlaskClient, eng: engine.Engine):
    manual = files_of("manual_task")["manual_task.bpmn"]
    eng.repository.deploy_files({**eng.repository.files(), "manual_task.bpmn": manual}, actor="owner1")
    eng.runtime.start("manual_task", {"channel": "test"}, actor="cs1")
    [sign] = eng.tasks.for_user("cs1")
    login(client, "cs1")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Sign the letter" in inbox
    page = client.get(f"/tasks/{sign.id}").get_data(as_text=True)
    assert "Sign the letter" in page and ">完成<" in page and "此步骤没有表单" in page
    version = eng.cases.get(sign.case_number).version
    done = client.post(f"/tasks/{sign.id}", data={"expected_version": str(version),
                                                  "csrf_token": csrf_token(client, f"/tasks/{sign.id}")})
    assert done.status_code == 303
    assert [t.name for t in eng.tasks.for_user("cs1")] == ["post"]


def test_a_manual_task_is_listed_and_done_through_the_api_without_data(client: FlaskClient, eng: engine.Engine):
    manual = files_of("manual_task")["manual_task.bpmn"]
    eng.repository.deploy_files({**eng.repository.files(), "manual_task.bpmn": manual}, actor="owner1")
    number = eng.runtime.start("manual_task", {"channel": "test"}, actor="cs1")
    token = client.post("/api/v1/session", json={"username": "cs1", "password": "demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    mine = [t for t in client.get("/api/v1/tasks", headers=auth).get_json()["tasks"] if t["case_number"] == number]
    assert [(t["name"], t["form_name"]) for t in mine] == [("sign", None)]
    refused = client.post(f"/api/v1/tasks/{mine[0]['id']}/complete", headers=auth, json={"data": {"note": "x"}})
    assert refused.status_code == 422
    done = client.post(f"/api/v1/tasks/{mine[0]['id']}/complete", headers=auth, json={})
    assert done.status_code == 200 and done.get_json()["case_status"] == "open"
    assert [t.name for t in eng.tasks.for_case(number)] == ["post"]
