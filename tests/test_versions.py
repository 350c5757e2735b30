"""Process owners change the flow by editing workflows/ only; running cases keep their version."""

from __future__ import annotations

from tests.driver import advance, registration, start_to_verified


def test_changing_the_urgent_deadline_to_3_hours_needs_only_a_deploy(eng, clock, workflows_dir):
    old = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, old, safety_hazard=True)

    path = workflows_dir / "complaint.bpmn"
    text = path.read_text(encoding="utf-8")
    assert text.count('"PT2H"') == 1, "the urgent deadline is the only 2-hour timer"
    path.write_text(text.replace('"PT2H"', '"PT3H"'), encoding="utf-8")
    [version] = eng.repository.deploy(workflows_dir, actor="owner1", note="urgent: 3 hours")
    assert version.version == 2

    new = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, new, safety_hazard=True)
    assert (eng.cases.get(old).definition_version, eng.cases.get(new).definition_version) == (1, 2)

    advance(eng, clock, hours=2, minutes=1)
    assert eng.cases.get(old).escalation_tier == 2  # the old version keeps its 2 hours
    assert eng.cases.get(new).escalation_tier == 0
    advance(eng, clock, hours=1)
    assert eng.cases.get(new).escalation_tier == 2


def test_the_deploy_is_recorded_in_the_history(eng):
    assert eng.history.verify().checked >= 1


def test_a_version_diff_names_the_changed_deadline_and_ignores_moved_shapes(eng, workflows_dir):
    path = workflows_dir / "complaint.bpmn"
    text = path.read_text(encoding="utf-8")
    moved = text.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)  # layout only
    path.write_text(moved.replace('"PT2H"', '"PT3H"'), encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1", note="urgent start within 3 h")
    diff = eng.repository.diff(2)
    assert diff.files_changed == ["complaint.bpmn"]
    assert [(d.before, d.after) for d in diff.deadlines_changed] == [('"PT2H"', '"PT3H"')]
    assert [e.element for e in diff.elements_changed] == [diff.deadlines_changed[0].element]
    assert diff.elements_added == [] and diff.elements_removed == []


def test_a_version_diff_lists_added_and_removed_elements(eng, workflows_dir):
    path = workflows_dir / "complaint.bpmn"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"first_response"', '"first_contact"').replace(">first_response<", ">first_contact<"),
                    encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1")
    diff = eng.repository.diff(2, 1)
    assert "first_contact" in [e.element for e in diff.elements_added]
    assert "first_response" in [e.element for e in diff.elements_removed]
