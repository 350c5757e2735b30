"""Audit speed: history events verified per second, and replay time per finished case.

Verification: a SQLite file is filled with ``--events`` synthetic but correctly chained
events (per-case chains, cases written in turns of ``INTERLEAVE``; hashes from
``engine.history.event_hash``, inserted with SQLAlchemy Core executemany, each case's head
set to its last event); then the sequencer puts them all into the Merkle log (events/s),
every case chain and the log are verified in batches (constant memory) with a progress line,
the log is sealed, and verified against the seal.

Replay: ``--cases`` complaints are driven to the archive through the engine API on another
SQLite file with a manual clock (the lifecycle of ``make bench``), then each is replayed
from its history with ``eng.replay.run(number)``: median and max seconds per case.
Run: ``make bench-audit`` (1,000,000 events, 1,000 cases) or smaller with the options.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from lifecycle import INTAKE, START, run_persisted  # noqa: E402

import engine  # noqa: E402
from engine.clock import ManualClock  # noqa: E402
from engine.demo import from_folder  # noqa: E402

SHIPPED = from_folder(Path(__file__).resolve().parent.parent / "workflows")
FORM_DATA = SHIPPED.forms
from engine.history import GENESIS, SYSTEM, canonical, event_hash  # noqa: E402
from engine.store.models import Case, Event, StreamHead  # noqa: E402

WORKFLOWS = ROOT / "workflows"
INSERT_BATCH = 20_000
EVENTS_PER_CASE = 12
INTERLEAVE = 100  # cases written in turns: their events are spread over the log, as in production
STEPS = list(FORM_DATA)


def progress_line(label: str):  # noqa: ANN201
    shown = [0.0]

    def show(checked: int, total: int) -> None:
        now = time.monotonic()
        if checked < total and now - shown[0] < 0.5:
            return
        shown[0] = now
        print(f"\r  {label}: {checked:,} of {total:,} events ({100.0 * checked / max(total, 1):.0f}%)",
              end="", file=sys.stderr, flush=True)

    return show


def synthetic_events(count: int, heads: dict[str, tuple[int, str]]):  # noqa: ANN201
    """Plausible, correctly chained events: a case start then task completions with real form data.

    ``heads`` ends up holding each case's head (number of events, last hash).
    """
    at = START
    group = INTERLEAVE * EVENTS_PER_CASE
    for seq in range(1, count + 1):
        block, offset = divmod(seq - 1, group)
        step, lane = divmod(offset, INTERLEAVE)
        case_index = block * INTERLEAVE + lane
        number = f"2026{(case_index // 999) % 10000:04d}-WEB-{case_index % 999 + 1:03d}"
        at += timedelta(seconds=7)
        if step == 0:
            kind, actor, payload = "case_started", "cs1", {"process_id": "complaint", "data": INTAKE}
        else:
            element = STEPS[(case_index + step) % len(STEPS)]
            kind, actor, payload = "task_completed", "cs1", {"element": element, "data": FORM_DATA[element]}
        text = canonical(payload)
        n, prev = heads.get(number, (0, GENESIS))
        digest = event_hash(prev, number, n + 1, number, at, actor, kind, 1, text)
        heads[number] = (n + 1, digest)
        yield {"seq": seq, "stream": number, "stream_seq": n + 1, "case_number": number, "at": at, "actor": actor,
               "kind": kind, "payload": text, "deployment_version": 1, "prev_hash": prev, "hash": digest}


def build_history(eng: engine.Engine, count: int) -> float:
    """Insert ``count`` chained events (and their cases' heads) instead of what is there; seconds taken."""
    table, head = Event.__table__, StreamHead.__table__
    began = time.perf_counter()
    heads: dict[str, tuple[int, str]] = {}
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(table))
        conn.execute(sa.delete(head).where(head.c.stream != SYSTEM))
        conn.execute(sa.update(head).values(seq=0, hash=GENESIS))
        batch = []
        for row in synthetic_events(count, heads):
            batch.append(row)
            if len(batch) == INSERT_BATCH:
                conn.execute(sa.insert(table), batch)
                print(f"\r  building: {batch[-1]['seq']:,} of {count:,} events", end="", file=sys.stderr, flush=True)
                batch = []
        if batch:
            conn.execute(sa.insert(table), batch)
        cases = Case.__table__  # a case's head is on its row, a stream of no case's in stream_head
        conn.execute(sa.update(cases).values(head_seq=0, head_hash=None))
        known = set(conn.scalars(sa.select(cases.c.number)))
        others = [{"stream": s, "seq": n, "hash": h} for s, (n, h) in heads.items() if s not in known]
        if others:
            conn.execute(sa.insert(head), others)
        for s, (n, h) in heads.items():
            if s in known:
                conn.execute(sa.update(cases).where(cases.c.number == s).values(head_seq=n, head_hash=h))
    print(file=sys.stderr)
    return time.perf_counter() - began


