"""The restricted interpreter every expression and script of a deployed file runs in.

A process owner's BPMN and DMN files are programs the server runs, in the web process as well
as the scheduler's, with the database session, the environment and the file system one attribute
walk away in ordinary Python. This module is the one place that runs them, built on
RestrictedPython (the compiler Zope/Plone and spiff-arena use): the source is compiled with every
attribute read, item read, iteration, in-place operator and attribute/item write turned into a call
of a guard defined here, and runs with a whitelist of builtins and the engine's functions only.

What the guards allow is plain data and nothing else: attributes are the public methods of text,
numbers, lists, tuples, dicts and sets (by exact type, so a function, a class, a module, a frame, a
generator or an exception yields no attribute at all); items are read from those containers only,
and never under a key starting with "_"; ``str.format``/``format_map``, f-strings and ``%`` have no
attribute or index walks and no huge widths.

Each evaluation has a budget (``Budget``): a time limit (``COMPLAINTFLOW_SCRIPT_TIME_LIMIT``
seconds, 1 by default) and a size limit (no value above ``MAX_ITEMS`` items or ``MAX_CHARS``
characters, no integer above ``MAX_INT_BITS`` bits, at most ``MAX_WORK`` items made or iterated in
all). The checks are inserted into the code itself (every loop iteration, function call and
growing operation), so they work in any thread, with no signal. A limit reached raises
``LimitExceeded``; once reached, every later check raises again, so a script cannot catch it and
go on.

Compiling is cached by source text and mode: a deployed version's expressions are compiled once.

What the checks cannot interrupt is one C-level operation already started; so the operations
whose cost is not bounded by their operands' sizes are measured before they start: comparisons,
``sorted``/``min``/``max``, ``str``/``repr``/formatting and ``list.count/index/remove/sort`` walk
the nested containers of their operands first (aliases counted again), and refuse above the limit.
"""

from __future__ import annotations

import ast
import operator
import os
import re
import string
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

TIME_LIMIT_ENV = "COMPLAINTFLOW_SCRIPT_TIME_LIMIT"
DEFAULT_TIME_LIMIT = 1.0  # seconds per evaluation
MAX_ITEMS = 1_000_000  # items in one list, tuple, dict, set or range
MAX_CHARS = 10_000_000  # characters in one text (10 MB of ASCII)
MAX_INT_BITS = 1_000_000  # bits of one integer (about 300,000 digits)
MAX_WORK = 10_000_000  # items made or iterated in all, per evaluation
MAX_FORMAT_WIDTH = 10_000  # width or precision in a format specification
MAX_CALENDAR_DAYS = 3_660  # ten years: the most working_days(n) counts


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class Rule:
    """Why a source is refused: an error code of ``engine.refusals`` and what its message needs."""

    code: str
    params: dict[str, str] = field(default_factory=dict)


