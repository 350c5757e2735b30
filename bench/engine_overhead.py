"""Complaint lifecycles per second: the persisted engine against bare SpiffWorkflow, in one run.

Both sides execute the same ``workflows/`` files on the same lifecycle (``bench/lifecycle.py``).
The persisted side goes through the public engine API on a SQLite file: every step is a
transaction that loads the case, runs it, saves its state, mirrors tasks and timers, writes
the outbox and appends a hash-chained history event. Run: ``make bench``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lifecycle import START, load_specs, run_bare, run_persisted  # noqa: E402

import engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402

WORKFLOWS = ROOT / "workflows"


def measure(runs: int, rounds: int, bare, persisted) -> tuple[float, float]:  # noqa: ANN001
    """Lifecycles per second of each side, interleaved in rounds so drift hits both alike."""
    spent = {"bare": 0.0, "persisted": 0.0}
    per_round = max(1, runs // rounds)
    for _ in range(rounds):
        for name, action in (("bare", bare), ("persisted", persisted)):
            began = time.perf_counter()
            for _ in range(per_round):
                action()
            spent[name] += time.perf_counter() - began
    done = per_round * rounds
    return done / spent["bare"], done / spent["persisted"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="lifecycles per side (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args()

    spec, subprocess_specs, calendar = load_specs(WORKFLOWS)
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(START)
        with engine.open(f"sqlite:///{folder}/bench.sqlite", WORKFLOWS, clock=clock) as eng:
            eng.repository.deploy(actor="owner1", note="benchmark")
            eng.people.seed_demo()
            run_persisted(eng, clock)  # warm both sides: caches, imports
            run_bare(spec, subprocess_specs, calendar)
            bare, persisted = measure(args.runs, args.rounds, lambda: run_bare(spec, subprocess_specs, calendar),
                                      lambda: run_persisted(eng, clock))
            verified = eng.history.verify()
    print(f"lifecycles: {args.runs} per side, workflows: {WORKFLOWS}")
    print(f"bare SpiffWorkflow (in memory): {bare:8.1f} lifecycles/s")
    print(f"persisted engine (SQLite file): {persisted:8.1f} lifecycles/s")
    print(f"ratio persisted / bare:         {persisted / bare:8.3f}  (target >= 0.2)")
    print(f"history events verified after the run: {verified.checked}")


if __name__ == "__main__":
    main()
