"""Accounts of the identity provider (engine.identities): roles from the deployed groups, placed behind the
primary and backup; a malformed ``groups`` is refused at deploy naming the role, in zh and en."""

from __future__ import annotations

import pytest

from engine.errors import DeployError
from engine.identities import AccountDisabled, NoRoleForGroups, ProviderClaims
from engine.store.models import RoleMember
from tests.driver import registration
from tests.web.oidc_peer import deploy_groups, with_groups

ISSUER = "https://sso.corp.example"


def test_an_account_of_the_provider_joins_its_roles_after_the_primary_and_the_backup(eng):
    deploy_groups(eng, {"cs_specialist": ["cs-team"], "engineer": ["cs-team", "eng"]})
    person = eng.identities.sign_in(ProviderClaims(ISSUER, "s-1", "Wei", "Wei Zhang", "wei@corp.example",
                                                   frozenset({"cs-team"})))
    assert person.username == "Wei" and person.roles == ("cs_specialist", "engineer")
    with eng.db.read() as session:
        assert session.get(RoleMember, ("cs_specialist", "Wei")).rank == 3
    number = eng.runtime.start("complaint", registration(), "cs1")
    assert eng.cases.get(number).open_tasks[0].assignee == "cs1", "the primary still gets the tasks"
    eng.people.set_absent("cs1", True)
    eng.people.set_absent("cs2", True)
    assert eng.cases.get(number).open_tasks[0].assignee == "Wei", "and after the backup, the next member"


def test_a_username_that_is_taken_or_unsafe_becomes_a_free_one(eng):
    deploy_groups(eng, {"cs_specialist": ["cs-team"]})
    team = frozenset({"cs-team"})
    assert eng.identities.sign_in(ProviderClaims(ISSUER, "s-2", "cs1", None, None, team)).username == "cs1-2"
    assert eng.identities.sign_in(ProviderClaims(ISSUER, "s-3", "cs1", None, None, team)).username == "cs1-3"
    assert eng.identities.sign_in(ProviderClaims(ISSUER, "s-4", "../ad min", None, None, team)).username == "ad-min"
    assert eng.identities.sign_in(ProviderClaims(ISSUER, "s-2", "renamed", None, None, team)).username == "cs1-2"
    assert eng.people.get("cs1").roles == ("cs_specialist",)


def test_groups_of_no_role_make_no_account(eng):
    deploy_groups(eng, {"cs_specialist": ["cs-team"]})
    with pytest.raises(NoRoleForGroups) as caught:
        eng.identities.sign_in(ProviderClaims(ISSUER, "s-5", "dan", None, None, frozenset({"sales"})))
    assert "sales" in caught.value.text("en") and "不对应任何角色" in caught.value.text("zh")
    assert eng.identities.identity_of("dan") is None


@pytest.mark.parametrize("value", ['"cs-team"', "[]", '[""]', "[1]", f'["{"x" * 201}"]'])
def test_a_malformed_groups_setting_is_refused_at_deploy_naming_the_role(eng, workflows_dir, value):
    roles = workflows_dir / "roles.toml"
    roles.write_text(roles.read_text(encoding="utf-8").replace(
        "[roles.engineer]\n", f"[roles.engineer]\ngroups = {value}\n"), encoding="utf-8")
    with pytest.raises(DeployError) as caught:
        eng.repository.deploy(actor="owner1")
    [problem] = caught.value.problems
    assert (problem.file, problem.element, problem.code) == ("roles.toml", "engineer", "role_groups_invalid")
    assert 'groups = ["cs-team"]' in problem.text("en") and "组名的列表" in problem.text("zh")


def test_with_groups_adds_the_setting_to_the_named_roles_only():
    text = with_groups("[roles.a]\nzh = \"甲\"\n\n[roles.b]\nzh = \"乙\"\n", {"b": ["g"]})
    assert text == "[roles.a]\nzh = \"甲\"\n\n[roles.b]\ngroups = [\"g\"]\nzh = \"乙\"\n"


def test_an_account_an_administrator_disabled_is_refused_whatever_its_groups(eng):
    deploy_groups(eng, {"cs_specialist": ["cs-team"]})
    claims = ProviderClaims(ISSUER, "s-6", "mei", None, None, frozenset({"cs-team"}))
    assert eng.identities.sign_in(claims).username == "mei"
    eng.people_admin.disable("owner1", "mei")
    with pytest.raises(AccountDisabled):
        eng.identities.sign_in(claims)
    eng.people_admin.enable("owner1", "mei")
    assert eng.identities.sign_in(claims).roles == ("cs_specialist",)
