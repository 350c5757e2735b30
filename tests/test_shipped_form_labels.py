"""The shipped forms speak both languages (issue 15): a form that gives labels per language gives each one
its title, its description and every field's title, so a Chinese page shows no English left in the form
(and the other way round)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FORMS = sorted((Path(__file__).resolve().parent.parent / "workflows" / "forms").glob("*.json"))


@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_shipped_form_says_in_each_language_what_it_shows(path: Path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    labels = (schema.get("x-ui") or {}).get("labels") or {}
    assert set(labels) >= {"zh-CN", "en"}, f"{path.name}: labels in zh-CN and en"
    for language, words in labels.items():
        missing = [key for key in ("title", "description") if schema.get(key) and not words.get(key)]
        missing += [f"fields.{name}" for name, prop in (schema.get("properties") or {}).items()
                    if prop.get("title") and not (words.get("fields") or {}).get(name)]
        assert not missing, f"{path.name} has no {language} words for {missing}"
