"""Process owners change the flow by editing workflows/ only; running cases keep their version."""

from __future__ import annotations

from datetime import timedelta

from tests.driver import advance, fire_next, registration, set_deadline, start_to_verified, task


def test_lengthening_the_urgent_deadline_by_an_hour_needs_only_a_deploy(eng, clock, workflows_dir):
    old = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, old, safety_hazard=True)

    hours = task(eng, old, "start_emergency_handling").due_at - clock.now()
    set_deadline(workflows_dir, "start_emergency_handling", f'"PT{hours // timedelta(minutes=1) + 60}M"')
    [version] = eng.repository.deploy(workflows_dir, actor="owner1", note="urgent: 3 hours")
    assert version.version == 2

    new = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, new, safety_hazard=True)
    assert (eng.cases.get(old).definition_version, eng.cases.get(new).definition_version) == (1, 2)

    fire_next(eng, clock)
    assert eng.cases.get(old).escalation_tier == 2  # the old version keeps its deadline
    assert eng.cases.get(new).escalation_tier == 0
    advance(eng, clock, hours=1)
    assert eng.cases.get(new).escalation_tier == 2


def test_the_deploy_is_recorded_in_the_history(eng):
    assert eng.history.verify().checked >= 1


def test_a_version_diff_names_the_changed_deadline_and_ignores_moved_shapes(eng, workflows_dir):
    before = set_deadline(workflows_dir, "start_emergency_handling", '"PT3H"')
    path = workflows_dir / "dispatch.bpmn"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1), encoding="utf-8")  # layout only
    eng.repository.deploy(workflows_dir, actor="owner1", note="urgent start within 3 h")
    diff = eng.repository.diff(2)
    assert diff.files_changed == ["dispatch.bpmn"]
    assert [(d.before, d.after) for d in diff.deadlines_changed] == [(before, '"PT3H"')]
    assert [e.element for e in diff.elements_changed] == [diff.deadlines_changed[0].element]
    assert diff.elements_added == [] and diff.elements_removed == []


def test_a_version_diff_lists_added_and_removed_elements(eng, workflows_dir):
    path = workflows_dir / "intake.bpmn"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"first_response"', '"first_contact"').replace(">first_response<", ">first_contact<"),
                    encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1")
    diff = eng.repository.diff(2, 1)
    assert "first_contact" in [e.element for e in diff.elements_added]
    assert "first_response" in [e.element for e in diff.elements_removed]