def audit_verification(folder: Path, count: int) -> None:
    with engine.open(f"sqlite:///{folder}/audit.sqlite", WORKFLOWS, clock=ManualClock(START)) as eng:
        built = build_history(eng, count)
        size = Path(f"{folder}/audit.sqlite").stat().st_size
        print(f"history: {count:,} events built in {built:.1f} s ({size / 1e6:.0f} MB SQLite file)")

        began = time.perf_counter()
        sequenced = eng.history.sequence()
        spent = time.perf_counter() - began
        assert sequenced == count, sequenced
        print(f"sequence:            {count / spent:12,.0f} events/s  ({spent:.1f} s for {count:,}, "
              f"root {eng.history.tree_head().root[:16]}…)")

        began = time.perf_counter()
        with eng.db.read() as session:  # the floor: every event read once, in id order, nothing checked
            after, rows = 0, 0
            while batch := session.execute(sa.select(Event.__table__).where(Event.seq > after).order_by(Event.seq)
                                           .limit(5000)).all():
                after, rows = batch[-1].seq, rows + len(batch)
        scanned = time.perf_counter() - began
        print(f"read every event:    {count / scanned:12,.0f} events/s  (the floor for any verify)")

        began = time.perf_counter()
        result = eng.history.verify(progress_line("verifying"))
        spent = time.perf_counter() - began
        print(file=sys.stderr)
        assert result.ok and result.checked == count, result
        print(f"verify:              {count / spent:12,.0f} events/s  ({spent:.1f} s for {count:,}: every case "
              f"chain, then every log entry and tree head; {spent / scanned:.1f} × the plain read)")

        key = os.environ.get("COMPLAINTFLOW_SEAL_KEY") or "benchmark seal key, not a secret"
        began = time.perf_counter()
        path = eng.seals.seal(folder / "seals", key, progress=progress_line("sealing"))
        sealed = time.perf_counter() - began
        print(file=sys.stderr)
        seal = eng.seals.load(path, key)
        began = time.perf_counter()
        against = eng.seals.verify_against(seal, progress_line("against the seal"))
        spent = time.perf_counter() - began
        print(file=sys.stderr)
        assert against.ok, against
        print(f"seal (log + sign):   {sealed:12.1f} s   ({json.dumps(path.name)}, {path.stat().st_size} bytes)")
        print(f"verify against seal: {count / spent:12,.0f} events/s  (the log only)")


def replay_available(eng: engine.Engine) -> bool:
    return importlib.util.find_spec("engine.replay") is not None and hasattr(getattr(eng, "replay", None), "run")


def replay_times(eng: engine.Engine, numbers: list[str]) -> tuple[list[float], int]:
    """Seconds per replayed case, and how many replays did not reach the recorded state."""
    times, differing = [], 0
    for number in numbers:
        began = time.perf_counter()
        report = eng.replay.run(number)
        times.append(time.perf_counter() - began)
        differing += 0 if getattr(report, "ok", bool(report)) else 1
    return times, differing


def audit_replay(folder: Path, cases: int) -> None:
    if importlib.util.find_spec("engine.replay") is None:
        print("replay: not available (engine/replay.py missing)")
        return
    clock = ManualClock(START)
    with engine.open(f"sqlite:///{folder}/cases.sqlite", WORKFLOWS, clock=clock) as eng:
        if not replay_available(eng):
            print("replay: not available (engine/replay.py missing)")
            return
        eng.repository.deploy(actor="owner1", note="benchmark")
        eng.people.seed_demo()
        began = time.perf_counter()
        numbers = []
        for i in range(cases):
            numbers.append(run_persisted(eng, clock))
            print(f"\r  finishing cases: {i + 1:,} of {cases:,}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        driven = time.perf_counter() - began
        events = eng.history.verify().checked
        print(f"cases: {cases:,} finished in {driven:.1f} s ({events:,} history events)")
        times, differing = replay_times(eng, numbers)
    print(f"replay per case:     median {statistics.median(times) * 1000:8.1f} ms, "
          f"max {max(times) * 1000:8.1f} ms, total {sum(times):.1f} s")
    print(f"replays that reach the recorded state: {cases - differing} of {cases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="history events to verify (default 1,000,000)")
    parser.add_argument("--cases", type=int, default=1000, help="finished cases to replay (default 1,000)")
    parser.add_argument("--dir", default=None, help="keep the SQLite files here (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("audit.sqlite", "cases.sqlite"):
            for suffix in ("", "-wal", "-shm"):
                (folder / (name + suffix)).unlink(missing_ok=True)
        shutil.rmtree(folder / "seals", ignore_errors=True)
        if args.events > 0:
            audit_verification(folder, args.events)
        if args.cases > 0:
            audit_replay(folder, args.cases)


if __name__ == "__main__":
    main()
