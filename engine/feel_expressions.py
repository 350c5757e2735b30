"""Simple FEEL expressions of DMN files, translated to the restricted Python the sandbox runs.

Decision tables come from modelers that write FEEL (Camunda Modeler, Trisotech, bpmn.io) while the
engine's expression language is Python (DESIGN.md). Rather than a second interpreter, the common part
of FEEL that differs from Python only in spelling is rewritten token by token, and the result is
compiled by ``engine.sandbox`` like any other deployed expression:

- ``true``, ``false``, ``null`` become ``True``, ``False``, ``None``;
- ``=`` (FEEL's equality) becomes ``==``;
- ``if c then a else b`` becomes ``(a) if (c) else (b)``;
- ``not(x)`` becomes ``feel_not(x)``, FEEL's three-valued negation (``not(null)`` is null, not true);
- ``date("2024-01-31")`` and ``date and time("...")`` call the engine's date readers;
- FEEL's text and number functions (``contains``, ``starts with``, ``upper case``, ``string length``,
  ``substring``, ``string``, ``number``, ``count``, ``floor``, ``ceiling``, ``decimal``) call ours,
  which give null where FEEL does (a null or mistyped argument).

Python written the way the project's shipped tables are (``0 < ? <= 500``, ``True``) passes through
unchanged: every Python expression is also accepted. What is neither (a FEEL name with spaces, a
range inside an expression, a context literal) is refused at deploy by the sandbox's syntax rule,
naming the text as written.
"""

from __future__ import annotations

import io
import keyword
import math
import tokenize
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

LITERALS = {"true": "True", "false": "False", "null": "None"}
FEEL_WORDS = ("then", "else", "and", "or", "not", "in", "if", "between")
# FEEL's built-in functions a decision may call, by the name the translation gives them
MULTI_WORD = {("starts", "with"): "feel_starts_with", ("ends", "with"): "feel_ends_with",
              ("upper", "case"): "feel_upper_case", ("lower", "case"): "feel_lower_case",
              ("string", "length"): "feel_string_length"}
SINGLE_WORD = {"contains": "feel_contains", "substring": "feel_substring", "string": "feel_string",
               "number": "feel_number", "count": "feel_count", "floor": "feel_floor", "ceiling": "feel_ceiling",
               "decimal": "feel_decimal"}
FUNCTIONS = ("feel_not", "feel_date", "feel_date_and_time", *MULTI_WORD.values(), *SINGLE_WORD.values())


class NotTranslatable(ValueError):
    """The text is neither Python nor the FEEL this module rewrites (it is reported as a syntax problem)."""


def translate(text: str) -> str:
    """The Python source for FEEL or Python expression ``text`` (raises ``NotTranslatable``)."""
    tokens = _tokens(text)
    tokens = _rewrite_words(tokens)
    return " ".join(_conditionals(tokens))


