"""The input cells of a decision table (FEEL "unary tests"), read once into small test objects.

A cell is what modelers write in a rule's input column. The FEEL forms every modeler offers are read
here into plain objects that compare the input value with constants, as DMN 1.3 defines them:

- ``-`` or nothing: any value;
- a literal: ``"phone"``, ``500``, ``-1.5``, ``true``/``false`` (also Python's ``True``/``False``),
  ``null``/``None``, ``date("2024-01-31")``: the input equals it (a boolean equals only a boolean);
- a comparison ``< 5``, ``>= 18``, ``!= "x"``; a range ``[1..5]``, ``(1..5]``, ``]1..5[``;
- a list ``"a","b"``, ``<0, >100``: any of them; ``not(...)``: none of them.

Anything else is an expression (Python, or the FEEL ``engine.feel_expressions`` rewrites) compiled in
the sandbox, where ``?`` stands for the input value: with ``?`` it is a condition (``0 < ? <= 500``); an
operator continuation (``in ("a", "b")``, ``is None``) tests the input; otherwise its value is compared
with the input (and a list value contains it). Only such expressions run code, and only in the sandbox.

Each test also says, where it can, which values it accepts (``region``): deploy uses that to find
UNIQUE rules that overlap without running anything.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine import feel_expressions, sandbox

INPUT_NAME = "dmninputexpr"  # what "?" becomes: a name case data cannot hide (extra names win in the sandbox)

Evaluate = Callable[[str, Any], Any]  # (python source, input value) -> value, run in the sandbox


class CellRefused(ValueError):
    """A cell that cannot be read: ``code`` is an ``engine.refusals`` code, ``params`` its facts."""

    def __init__(self, code: str, **params: str) -> None:
        self.code, self.params = code, params
        super().__init__(code)


class CellTypeError(TypeError):
    """The input's type cannot be compared with the cell's (a number test given a text): the table is wrong."""


# ---------------------------------------------------------------- values


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _as_date(value: Any) -> Any:
    """An ISO text read as the date or date-time it spells, for comparison with a FEEL date; else unchanged."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    return value


def equal(value: Any, expected: Any) -> bool:
    """FEEL equality of an input and a constant: same kind of value, equal; null equals only null."""
    if expected is None or value is None:
        return value is None and expected is None
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    if is_number(expected):
        return is_number(value) and value == expected
    if isinstance(expected, (date, datetime)):
        value = _as_date(value)
        return type(value) is type(expected) and value == expected
    return type(value) is type(expected) and value == expected


def compare(value: Any, op: str, bound: Any) -> bool:
    """``value op bound`` as FEEL reads it: null never matches; different kinds of values are a table error."""
    if value is None or bound is None:
        return False
    if isinstance(bound, (date, datetime)):
        value = _as_date(value)
    same = (is_number(value) and is_number(bound)) or (isinstance(value, str) and isinstance(bound, str)) or (
        isinstance(bound, (date, datetime)) and type(value) is type(bound))
    if not same:
        raise CellTypeError(f"{type(value).__name__} against {type(bound).__name__}")
    return {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound}[op]


# ---------------------------------------------------------------- regions: what deploy knows a test accepts


@dataclass(frozen=True)
class Region:
    """Values a test accepts, when known without running anything.

    ``kind``: ``all``; ``points`` (``values``); ``not_points`` (everything but ``values``); ``interval``
    (numbers or texts between ``low`` and ``high``); ``unknown`` (an expression: only the case can tell).
    """

    kind: str
    values: frozenset = frozenset()
    low: Any = None
    high: Any = None
    low_closed: bool = False
    high_closed: bool = False

    def contains(self, key: tuple) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "points":
            return key in self.values
        if self.kind == "not_points":
            return key not in self.values
        if self.kind == "interval":
            return _in_interval(self, key[1]) if key[0] == _kind_of(self.low if self.low is not None else self.high) \
                else False
        return True


ALL = Region("all")
UNKNOWN = Region("unknown")


def _key(value: Any) -> tuple:
    """A value with its kind, so that ``True`` and ``1`` stay apart."""
    return (_kind_of(value), value)


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    return type(value).__name__


def _in_interval(region: Region, value: Any) -> bool:
    try:
        if region.low is not None and (value < region.low or (value == region.low and not region.low_closed)):
            return False
        return not (region.high is not None and (value > region.high or (value == region.high
                                                                         and not region.high_closed)))
    except TypeError:
        return False


def overlap(a: Region, b: Region) -> bool | None:
    """Whether some value passes both (None when a region is unknown)."""
    if a.kind == "unknown" or b.kind == "unknown":
        return None
    if a.kind == "all" or b.kind == "all":
        return True
    if a.kind == "points":
        return any(b.contains(key) for key in a.values)
    if b.kind == "points":
        return any(a.contains(key) for key in b.values)
    if a.kind == "not_points" or b.kind == "not_points":
        return True  # the values left outside a finite set always include one the other accepts
    if _kind_of(a.low if a.low is not None else a.high) != _kind_of(b.low if b.low is not None else b.high):
        return False
    low, low_closed = _max_bound(a.low, a.low_closed, b.low, b.low_closed, lower=True)
    high, high_closed = _max_bound(a.high, a.high_closed, b.high, b.high_closed, lower=False)
    if low is None or high is None:
        return True
    return low < high or (low == high and low_closed and high_closed)


