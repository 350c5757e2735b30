"""Decisions mean what DMN says, or are refused: hit policies, aggregations, defaults, FEEL cells, overlaps.

The small tables under ``tests/bpmn/decisions/`` each show one behaviour; the shipped tables keep giving
the spec's answers (SPEC.md: any compensation needs the CS supervisor, above 500 CNY the CS manager too).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

import engine
from engine import decision_checks, decision_tasks, decisions, refusals, sandbox, spiff, workflow_state
from engine.calendar import BusinessCalendar, CalendarConfig
from engine.errors import DecisionFailure, DeployError
from engine.store.models import Case
from web.errors import status_of

HERE = Path(__file__).resolve().parent
DECISIONS = HERE / "bpmn" / "decisions"
ROLES = (HERE / "bpmn" / "sandbox" / "roles.toml").read_text(encoding="utf-8")
WORKFLOWS = HERE.parent / "workflows"


def _text(name: str, **fill: str) -> str:
    text = (DECISIONS / name).read_text(encoding="utf-8") if (DECISIONS / name).exists() else \
        (WORKFLOWS / name).read_text(encoding="utf-8")
    for key, value in fill.items():
        text = text.replace("{" + key + "}", value)
    return text


def _read(name: str, **fill: str) -> tuple[dict[str, dict], list[tuple[str, str | None, str, dict]]]:
    problems: list[tuple] = []
    decided = decision_checks.read_file(lambda file, element, code, **params: problems.append(
        (file, element, code, params)), name, etree.fromstring(_text(name, **fill).encode("utf-8")))
    return decided, problems


def _decide(name: str, called: str, data: dict[str, Any], **fill: str) -> dict[str, Any]:
    decided, problems = _read(name, **fill)
    assert not problems, problems
    return decisions.Decisions(called, decided).decide(decisions.sandbox_evaluator(sandbox.Sandbox(), data))


# ---------------------------------------------------------------- the shipped tables


@pytest.mark.parametrize(("amount", "plan", "approval"), [
    (0, "repair", "none"), (0, "compensation", "supervisor"), (1, "repair", "supervisor"),
    (300, "compensation", "supervisor"), (500, "compensation", "supervisor"), (500.5, "compensation", "manager"),
    (600, "refund", "manager"),
])
def test_compensation_approval_keeps_the_500_cny_threshold(amount: float, plan: str, approval: str) -> None:
    """A gift (compensation of 0) still needs the supervisor; any amount above 500 CNY the manager too."""
    assert _decide("compensation_approval.dmn", "compensation_approval",
                   {"compensation_amount": amount, "plan_type": plan}) == {"approval": approval}


FACTS = ("safety_hazard", "batch_defect", "public_opinion_risk", "core_function_failure", "batch_involved",
         "customer_upset")


@pytest.mark.parametrize(("facts", "grade"), [
    ((), "general"), (("safety_hazard",), "urgent"), (("batch_defect",), "urgent"),
    (("public_opinion_risk", "customer_upset"), "urgent"), (("core_function_failure",), "serious"),
    (("batch_involved",), "serious"), (("customer_upset",), "serious"), (FACTS, "urgent"),
])
def test_grading_keeps_the_specs_grades(facts: tuple[str, ...], grade: str) -> None:
    data = {fact: fact in facts for fact in FACTS}
    assert _decide("grading.dmn", "grading", data) == {"grade": grade}


# ---------------------------------------------------------------- hit policies, aggregations, defaults


@pytest.mark.parametrize(("aggregation", "years", "expected"), [
    ("", 4, [100, 300]), ('aggregation="SUM"', 4, 400), ('aggregation="COUNT"', 4, 2),
    ('aggregation="MIN"', 4, 100), ('aggregation="MAX"', 6, 500), ('aggregation="SUM"', 6, 900),
    ('aggregation="SUM"', 0, None), ('aggregation="COUNT"', 0, 0), ("", 0, []),
])
def test_collect_gives_the_list_or_its_aggregate(aggregation: str, years: int, expected: Any) -> None:
    assert _decide("collect.dmn", "bonus", {"years": years}, AGGREGATION=aggregation) == {"bonus": expected}


def test_an_aggregation_without_collect_or_unknown_is_refused() -> None:
    text = _text("collect.dmn", AGGREGATION='aggregation="AVERAGE"')
    problems: list[tuple] = []
    decision_checks.read_file(lambda *a, **k: problems.append(a), "collect.dmn", etree.fromstring(text.encode()))
    assert [p[2] for p in problems] == ["dmn_aggregation"]


@pytest.mark.parametrize(("channel", "amount", "reply"), [
    ("email", 500, "letter"), (None, 10, "letter"), ("phone", 500, "call back"), ("phone", 2000, "visit"),
    ("email", 0, "call back"),
])
def test_not_phone_matches_every_other_channel_and_the_default_answers_when_nothing_matches(
        channel: str | None, amount: int, reply: str) -> None:
    assert _decide("reply_channel.dmn", "reply", {"channel": channel, "amount": amount}) == {"reply": reply}


URGENT_SERVICE, URGENT_QUALITY = {"team": "service", "hours": 48}, {"team": "quality", "hours": 4}


@pytest.mark.parametrize(("policy", "grade", "expected"), [
    ("FIRST", "urgent", URGENT_SERVICE), ("PRIORITY", "urgent", URGENT_QUALITY),
    ("PRIORITY", "general", URGENT_SERVICE),
    ("RULE ORDER", "urgent", {"team": ["service", "quality", "quality"], "hours": [48, 4, 4]}),
    ("OUTPUT ORDER", "urgent", {"team": ["quality", "quality", "service"], "hours": [4, 4, 48]}),
    ("COLLECT", "serious", {"team": ["service", "quality"], "hours": [48, 4]}),
])
def test_each_hit_policy_answers_as_dmn_says(policy: str, grade: str, expected: dict) -> None:
    assert _decide("policies.dmn", "handling", {"grade": grade}, POLICY=policy) == expected


def test_any_rules_that_disagree_are_refused_at_deploy_when_the_cells_tell() -> None:
    _, problems = _read("policies.dmn", POLICY="ANY")
    assert {(p[2], p[3]["first"], p[3]["second"]) for p in problems} == {
        ("dmn_any_overlap", "1 (any_grade)", "2 (urgent)"), ("dmn_any_overlap", "1 (any_grade)", "3 (urgent_again)")}


def test_any_with_matches_that_disagree_at_run_is_an_error_naming_the_rules() -> None:
    text = _text("policies.dmn", POLICY="ANY").replace("<text>-</text>", "<text>len(?) &gt; 0</text>", 1)
    problems = []
    decided = decision_checks.read_file(lambda *a, **k: problems.append(a), "policies.dmn",
                                        etree.fromstring(text.encode()))
    assert not problems
    evaluate = decisions.sandbox_evaluator(sandbox.Sandbox(), {"grade": "urgent"})
    with pytest.raises(decisions.DecisionError) as failed:
        decisions.Decisions("handling", decided).decide(evaluate)
    assert failed.value.code == "dmn_any_conflict"
    assert failed.value.params["rules"] == "1 (any_grade), 2 (urgent), 3 (urgent_again)"
    evaluate = decisions.sandbox_evaluator(sandbox.Sandbox(), {"grade": "general"})
    assert decisions.Decisions("handling", decided).decide(evaluate) == URGENT_SERVICE


def test_unique_rules_that_overlap_in_their_cells_are_refused_naming_both_rules() -> None:
    _, problems = _read("policies.dmn", POLICY="UNIQUE")
    assert {(p[2], p[3]["first"], p[3]["second"]) for p in problems} == {
        ("dmn_unique_overlap", "1 (any_grade)", "2 (urgent)"),
        ("dmn_unique_overlap", "1 (any_grade)", "3 (urgent_again)"),
        ("dmn_unique_overlap", "2 (urgent)", "3 (urgent_again)")}
    assert all(p[0] == "policies.dmn" and p[1] == "handling (Handling)" for p in problems)


def test_required_decisions_run_first_and_two_decisions_share_a_file() -> None:
    assert _decide("required.dmn", "approver", {"amount": 600}) == {"approver": "manager"}
    assert _decide("required.dmn", "approver", {"amount": 200}) == {"approver": "supervisor"}
    assert _decide("required.dmn", "approver", {"amount": 5000}) == {"approver": "general_manager"}
    assert _decide("required.dmn", "risk", {"amount": 5000}) == {"risk": "high"}


def test_a_missing_or_circular_requirement_is_refused() -> None:
    decided, _ = _read("required.dmn")
    problems: list[tuple] = []
    decided["risk"]["requires"] = ["approver"]
    decided["approver"]["requires"] = ["risk", "nowhere"]
    decision_checks.check_requirements(lambda *a, **k: problems.append(a[2]), decided)
    assert sorted(problems) == ["dmn_required_cycle", "dmn_required_cycle", "dmn_required_missing"]


@pytest.mark.parametrize(("fragment", "replacement", "code"), [
    ('name="approver"', 'name="the approver"', "dmn_output_not_identifier"),
    ('<decision id="risk" name="Risk">', '<decision name="Risk">', "dmn_decision_without_id"),
    ("<text>risk</text>", "<text>Risk Level</text>", "dmn_name_with_spaces"),
    ('<rule><inputEntry><text>"low"</text></inputEntry>', "<rule>", "dmn_rule_shape"),
])
def test_tables_modelers_write_wrongly_are_refused_with_a_code(fragment: str, replacement: str, code: str) -> None:
    text = _text("required.dmn").replace(fragment, replacement, 1)
    problems: list[tuple] = []
    decision_checks.read_file(lambda *a, **k: problems.append((a, k)), "required.dmn", etree.fromstring(text.encode()))
    assert code in [a[2] for a, _ in problems]


# ---------------------------------------------------------------- deployed and run by the engine


@pytest.fixture
def decided(database_url: str, clock):  # noqa: ANN001, ANN201
    instance = engine.open(database_url, DECISIONS, clock=clock)
    yield instance
    instance.close()


def _deploy(eng, pid: str, dmn: str, template: str = "rule.bpmn", decision: str | None = None) -> None:  # noqa: ANN001
    files = {f"{pid}.bpmn": _text(template, ID=pid, DECISION=decision or dmn.removesuffix(".dmn")),
             dmn: _text(dmn), "roles.toml": ROLES}
    eng.repository.deploy_files(files, actor="owner1", note="decision test")


def _data(eng, number: str) -> dict:  # noqa: ANN001
    with eng.db.read() as session:
        row = session.execute(sa.select(Case.id, Case.deployment_id, Case.process_id)
                              .where(Case.number == number)).one()
        deployment = eng.repository.load(row.deployment_id)
        spec, subs = deployment.specs(row.process_id)
        workflow = workflow_state.load(session.connection(), row.id, spec, subs, deployment.script_engine)
    assert workflow.completed
    return spiff.snapshot(workflow).data


@pytest.mark.parametrize(("safety", "channel", "escalate_to"), [
    (True, "web", "quality_lead"), (False, "phone", "cs_supervisor"), (False, "web", None),
])
def test_a_camunda_modeler_boolean_table_deploys_and_runs(decided, safety, channel, escalate_to):  # noqa: ANN001
    _deploy(decided, "boolean", "camunda_boolean.dmn", decision="escalate")
    number = decided.runtime.start("boolean", {"safety_hazard": safety, "channel": channel}, "cs1")
    assert _data(decided, number)["escalate_to"] == escalate_to


def test_overlapping_unique_rules_are_refused_at_deploy(decided):  # noqa: ANN001
    with pytest.raises(DeployError) as refused:
        _deploy(decided, "overlap", "overlap_static.dmn")
    (problem,) = refused.value.problems
    assert problem.code == "dmn_unique_overlap" and problem.file == "overlap_static.dmn"
    assert "1 (up_to_500)" in problem.text("en") and "2 (from_500)" in problem.text("zh")


def test_overlapping_unique_rules_found_at_run_are_an_incident_and_a_coded_answer(decided):  # noqa: ANN001
    _deploy(decided, "late_overlap", "overlap_runtime.dmn", template="answered_rule.bpmn")
    fine = decided.runtime.start("late_overlap", {"channel": "test"}, "cs1")
    decided.runtime.message(fine, "answer", {"amount": 100, "limit": 300}, "customer")
    assert _data(decided, fine)["approval"] == "supervisor"
    number = decided.runtime.start("late_overlap", {"channel": "test"}, "cs1")
    with pytest.raises(DecisionFailure) as failure:
        decided.runtime.message(number, "answer", {"amount": 600, "limit": 1000}, "customer")
    assert failure.value.element == "decide" and failure.value.code == "dmn_unique_overlap_run"
    assert "1 (small), 2 (large)" in failure.value.text("zh") and "规则" in failure.value.text("zh")
    assert status_of(failure.value) == 422
    (incident,) = [e for e in decided.history.events(number) if e.kind == "incident"]
    assert incident.payload["element"] == "decide" and "1 (small), 2 (large)" in incident.payload["reason"]
    assert [e.kind for e in decided.history.events(number)] == ["case_started", "incident"]  # rolled back


def test_a_version_deployed_with_spiffworkflows_tables_still_decides() -> None:
    """Versions stored before this engine hold SpiffWorkflow's table form: they load and decide by DMN rules."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(_text("rule.bpmn", ID="old", DECISION="compensation_approval").encode(), "old.bpmn")
    parser.add_dmn_str(_text("compensation_approval.dmn").encode(), "compensation_approval.dmn")
    old_form = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).to_dict(parser.get_spec("old"))
    assert "decision_table" in old_form["task_specs"]["decide"]
    spec = spiff.spec_from_dict(old_form)
    for amount, approval in ((500, "supervisor"), (501, "manager")):
        workflow = BpmnWorkflow(spec, {}, script_engine=spiff.make_script_engine(BusinessCalendar(CalendarConfig())))
        for task in workflow.get_tasks():  # the case data, as a start form gives it
            task.data.update(compensation_amount=amount, plan_type="compensation")
        spiff.run_engine_steps(workflow)
        assert workflow.completed and workflow.last_task.data["approval"] == approval


