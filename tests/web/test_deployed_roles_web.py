"""The audit area's deployments page shows each version and what it changed in the roles."""

from __future__ import annotations

from tests.web.conftest import login


def test_the_deployments_page_shows_a_deployed_change_of_roles(client, eng, workflows_dir):
    path = workflows_dir / "roles.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('[roles.engineer]\n', '[roles.engineer]\nsees = "all"\n'),
                    encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="engineers oversee every case")
    login(client, "eng1")  # the new right lets the engineer into the audit area at once
    page = client.get("/audit/deployments").get_data(as_text=True)
    assert 'data-version="2"' in page and 'data-version="1"' in page
    assert 'data-role="engineer" data-setting="sees"' in page
    engineer = eng.repository.active().roles["engineer"]["zh"]
    assert f"{engineer}: 可见范围 — → all" in page  # the role and the setting in words
    assert "engineers oversee every case" in page
