"""Complaint lifecycles per second: the persisted engine against bare SpiffWorkflow, in one run.

Both sides execute the same ``workflows/`` files on the same lifecycle (``bench/lifecycle.py``).
The persisted side goes through the public engine API on a SQLite file: every step is a
transaction that loads the case, runs it, saves its state, mirrors tasks and timers, writes
the outbox and appends a hash-chained history event. Run: ``make bench``.

It also times one completion early and late in a long-lived case (``tests/bpmn/repeat.bpmn``:
one user task done again and again): completions 5-15 of a young case interleaved with
completions 195-205 of an old one, so a step's cost does not grow with the case's age.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lifecycle import START, load_specs, run_bare, run_persisted  # noqa: E402

import engine  # noqa: E402
from engine.casework import WorkflowCache  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.repository import read_workflow_files  # noqa: E402

WORKFLOWS = ROOT / "workflows"
REPEAT = ROOT / "tests" / "bpmn"


def deployed_files() -> dict[str, str]:
    """``workflows/`` plus the repeat diagram (a process of its own: the complaint runs as before)."""
    files = read_workflow_files(WORKFLOWS)
    files["repeat.bpmn"] = (REPEAT / "repeat.bpmn").read_text(encoding="utf-8")
    files["forms/repeat_step.json"] = (REPEAT / "forms" / "repeat_step.json").read_text(encoding="utf-8")
    return files


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
now = time.perf_counter  # the clock every figure is taken with (``--clock``)


def complete_next(eng, number: str) -> float:  # noqa: ANN001
    """Seconds one completion of the repeat case takes."""
    (task,) = eng.tasks.for_case(number)
    began = now()
    eng.tasks.complete(task.id, task.assignee, {"again": True})
    return now() - began


def aging(eng) -> tuple[float, float, int]:  # noqa: ANN001
    """Median seconds per completion at steps 5-15 and 195-205, interleaved; statements at step 200."""
    old = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for _ in range(194):
        complete_next(eng, old)
    young = eng.runtime.start("repeat", {"channel": "web"}, "cs1")
    for _ in range(4):
        complete_next(eng, young)
    early, late = [], []
    for _ in range(11):
        early.append(complete_next(eng, young))
        late.append(complete_next(eng, old))
    statements = []
    event.listen(eng.db.engine, "before_cursor_execute", lambda *args: statements.append(1))
    (task,) = eng.tasks.for_case(old)
    statements.clear()
    eng.tasks.complete(task.id, task.assignee, {"again": True})
    return statistics.median(early), statistics.median(late), len(statements)


def unsandboxed(eng, calendar):  # noqa: ANN001, ANN201
    """The active deployment's script engine as it was before ``engine/sandbox.py``: plain eval/exec with
    a reduced builtins dict and the engine's functions (for the "before" figure only)."""
    import builtins

    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

    from engine import spiff

    names = ["abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "frozenset", "int", "isinstance",
             "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
             "tuple", "zip", "True", "False", "None"]
    environment = TaskDataEnvironment({"__builtins__": {n: getattr(builtins, n) for n in names},
                                       **spiff.engine_functions(calendar)})
    return PythonScriptEngine(environment=environment)


def measure(runs: int, rounds: int, bare, persisted) -> tuple[float, float]:  # noqa: ANN001
    """Lifecycles per second of each side, interleaved in rounds so drift hits both alike."""
    spent = {"bare": 0.0, "persisted": 0.0}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, action in (("bare", bare), ("persisted", persisted)):
            began = now()
            for _ in range(per_round):
                action()
            spent[name] += now() - began
    done = per_round * rounds
    return done / spent["bare"], done / spent["persisted"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="lifecycles per side (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall: elapsed time (default); cpu: this process's CPU time, which other jobs on a "
                             "loaded machine do not inflate (SQLite runs in the process, so its work is counted)")
    args = parser.parse_args()
    global now
    now = CLOCKS[args.clock]

    spec, subprocess_specs, calendar = load_specs(WORKFLOWS)
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(START)
        with engine.open(f"sqlite:///{folder}/bench.sqlite", WORKFLOWS, clock=clock) as eng:
            eng.repository.deploy_files(deployed_files(), actor="owner1", note="benchmark")
            eng.people.seed_demo()
            run_persisted(eng, clock)  # warm both sides: caches, imports
            run_bare(spec, subprocess_specs, calendar)
            bare, persisted = measure(args.runs, args.rounds, lambda: run_bare(spec, subprocess_specs, calendar),
                                      lambda: run_persisted(eng, clock))
            # Before the sandbox: the same persisted side with the old unguarded script environment.
            deployment = eng.repository.active()
            sandboxed, deployment.script_engine = deployment.script_engine, unsandboxed(eng, deployment.calendar)
            bare_before, before = measure(args.runs, args.rounds, lambda: run_bare(spec, subprocess_specs, calendar),
                                          lambda: run_persisted(eng, clock))
            deployment.script_engine = sandboxed
            # As in a pool of workers facing thousands of cases: every step loads its case from the database.
            work = eng.runtime._work
            cached, work._cache = work._cache, WorkflowCache(size=0)
            bare_again, uncached = measure(args.runs // 2, args.rounds,
                                           lambda: run_bare(spec, subprocess_specs, calendar),
                                           lambda: run_persisted(eng, clock))
            work._cache = cached
            early, late, statements = aging(eng)
            verified = eng.history.verify()
    print(f"lifecycles: {args.runs} per side, workflows: {WORKFLOWS}, clock: {args.clock}")
    print(f"bare SpiffWorkflow (in memory): {bare:8.1f} lifecycles/s")
    print(f"persisted engine (SQLite file): {persisted:8.1f} lifecycles/s")
    print(f"ratio persisted / bare:         {persisted / bare:8.3f}  (target >= 0.4; scripts in engine/sandbox.py)")
    print(f"  before the sandbox:           {before / bare_before:8.3f}  (same run, scripts unguarded; >= 0.25 after)")
    print(f"ratio with no workflow cache:   {uncached / bare_again:8.3f}  (every step loads the case)")
    print(f"one completion at step 10:      {early * 1000:8.2f} ms  (median of steps 5-15)")
    print(f"one completion at step 200:     {late * 1000:8.2f} ms  (median of steps 195-205, interleaved)")
    print(f"ratio step 200 / step 10:       {late / early:8.2f}  (target <= 2)")
    print(f"statements in one completion:   {statements:8d}  (at step 200, the history's append included)")
    print(f"history events verified after the run: {verified.checked}")


if __name__ == "__main__":
    main()