def test_a_step_decided_by_a_version_stored_before_may_move_to_the_same_dmn_deployed_again() -> None:
    """Migration compares what decides, not how it was stored: the same table is no change; another is."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(_text("rule.bpmn", ID="old", DECISION="compensation_approval").encode(), "old.bpmn")
    parser.add_dmn_str(_text("compensation_approval.dmn").encode(), "compensation_approval.dmn")
    old_form = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)).to_dict(parser.get_spec("old"))
    old = spiff.spec_from_dict(old_form).task_specs["decide"]
    decided, _ = _read("compensation_approval.dmn")
    same = decision_tasks.DecisionEngine(decisions.Decisions("compensation_approval", decided))
    decided = copy.deepcopy(decided)
    decided["compensation_approval"]["rules"][2]["inputs"] = ["0 < ? <= 800", "-"]
    other = decision_tasks.DecisionEngine(decisions.Decisions("compensation_approval", decided))
    assert decision_tasks.same_meaning(old, SimpleNamespace(dmnEngine=same))
    assert not decision_tasks.same_meaning(old, SimpleNamespace(dmnEngine=other))


def test_every_decision_code_has_words_in_both_languages() -> None:
    root = HERE.parent / "engine"
    used = set()
    for name in ("decision_checks.py", "decisions.py", "dmn_cells.py", "decision_tasks.py"):
        used |= set(re.findall(r"\"(dmn_[a-z_]+)\"", (root / name).read_text(encoding="utf-8")))
    assert len(used) > 20 and used - set(refusals.MESSAGES) == set()
