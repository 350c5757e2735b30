"""Every deploy refusal has words in both languages, and the same facts in each."""

from __future__ import annotations

import re
import string
from pathlib import Path

from engine import refusals
from engine.errors import Problem

ROOT = Path(__file__).resolve().parent.parent


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_refusal_code_has_zh_and_en_with_the_same_placeholders():
    for code, entry in refusals.MESSAGES.items():
        assert set(entry) == set(refusals.LANGUAGES), code
        assert _fields(entry["zh"]) == _fields(entry["en"]), code
        assert re.search(r"[\u4e00-\u9fff]", entry["zh"]), f"{code}: the zh text is not Chinese"


def test_every_code_the_engine_raises_is_in_the_catalogue():
    used = set()
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        arg = r"(?:[^,()]|\([^()]*\))*"  # one argument, which may hold a call
        used |= set(re.findall(rf"(?:problem|Problem\.of)\({arg},{arg},\s*\"([a-z0-9_]+)\"", text))
        used |= set(re.findall(r"return \"([a-z][a-z0-9_]+)\", \{", text))
    assert used, "no codes found: the scan is broken"
    assert used - set(refusals.MESSAGES) == set()


def test_a_problem_reads_in_the_persons_language():
    problem = Problem.of("roles.toml", "lead", "role_without_people", role="lead")
    assert "role lead has nobody" in problem.text("en")
    assert "lead" in problem.text("zh-CN") and "没有任何人员" in problem.text("zh")
    assert problem.as_dict("zh")["code"] == "role_without_people"
