"""Reading a statistics request (page, export, API): the period, the filters and the figure drilled into.

Bad input is a ``FormInvalid`` naming the parameter (a 422 on the API, a 400 on the pages), never a
500: dates are YYYY-MM-DD within the years any case can have, filters are short text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from engine.errors import FormInvalid
from engine.statistics import FILTERS, STATISTICS_RIGHT, Dimension, Drill, PeriodKind, Query, period_of
from web.cases.display import business_zone
from web.services import engine

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
MAX_DAYS = 3 * 366  # a custom period of at most three years
MAX_TEXT = 200


def may_see(username: str) -> bool:
    return engine().access.has_right(username, STATISTICS_RIGHT)


def _day(args: Mapping[str, str], name: str, default: date) -> date:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise FormInvalid({name: "a date is written YYYY-MM-DD"}) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FormInvalid({name: f"dates run from {FIRST_DAY} to {LAST_DAY}"})
    return day


def parse(args: Mapping[str, str], viewer: str) -> Query:
    """The query of ``args``: ``period`` (week | month | quarter | custom), ``from`` (and ``to`` for custom),
    and the filters ``complaint_type``, ``channel``, ``grade``, ``product_name``."""
    try:
        kind = PeriodKind((args.get("period") or PeriodKind.MONTH.value).strip())
    except ValueError:
        raise FormInvalid({"period": "one of week, month, quarter, custom"}) from None
    zone = business_zone()
    today = engine().clock.now().astimezone(zone).date()
    first = _day(args, "from", today)
    last = _day(args, "to", first) if kind == PeriodKind.CUSTOM else None
    if last is not None and last < first:
        raise FormInvalid({"to": "the end of the period must not be before its start"})
    if last is not None and (last - first).days > MAX_DAYS:
        raise FormInvalid({"to": f"a custom period is at most {MAX_DAYS} days"})
    filters = {}
    for dimension in FILTERS:
        value = (args.get(dimension.value) or "").strip()
        if len(value) > MAX_TEXT:
            raise FormInvalid({dimension.value: f"at most {MAX_TEXT} characters"})
        if value:
            filters[dimension] = value
    try:
        process = engine().repository.active().catalogue.intake_process
    except Exception:  # noqa: BLE001 - nothing deployed: every case counts (there are none)
        process = None
    return Query(period_of(kind, first, zone, last), filters, viewer, process)


def drill(args: Mapping[str, str]) -> Drill:
    """The figure drilled into: ``dimension`` + ``value``, ``repeat=1``, ``missed_step`` or ``compensated=1``."""
    name = (args.get("dimension") or "").strip()
    dimension = None
    if name:
        try:
            dimension = Dimension(name)
        except ValueError:
            raise FormInvalid({"dimension": "one of " + ", ".join(d.value for d in Dimension)}) from None
    value, step = (args.get("value") or "").strip(), (args.get("missed_step") or "").strip()
    if len(value) > MAX_TEXT or len(step) > MAX_TEXT:
        raise FormInvalid({"value": f"at most {MAX_TEXT} characters"})
    return Drill(dimension, value, args.get("repeat") == "1", step, args.get("compensated") == "1")


def link_args(query: Query) -> dict[str, str]:
    """The URL parameters that give ``query`` again (drill-down links, the export, the report's figures)."""
    found = {"period": query.period.kind.value, "from": query.period.start.date().isoformat()}
    if query.period.kind == PeriodKind.CUSTOM:
        found["to"] = query.period.last_day.isoformat()
    found.update({d.value: v for d, v in query.filters.items() if v})
    return found