class Refused(ValueError):
    """The source breaks a rule of the sandbox (found when compiling, so at deploy)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        super().__init__(f"{rule.code} {rule.params}")


class Forbidden(Exception):
    """Running code asked for something outside plain data (an attribute, an item, a type)."""


class LimitExceeded(Exception):
    """An evaluation ran out of time or size; ``limit`` is ``"time"`` or ``"size"``."""

    def __init__(self, limit: str, detail: str) -> None:
        self.limit, self.detail = limit, detail
        super().__init__(f"the {limit} limit of a deployed expression or script was reached: {detail}")


# ---------------------------------------------------------------- compiling

# Constructs a deployed expression or script never needs, refused by name (RestrictedPython refuses more).
REFUSED_NODES: dict[type, str] = {
    ast.ClassDef: "class", ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Import: "import", ast.ImportFrom: "import", ast.Match: "match",
    ast.AsyncFunctionDef: "async", ast.Await: "await", ast.AsyncFor: "async", ast.AsyncWith: "async",
    ast.TryStar: "except*", ast.With: "with",
}
GUARDED_BINOPS: dict[type, str] = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's transformer, plus: refusals as codes, and limit checks inserted into the code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules: list[Rule] = _rules.get()

    def error(self, node: ast.AST, info: str) -> None:
        super().error(node, info)
        self.rules.append(_rule_of(node, info))

    def refuse(self, node: ast.AST, construct: str) -> None:
        super().error(node, f"{construct} is not allowed")
        self.rules.append(Rule("sandbox_construct", {"construct": construct, "line": str(_line(node))}))

    def visit(self, node: ast.AST) -> Any:
        construct = REFUSED_NODES.get(type(node))
        if construct is not None:
            self.refuse(node, construct)
            return node
        return super().visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        name = unicodedata.normalize("NFKC", node.attr)
        if not name.startswith("_") and name not in ALL_METHODS:
            super().error(node, f"attribute {name} is not allowed")
            self.rules.append(Rule("sandbox_attribute", {"name": name, "line": str(_line(node))}))
            return node
        return super().visit_Attribute(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        if node.name.startswith("_"):
            self.error(node, f'"{node.name}" is an invalid variable name because it starts with "_"')
            return node
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(ast.Or(), [_call("_tick_", node.body), node.body]), node.body)
        return node

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        symbol = GUARDED_BINOPS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
        if symbol is None:
            return node
        return ast.copy_location(_call("_binop_", node, ast.Constant(symbol), node.left, node.right), node)

    def visit_Compare(self, node: ast.Compare) -> Any:
        """Each operand that is not a literal is measured first: comparing is one uninterruptible C call."""
        node = self.node_contents_visit(node)
        node.left = _measured(node.left)
        node.comparators = [_measured(each) for each in node.comparators]
        return node

    def visit_List(self, node: ast.List) -> Any:
        return _counted_display(self.node_contents_visit(node))

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        return _counted_display(self.node_contents_visit(node))

    def visit_Set(self, node: ast.Set) -> Any:
        return _counted_display(self.node_contents_visit(node))

    def visit_Dict(self, node: ast.Dict) -> Any:
        node = self.node_contents_visit(node)
        if any(key is None for key in node.keys):  # {**a, **b}: as large as its parts
            return ast.copy_location(_call("_made_", node, node), node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        value = _call("_format_value_", node, node.value, ast.Constant(node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(value=value, conversion=-1, format_spec=None), node)


def _call(name: str, where: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    for node in (call, call.func, *args):
        for part in ast.walk(node):
            if isinstance(part, ast.expr) and not hasattr(part, "lineno"):
                ast.copy_location(part, where)
    return call


def _measured(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Constant):
        return node
    return ast.copy_location(_call("_measured_", node, node), node)


def _counted_display(node: Any) -> Any:
    """``[*a, *b]`` (a display that unpacks): as large as its parts, so counted like ``a + b``."""
    loading = isinstance(getattr(node, "ctx", None), ast.Load | type(None))
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and loading and any(
            isinstance(elt, ast.Starred) for elt in node.elts):
        return ast.copy_location(_call("_made_", node, node), node)
    return node


def _tick_statement(where: ast.AST) -> ast.Expr:
    statement = ast.Expr(_call("_tick_", where))
    return ast.copy_location(statement, where)


def _line(node: ast.AST) -> int:
    return getattr(node, "lineno", 0) or 0


NAME_IN_QUOTES = re.compile(r'"([^"]*)"')


def _rule_of(node: ast.AST, info: str) -> Rule:
    """RestrictedPython's English complaint as a code with the name or construct it is about."""
    line = str(_line(node))
    quoted = NAME_IN_QUOTES.search(info)
    if "starts with \"_\"" in info or "__roles__" in info:
        return Rule("sandbox_private_name", {"name": quoted.group(1) if quoted else "_", "line": line})
    if "reserved name" in info:
        return Rule("sandbox_reserved_name", {"name": quoted.group(1) if quoted else "", "line": line})
    construct = REFUSED_NODES.get(type(node), type(node).__name__)
    return Rule("sandbox_construct", {"construct": construct, "line": line})


