"""The catalogue: process facts the web needs, read from the deployed version's own files, and the deploy
checks that tell a process owner when one of its properties is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.catalogue import Meaning
from engine.demo import seed_demo_cases
from engine.errors import DeployError


def test_the_shipped_files_say_what_the_web_needs(eng):
    facts = eng.repository.active().catalogue
    assert facts.intake_process == "complaint"
    assert {s.element: (s.form, s.link_days) for s in facts.customer_steps.values()} == {
        "callback": ("callback.json", 7)}
    [message] = facts.customer_messages.values()
    assert (message.name, message.answer_field, message.link_days) == ("plan_confirmation", "accepted", 3)
    assert facts.field(Meaning.GRADE) == "grade" and facts.field(Meaning.CONTACT) == "contact"
    assert facts.value({"escalation_tier": 2}, Meaning.TIER) == 2
    assert facts.label("grades", "urgent", "zh") == "紧急" and facts.label("grades", "urgent", "en") == "Urgent"
    assert set(facts.shown_to_customer("propose_plan")["properties"]) == {
        "plan_type", "compensation_amount", "plan_details", "refund_amount", "refund_route",
        "warranty_extension_months", "return_shipping_by_company"}
    assert facts.shown_to_customer("verify") is None  # nothing of the verification is for customers


def _deploy_edited(eng, workflows_dir: Path, name: str, old: str, new: str) -> DeployError:
    path = workflows_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    return refused.value


def test_link_days_that_are_not_a_number_of_days_are_refused_naming_the_element(eng, workflows_dir):
    refused = _deploy_edited(eng, workflows_dir, "callback.bpmn", 'name="customerLinkDays" value="7"',
                             'name="customerLinkDays" value="a week"')
    [problem] = refused.problems
    assert (problem.file, problem.element, problem.code) == ("callback.bpmn", "callback", "link_days_invalid")
    assert "a week" in problem.text("en") and "customerLinkDays" in problem.text("zh")


def test_customer_answers_on_a_task_instead_of_a_message_event_is_refused(eng, workflows_dir):
    refused = _deploy_edited(eng, workflows_dir, "callback.bpmn", 'name="customerMayAnswer"', 'name="customerAnswers"')
    assert [(p.element, p.code) for p in refused.problems] == [("callback", "property_misplaced")]


def test_an_unknown_meaning_in_a_form_is_refused_with_the_known_ones(eng, workflows_dir):
    refused = _deploy_edited(eng, workflows_dir, "forms/register.json", '"x-meaning": "product"',
                             '"x-meaning": "product_name"')
    [problem] = refused.problems
    assert (problem.file, problem.element, problem.code) == ("forms/register.json", "product_name",
                                                             "meaning_unknown")
    assert Meaning.CONTACT.value in problem.text("en")


def test_a_label_without_both_languages_is_refused(eng, workflows_dir):
    refused = _deploy_edited(eng, workflows_dir, "labels.toml", 'zh = "紧急"\n', "")
    assert [(p.file, p.element, p.code) for p in refused.problems] == [
        ("labels.toml", "grades.urgent", "label_needs_words")]


def test_broken_demo_data_is_refused(eng, workflows_dir):
    refused = _deploy_edited(eng, workflows_dir, "demo.json", "{", "")
    assert [p.code for p in refused.problems] == ["demo_invalid"]


def test_the_demo_complaints_come_from_the_deployed_demo_json(eng, workflows_dir):
    path = workflows_dir / "demo.json"
    demo = json.loads(path.read_text(encoding="utf-8"))
    demo["cases"] = demo["cases"][:1]
    path.write_text(json.dumps(demo, ensure_ascii=False), encoding="utf-8")
    assert len(seed_demo_cases(eng)) == 5  # the edit on disk is not deployed: the deployed five
    eng.repository.deploy(actor="owner1", note="one demo complaint")
    assert len(seed_demo_cases(eng)) == 1


def test_a_deployed_label_change_is_what_the_catalogue_says(eng, workflows_dir):
    path = workflows_dir / "labels.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('zh = "紧急"', 'zh = "特急"'), encoding="utf-8")
    assert eng.repository.active().catalogue.label("grades", "urgent", "zh") == "紧急"
    eng.repository.deploy(actor="owner1", note="wording")
    assert eng.repository.active().catalogue.label("grades", "urgent", "zh") == "特急"