def _max_bound(x: Any, x_closed: bool, y: Any, y_closed: bool, lower: bool) -> tuple[Any, bool]:
    if x is None:
        return y, y_closed
    if y is None:
        return x, x_closed
    if x == y:
        return x, x_closed and y_closed
    tighter = (x > y) if lower else (x < y)
    return (x, x_closed) if tighter else (y, y_closed)


def union(regions: list[Region]) -> Region:
    """What a list of tests accepts: exact for points, otherwise unknown unless one accepts everything."""
    if any(r.kind == "all" for r in regions):
        return ALL
    if len(regions) == 1:
        return regions[0]
    if all(r.kind == "points" for r in regions):
        return Region("points", frozenset().union(*(r.values for r in regions)))
    return UNKNOWN


# ---------------------------------------------------------------- tests


class Test:
    """One unary test: ``matches(value, evaluate)``; ``region`` for deploy's overlap check."""

    region: Region = UNKNOWN

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        raise NotImplementedError


class AnyValue(Test):
    region = ALL

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return True


@dataclass
class Equals(Test):
    expected: Any

    def __post_init__(self) -> None:
        self.region = Region("points", frozenset([_key(self.expected)]))

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return equal(value, self.expected)


@dataclass
class Compare(Test):
    op: str  # < <= > >= = !=
    bound: Any = None
    source: str | None = None  # an expression bound, evaluated in the sandbox

    def __post_init__(self) -> None:
        if self.source is not None:
            self.region = UNKNOWN
        elif self.op in ("=", "=="):
            self.region = Region("points", frozenset([_key(self.bound)]))
        elif self.op == "!=":
            self.region = Region("not_points", frozenset([_key(self.bound)]))
        elif is_number(self.bound) or isinstance(self.bound, str):
            low = self.op.startswith(">")
            self.region = Region("interval", low=self.bound if low else None, high=None if low else self.bound,
                                 low_closed=self.op == ">=", high_closed=self.op == "<=")

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        bound = self.bound if self.source is None else evaluate(self.source, value)
        if self.op in ("=", "=="):
            return equal(value, bound)
        if self.op == "!=":
            return not equal(value, bound)
        return compare(value, self.op, bound)


@dataclass
class Interval(Test):
    low: Any
    high: Any
    low_closed: bool
    high_closed: bool

    def __post_init__(self) -> None:
        self.region = Region("interval", low=self.low, high=self.high, low_closed=self.low_closed,
                             high_closed=self.high_closed)

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return compare(value, ">=" if self.low_closed else ">", self.low) and compare(
            value, "<=" if self.high_closed else "<", self.high)


@dataclass
class AnyOf(Test):
    tests: list[Test]

    def __post_init__(self) -> None:
        self.region = union([t.region for t in self.tests])

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return any(t.matches(value, evaluate) for t in self.tests)


@dataclass
class NoneOf(Test):
    tests: list[Test]

    def __post_init__(self) -> None:
        inner = union([t.region for t in self.tests])
        self.region = Region("not_points", inner.values) if inner.kind == "points" else UNKNOWN

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return not any(t.matches(value, evaluate) for t in self.tests)


@dataclass
class Condition(Test):
    """An expression using ``?`` (or an operator continuation): true means the rule's column matches."""

    source: str

    def __post_init__(self) -> None:
        self.region = _condition_region(self.source)

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        return evaluate(self.source, value) is True


FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
AST_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _condition_region(source: str) -> Region:
    """The interval a comparison chain of ``?`` with number constants accepts (``0 < ? <= 500``), else unknown."""
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return UNKNOWN
    if not isinstance(node, ast.Compare):
        return UNKNOWN
    if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) and isinstance(node.left, ast.Name) \
            and node.left.id == INPUT_NAME and isinstance(node.comparators[0], (ast.Tuple, ast.List, ast.Set)):
        found = [literal(ast.unparse(item)) for item in node.comparators[0].elts]
        if not all(ok for ok, _ in found):
            return UNKNOWN
        keys = frozenset(_key(value) for _, value in found)
        return Region("points" if isinstance(node.ops[0], ast.In) else "not_points", keys)
    operands = [node.left, *node.comparators]
    ops = [AST_OPS.get(type(op)) for op in node.ops]
    names = [i for i, o in enumerate(operands) if isinstance(o, ast.Name) and o.id == INPUT_NAME]
    if None in ops or len(names) != 1 or len(operands) > 3:
        return UNKNOWN
    at = names[0]
    region = ALL
    for i, op in enumerate(ops):
        if at not in (i, i + 1):
            return UNKNOWN
        other = operands[i + 1] if at == i else operands[i]
        found, bound = literal(ast.unparse(other))
        if not found or not is_number(bound):
            return UNKNOWN
        op = op if at == i else FLIPPED[op]  # always "? op bound"
        low = op.startswith(">")
        part = Region("interval", low=bound if low else None, high=None if low else bound,
                      low_closed=op == ">=", high_closed=op == "<=")
        region = part if region.kind == "all" else Region(
            "interval", low=region.low if region.low is not None else part.low,
            high=region.high if region.high is not None else part.high,
            low_closed=region.low_closed if region.low is not None else part.low_closed,
            high_closed=region.high_closed if region.high is not None else part.high_closed)
    return region


