"""Process owners' pages through the test client: who gets in, deploys refused or done, version diffs."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.web.conftest import csrf_token, login

URGENT_TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2H"</bpmn:timeDuration>'


def complaint_with_timer(eng, expression: str) -> str:
    text = eng.repository.files(1)["dispatch.bpmn"]
    assert text.count(URGENT_TIMER) == 1
    return text.replace(URGENT_TIMER, URGENT_TIMER.replace('"PT2H"', expression))


def deploy(client: FlaskClient, files: dict, note: str = "", **extra: object):  # noqa: ANN201
    token = csrf_token(client, "/owner/edit/calendar.toml")
    return client.post("/owner/deploy", json={"files": files, "note": note, **extra}, headers={"X-CSRFToken": token})


def test_only_process_owners_get_in(client: FlaskClient, eng) -> None:
    assert client.get("/owner/").status_code == 302  # to the login page
    login(client, "cs1")
    for path in ("/owner/", "/owner/versions", "/owner/model/complaint.bpmn", "/owner/edit/grading.dmn",
                 "/owner/files/complaint.bpmn"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/inbox")
    refused = client.post("/owner/deploy", json={"files": {"calendar.toml": ""}, "note": "x"},
                          headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    assert len(eng.repository.versions()) == 1


def test_an_owner_sees_the_files_and_opens_each_kind(client: FlaskClient, eng) -> None:
    login(client, "owner1")
    index = client.get("/owner/").get_data(as_text=True)
    assert "/owner/model/complaint.bpmn" in index and "/owner/edit/forms/verify.json" in index
    modeler = client.get("/owner/model/complaint.bpmn").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in modeler and 'value="grading"' in modeler
    assert 'value="verify.json"' in modeler and 'value="quality_lead"' in modeler
    edit = client.get("/owner/edit/grading.dmn").get_data(as_text=True)
    assert "&lt;" in edit and "grading" in edit  # the XML, escaped in the textarea
    assert client.get("/owner/files/complaint.bpmn").get_data(as_text=True) == eng.repository.files()["complaint.bpmn"]
    assert client.get("/owner/model/grading.dmn").status_code == 404
    assert client.get("/owner/edit/nothing.json").status_code == 404


def test_a_deploy_without_the_csrf_header_is_refused(client: FlaskClient, eng) -> None:
    login(client, "owner1")
    response = client.post("/owner/deploy", json={"files": {"complaint.bpmn": "x"}, "note": ""})
    assert response.status_code == 400
    assert len(eng.repository.versions()) == 1


def test_a_broken_timer_is_refused_with_its_element_and_nothing_changes(client: FlaskClient, eng) -> None:
    login(client, "owner1")
    response = deploy(client, {"dispatch.bpmn": complaint_with_timer(eng, "PT2H")}, "quotes forgotten",
                      base_version=1)
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any(p["file"] == "dispatch.bpmn" and p["element"].split(" ")[0] == "emergency_start_deadline"
               and p["code"] == "timer_unquoted" and '"PT2H"' in p["message"] for p in problems)
    assert [v.version for v in eng.repository.versions()] == [1]


def test_a_deploy_makes_a_new_version_and_the_versions_page_shows_the_deadline_change(client: FlaskClient,
                                                                                        eng) -> None:
    login(client, "owner1")
    response = deploy(client, {"dispatch.bpmn": complaint_with_timer(eng, '"PT3H"')}, "urgent: 3 hours",
                      base_version=1)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["versions"][0]["version"] == 2
    versions = eng.repository.versions()
    assert [(v.version, v.deployed_by, v.note) for v in versions][-1] == (2, "owner1", "urgent: 3 hours")
    assert eng.repository.files()["calendar.toml"] == eng.repository.files(1)["calendar.toml"]  # laid over v1

    page = client.get("/owner/versions").get_data(as_text=True)
    section = page[page.index('id="v2"'):page.index('id="v1"')]
    row = section[section.index('<tr data-element="emergency_start_deadline"'):]
    row = row[:row.index("</tr>")]
    assert "&#34;PT2H&#34;" in row and "&#34;PT3H&#34;" in row
    assert "urgent: 3 hours" in section and "dispatch.bpmn" in section

    again = deploy(client, {"dispatch.bpmn": complaint_with_timer(eng, '"PT3H"')}, "same again", base_version=2)
    assert again.status_code == 200 and again.get_json()["unchanged"] is True


def test_a_deploy_edited_from_an_older_version_is_refused(client: FlaskClient, eng) -> None:
    login(client, "owner1")
    assert deploy(client, {"dispatch.bpmn": complaint_with_timer(eng, '"PT3H"')}, base_version=1).status_code == 201
    stale = deploy(client, {"grading.dmn": eng.repository.files()["grading.dmn"] + "\n"}, base_version=1)
    assert stale.status_code == 409
    assert [v.version for v in eng.repository.versions()] == [1, 2]


def test_files_outside_the_deployed_version_and_bad_bodies_are_refused(client: FlaskClient, eng) -> None:
    login(client, "owner1")
    assert deploy(client, {"../etc/passwd": "x"}, base_version=1).status_code == 400
    assert deploy(client, {"complaint.bpmn": None}, base_version=1).status_code == 400
    assert deploy(client, {}, base_version=1).status_code == 400
    assert [v.version for v in eng.repository.versions()] == [1]


def test_the_owner_moves_waiting_cases_in_the_browser_and_sees_why_others_stay(client, eng, workflows_dir):
    from tests.driver import plan_through_review, registration, to_plan
    from tests.web.conftest import csrf_token, login

    waiting = eng.runtime.start("complaint", registration(), "cs1")
    at_plan = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, at_plan)
    plan_through_review(eng, at_plan)
    path = workflows_dir / "plan.bpmn"
    text = path.read_text(encoding="utf-8")
    marker = "working_days(1)</bpmn:timeDate>\n      </bpmn:timerEventDefinition>\n    </bpmn:intermediateCatchEvent>"
    path.write_text(text.replace(marker, marker.replace("working_days(1)", "working_days(2)")), encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1", note="two days to confirm")
    login(client, "owner1")
    page = client.get("/owner/migration").get_data(as_text=True)
    assert waiting in page and at_plan in page
    moved = client.post("/owner/migration", data={"csrf_token": csrf_token(client, "/owner/migration")})
    body = moved.get_data(as_text=True)
    assert moved.status_code == 200 and 'class="moved"' in body and 'class="refused"' in body
    assert eng.cases.get(waiting).definition_version == 2
    assert eng.cases.get(at_plan).definition_version == 1
