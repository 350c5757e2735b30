"""roles.toml counts as deployed: access follows the active version, a change of roles is in the history,
and the file on the server's disk grants nothing until it is deployed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import NotAllowed
from engine.history import SYSTEM
from tests.driver import registration


def _give_engineers_oversight(workflows_dir: Path) -> None:
    """The process owner's edit: engineers see every case (``sees = "all"``)."""
    path = workflows_dir / "roles.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('[roles.engineer]\n', '[roles.engineer]\nsees = "all"\n'), encoding="utf-8")


def test_roles_toml_edited_on_disk_grants_nothing_until_it_is_deployed(eng, workflows_dir):
    number = eng.runtime.start(eng.repository.active().intake_process(), registration(), "cs1")
    _give_engineers_oversight(workflows_dir)
    with pytest.raises(NotAllowed):
        eng.cases.get(number, viewer="eng1")
    assert not eng.access.sees_all("eng1")

    eng.repository.deploy(actor="owner1", note="engineers oversee every case")
    assert eng.access.sees_all("eng1")
    assert eng.cases.get(number, viewer="eng1").number == number


def test_deploying_a_changed_roles_toml_records_what_changed_in_the_history(eng, workflows_dir):
    _give_engineers_oversight(workflows_dir)
    path = workflows_dir / "roles.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[roles.complaints_clerk]\nzh = "文员"\nen = "Clerk"\n',
                    encoding="utf-8")
    [version] = eng.repository.deploy(actor="owner1", note="roles")
    [event] = [e for e in eng.history.events(SYSTEM) if e.kind == "roles_changed"]
    assert event.actor == "owner1"
    assert event.deployment_version == version.version
    assert event.payload["from_version"] == version.version - 1
    assert event.payload["changed"] == {"engineer": {"sees": [None, "all"]}}
    assert event.payload["added"] == {"complaints_clerk": {"zh": "文员", "en": "Clerk"}}
    assert event.payload["removed"] == []


def test_a_deploy_that_leaves_the_roles_alone_records_no_roles_change(eng, workflows_dir):
    (workflows_dir / "forms" / "verify.json").write_text(
        (workflows_dir / "forms" / "verify.json").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert eng.repository.deploy(actor="owner1", note="a form's whitespace")
    assert [e.kind for e in eng.history.events(SYSTEM) if e.kind == "roles_changed"] == []


def test_access_follows_the_active_version_when_a_right_is_taken_away(eng, workflows_dir):
    assert eng.access.may_register("sup1")
    path = workflows_dir / "roles.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('[roles.cs_supervisor]\nsees = "all"\ncontact = "full"\nregister = true\n',
                                 '[roles.cs_supervisor]\nsees = "all"\ncontact = "full"\n'), encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="supervisors no longer register")
    assert not eng.access.may_register("sup1")
    [event] = [e for e in eng.history.events(SYSTEM) if e.kind == "roles_changed"]
    assert event.payload["changed"] == {"cs_supervisor": {"register": [True, None]}}
