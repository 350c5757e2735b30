"""Improvement items as an engine mechanism, on a small diagram of its own (tests/bpmn/improvement/, named
unlike the shipped files): ``open_improvement`` and ``count_recurrence`` in a step's script open a case of the
process marked ``improvement = true``, linked, in the step's transaction; recurrence groups by field meanings,
counts each case once per calendar month and opens one item per group, also when cases race."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import engine
from engine.clock import ManualClock
from engine.errors import FormInvalid
from engine.store.enums import EventKind
from tests.conftest import ROOT
from tests.driver import at_once

HERE = ROOT / "tests" / "bpmn" / "improvement"


def _files() -> dict[str, str]:
    files = {name: (HERE / name).read_text(encoding="utf-8") for name in ("tickets.bpmn", "roles.toml")}
    files.update({f"forms/{form.name}": form.read_text(encoding="utf-8") for form in (HERE / "forms").glob("*.json")})
    return files


@pytest.fixture
def small(database_url: str, tmp_path: Path, clock: ManualClock):  # noqa: ANN201
    instance = engine.open(database_url, tmp_path, clock=clock)
    instance.repository.deploy_files(_files(), actor="owner1")
    instance.people.seed_demo()
    yield instance
    instance.close()


def ticket(eng, gadget: str = "lamp") -> str:  # noqa: ANN001
    return eng.runtime.start(eng.repository.active().intake_process(), {"gadget": gadget}, "cs1")


def inspect(eng, number: str, fault: str = "flicker", raise_item: bool = False) -> None:  # noqa: ANN001
    [step] = eng.tasks.for_case(number)
    eng.tasks.complete(step.id, step.assignee, {"fault": fault, "raise_item": raise_item})


def items(eng, number: str) -> list[str]:  # noqa: ANN001
    return [link.number for link in eng.improvements.links(number).items]


def test_a_step_opens_an_item_of_the_process_marked_improvement_linked_to_its_case(small):
    number = ticket(small)
    inspect(small, number, raise_item=True)
    [item] = items(small, number)
    case = small.cases.get(item)
    assert case.summary["origin"] == "asked"  # the improvement-source field gets the call's source
    assert (case.summary["about"], case.summary["why"]) == ("lamp", "asked by flicker")
    assert [t.name for t in small.tasks.for_case(item)] == ["weigh"]
    assert [(link.number, link.source) for link in small.improvements.links(item).cases] == [(number, "asked")]
    linked = [e for e in small.history.events(number) if e.kind == EventKind.IMPROVEMENT_LINKED]
    assert [e.payload["item"] for e in linked] == [item]
    assert small.history.events(item)[-1].payload["cases"] == [number]
    assert small.replay.run(number).ok and small.replay.run(item).ok


def test_an_item_the_start_form_refuses_fails_the_step_and_nothing_is_written(small):
    number = ticket(small, gadget="g" * 60)  # the item's form takes at most 50 characters of it
    [step] = small.tasks.for_case(number)
    with pytest.raises(FormInvalid):
        small.tasks.complete(step.id, step.assignee, {"fault": "flicker", "raise_item": True})
    assert items(small, number) == [] and [t.name for t in small.tasks.for_case(number)] == ["inspect"]
    assert small.cases.get(number).version == 1  # the step rolled back with the item


def test_more_than_the_threshold_in_a_group_opens_one_item_linked_to_all(small):
    first, second = ticket(small), ticket(small)
    inspect(small, first)
    inspect(small, second)
    other = ticket(small, gadget="fan")
    inspect(small, other)  # another product: another group
    assert items(small, first) == items(small, second) == items(small, other) == []
    third = ticket(small)
    inspect(small, third)
    [item] = items(small, third)
    assert [c.number for c in small.improvements.links(item).cases] == [first, second, third]
    summary = small.cases.get(item).summary
    assert (summary["origin"], summary["about"], summary["which_fault"]) == ("recurrence", "lamp", "flicker")
    fourth = ticket(small)
    inspect(small, fourth)
    assert items(small, fourth) == [item]


def test_a_new_calendar_month_counts_from_nothing(small, clock):
    for _ in range(2):
        inspect(small, number := ticket(small))
    clock.advance(timedelta(days=31))
    for _ in range(2):
        inspect(small, number := ticket(small))
    assert items(small, number) == []


def test_complaints_of_a_group_racing_open_exactly_one_item(small):
    numbers = [ticket(small) for _ in range(6)]
    steps = [small.tasks.for_case(n)[0] for n in numbers]
    results = at_once(*[lambda s=s: small.tasks.complete(s.id, s.assignee, {"fault": "flicker", "raise_item": False})
                        for s in steps])
    assert [r for r in results if isinstance(r, Exception)] == []
    found = {tuple(items(small, n)) for n in numbers}
    assert len(found) == 1 and len(next(iter(found))) == 1
    [item] = next(iter(found))
    assert sorted(c.number for c in small.improvements.links(item).cases) == sorted(numbers)
