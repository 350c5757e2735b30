"""Sample data, read from the process owners' ``demo.json``: what handlers would type into each form,
a sample registration, and demo complaints moved through a few steps.

The data lives beside the diagrams it fits (``workflows/demo.json``, deployed with them), so a
renamed step or field is fixed in one file by the person who renamed it, never in Python.
``complaintflow demo`` / ``make run`` use the active deployed version's copy; the tests and the
benchmarks read the shipped folder's with ``from_folder``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.catalogue import DEMO_FILE
from engine.errors import EngineError, NotFound


@dataclass(frozen=True)
class DemoData:
    """``demo.json``: ``registration`` (a sample), ``forms`` (data per user task id), ``cases``.

    Each case is ``{"registration": {overrides}, "steps": [[task id, {overrides}], ...]}``.
    """

    sample: dict[str, Any] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, document: dict[str, Any]) -> DemoData:
        return cls(dict(document.get("registration") or {}), dict(document.get("forms") or {}),
                   list(document.get("cases") or []))

    def registration(self, **overrides: object) -> dict[str, Any]:
        """The sample registration with ``overrides`` (a fresh dict each time)."""
        data = json.loads(json.dumps(self.sample))
        data.update(overrides)
        return data


def from_folder(workflows_dir: str | Path) -> DemoData:
    """The demo data of a workflows folder (empty when it has no ``demo.json``)."""
    path = Path(workflows_dir) / DEMO_FILE
    return DemoData.of(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else DemoData()


def complete_step(eng, number: str, element: str, forms: dict[str, dict], **data: object) -> None:  # noqa: ANN001
    """Complete the case's open ``element`` task as its assignee, with ``forms[element]`` plus ``data``."""
    matches = [t for t in eng.tasks.for_case(number) if t.name == element]
    if len(matches) != 1:
        found = [t.name for t in eng.tasks.for_case(number)]
        raise EngineError(f"case {number}: expected one open {element!r} task, found {found}")
    form = dict(forms.get(element) or {})
    form.update(data)
    eng.tasks.complete(matches[0].id, matches[0].assignee, form)


def seed_demo_cases(eng) -> list[str]:  # noqa: ANN001
    """Start the active version's demo complaints and move each to its state; returns their numbers."""
    deployed = eng.repository.active()
    sample = DemoData.of(deployed.catalogue.demo)
    if not sample.cases:
        raise NotFound(f"the deployed version has no demo complaints ({DEMO_FILE})")
    numbers = []
    for case in sample.cases:
        number = eng.runtime.start(deployed.intake_process(), sample.registration(**case.get("registration", {})),
                                   "cs1")
        for element, values in case.get("steps", []):
            complete_step(eng, number, element, sample.forms, **values)
        numbers.append(number)
    return numbers
