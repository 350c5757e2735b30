"""Moving waiting cases to a newer version: allowed when only steps ahead changed, refused with
the reason when a step done or under way changed, recorded in the case's history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.migration import MigrationRefused
from tests.driver import complete, plan_through_review, registration, set_deadline, task, to_plan


def redeploy(eng, workflows_dir, old: str, new: str) -> int:
    [path] = [p for p in sorted(workflows_dir.glob("*.bpmn")) if old in p.read_text(encoding="utf-8")]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new), encoding="utf-8")
    return eng.repository.deploy(workflows_dir, actor="owner1", note=f"{old} -> {new}")[0].version


def test_a_waiting_case_moves_to_a_version_that_only_changed_a_later_deadline_and_follows_it(eng, workflows_dir,
                                                                                           clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    set_deadline(workflows_dir, "management_review", '"PT6H"')
    assert eng.repository.deploy(workflows_dir, actor="owner1")[0].version == 2
    assert eng.migration.check(number).migrated
    result = eng.migration.migrate(number, "owner1")
    assert (result.from_version, result.to_version) == (1, 2)
    assert eng.cases.get(number).definition_version == 2
    to_plan(eng, number)
    complete(eng, number, "propose_plan")
    assert task(eng, number, "management_review").due_at == clock.now() + timedelta(hours=6)
    assert [e.payload for e in eng.history.events(number) if e.kind == "migrated"][0]["to_version"] == 2


def test_a_case_whose_current_step_was_removed_is_refused_with_the_reason(eng, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    path = workflows_dir / "intake.bpmn"
    text = path.read_text(encoding="utf-8").replace('"first_response"', '"first_contact"')
    path.write_text(text.replace(">first_response<", ">first_contact<"), encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1", note="first response renamed")
    check = eng.migration.check(number)
    assert not check.migrated
    assert any("first_response" in reason and "not in the new version" in reason for reason in check.reasons)
    with pytest.raises(MigrationRefused) as refused:
        eng.migration.migrate(number, "owner1")
    assert "first_response" in str(refused.value)
    assert eng.cases.get(number).definition_version == 1
    complete(eng, number, "first_response")  # it goes on, on its own version


def test_a_completed_step_that_changed_is_refused(eng, workflows_dir):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    redeploy(eng, workflows_dir, 'name="首次响应 First response"', 'name="首次联系 First contact"')
    reasons = eng.migration.check(number).reasons
    assert any("first_response (completed) changed" in reason for reason in reasons), reasons


def test_bulk_migration_moves_the_safe_cases_and_reports_the_others(eng, workflows_dir):
    waiting = eng.runtime.start("complaint", registration(), "cs1")
    at_plan = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, at_plan)
    plan_through_review(eng, at_plan)  # under way: waits for the customer's confirmation
    assert set_deadline(workflows_dir, "confirmation_timeout", "working_days(30)") != "working_days(30)"
    eng.repository.deploy(workflows_dir, actor="owner1")
    results = {r.number: r for r in eng.migration.migrate_all("owner1")}
    assert results[waiting].migrated
    assert not results[at_plan].migrated and results[at_plan].reasons


STAGE_FILES = ("intake.bpmn", "dispatch.bpmn", "responsibility.bpmn", "plan.bpmn", "execution.bpmn", "closing.bpmn")


def test_a_case_of_the_single_diagram_version_stays_on_it_when_the_stages_are_deployed(database_url, workflows_dir,
                                                                                        clock, tmp_path):
    """Issue 11 split complaint.bpmn into stages: running cases of the old diagram finish on it."""
    import shutil
    from pathlib import Path

    import engine

    old = tmp_path / "single_diagram"
    shutil.copytree(workflows_dir, old)
    for name in STAGE_FILES:
        (old / name).unlink()
    for path in (Path(__file__).parent / "bpmn" / "single_diagram").iterdir():
        # its forms as they were (responsibility had three answers, which its one diagram's gateway covers)
        shutil.copy(path, old / "forms" / path.name if path.suffix == ".json" else old / path.name)
    with engine.open(database_url, old, clock=clock) as eng:
        eng.repository.deploy(old, actor="owner1", note="one diagram")
        eng.people.seed_demo()
        number = eng.runtime.start("complaint", registration(), "cs1")
        complete(eng, number, "first_response")
        assert eng.repository.deploy(workflows_dir, actor="owner1", note="stages")[0].version == 2
        check = eng.migration.check(number)
        assert not check.migrated and any("verify" in reason for reason in check.reasons), check.reasons
        complete(eng, number, "verify")  # it goes on, on its own version
        assert eng.cases.get(number).definition_version == 1
        newer = eng.runtime.start("complaint", registration(), "cs1")
        assert eng.cases.get(newer).definition_version == 2