@dataclass
class ValueOf(Test):
    """An expression without ``?``: the input equals its value (or is in it, when it is a list)."""

    source: str

    def matches(self, value: Any, evaluate: Evaluate) -> bool:
        expected = evaluate(self.source, value)
        if isinstance(expected, (list, tuple)):
            return any(equal(value, item) for item in expected)
        return equal(value, expected)


# ---------------------------------------------------------------- reading a cell

COMPARISON = re.compile(r"^(<=|>=|==|!=|<|>|=)\s*(.+)$", re.DOTALL)
INTERVAL = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.DOTALL)
NOT = re.compile(r"^not\s*\((.*)\)$", re.DOTALL)
QUESTION = re.compile(r"\?(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)")  # a ? outside quotes


def parse(text: str) -> Test:
    """The test a cell's text stands for (raises ``CellRefused`` with advice)."""
    text = (text or "").strip()
    if text in ("", "-"):
        return AnyValue()
    parts = split_list(text)
    if len(parts) > 1:
        return AnyOf([_single(part) for part in parts])
    return _single(text)


def _single(text: str) -> Test:
    text = text.strip()
    if not text or text == "-":
        raise CellRefused("dmn_cell_syntax", cell=text)
    negated = NOT.match(text)
    if negated and _balanced(negated.group(1)):
        inner = split_list(negated.group(1).strip())
        return NoneOf([_single(part) for part in inner])
    found, value = literal(text)
    if found:
        return Equals(value)
    interval = INTERVAL.match(text)
    if interval and _balanced(interval.group(2)) and _balanced(interval.group(3)):
        low_found, low = literal(interval.group(2))
        high_found, high = literal(interval.group(3))
        if not (low_found and high_found):
            raise CellRefused("dmn_range_bounds", cell=text)
        return Interval(low, high, interval.group(1) == "[", interval.group(4) == "]")
    comparison = COMPARISON.match(text)
    if comparison and comparison.group(2).strip():
        op, rest = comparison.group(1), comparison.group(2).strip()
        found, value = literal(rest)
        if found:
            return Compare(op, value)
        source = _expression(rest, text)
        if source is not None and INPUT_NAME not in source:
            return Compare(op, None, source)
    if QUESTION.search(text):
        source = _expression(QUESTION.sub(INPUT_NAME, text), text, required=True)
        return Condition(source)
    source = _expression(text, text)
    if source is not None:
        return ValueOf(source)
    continued = _expression(f"{INPUT_NAME} {text}", text)
    if continued is not None and isinstance(ast.parse(continued, mode="eval").body, ast.Compare):
        return Condition(continued)  # an operator continuation: "in (...)", "not in [...]", "is None"
    raise CellRefused("dmn_cell_syntax", cell=text)


def _expression(text: str, original: str, required: bool = False) -> str | None:
    """The sandbox source for an expression cell, None when it is no expression; refused by the sandbox's rules."""
    try:
        source = feel_expressions.translate(text)
        ast.parse(source, mode="eval")
    except (feel_expressions.NotTranslatable, SyntaxError, ValueError):
        if required:
            raise CellRefused("dmn_cell_syntax", cell=original) from None
        return None
    rule = sandbox.check(source, "eval")
    if rule is not None:
        raise CellRefused(rule.code, what="input cell", text=original, **rule.params)
    return source


def literal(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is one FEEL or Python literal; (False, None) otherwise. Nothing is run."""
    text = text.strip()
    words = {"true": True, "false": False, "True": True, "False": False, "null": None, "None": None}
    if text in words:
        return True, words[text]
    for prefix, reader in (("date and time(", datetime.fromisoformat), ("date(", date.fromisoformat)):
        if text.startswith(prefix) and text.endswith(")"):
            found, inner = literal(text[len(prefix):-1])
            if found and isinstance(inner, str):
                try:
                    return True, reader(inner)
                except ValueError:
                    raise CellRefused("dmn_bad_date", cell=text) from None
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):
        return False, None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and is_number(node.operand.value):
        return True, -node.operand.value
    if isinstance(node, ast.Constant) and (is_number(node.value) or isinstance(node.value, str)):
        return True, node.value
    return False, None


def split_list(text: str) -> list[str]:
    """``text`` cut at the commas outside quotes and brackets."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _balanced(text: str) -> bool:
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote
