"""Deploying the process owners' files: bad files are refused with file, element and reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import engine
from engine.errors import DeployError
from tests.driver import registration, set_deadline


def _refused(eng, workflows_dir: Path) -> list:
    before = eng.repository.versions()
    with pytest.raises(DeployError) as caught:
        eng.repository.deploy(workflows_dir, actor="owner1")
    assert eng.repository.versions() == before, "a refused deploy must change nothing"
    return caught.value.problems


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_the_shipped_workflows_deploy_as_version_1(eng):
    versions = eng.repository.versions()
    assert [v.version for v in versions] == [1]
    assert set(versions[0].processes) >= {"complaint", "escalation", "callbacks"}


def test_deploying_unchanged_files_creates_no_new_version(eng, workflows_dir):
    assert eng.repository.deploy(workflows_dir) == []
    assert len(eng.repository.versions()) == 1


def test_malformed_bpmn_is_refused_naming_the_file(eng, workflows_dir):
    path = workflows_dir / "complaint.bpmn"
    path.write_text(path.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    problems = _refused(eng, workflows_dir)
    assert any(p.file == "complaint.bpmn" and "XML" in p.message for p in problems)


def test_an_unquoted_timer_is_refused_naming_the_element(eng, workflows_dir):
    set_deadline(workflows_dir, "start_emergency_handling", "PT2H")
    problems = _refused(eng, workflows_dir)
    [problem] = [p for p in problems if "not quoted" in p.message]
    assert problem.file == "dispatch.bpmn"
    assert problem.element and problem.element.split(" ")[0] != ""
    assert '"PT2H"' in problem.message


def test_a_timer_that_is_not_iso_8601_is_refused(eng, workflows_dir):
    set_deadline(workflows_dir, "start_emergency_handling", '"two hours"')
    problems = _refused(eng, workflows_dir)
    assert any("ISO 8601" in p.message and p.file == "dispatch.bpmn" for p in problems)


def test_a_dmn_with_an_unknown_hit_policy_is_refused(eng, workflows_dir):
    path = workflows_dir / "grading.dmn"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'hitPolicy="[A-Z_ ]+"', 'hitPolicy="LAST"', text), encoding="utf-8")
    problems = _refused(eng, workflows_dir)
    [problem] = [p for p in problems if p.code == "dmn_hit_policy"]
    assert problem.file == "grading.dmn" and problem.element.startswith("grading")
    assert "LAST" in problem.message and "FIRST" in problem.message  # what to write instead


def test_a_dmn_cell_nobody_can_read_is_refused_naming_the_rule_and_column(eng, workflows_dir):
    path = workflows_dir / "compensation_approval.dmn"
    text = path.read_text(encoding="utf-8")
    first_cell = re.search(r"<inputEntry[^>]*>\s*<text>([^<]*)</text>", text)
    start, end = first_cell.span(1)
    path.write_text(text[:start] + "[zero..500]" + text[end:], encoding="utf-8")
    problems = _refused(eng, workflows_dir)
    [problem] = [p for p in problems if p.file == "compensation_approval.dmn"]
    assert problem.code == "dmn_range_bounds"
    assert "rule 1 (rule_no_compensation)" in problem.message and "[1..5]" in problem.message
    assert "rule_no_compensation" in problem.element and "compensation_approval" in problem.element


def test_a_form_that_is_not_json_schema_is_refused(eng, workflows_dir):
    (workflows_dir / "forms" / "verify.json").write_text(json.dumps({"type": "object", "properties": 12}))
    problems = _refused(eng, workflows_dir)
    assert any(p.file == "forms/verify.json" and "JSON Schema" in p.message for p in problems)


def test_a_form_that_is_not_json_is_refused(eng, workflows_dir):
    (workflows_dir / "forms" / "verify.json").write_text("{not json")
    problems = _refused(eng, workflows_dir)
    assert any(p.file == "forms/verify.json" and "JSON" in p.message for p in problems)


def test_a_user_task_in_a_lane_that_is_no_role_is_refused(eng, workflows_dir):
    _edit(workflows_dir / "intake.bpmn", 'name="cs_specialist"', 'name="cs_specalist"')
    problems = _refused(eng, workflows_dir)
    assert any("cs_specalist" in p.message and p.file == "intake.bpmn" for p in problems)


def test_a_script_that_imports_is_refused(eng, workflows_dir):
    path = workflows_dir / "complaint.bpmn"
    text = path.read_text(encoding="utf-8")
    script = re.search(r"<bpmn:script>([^<]*)</bpmn:script>", text)
    start, _ = script.span(1)
    path.write_text(text[:start] + "import os\n" + text[start:], encoding="utf-8")
    problems = _refused(eng, workflows_dir)
    refusal = next(p for p in problems if p.code == "sandbox_construct")
    assert dict(refusal.params)["construct"] == "import" and "import" in refusal.text("zh")


def test_a_refused_deploy_leaves_running_cases_and_new_starts_on_the_old_version(eng, workflows_dir):
    set_deadline(workflows_dir, "start_emergency_handling", "PT2H")
    _refused(eng, workflows_dir)
    number = eng.runtime.start("complaint", registration(), "cs1")
    assert eng.cases.get(number).definition_version == 1


def test_deploying_a_folder_that_does_not_exist_is_a_clear_error(eng, tmp_path):
    with pytest.raises(DeployError) as caught:
        eng.repository.deploy(tmp_path / "nope")
    assert "no such folder" in str(caught.value)


def test_opening_an_engine_twice_on_one_database_keeps_its_versions(database_url, workflows_dir, clock):
    with engine.open(database_url, workflows_dir, clock=clock) as first:
        first.repository.deploy()
    with engine.open(database_url, workflows_dir, clock=clock) as second:
        assert [v.version for v in second.repository.versions()] == [1]


def test_a_call_to_a_process_that_does_not_exist_is_refused_at_the_call(eng, workflows_dir):
    _edit(workflows_dir / "plan.bpmn", 'calledElement="escalation"', 'calledElement="escalation_v2"')
    problems = _refused(eng, workflows_dir)
    assert any(p.file == "plan.bpmn" and p.element.split(" ")[0] == "tier_plan"
               and "escalation_v2" in p.message for p in problems), problems


def test_a_decision_that_does_not_exist_is_refused_at_the_rule_task(eng, workflows_dir):
    _edit(workflows_dir / "dispatch.bpmn", "<spiffworkflow:calledDecisionId>grading<",
          "<spiffworkflow:calledDecisionId>grade_table<")
    problems = _refused(eng, workflows_dir)
    assert any(p.element.split(" ")[0] == "grade_complaint" and "grade_table" in p.message for p in problems), \
        problems


def test_a_gateway_branch_without_condition_or_default_is_refused(eng, workflows_dir):
    path = workflows_dir / "complaint.bpmn"
    condition = re.search(r'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">[^<]+'
                          r"</bpmn:conditionExpression>", path.read_text(encoding="utf-8")).group(0)
    _edit(path, condition, "")
    problems = _refused(eng, workflows_dir)
    assert any(p.element and p.element.startswith("flow_") and "condition" in p.message for p in problems), problems


def test_a_lane_whose_role_has_nobody_is_refused_once_people_exist(eng, workflows_dir):
    roles = workflows_dir / "roles.toml"
    roles.write_text(roles.read_text(encoding="utf-8") + '\n[roles.legal]\nzh = "法务"\nen = "Legal"\n',
                     encoding="utf-8")
    _edit(workflows_dir / "plan.bpmn", '<bpmn:lane id="lane_management" name="management">',
          '<bpmn:lane id="lane_management" name="legal">')
    problems = _refused(eng, workflows_dir)
    assert any("legal" in p.message and "nobody" in p.message and p.element for p in problems), problems


def test_a_not_after_keyword_on_a_field_that_is_no_date_is_refused_at_deploy(workflows_dir, eng):
    """``x-not-after`` goes on a date field and names a day the engine knows; the refusal names the field."""
    form = workflows_dir / "forms" / "register.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    name = next(key for key, prop in schema["properties"].items() if prop.get("x-not-after"))
    schema["properties"][name]["x-not-after"] = "tomorrow"
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    assert any(p.code == "form_not_after_invalid" and p.element == name for p in refused.value.problems)


def test_scripts_opening_improvement_items_without_an_improvement_process_are_refused_naming_each_call(
        eng, workflows_dir):
    _edit(workflows_dir / "improvement.bpmn", '<spiffworkflow:property name="improvement" value="true"/>',
          '<spiffworkflow:property name="improvement" value="false"/>')
    problems = [p for p in _refused(eng, workflows_dir) if p.code == "improvement_process_missing"]
    found = sorted((p.file, p.element.split(" ")[0], dict(p.params)["function"]) for p in problems)
    assert found == [("complaint.bpmn", "forward_suggestion", "open_improvement"),
                     ("responsibility.bpmn", "track_problem", "count_recurrence"),
                     ("responsibility.bpmn", "track_problem", "open_improvement")]
    assert "improvement = true" in problems[0].text("en") and "open_improvement()" in problems[0].text("en")
    assert "改进流程" in problems[0].text("zh") and "improvement = true" in problems[0].text("zh")


def test_a_deployment_whose_scripts_open_no_improvement_item_needs_no_improvement_process(eng, workflows_dir):
    _edit(workflows_dir / "improvement.bpmn", '<spiffworkflow:property name="improvement" value="true"/>',
          '<spiffworkflow:property name="improvement" value="false"/>')
    _edit(workflows_dir / "complaint.bpmn", 'open_improvement("suggestion",', 'suggested = ("suggestion",')
    _edit(workflows_dir / "responsibility.bpmn", "count_recurrence(recurrence_group_by, recurrence_threshold)",
          "recurrence_counted = (recurrence_group_by, recurrence_threshold)")
    _edit(workflows_dir / "responsibility.bpmn", 'open_improvement("capa",', 'capa_item = ("capa",')
    # no longer the improvement process: its step verifying with customers would be refused too
    _edit(workflows_dir / "improvement.bpmn", '<spiffworkflow:property name="customerVerification" value="true"/>', "")
    eng.repository.deploy(workflows_dir, actor="owner1")
    assert [v.version for v in eng.repository.versions()] == [1, 2]
