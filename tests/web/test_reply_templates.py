"""Reply templates kept in workflows/replies.toml (issue 15): offered above the customer-facing text
fields that name their group (x-replies), in the person's language; checked at deploy."""

from __future__ import annotations

import json
import re

import pytest

from engine.errors import DeployError
from tests.driver import registration, task
from tests.web.conftest import login


def options(page: str, field: str) -> list[str]:
    found = re.search(rf'<select class="reply-templates" data-insert-into="field-{field}".*?</select>', page, re.S)
    return re.findall(r'<option value="([^"]+)">', found.group(0)) if found else []


def test_the_first_response_offers_the_reply_templates_in_the_persons_language(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    login(client, "cs1")
    texts = options(client.get(f"/tasks/{first.id}").get_data(as_text=True), "message_to_customer")
    assert any(text.startswith("您好，我们已收到您的投诉") for text in texts)
    english = options(client.get(f"/tasks/{first.id}", headers={"Accept-Language": "en"},
                                 query_string={"lang": "en"}).get_data(as_text=True), "message_to_customer")
    assert english


def test_a_changed_replies_file_changes_the_choices_after_deploy(client, eng, workflows_dir):
    path = workflows_dir / "replies.toml"
    holiday = ('\n[first_contact.holiday]\nzh = "您好，节假日期间我们会在节后第一个工作日答复。"\n'
               'en = "Hello, over the holiday we answer on the first working day after it."\n')
    path.write_text(path.read_text(encoding="utf-8") + holiday, encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="holiday reply")
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "cs1")
    texts = options(client.get(f"/tasks/{task(eng, number, 'first_response').id}").get_data(as_text=True),
                    "message_to_customer")
    assert "您好，节假日期间我们会在节后第一个工作日答复。" in texts


@pytest.mark.parametrize("change, code", [
    (lambda folder: (folder / "replies.toml").write_text('[g.k]\nzh = "只有中文"\n', encoding="utf-8"),
     "reply_needs_words"),
    (lambda folder: (folder / "replies.toml").write_text('[g.k\n', encoding="utf-8"), "toml_invalid"),
    (lambda folder: _form(folder, "first_response", "message_to_customer", "no_such_group"), "replies_unknown"),
])
def test_a_broken_replies_file_or_reference_is_refused_at_deploy(eng, workflows_dir, change, code):
    change(workflows_dir)
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1", note="broken replies")
    assert code in {p.code for p in refused.value.problems}


def _form(folder, name: str, field: str, group: str) -> None:  # noqa: ANN001
    path = folder / "forms" / f"{name}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"][field]["x-replies"] = group
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
