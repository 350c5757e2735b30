"""The audit area's deployments page shows each version and what it changed in the roles, in words: role
names from the deployed roles.toml, yes and no, what a value allows, lists joined (issue 15)."""

from __future__ import annotations

import html
import re

from tests.web.conftest import login

CELL = re.compile(r'<td class="roles-changed">(.*?)</td>', re.S)


def changed_words(page: str) -> str:
    """The visible text of the "roles changed" cells (tags and their attributes left out)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", " ".join(CELL.findall(page))))


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
    assert f"{engineer}: 可见范围 — → 所有案件" in page  # the role, the setting and its value in words
    assert "engineers oversee every case" in page


def test_no_role_code_or_raw_setting_value_is_left_on_the_deployments_page_in_either_language(client, eng,
                                                                                                workflows_dir):
    path = workflows_dir / "roles.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('[roles.engineer]\n', '[roles.engineer]\nsees = "all"\ncontact = "full"\nknowledge = "edit"\n'
                        'statistics = true\ngroups = ["eng-team", "qa-team"]\n')
    text = text.replace('fallback = "quality_lead"\nzh = "产品工程师"', 'fallback = "cs_supervisor"\nzh = "产品工程师"')
    text += '\n[roles.night_desk]\nzh = "夜班客服"\nen = "Night desk"\nfallback = "cs_supervisor"\n'
    path.write_text(text, encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="engineers oversee; a night desk")
    roles = eng.repository.active().roles
    login(client, "auditor1")
    for language, yes in (("zh", "是"), ("en", "yes")):
        client.get(f"/lang/{language}")
        words = changed_words(client.get("/audit/deployments").get_data(as_text=True))
        name = {code: role[language] for code, role in roles.items()}
        assert f"{name['engineer']}: " in words and name["night_desk"] in words
        assert f"{name['quality_lead']} → {name['cs_supervisor']}" in words and f"→ {yes}" in words
        assert "eng-team, qa-team" in words  # the groups are the identity provider's names: shown, joined
        unnamed = words
        for label in sorted(name.values(), key=len, reverse=True):  # "Product engineer" names engineer
            unnamed = unnamed.replace(label, "")
        leftover = [code for code in roles if re.search(rf"\b{code}\b", unnamed)]
        assert not leftover, f"{language}: role codes shown instead of their names: {leftover}"
        raw = [value for value in ("True", "true", "all", "full", "edit", "[", "'") if re.search(
            rf"(?<![\w-]){re.escape(value)}(?![\w-])", words)]
        assert not raw, f"{language}: raw setting values shown: {raw} in {words!r}"