@lru_cache(maxsize=8192)
def compile_source(source: str, mode: str = "eval") -> CodeType:
    """Compile ``source`` (``eval`` for an expression, ``exec`` for a script) or raise ``Refused``."""
    try:
        ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise Refused(Rule("sandbox_syntax", {"line": str(exc.lineno or 0)})) from None
    except ValueError:  # a NUL byte in the source
        raise Refused(Rule("sandbox_syntax", {"line": "0"})) from None
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    rules: list[Rule] = []
    token = _rules.set(rules)
    try:
        result = compiler(source, filename="<deployed>", policy=_Policy)
    finally:
        _rules.reset(token)
    if result.code is None or result.errors:
        raise Refused(rules[0] if rules else Rule("sandbox_construct", {"construct": "?", "line": "0"}))
    return result.code


_rules: ContextVar[list[Rule]] = ContextVar("complaintflow_sandbox_rules")  # where _Policy puts what it refuses


def check(source: str, mode: str = "eval") -> Rule | None:
    """Why ``source`` may not run here, or None: what deploy asks of every expression and script."""
    try:
        compile_source(source, mode)
    except Refused as exc:
        return exc.rule
    return None


# ---------------------------------------------------------------- the budget of one evaluation


class Budget:
    """Time and size one evaluation may use. Checked from the guards, so in whatever thread runs it."""

    __slots__ = ("deadline", "work", "tripped", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.work = 0
        self.tripped: LimitExceeded | None = None

    def tick(self, work: int = 1) -> None:
        if self.tripped is not None:
            raise self.tripped
        self.work += work
        if self.work > MAX_WORK:
            self.trip("size", f"more than {MAX_WORK:,} items made or iterated")
        if time.monotonic() > self.deadline:
            self.trip("time", f"more than {self.seconds:g} s")

    def trip(self, limit: str, detail: str) -> None:
        self.tripped = LimitExceeded(limit, detail)
        raise self.tripped


_budget: ContextVar[Budget | None] = ContextVar("complaintflow_sandbox_budget", default=None)


def time_limit() -> float:
    """Seconds one evaluation may take: ``COMPLAINTFLOW_SCRIPT_TIME_LIMIT``, read at each evaluation."""
    try:
        return max(0.01, float(os.environ.get(TIME_LIMIT_ENV) or DEFAULT_TIME_LIMIT))
    except ValueError:
        return DEFAULT_TIME_LIMIT


def _current() -> Budget:
    budget = _budget.get()
    if budget is None:
        raise Forbidden("deployed code runs only inside an evaluation")
    return budget


def _tick(work: int = 1) -> None:
    _current().tick(work)


def _made(value: Any) -> Any:
    """Count what an operation made against the budget; a value above the size limit is refused."""
    size = len(value) if isinstance(value, SIZED) else 0
    if size:
        _too_big(value, size)
        _tick(size)
    return value


SIZED = (str, list, tuple, dict, set, frozenset, bytes)


def _too_big(value: Any, size: int) -> None:
    limit = MAX_CHARS if isinstance(value, str | bytes) else MAX_ITEMS
    if size > limit:
        _current().trip("size", f"a value of more than {limit:,} {'characters' if limit == MAX_CHARS else 'items'}")


def _check_size(kind: type, size: int) -> None:
    limit = MAX_CHARS if issubclass(kind, str | bytes) else MAX_ITEMS
    if size > limit:
        _current().trip("size", f"a value of more than {limit:,} {'characters' if limit == MAX_CHARS else 'items'}")


def _deep_size(value: Any) -> int:
    """Items in ``value`` counted through nested containers (each alias again), up to just past the limit.

    What one C-level operation (a text of a list, a comparison, a sort) would walk: it cannot be
    interrupted, so it is measured before it starts.
    """
    if type(value) not in NESTING:
        return len(value) if isinstance(value, str) else 1
    count, stack = 0, [value]
    while stack and count <= MAX_ITEMS:
        current = stack.pop()
        items = current.values() if type(current) is dict else current
        count += len(current)
        if NESTING.intersection(map(type, items)):  # one C-level pass finds whether any item nests
            stack.extend(item for item in items if type(item) in NESTING)
    return count


NESTING = frozenset([list, tuple, dict, set, frozenset])


def _check_deep(value: Any) -> None:
    if type(value) in NESTING and _deep_size(value) > MAX_ITEMS:
        _current().trip("size", f"a value of more than {MAX_ITEMS:,} items in all")


def _measured_value(value: Any) -> Any:
    """A comparison's operand: a container is measured through its nested containers first."""
    if type(value) in NESTING:
        _check_deep(value)
    return value


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        _current().trip("size", f"a number of more than {MAX_INT_BITS:,} bits")


# ---------------------------------------------------------------- attributes: public methods of plain data

STR_METHODS = frozenset([
    "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "format", "format_map",
    "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric",
    "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "zfill",
])
NUMBER_ATTRIBUTES = frozenset(["bit_length", "conjugate", "real", "imag", "numerator", "denominator",
                               "is_integer", "as_integer_ratio"])
LIST_METHODS = frozenset(["append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove",
                          "reverse", "sort"])
DICT_METHODS = frozenset(["clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update",
                          "values"])
SET_METHODS = frozenset(["add", "clear", "copy", "difference", "difference_update", "discard", "intersection",
                         "intersection_update", "isdisjoint", "issubset", "issuperset", "pop", "remove",
                         "symmetric_difference", "symmetric_difference_update", "union", "update"])
FROZENSET_METHODS = frozenset(["copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset",
                               "symmetric_difference", "union"])
ATTRIBUTES: dict[type, frozenset[str]] = {
    str: STR_METHODS, int: NUMBER_ATTRIBUTES, bool: NUMBER_ATTRIBUTES, float: NUMBER_ATTRIBUTES,
    list: LIST_METHODS, tuple: frozenset(["count", "index"]), dict: DICT_METHODS, set: SET_METHODS,
    frozenset: FROZENSET_METHODS,
}
ALL_METHODS = frozenset().union(*ATTRIBUTES.values())
COMPARING_METHODS = frozenset(["count", "index", "remove", "sort"])  # compare items: one C call over them all


def guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    """``obj.name`` for a public method of plain data; anything else is ``Forbidden``."""
    name = unicodedata.normalize("NFKC", str(name))
    if type(obj) is Probe:
        return obj
    if name not in ATTRIBUTES.get(type(obj), ()):
        raise Forbidden(f"attribute {name!r} of a {type(obj).__name__} is not available to deployed code")
    checked = _CHECKED_METHODS.get((type(obj), name))
    if checked is not None:
        return checked(obj)
    value = getattr(obj, name)
    if not callable(value):
        return value
    comparing = name in COMPARING_METHODS

    def counted(*args: Any, **kwargs: Any) -> Any:
        if comparing:
            _measured_value(obj)
            for arg in args:
                _measured_value(arg)
        return _made(value(*args, **kwargs))

    return counted


def _str_replace(s: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
            hits = (s.count(old) if old else len(s) + 1)
            if count is not None and count >= 0:
                hits = min(hits, count)
            _check_size(str, len(s) + hits * (len(new) - len(old)))
        return _made(s.replace(old, new, count))
    return replace


def _str_join(s: str) -> Callable[[Iterable], str]:
    def join(items: Iterable) -> str:
        items = list(guarded_iter(items))
        _check_size(list, len(items))
        _check_size(str, sum(len(x) for x in items if isinstance(x, str)) + len(s) * max(0, len(items) - 1))
        return _made(s.join(items))
    return join


def _str_pad(method: str) -> Callable[[str], Callable[..., str]]:
    def bind(s: str) -> Callable[..., str]:
        def pad(width: int, *args: Any) -> str:
            _check_size(str, int(width))
            return _made(getattr(s, method)(width, *args))
        return pad
    return bind


def _str_expandtabs(s: str) -> Callable[..., str]:
    def expandtabs(tabsize: int = 8) -> str:
        _check_size(str, len(s) + s.count("\t") * max(0, int(tabsize)))
        return _made(s.expandtabs(tabsize))
    return expandtabs


def _list_extend(items: list) -> Callable[[Iterable], None]:
    def extend(more: Iterable) -> None:
        more = list(guarded_iter(more))
        _check_size(list, len(items) + len(more))
        _tick(len(more))
        items.extend(more)
    return extend


def _str_format(s: str) -> Callable[..., str]:
    def format(*args: Any, **kwargs: Any) -> str:  # noqa: A001 - str.format's own name
        return _made(SafeFormatter().vformat(s, args, kwargs))
    return format


def _str_format_map(s: str) -> Callable[[Mapping], str]:
    def format_map(mapping: Mapping) -> str:
        return _made(SafeFormatter().vformat(s, (), mapping))
    return format_map


_CHECKED_METHODS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (str, "replace"): _str_replace, (str, "join"): _str_join, (str, "center"): _str_pad("center"),
    (str, "ljust"): _str_pad("ljust"), (str, "rjust"): _str_pad("rjust"), (str, "zfill"): _str_pad("zfill"),
    (str, "expandtabs"): _str_expandtabs, (str, "format"): _str_format, (str, "format_map"): _str_format_map,
    (list, "extend"): _list_extend,
}


# ---------------------------------------------------------------- formatting without walks or huge widths

SPEC_NUMBER = re.compile(r"\d+")
PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_spec(spec: str) -> None:
    for number in SPEC_NUMBER.findall(spec):
        if len(number) > 5 or int(number) > MAX_FORMAT_WIDTH:
            raise Forbidden(f"a format width or precision above {MAX_FORMAT_WIDTH} is not allowed")


def _format_value(value: Any, conversion: int, spec: str) -> str:
    """One f-string field: ``!r``/``!s``/``!a`` then the spec, checked like ``str.format``'s."""
    _check_deep(value)
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    _check_spec(str(spec))
    return _made(format(value, spec))


class SafeFormatter(string.Formatter):
    """``str.format`` for deployed code: fields are positions or names, never ``{0.attr}`` or ``{0[key]}``."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not re.fullmatch(r"\d+|[^\W\d]\w*", field_name):
            raise Forbidden("a format field may only be a position or a name (no . or [ ] in it)")
        key: int | str = int(field_name) if field_name.isdigit() else field_name
        return self.get_value(key, args, kwargs), key

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_deep(value)
        _check_spec(format_spec)
        return format(value, format_spec)


def _percent(text: str, args: Any) -> str:
    for star_or_width, precision in PERCENT_FIELD.findall(text):
        for number in (star_or_width, precision):
            if number == "*":
                raise Forbidden("a % format may not take its width from the arguments (*)")
            if number and (len(number) > 5 or int(number) > MAX_FORMAT_WIDTH):
                raise Forbidden(f"a format width or precision above {MAX_FORMAT_WIDTH} is not allowed")
    _check_deep(args)
    return _made(text % args)


# ---------------------------------------------------------------- operators, items, iteration, writes


def _binop(symbol: str, a: Any, b: Any) -> Any:
    """``a <symbol> b`` for the operators that can make a value of any size, refused above the limits."""
    if symbol == "+":
        if isinstance(a, SIZED) and isinstance(b, SIZED):
            _check_size(type(a), len(a) + len(b))
            return _made(a + b)
        return a + b
    if symbol == "*":
        if isinstance(a, int) and isinstance(b, int):
            _check_bits(a.bit_length() + b.bit_length())
            return a * b
        if isinstance(a, SIZED) and isinstance(b, int):
            return _repeat(a, b)
        if isinstance(b, SIZED) and isinstance(a, int):
            return _repeat(b, a)
        return a * b
    if symbol == "**":
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            _check_bits(a.bit_length() * b)
        return a ** b
    if symbol == "<<":
        if isinstance(a, int) and isinstance(b, int) and a and b > 0:
            _check_bits(a.bit_length() + b)
        return a << b
    if symbol == "%" and isinstance(a, str):
        return _percent(a, b)
    return OPERATORS[symbol](a, b)


def _repeat(sequence: Any, times: int) -> Any:
    """``sequence * times``: its length and, through the containers it holds, its whole size within the limits."""
    _check_size(type(sequence), len(sequence) * max(0, times))
    if times > 1 and not isinstance(sequence, str):
        _check_size(list, _deep_size(sequence) * times)
    return _made(sequence * times)


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "<<": operator.lshift, ">>": operator.rshift, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "@": operator.matmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """``target op= value`` (RestrictedPython hands the operator as text, e.g. ``"+="``)."""
    symbol = op[:-1]
    if symbol in GUARDED_SYMBOLS:
        if symbol == "+" and type(target) is list:
            _check_size(list, len(target) + len(value) if hasattr(value, "__len__") else len(target))
            return _made(target + list(guarded_iter(value)))
        return _binop(symbol, target, value)
    return OPERATORS[symbol](target, value)


GUARDED_SYMBOLS = frozenset(GUARDED_BINOPS.values())
CONTAINERS = (list, tuple, str, dict, range)


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``obj[key]`` on plain data; never under a key starting with "_", never on anything else."""
    if type(obj) is Probe:
        return obj
    if type(obj) not in CONTAINERS:
        raise Forbidden(f"a {type(obj).__name__} has no items deployed code may read")
    if isinstance(key, str) and unicodedata.normalize("NFKC", key).startswith("_"):
        raise Forbidden("keys starting with '_' are not available to deployed code")
    value = obj[key]
    return _made(value) if type(key) is slice else value


def guarded_iter(obj: Any) -> Iterator:
    """Iterate ``obj``, counting each item against the budget (loops and comprehensions come here)."""
    if type(obj) is Probe:
        return iter(())
    return _counted(iter(obj), _current())


def _counted(items: Iterator, budget: Budget) -> Iterator:
    tick = budget.tick
    for item in items:
        tick()
        yield item


def guarded_write(obj: Any) -> Any:
    """Items may be set on lists, dicts and sets made or read by the code; nothing else is written."""
    if type(obj) is list:
        return _ListWriter(obj)
    if type(obj) in (dict, set):
        return obj
    raise Forbidden(f"a {type(obj).__name__} cannot be changed by deployed code")


class _ListWriter:
    """What ``_write_`` gives for a list: item and slice assignment with the result's size checked first."""

    __slots__ = ("items",)

    def __init__(self, items: list) -> None:
        self.items = items

    def __setitem__(self, key: Any, value: Any) -> None:
        if type(key) is slice:
            value = list(guarded_iter(value))
            removed = len(range(*key.indices(len(self.items))))
            _check_size(list, len(self.items) - removed + len(value))
            _tick(len(value))
        self.items[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.items[key]


def _apply(function: Callable, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


# ---------------------------------------------------------------- builtins


def _range(*args: int) -> range:
    made = range(*args)
    _check_size(list, len(made))
    return made


def _sum(items: Iterable, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        raise Forbidden("sum() adds numbers; join texts with ''.join(...)")
    total = start
    for item in guarded_iter(items):
        if not isinstance(item, int | float):
            raise Forbidden("sum() adds numbers; join texts with ''.join(...)")
        total = _binop("+", total, item)
    return total


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > MAX_FORMAT_WIDTH:
        raise Forbidden(f"round() to more than {MAX_FORMAT_WIDTH} digits is not allowed")
    return round(number, ndigits)


def _measuring(function: Callable) -> Callable:
    """A builtin that compares its argument's items (sorted, min, max): nested containers measured first."""

    def measured(*args: Any, **kwargs: Any) -> Any:
        for arg in args:
            _measured_value(arg)
        return _made(function(*args, **kwargs))

    measured.__name__ = function.__name__
    return measured


def _pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    if modulo is None:
        return _binop("**", base, exponent)
    return pow(base, exponent, modulo)


def _counting(function: Callable, deep: bool = False) -> Callable:
    """A builtin whose result is counted against the size limit (it copies or builds a container or text).

    ``deep``: it walks its argument's nested containers (``str`` and ``repr`` of a list), so their
    whole size is checked before it starts.
    """

    def counted(*args: Any, **kwargs: Any) -> Any:
        if deep:
            for arg in args:
                _check_deep(arg)
        return _made(function(*args, **kwargs))

    counted.__name__ = function.__name__
    if isinstance(function, type):
        _TYPES[counted] = function
    return counted


_TYPES: dict[Callable, type] = {}  # the counting stand-in of a type -> the type (for isinstance)


def _classinfo(classinfo: Any) -> Any:
    if isinstance(classinfo, tuple):
        return tuple(_classinfo(each) for each in classinfo)
    return _TYPES.get(classinfo, classinfo)


def _isinstance(obj: Any, classinfo: Any) -> bool:
    """``isinstance(x, dict)`` with the builtins' counting stand-ins read as the types they stand for."""
    return isinstance(obj, _classinfo(classinfo))


def _issubclass(cls: Any, classinfo: Any) -> bool:
    return issubclass(_classinfo(cls), _classinfo(classinfo))


# The exception classes code may raise and catch: not SystemExit, KeyboardInterrupt or GeneratorExit, which
# would end the thread or the process running it rather than the step.
EXCEPTIONS = {name: value for name, value in safe_builtins.items()
              if isinstance(value, type) and issubclass(value, Exception)}
BUILTINS: dict[str, Any] = {
    **EXCEPTIONS,
    "None": None, "True": True, "False": False,
    "abs": abs, "all": all, "any": any, "bool": bool, "callable": callable, "chr": chr, "divmod": divmod,
    "enumerate": enumerate, "filter": filter, "float": float, "hash": hash, "int": int, "isinstance": _isinstance,
    "issubclass": _issubclass, "len": len, "map": map, "max": _measuring(max), "min": _measuring(min), "ord": ord,
    "reversed": reversed,
    "round": _round, "slice": slice, "zip": zip, "hex": _counting(hex), "oct": _counting(oct),
    "complex": complex, "repr": _counting(repr, deep=True), "str": _counting(str, deep=True), "dict": _counting(dict),
    "list": _counting(list), "set": _counting(set), "frozenset": _counting(frozenset), "tuple": _counting(tuple),
    "sorted": _measuring(sorted), "range": _range, "sum": _sum, "pow": _pow,
}
GUARDS: dict[str, Any] = {
    "_getattr_": guarded_getattr, "_getitem_": guarded_getitem, "_getiter_": guarded_iter,
    "_write_": guarded_write, "_inplacevar_": _inplacevar, "_apply_": _apply, "_tick_": _tick,
    "_binop_": _binop, "_format_value_": _format_value, "_measured_": _measured_value, "_made_": _made,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
}


# ---------------------------------------------------------------- running


class Sandbox:
    """Runs deployed sources with the builtins whitelist and the given engine functions in reach."""

    def __init__(self, functions: Mapping[str, Callable] | None = None) -> None:
        self.functions = dict(functions or {})
        self.protected: dict[str, Any] = {"__builtins__": BUILTINS, **self.functions, **GUARDS}

    def evaluate(self, source: str, data: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
        """The value of expression ``source`` over the case data ``data`` (and ``extra`` names)."""
        code = compile_source(source, "eval")
        scope = self._scope(data, extra)
        return _run(lambda: eval(code, scope))  # noqa: S307 - compiled by RestrictedPython, guarded

    def execute(self, source: str, data: dict[str, Any], extra: Mapping[str, Any] | None = None) -> None:
        """Run script ``source``; the plain values it leaves in its names are written back into ``data``."""
        code = compile_source(source, "exec")
        scope = self._scope(data, extra)
        _run(lambda: exec(code, scope))  # noqa: S102 - compiled by RestrictedPython, guarded
        skip = self.protected.keys() | (extra.keys() if extra else set())
        for key in [k for k in data if k not in scope and not k.startswith("_")]:
            del data[key]
        for key, value in scope.items():
            if key in skip or key.startswith("_") or type(value) not in PLAIN:
                continue  # the script's own functions and iterators end with it, as SpiffWorkflow's do
            if data.get(key) is not value and not _plain(value):
                raise Forbidden(f"a script may leave only text, numbers, lists and dicts in field {key!r}")
            data[key] = value

    def try_evaluate(self, source: str) -> Any:
        """Evaluate with stand-ins for every unknown name (deploy's check of a timer): never real data.

        ``notify`` and every other engine function but the calendar's pure ones answer a stand-in:
        nothing a deployed expression does at deploy leaves a trace.
        """
        code = compile_source(source, "eval")
        scope = _ProbeScope({"__builtins__": BUILTINS, **GUARDS,
                             **{k: v for k, v in self.functions.items() if k in PURE_FUNCTIONS}})
        return _run(lambda: eval(code, scope))  # noqa: S307 - compiled by RestrictedPython, guarded

    def _scope(self, data: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
        # Data names starting with "_" cannot be written in deployed code (refused when compiling), and the
        # guards and builtins come last: no data can stand in for them.
        scope = dict(data)
        if extra:
            scope.update(extra)
        scope.update(self.protected)
        return scope


PLAIN = (type(None), bool, int, float, str, list, dict, tuple)


def _plain(value: Any) -> bool:
    """Whether ``value`` is data the case can keep: plain values down to its leaves, and not too large."""
    if type(value) not in NESTING:
        return True
    _check_deep(value)
    stack = [value]
    while stack:
        current = stack.pop()
        items = [*current.keys(), *current.values()] if type(current) is dict else current
        for item in items:
            if type(item) in NESTING:
                stack.append(item)
            elif type(item) not in PLAIN:
                return False
    return True
PURE_FUNCTIONS = frozenset(["working_days", "next_day_of_month", "next_weekday", "after"])


def _run(action: Callable[[], Any]) -> Any:
    budget = Budget(time_limit())
    token = _budget.set(budget)
    try:
        result = action()
    except RecursionError:
        raise LimitExceeded("size", "calls nested too deeply") from None
    except MemoryError:
        raise LimitExceeded("size", "out of memory") from None
    except (SystemExit, KeyboardInterrupt, GeneratorExit):  # raised by the code: it ends the step, nothing more
        raise Forbidden("deployed code may not stop the process") from None
    finally:
        _budget.reset(token)
    if budget.tripped is not None:  # reached, caught by the code, and the code went on: still over
        raise budget.tripped
    return result


# ---------------------------------------------------------------- stand-ins for deploy-time checks


class Probe:
    """Stands in for case data when deploy tries an expression: any name, any item, any call."""

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __int__(self) -> int:
        return 1

    __index__ = __len__ = __int__

    def __round__(self, ndigits: int | None = None) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __str__(self) -> str:
        return "1"

    def __format__(self, spec: str) -> str:
        return "1"

    def __contains__(self, item: object) -> bool:
        return False

    def __call__(self, *args: Any, **kwargs: Any) -> Probe:
        return self

    def __add__(self, other: object) -> Probe:
        return self

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __floordiv__ = __add__
    __rfloordiv__ = __mod__ = __rmod__ = __add__

    def __neg__(self) -> Probe:
        return self

    __pos__ = __abs__ = __neg__


class _ProbeScope(dict):
    """Names the scope lacks are stand-ins, except builtins (so ``str(n)`` and ``len(x)`` work)."""

    def __missing__(self, key: str) -> Probe:
        if key in BUILTINS:
            raise KeyError(key)
        return Probe()
