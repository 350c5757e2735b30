"""The statistics of a seeded month whose figures are known in advance (issue 14): volume, on-time
rate, satisfaction, top defect types, repeat complaints; the involved viewer's figures and drill-down."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from engine.access import not_involved
from engine.reports import Reports
from engine.statistics import Dimension, Drill, PeriodKind, Query, period_of
from engine.store.models import Case
from tests.conftest import SHANGHAI
from tests.driver import (
    complete,
    complete_open,
    plan_through_review,
    registration,
    through_chain,
    to_responsibility,
)

KETTLE, FRYER = "智能电水壶", "空气炸锅"
SAME_CUSTOMER = "139-1111-2222"
# (defect type, satisfaction score, satisfaction level, contact, product) of the month's complaints
SEEDED = [
    ("overheating", 5, "very_satisfied", SAME_CUSTOMER, KETTLE),
    ("overheating", 4, "satisfied", "139 1111 2222", KETTLE),  # the same customer, written otherwise: a repeat
    ("overheating", 3, "neutral", "13911112222", KETTLE),  # and again
    ("battery_swelling", None, None, "137-0000-0001", KETTLE),
    ("battery_swelling", None, None, "137-0000-0002", FRYER),
    ("display_fault", None, None, "137-0000-0003", FRYER),
]
APRIL = date(2026, 4, 1)
KNOWN = {"volume": 7, "satisfaction_average": 4.0, "repeats": 2, "first_response": (6, 1),
         "top3": [("overheating", 3), ("battery_swelling", 2), ("display_fault", 1)]}


def through_root_cause(eng, number: str, defect: str) -> None:
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    complete_open(eng, number, ("root_cause_analysis",), defect_type=defect)
    through_chain(eng, number)


def to_callback_answered(eng, number: str, score: int, level: str) -> None:
    plan_through_review(eng, number)
    eng.runtime.message(number, "plan_confirmation", {"accepted": True}, "customer")
    complete(eng, number, "ship_exchange")
    complete(eng, number, "notify_result")
    complete(eng, number, "callback", reached=True, satisfaction=score, satisfaction_label=level)


def seed_month(eng, clock) -> dict[str, list[str]]:
    """The seeded month: six complaints handled at once, a seventh whose first response is late, one in
    March (the previous period) and one in May (another period)."""
    clock.set(datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI))
    march = eng.runtime.start("complaint", registration(), "cs1")
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    numbers = []
    for defect, score, level, contact, product in SEEDED:
        number = eng.runtime.start("complaint", registration(contact=contact, product_name=product), "cs1")
        through_root_cause(eng, number, defect)
        if score is not None:
            to_callback_answered(eng, number, score, level)
        numbers.append(number)
    late = eng.runtime.start("complaint", registration(contact=SAME_CUSTOMER, product_name=FRYER), "cs1")
    clock.advance(timedelta(minutes=15))
    eng.timers.fire_due()
    complete(eng, late, "first_response")
    clock.set(datetime(2026, 5, 2, 10, 0, tzinfo=SHANGHAI))
    may = eng.runtime.start("complaint", registration(), "cs1")
    return {"april": [*numbers, late], "late": [late], "march": [march], "may": [may]}


def april(**filters: str) -> Query:
    return Query(period_of(PeriodKind.MONTH, APRIL, SHANGHAI), {Dimension(k): v for k, v in filters.items()},
                 process="complaint")


def test_a_seeded_month_gives_the_figures_known_in_advance(eng, clock):
    seeded = seed_month(eng, clock)
    found = eng.statistics.figures(april())
    assert found["volume"] == KNOWN["volume"]
    assert found["previous"]["volume"] == 1
    assert found["ratings"]["average"] == KNOWN["satisfaction_average"]
    assert found["ratings"]["answered"] == 3
    assert {r["key"]: r["count"] for r in found["ratings"]["levels"]} == {
        "very_satisfied": 1, "satisfied": 1, "neutral": 1}
    assert [(r["key"], r["count"]) for r in found["defect_types"][:3]] == KNOWN["top3"]
    assert found["repeats"]["count"] == KNOWN["repeats"]
    [first] = [r for r in found["on_time"]["steps"] if r["step"] == "first_response"]
    assert (first["met"], first["missed"]) == KNOWN["first_response"]
    assert first["rate"] == round(6 / 7, 4)
    # The overall rate is the compliance report's, counted independently.
    summary = Reports(eng.db, eng.clock).compliance_summary(*(lambda p: (p.start, p.end))(april().period))
    met, missed = sum(r.met for r in summary), sum(r.missed for r in summary)
    assert found["on_time"]["rate"] == round(met / (met + missed), 4)
    assert {r["key"]: r["count"] for r in found["shares"]["product_name"]} == {KETTLE: 4, FRYER: 3}
    assert {r["key"]: r["count"] for r in found["shares"]["customer_class"]} == {"B": 7}
    # Drill-downs: the cases behind the top defect type, the repeats, the late first response.
    overheating = eng.statistics.cases(april(), Drill(Dimension.DEFECT_TYPE, "overheating"))
    assert sorted(c["number"] for c in overheating) == sorted(seeded["april"][:3])
    assert sorted(c["number"] for c in eng.statistics.cases(april(), Drill(repeat=True))) == sorted(
        seeded["april"][1:3])
    assert [c["number"] for c in eng.statistics.cases(april(), Drill(missed_step="first_response"))] == seeded["late"]
    # A filter narrows every figure.
    fryers = eng.statistics.figures(april(product_name=FRYER))
    assert fryers["volume"] == 3 and fryers["repeats"]["count"] == 0


def test_a_viewer_never_counts_or_drills_into_a_case_they_are_involved_in(eng, clock):
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    mine = eng.runtime.start("complaint", registration(involved_staff=["ql1"]), "cs1")
    other = eng.runtime.start("complaint", registration(), "cs1")
    for number in (mine, other):
        through_root_cause(eng, number, "overheating")
    everyone = eng.statistics.figures(april())
    assert everyone["volume"] == 2 and everyone["defect_types"][0]["count"] == 2
    query = Query(april().period, viewer="ql1", process="complaint")
    seen = eng.statistics.figures(query)
    assert seen["volume"] == 1 and seen["defect_types"] == [{"key": "overheating", "count": 1, "share": 1.0}]
    assert [c["number"] for c in eng.statistics.cases(query, Drill(Dimension.DEFECT_TYPE, "overheating"))] == [other]


def test_the_involved_viewers_figures_are_those_of_the_cases_left_once_theirs_are_taken_away(eng, clock):
    """Every figure over all the period's cases less the viewer's own equals the figure counted row by row
    over the cases they may see (scores, levels, compensation and shares included)."""
    clock.set(datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI))  # the previous period: one of each
    eng.runtime.start("complaint", registration(), "cs1")
    eng.runtime.start("complaint", registration(involved_staff=["ql1"]), "cs1")
    clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    for defect, score, level, contact, product in SEEDED[1:5]:
        number = eng.runtime.start("complaint", registration(contact=contact, product_name=product), "cs1")
        through_root_cause(eng, number, defect)
        if score is not None:
            to_callback_answered(eng, number, score, level)
    for score, level in ((1, "unsatisfied"), (5, "very_satisfied")):
        number = eng.runtime.start("complaint", registration(involved_staff=["ql1"], product_name=FRYER), "cs1")
        through_root_cause(eng, number, "display_fault")
        to_callback_answered(eng, number, score, level)
    eng.runtime.start("complaint", registration(involved_staff=["ql1"]), "cs1")
    query = replace(april(), viewer="ql1")
    seen = eng.statistics.figures(query)
    period = query.period
    with eng.db.reading() as conn:
        rows = conn.execute(select(Case).where(
            Case.created_at >= period.start, Case.created_at < period.end, Case.process_id == "complaint",
            not_involved(Case.id, "ql1"))).all()
        everyone = conn.scalar(select(func.count()).select_from(Case).where(
            Case.created_at >= period.start, Case.created_at < period.end, Case.process_id == "complaint"))
    assert everyone == len(rows) + 3 and seen["volume"] == len(rows) == 4

    def counted(column: str) -> dict[str, int]:
        return dict(Counter("-" if getattr(r, column) is None else str(getattr(r, column)) for r in rows))

    for name in ("complaint_type", "channel", "grade", "product_name", "department", "customer_class"):
        assert {r["key"]: r["count"] for r in seen["shares"][name]} == counted(name), name
    assert {r["key"]: r["count"] for r in seen["defect_types"]} == {
        k: v for k, v in counted("defect_type").items() if k != "-"}
    scores = [r.satisfaction for r in rows if r.satisfaction is not None]
    assert seen["ratings"]["average"] == round(sum(scores) / len(scores), 2) == 3.5
    assert seen["ratings"]["answered"] == len(scores)
    assert {r["key"]: r["count"] for r in seen["ratings"]["scores"]} == {
        k: v for k, v in counted("satisfaction").items() if k != "-"}
    assert {r["key"]: r["count"] for r in seen["ratings"]["levels"]} == {
        k: v for k, v in counted("satisfaction_level").items() if k != "-"}
    paid = [r.compensation for r in rows if r.compensation is not None and r.compensation > 0]
    assert seen["compensation"] == {"total": round(sum(paid), 2), "cases": len(paid)}
    assert seen["previous"]["volume"] == 1 and seen["previous"]["satisfaction_average"] is None
    assert seen["repeats"]["count"] == 1
    # Everyone else still counts the viewer's cases: the figures over all differ by exactly them.
    assert eng.statistics.figures(april())["ratings"]["answered"] == len(scores) + 2