def _tokens(text: str) -> list[str]:
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT}
    try:
        found = list(tokenize.generate_tokens(io.StringIO(" ".join(text.splitlines())).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise NotTranslatable(text) from exc
    if any(tok.type == tokenize.ERRORTOKEN and tok.string.strip() for tok in found):
        raise NotTranslatable(text)
    return [tok.string for tok in found if tok.type not in skip and tok.type != tokenize.ERRORTOKEN]


def _rewrite_words(tokens: list[str]) -> list[str]:
    out: list[str] = []
    brackets: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        previous = out[-1] if out else ""
        if tok == "(" and (previous in (")", "]") or (previous.isidentifier() and not keyword.iskeyword(previous)
                                                      and previous not in FEEL_WORDS + FUNCTIONS)):
            brackets.append("call")
        elif tok in ("(", "[", "{"):
            brackets.append(tok)
        elif tok in (")", "]", "}") and brackets:
            brackets.pop()
        if previous == ".":  # an attribute or method name is never a FEEL word
            out.append(tok)
        elif tok in LITERALS:
            out.append(LITERALS[tok])
        elif tok == "=" and _keyword_argument(out, brackets):
            out.append(tok)  # Python's f(reverse=True)
        elif tok == "=":
            out.append("==")
        elif tok == "not" and following == "(" and previous not in ("is",):
            out.append("feel_not")
        elif (tok, following) in MULTI_WORD and tokens[i + 2:i + 3] == ["("] and previous != ".":
            out.append(MULTI_WORD[(tok, following)])
            i += 2
            continue
        elif tok in SINGLE_WORD and following == "(" and previous != ".":
            out.append(SINGLE_WORD[tok])
        elif tok == "date" and tokens[i + 1:i + 4] == ["and", "time", "("]:
            out.append("feel_date_and_time")
            i += 3
            continue
        elif tok == "date" and following == "(":
            out.append("feel_date")
        else:
            out.append(tok)
        i += 1
    return out


def _keyword_argument(before: list[str], brackets: list[str]) -> bool:
    """Whether an ``=`` follows a name that opens an argument of a call: ``f(a, key=...)``."""
    return bool(brackets) and brackets[-1] == "call" and len(before) >= 2 and before[-1].isidentifier() \
        and before[-2] in ("(", ",")


def _conditionals(tokens: list[str]) -> list[str]:
    """Rewrite every ``if c then a else b`` (nested too) into Python's ``((a) if (c) else (b))``.

    The rightmost FEEL ``if`` holds no other FEEL ``if``: it is rewritten first, and so on leftwards.
    """
    while True:
        found = _rightmost_feel_if(tokens)
        if found is None:
            return tokens
        start, then_at, else_at, end = found
        condition, body, orelse = tokens[start + 1:then_at], tokens[then_at + 1:else_at], tokens[else_at + 1:end]
        if not (condition and body and orelse):
            raise NotTranslatable(" ".join(tokens))
        tokens = [*tokens[:start], "(", "(", *body, ")", "if", "(", *condition, ")", "else", "(", *orelse, ")", ")",
                  *tokens[end:]]


def _rightmost_feel_if(tokens: list[str]) -> tuple[int, int, int, int] | None:
    for start in range(len(tokens) - 1, -1, -1):
        if tokens[start] != "if":
            continue
        then_at = _next_at_level(tokens, start + 1, "then")
        if then_at is None:
            continue
        else_at = _next_at_level(tokens, then_at + 1, "else")
        if else_at is None:
            raise NotTranslatable(" ".join(tokens))
        return start, then_at, else_at, _branch_end(tokens, else_at + 1)
    if "then" in tokens:
        raise NotTranslatable(" ".join(tokens))
    return None


def _scan(tokens: list[str], start: int, word: str) -> tuple[int, bool]:
    """The first ``word`` at the bracket level of ``start``: (its index, True); else where that level
    closes, or the end: (that index, False)."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i] in ("(", "[", "{"):
            depth += 1
        elif tokens[i] in (")", "]", "}"):
            depth -= 1
            if depth < 0:
                return i, False
        elif depth == 0 and tokens[i] == word:
            return i, True
    return len(tokens), False


def _next_at_level(tokens: list[str], start: int, word: str) -> int | None:
    at, found = _scan(tokens, start, word)
    return at if found else None


def _branch_end(tokens: list[str], start: int) -> int:
    """Where an ``else`` branch starting at ``start`` ends: a closing bracket or comma around it, or the end."""
    return _scan(tokens, start, ",")[0]


# ---------------------------------------------------------------- what translated expressions may call


def feel_not(value: Any) -> bool | None:
    """FEEL's ``not``: true for false, false for true, null for anything else (null included)."""
    return (not value) if isinstance(value, bool) else None


def feel_date(text: Any) -> date | None:
    """FEEL's ``date("YYYY-MM-DD")``; null for null."""
    return None if text is None else date.fromisoformat(str(text)[:10])


def feel_date_and_time(text: Any) -> datetime | None:
    """FEEL's ``date and time("...")``; null for null."""
    return None if text is None else datetime.fromisoformat(str(text))


def _texts(function: Callable[..., Any]) -> Callable[..., Any]:
    """A FEEL text function: null when an argument is null or not text (FEEL gives null, not an error)."""

    def call(*args: Any) -> Any:
        if any(not isinstance(arg, str) for arg in args):
            return None
        return function(*args)

    return call


def feel_substring(text: Any, start: Any, length: Any = None) -> str | None:
    """FEEL ``substring(text, start, length?)``: 1-based; a negative start counts from the end."""
    if not isinstance(text, str) or not isinstance(start, int) or (length is not None and not isinstance(length, int)):
        return None
    begin = start - 1 if start > 0 else len(text) + start
    return text[begin:] if length is None else text[begin:begin + length]


def feel_string(value: Any) -> str | None:
    """FEEL ``string(x)`` of a single value (a container gives null: its text could be unbounded)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float, Decimal, date, datetime)):
        return str(value) if not isinstance(value, int) or value.bit_length() < 10_000 else None
    return None


def feel_number(text: Any) -> Decimal | None:
    """FEEL ``number(text)``: null when the text is not a number."""
    if not isinstance(text, (str, int, float, Decimal)) or isinstance(text, bool) or len(str(text)) > 1000:
        return None
    try:
        return Decimal(str(text).strip())
    except InvalidOperation:
        return None


def _numbers(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(value: Any, *args: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            return None
        return function(value, *args)

    return call


def functions() -> dict[str, Any]:
    """The names translated expressions call, for the sandbox's scope (each bounded by its arguments' sizes)."""
    return {
        "feel_not": feel_not, "feel_date": feel_date, "feel_date_and_time": feel_date_and_time,
        "feel_contains": _texts(lambda text, part: part in text),
        "feel_starts_with": _texts(lambda text, part: text.startswith(part)),
        "feel_ends_with": _texts(lambda text, part: text.endswith(part)),
        "feel_upper_case": _texts(str.upper), "feel_lower_case": _texts(str.lower),
        "feel_string_length": _texts(len), "feel_substring": feel_substring,
        "feel_string": feel_string,
        "feel_number": feel_number,
        "feel_count": lambda items: len(items) if isinstance(items, (list, tuple)) else None,
        "feel_floor": _numbers(math.floor), "feel_ceiling": _numbers(math.ceil),
        "feel_decimal": _numbers(lambda value, scale: round(Decimal(str(value)), int(scale))),
    }
