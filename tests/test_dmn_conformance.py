"""The DMN TCK cases in ../shared/conformance/dmn: each gives the expected answer, or its file is refused.

No case may be silently wrong: a file that deploy reads must give every expected result; a file that
is refused must be refused with a message naming the decision (and no evaluation happens).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import decision_checks, decisions, refusals, sandbox

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "dmn"
if not CONFORMANCE.is_dir():
    CONFORMANCE = Path("/work/shared/conformance/dmn")
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
CASES = sorted(p.name for p in CONFORMANCE.iterdir() if p.is_dir()) if CONFORMANCE.is_dir() else []
# What this engine answers for each folder: "evaluated" (every test gives the expected result) or the
# refusal code. Pinned, so that a change in what is supported is a decision, not an accident.
EXPECTED = {
    "0001-input-data-string": "dmn_variable_name",  # the result "Greeting Message" cannot be a case field
    "0002-input-data-number": "dmn_variable_name",
    "0004-simpletable-U": "dmn_output_name",  # one unnamed output; the decision's name has a space
    "0006-simpletable-P1": "dmn_output_name",
    "0107-feel-ternary-logic-not": "evaluated",
    "0108-first-hitpolicy": "evaluated",
    "0109-ruleOrder-hitpolicy": "evaluated",
    "0115-sum-collect-hitpolicy": "evaluated",
    "0117-multi-any-hitpolicy": "evaluated",
    "0118-multi-priority-hitpolicy": "dmn_output_not_identifier",  # output "Approved/Declined"
}


def _local(node: Any) -> str:
    return etree.QName(node).localname


def _value(node: Any) -> Any:
    """A TCK value: a typed ``value``, components (a dict), or a ``list`` of items."""
    for child in node:
        kind = _local(child)
        if kind == "value":
            if child.get(f"{XSI}nil") == "true":
                return None
            text, xsd = child.text or "", child.get(f"{XSI}type", "")
            if xsd.endswith("decimal"):
                return Decimal(text)
            if xsd.endswith("boolean"):
                return text == "true"
            return text
        if kind == "list":
            return [_value(item) for item in child if _local(item) == "item"]
    components = [child for child in node if _local(child) == "component"]
    if components:
        return {c.get("name"): _value(c) for c in components}
    return None


def _read(folder: Path) -> tuple[dict[str, dict], list[tuple]]:
    problems: list[tuple] = []
    model = next(folder.glob("*.dmn"))
    decided = decision_checks.read_file(lambda *a, **k: problems.append((a, k)), model.name,
                                        etree.fromstring(model.read_bytes()))
    return decided, problems


@pytest.mark.parametrize("case", CASES)
def test_each_tck_case_gives_the_expected_answer_or_is_refused_clearly(case: str) -> None:
    folder = CONFORMANCE / case
    decided, problems = _read(folder)
    if EXPECTED[case] != "evaluated":
        assert problems, f"{case} was read, but is expected to be refused"
        codes = {args[2] for args, _ in problems}
        assert EXPECTED[case] in codes
        for args, params in problems:
            assert args[0].endswith(".dmn") and args[1], args  # file and decision named
            for lang in refusals.LANGUAGES:
                text = refusals.render(args[2], {k: str(v) for k, v in params.items()}, lang)
                assert "{" not in text and "Traceback" not in text, text
        return
    assert not problems, problems
    by_name = {d["name"]: key for key, d in decided.items()}
    tests = etree.fromstring(next(folder.glob("*test-01.xml")).read_bytes())
    checked = 0
    for test in tests:
        if not isinstance(test.tag, str) or _local(test) != "testCase":
            continue
        data = {n.get("name"): _value(n) for n in test if _local(n) == "inputNode"}
        for result in (n for n in test if _local(n) == "resultNode"):
            expected = _value(next(n for n in result if _local(n) == "expected"))
            called = by_name[result.get("name")]
            answer = decisions.Decisions(called, decided).result(decisions.sandbox_evaluator(sandbox.Sandbox(), data))
            assert answer == expected, f"{case} test {test.get('id')}"
            checked += 1
    assert checked


def test_every_conformance_folder_is_pinned() -> None:
    assert CASES and set(CASES) == set(EXPECTED)
