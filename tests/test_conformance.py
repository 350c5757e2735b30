"""BPMN files drawn by other modelers (the MIWG reference models and their bpmn.io exports):
each one is accepted, or refused with problems that name the file, the element and the reason.
None crashes."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

import engine
from engine import refusals
from engine.clock import ManualClock
from engine.errors import DeployError

MIWG = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "miwg"
FILES = sorted(MIWG.glob("*/*.bpmn"))
ROLES = Path(__file__).resolve().parents[1] / "workflows" / "roles.toml"


def test_the_conformance_files_are_there():
    assert len(FILES) >= 40, f"expected the MIWG files under {MIWG}"


@pytest.fixture(scope="module")
def conformance_engine(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("miwg")
    with engine.open(f"sqlite:///{folder / 'miwg.sqlite'}", folder) as eng:
        yield eng


@pytest.mark.parametrize("bpmn", FILES, ids=[f"{f.parent.name[:9]}/{f.name}" for f in FILES])
def test_a_file_from_another_modeler_is_accepted_or_refused_element_by_element(bpmn, conformance_engine, tmp_path):
    shutil.copy(bpmn, tmp_path / bpmn.name)
    shutil.copy(ROLES, tmp_path / "roles.toml")
    try:
        versions = conformance_engine.repository.deploy(tmp_path, actor="owner1", note=bpmn.name)
    except DeployError as refused:
        assert_refused_clearly(refused, bpmn.name)
    else:
        assert versions, "accepted, so a version was made"


def _executable(text: str) -> str:
    """The file with every process marked ``isExecutable="true"`` (set or added)."""
    text = re.sub(r'(<(?:\w+:)?process\b[^>]*?)\s+isExecutable="[^"]*"', r"\1", text)
    return re.sub(r"<((?:\w+:)?process)\b", r'<\1 isExecutable="true"', text)


def _sample(schema: dict | None) -> dict:
    """Plausible data for a form: each property's first enum value or a value of its type."""
    data = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        kind = prop.get("type")
        kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
        data[name] = prop["enum"][0] if prop.get("enum") else {
            "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(kind, "x")
    return data


def drive(eng: engine.Engine, clock: ManualClock, number: str, steps: int = 200) -> str:
    """Work a case as people, the scheduler and senders of messages would, until it ends.

    Fails the moment the case waits for nothing: open, with no open task, no pending timer and
    no message it waits for. Returns ``archived``, or ``open`` when it still runs after ``steps``
    actions (a standing process repeats for ever).
    """
    for _ in range(steps):
        case = eng.cases.get(number)
        if case.status == "archived":
            return "archived"
        if case.open_tasks:
            view = eng.tasks.get(case.open_tasks[0].id)
            assert view.assignee, f"{number}: task {view.name} has nobody to do it"
            eng.tasks.complete(view.id, view.assignee, _sample(view.form))
        elif case.pending_deadlines:
            clock.set(max(clock.now(), min(d.due_at for d in case.pending_deadlines)) + timedelta(seconds=1))
            assert eng.timers.fire_due() >= 1
        elif case.waiting_for:
            eng.runtime.message(number, case.waiting_for[0], {}, actor="test")
        else:
            pytest.fail(f"case {number} of {case.process_id} waits for nothing")
    return "open"


def _in_one_lane(text: str) -> str:
    """The file with each process's own tasks and events in one lane, ``cs_specialist`` (a role of ROLES)."""
    root = etree.fromstring(text.encode("utf-8"))
    bpmn = "http://www.omg.org/spec/BPMN/20100524/MODEL"
    for process in root.iter(f"{{{bpmn}}}process"):
        for old in process.findall(f"{{{bpmn}}}laneSet"):
            process.remove(old)
        lanes = etree.Element(f"{{{bpmn}}}laneSet", id=f"{process.get('id')}_lanes")
        lane = etree.SubElement(lanes, f"{{{bpmn}}}lane", id=f"{process.get('id')}_lane", name="cs_specialist")
        for node in process:
            if isinstance(node.tag, str) and node.get("id") and etree.QName(node).localname not in (
                    "sequenceFlow", "dataObject", "dataObjectReference", "dataStoreReference", "association",
                    "textAnnotation", "ioSpecification", "property"):
                etree.SubElement(lane, f"{{{bpmn}}}flowNodeRef").text = node.get("id")
        documentation = [c for c in process if isinstance(c.tag, str) and etree.QName(c).localname == "documentation"]
        process.insert(len(documentation), lanes)
    return etree.tostring(root, encoding="unicode")


VARIANTS = {"executable": _executable, "executable, in a lane": lambda text: _in_one_lane(_executable(text))}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("bpmn", FILES, ids=[f"{f.parent.name[:9]}/{f.name}" for f in FILES])
def test_a_file_made_executable_is_refused_by_element_or_runs_without_waiting_for_nothing(bpmn, variant, tmp_path):
    """As a process owner would deploy it: ``isExecutable="true"`` set on every process (and, in the
    second variant, every element in one lane whose role has people, so manual and plain tasks can run)."""
    text = VARIANTS[variant](bpmn.read_text(encoding="utf-8"))
    outcome = _deploy_and_run(bpmn.name, text, tmp_path)
    if isinstance(outcome, DeployError):
        assert_refused_clearly(outcome, bpmn.name)


def assert_refused_clearly(refused: DeployError, name: str) -> None:
    """Each problem names the file and an element, has a code of our catalogue (not the parser's words
    passed on) and reads, in every language, without a traceback, a repr or an unfilled placeholder."""
    assert refused.problems
    for problem in refused.problems:
        assert problem.file == name, problem
        assert problem.element or problem.code == "process_not_executable", problem
        assert problem.code != "parser_refused" and problem.code in refusals.MESSAGES, problem
        for lang in refusals.LANGUAGES:
            words = problem.text(lang)
            assert not re.search(r"Traceback|<Element|0x[0-9a-f]{6}|\{\w+\}", words), problem


ONE_LANE_RUNS = [f for f in FILES if f.name.startswith("A.1.0")]  # start, three plain tasks, end


@pytest.mark.parametrize("bpmn", ONE_LANE_RUNS, ids=[f"{f.parent.name[:9]}/{f.name}" for f in ONE_LANE_RUNS])
def test_a_diagram_of_plain_tasks_from_another_modeler_runs_to_its_end_once_in_a_lane(bpmn, tmp_path):
    outcome = _deploy_and_run(bpmn.name, VARIANTS["executable, in a lane"](bpmn.read_text(encoding="utf-8")),
                              tmp_path)
    assert outcome == ["archived"]


def _deploy_and_run(name: str, text: str, tmp_path: Path) -> DeployError | list[str]:
    """Deploy the file alone (with the roles); refused: the error; accepted: start a case of each process
    and ``drive`` it, returning how each ended."""
    shutil.copy(ROLES, tmp_path / "roles.toml")
    clock = ManualClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    with engine.open(f"sqlite:///{tmp_path / 'miwg.sqlite'}", tmp_path, clock=clock) as eng:
        try:
            eng.repository.deploy_files({name: text, "roles.toml": ROLES.read_text(encoding="utf-8")},
                                        actor="owner1", note=name)
        except DeployError as refused:
            return refused
        eng.people.seed_demo()
        ended = []
        for process_id in eng.repository.versions()[-1].processes:
            number = eng.runtime.start(process_id, {"channel": "test"}, actor="cs1")
            ended.append(drive(eng, clock, number))
        return ended
