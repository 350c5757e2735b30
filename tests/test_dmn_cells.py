"""Input cells mean what FEEL says: literals, comparisons, ranges, lists, not(...), null; others run in the sandbox."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine import dmn_cells, feel_expressions, sandbox

BOX = sandbox.Sandbox()


def matches(cell: str, value: Any, data: dict | None = None) -> bool:
    def evaluate(source: str, input_value: Any) -> Any:
        return BOX.evaluate(source, data or {}, {dmn_cells.INPUT_NAME: input_value, **feel_expressions.functions()})

    return dmn_cells.parse(cell).matches(value, evaluate)


@pytest.mark.parametrize(("cell", "value", "expected"), [
    ("-", None, True), ("", "anything", True),
    ('"phone"', "phone", True), ('"phone"', "email", False),
    ('not("phone")', "email", True), ('not("phone")', "phone", False), ('not("phone")', None, True),
    ('not("phone", "store")', "store", False), ('not("phone", "store")', "web", True),
    ('"a","b"', "b", True), ('"a", "b"', "c", False), ('in ("a", "b")', "a", True), ('in ("a", "b")', "c", False),
    ("true", True, True), ("true", False, False), ("true", 1, False), ("false", False, True), ("True", True, True),
    ("1", True, False), ("1", 1, True), ("1", 1.0, True), ("-1.5", -1.5, True),
    ("null", None, True), ("null", 0, False), ("None", None, True), ('"x"', None, False),
    ("< 5", 4, True), ("< 5", 5, False), ("<= 5", 5, True), (">= 18", 18, True), ("> 500", 500, False),
    ("< 5", None, False), ("!= 3", 4, True), ("= 3", 3, True),
    ("[1..5]", 1, True), ("[1..5]", 5, True), ("(1..5]", 1, False), ("]1..5[", 5, False), ("[1..5)", 4.9, True),
    ("<0, >100", 101, True), ("<0, >100", 50, False),
    ('date("2024-01-31")', "2024-01-31", True), ('date("2024-01-31")', date(2024, 1, 31), True),
    ('< date("2024-01-31")', "2024-01-30", True),
    ("0 < ? <= 500", 500, True), ("0 < ? <= 500", 0, False), ("? % 2 == 0", 4, True),
    ("limit", 3, True), ("limit + 1", 3, False), ("> limit", 4, True), ('["a", "b"]', "a", True),
])
def test_a_cell_matches_as_feel_says(cell: str, value: Any, expected: bool) -> None:
    assert matches(cell, value, {"limit": 3}) is expected


def test_comparing_different_kinds_of_values_is_an_error_not_a_silent_miss() -> None:
    with pytest.raises(dmn_cells.CellTypeError):
        matches("< 5", "four", {})
    with pytest.raises(dmn_cells.CellTypeError):
        matches("[1..5]", True, {})


@pytest.mark.parametrize(("cell", "code"), [
    ("[low..5]", "dmn_range_bounds"), (">> 5", "dmn_cell_syntax"), ('date("31/01/2024")', "dmn_bad_date"),
    ("? >", "dmn_cell_syntax"), ('__import__("os")', "sandbox_private_name"), ("? .__class__", "sandbox_private_name"),
])
def test_a_cell_that_cannot_be_read_is_refused_with_a_code(cell: str, code: str) -> None:
    with pytest.raises(dmn_cells.CellRefused) as refused:
        dmn_cells.parse(cell)
    assert refused.value.code == code


@pytest.mark.parametrize(("first", "second", "overlap"), [
    ("<= 500", ">= 500", True), ("<= 500", "> 500", False), ("[0..500]", "(500..1000]", False),
    ("0 < ? <= 500", "> 500", False), ("0 < ? <= 500", "<= 0", False), ("0 < ? <= 500", "[500..600]", True),
    ('"a","b"', '"b"', True), ('"a","b"', '"c"', False), ('not("a")', '"a"', False), ('not("a")', '"b"', True),
    ("true", "false", False), ("true", "-", True), ("true", "1", False), ('in ("a", "b")', '"a"', True),
    ("> limit", "< 0", None), ("x + 1", "1", None),
])
def test_deploy_knows_which_cells_overlap_without_running_them(first: str, second: str, overlap: bool | None) -> None:
    assert dmn_cells.overlap(dmn_cells.parse(first).region, dmn_cells.parse(second).region) is overlap


@pytest.mark.parametrize(("text", "data", "expected"), [
    ('if amount > 500 then "manager" else "supervisor"', {"amount": 600}, "manager"),
    ('if a then (if b then 1 else 2) else 3', {"a": True, "b": False}, 2),
    ("not(a)", {"a": None}, None), ("not(a)", {"a": True}, False), ("x = null", {"x": None}, True),
    ('"Hello " + name', {"name": "Li"}, "Hello Li"), ('date("2024-02-01") > date("2024-01-31")', {}, True),
    ('"PT48H" if customer_unreachable else "PT24H"', {"customer_unreachable": True}, "PT48H"),
])
def test_simple_feel_expressions_run_in_the_sandbox_as_python(text: str, data: dict, expected: Any) -> None:
    source = feel_expressions.translate(text)
    assert sandbox.check(source, "eval") is None
    assert BOX.evaluate(source, data, feel_expressions.functions()) == expected


@pytest.mark.parametrize(("text", "source"), [
    ("x = 1", "x == 1"), ("sorted(x, reverse=True)", "sorted ( x , reverse = True )"),
    ("not(a = 1)", "feel_not ( a == 1 )"), ("(a = null)", "( a == None )"), ("obj.true", "obj . true"),
])
def test_feel_words_are_rewritten_and_python_keyword_arguments_are_kept(text: str, source: str) -> None:
    assert feel_expressions.translate(text) == source


@pytest.mark.parametrize(("text", "data", "expected"), [
    ('contains(name, "Li")', {"name": "Li Lei"}, True), ('starts with(name, "Li")', {"name": "Li Lei"}, True),
    ('ends with(name, "Li")', {"name": "Li Lei"}, False), ("upper case(name)", {"name": "ab"}, "AB"),
    ("string length(name) > 2", {"name": "abc"}, True), ("substring(name, 2, 2)", {"name": "abcd"}, "bc"),
    ('contains(null, "a")', {}, None), ("count(items)", {"items": [1, 2]}, 2), ("string(true)", {}, "true"),
    ("string(items)", {"items": [1]}, None), ('number("12.5") > 12', {}, True), ("floor(1.5)", {}, 1),
    ('name.count("a")', {"name": "aa"}, 2),
])
def test_feel_functions_give_what_feel_gives(text: str, data: dict, expected: Any) -> None:
    assert BOX.evaluate(feel_expressions.translate(text), data, feel_expressions.functions()) == expected
