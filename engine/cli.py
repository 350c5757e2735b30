"""``complaintflow``: deploy, seed demo data, run the scheduler, look at the state.

Settings come from the environment: ``COMPLAINTFLOW_DATABASE_URL`` (default a SQLite file
under ``instance/``), ``COMPLAINTFLOW_WORKFLOWS`` (default ``workflows``) and
``COMPLAINTFLOW_CLOCK=manual`` for a manual clock (demos and end-to-end tests).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client import start_http_server

import engine
from engine import instance, proofs, refusals
from engine.calendar import CalendarConfig
from engine.clock import ManualClock
from engine.demo import seed_demo_cases
from engine.errors import DatabaseUnavailable, DeployError, EngineError, NotFound
from engine.lease import someone_holds
from engine.metrics import scheduler_registry
from engine.store.db import Timeouts


def database_url() -> str:
    """The database of ``COMPLAINTFLOW_INSTANCE`` (or ``COMPLAINTFLOW_DATABASE_URL``), as the web app uses."""
    return instance.resolve(create=True).database_url


# Commands that read the whole history or many cases: no statement time limit for them.
LONG_COMMANDS = {"verify", "seal", "purge", "migrate", "replay", "prove", "prove-consistency"}


def open_engine(long_running: bool = False) -> engine.Engine:
    clock = ManualClock() if os.environ.get("COMPLAINTFLOW_CLOCK") == "manual" else None
    timeouts = Timeouts.from_environment()
    return engine.open(database_url(), os.environ.get("COMPLAINTFLOW_WORKFLOWS", "workflows"), clock=clock,
                       timeouts=timeouts.unbounded() if long_running else timeouts)


def cmd_deploy(eng: engine.Engine, args: argparse.Namespace) -> int:
    try:
        versions = eng.repository.deploy(Path(args.dir) if args.dir else None, actor=args.actor, note=args.note)
    except DeployError as exc:
        lang = refusals.cli_language()
        print("部署被拒绝，未做任何更改：" if lang == "zh" else "Deployment refused; nothing changed:", file=sys.stderr)
        for problem in exc.problems:
            where = problem.file + (f" [{problem.element}]" if problem.element else "")
            print(f"  {where}: {problem.text(lang)}", file=sys.stderr)
        return 2
    if not versions:
        print(f"No change: version {eng.repository.versions()[-1].version} is already these files.")
    for v in versions:
        print(f"Deployed version {v.version} ({', '.join(v.processes)}), hash {v.content_hash[:12]}")
    for number in eng.runtime.start_standing():
        print(f"Started standing process case {number}")
    return 0


def cmd_demo(eng: engine.Engine, args: argparse.Namespace) -> int:
    eng.repository.deploy(actor="owner1", note="demo")
    people = eng.people.seed_demo()
    eng.runtime.start_standing()
    print(f"Demo people (password 'demo'): {', '.join(people)}")
    existing = eng.cases.numbers(process_id=eng.repository.active().intake_process())
    if existing and not args.again:
        print(f"{len(existing)} complaints already exist; not adding demo complaints (use --again).")
        return 0
    for number in seed_demo_cases(eng):
        print(f"  demo complaint {number}")
    return 0


def cmd_status(eng: engine.Engine, args: argparse.Namespace) -> int:
    try:  # the deployed calendar's zone, not the folder on disk (it may hold an undeployed edit)
        zone = eng.repository.active().calendar.zone
    except NotFound:
        zone = ZoneInfo(CalendarConfig().timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%m-%d %H:%M") if moment else "-"

    versions = eng.repository.versions()
    print(f"Database:   {eng.db.url}")
    print(f"Deployed:   {'v' + str(versions[-1].version) if versions else 'nothing yet'}")
    print(f"Now:        {eng.clock.now().astimezone(zone).isoformat(timespec='seconds')} ({zone.key})")
    print(f"Next timer: {local(eng.timers.next_due()) if eng.timers.next_due() else 'none'}")
    alive, holder = someone_holds(eng.db)
    print(f"Scheduler:  {'lease held by ' + str(holder) if alive else 'none running (no live lease holder)'}")
    print(f"History:    {'intact' if (check := eng.history.verify()).ok else 'BROKEN'}: {check}")
    print()
    print(f"{'case':<22} {'status':<9} {'grade':<8} {'tier':<4} waiting on (assignee, due {zone.key})")
    for number in eng.cases.numbers():
        case = eng.cases.get(number)
        waiting = [f"{t.name} ({t.assignee}, {local(t.due_at)})" for t in case.open_tasks]
        waiting += [f"message {m}" for m in case.waiting_for]
        if not waiting and case.pending_deadlines:
            soonest = min(case.pending_deadlines, key=lambda d: d.due_at)
            waiting = [f"timer {soonest.element_id} ({local(soonest.due_at)})"]
        print(f"{number:<22} {case.status:<9} {case.grade or '-':<8} {case.escalation_tier:<4} "
              f"{', '.join(waiting) or '-'}")
    return 0


def cmd_scheduler(eng: engine.Engine, args: argparse.Namespace) -> int:
    """The lease-elected scheduler (``elect``) or an extra firing worker (PostgreSQL only)."""
    elect = args.command == "scheduler"
    if not elect and eng.db.dialect != "postgresql":
        print("error: extra workers need PostgreSQL; on SQLite run one `complaintflow scheduler`", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    metrics = None
    if args.metrics_port is not None:
        registry, metrics = scheduler_registry(eng.health)
        start_http_server(args.metrics_port, addr=args.metrics_host, registry=registry)
    role = "scheduler (lease-elected)" if elect else "worker"
    senders = eng.notifications.start(stop, args.senders)
    print(f"{role} running with {args.workers} firing thread(s) and {len(senders)} delivery thread(s) on "
          f"{', '.join(eng.notifications.settings.channels)} (Ctrl-C to stop).", flush=True)
    eng.timers.run_scheduler(stop=stop, poll_seconds=args.poll, workers=args.workers, elect=elect,
                             service=args.service, metrics=metrics, housekeeping=eng.duties() if elect else ())
    return 0


def cmd_migrate(eng: engine.Engine, args: argparse.Namespace) -> int:
    numbers = args.numbers
    if args.all:
        results = eng.migration.migrate_all(args.actor, args.to, dry_run=args.dry_run)
    else:
        move = eng.migration.try_migrate
        results = [eng.migration.check(n, args.to) if args.dry_run else move(n, args.actor, args.to)
                   for n in numbers]
    refused = 0
    for r in results:
        if r.migrated:
            print(f"{r.number}: {'can move' if args.dry_run else 'moved'} v{r.from_version} -> v{r.to_version}")
        else:
            refused += 1
            print(f"{r.number}: stays on v{r.from_version}: " + "; ".join(r.reasons))
    return 1 if refused else 0


def progress_line(label: str) -> Callable[[int, int], None]:
    """A progress callback that rewrites one line on stderr (at most a few times a second)."""
    shown = [0.0]

    def show(checked: int, total: int) -> None:
        now = time.monotonic()
        if checked < total and now - shown[0] < 0.25:
            return
        shown[0] = now
        percent = 100.0 * checked / total if total else 100.0
        print(f"\r{label}: {checked:,} of {total:,} events ({percent:.0f}%)", end="", file=sys.stderr, flush=True)

    return show


def cmd_purge(eng: engine.Engine, args: argparse.Namespace) -> int:
    """Purge archived cases past their retention period (their events keep their digests in the chain)."""
    if args.dry_run:
        due = eng.retention.due(args.days)
        print(f"{len(due)} archived case(s) are past retention: {' '.join(due) or '-'}")
        return 0
    for result in eng.retention.purge(args.actor, args.days):
        print(f"{result.number}: purged {result.events} event payload(s), {result.attachments} attachment(s)")
    return 0


def cmd_verify(eng: engine.Engine, args: argparse.Namespace) -> int:
    progress = progress_line("verifying")
    if args.seal:
        seals = [s for p in args.seal for s in (eng.seals.load_folder(p) if Path(p).is_dir() else [eng.seals.load(p)])]
        result = eng.seals.verify_against(seals, progress, whole_chain=True)
    else:
        seals, result = [], eng.history.verify(progress)
    print(file=sys.stderr)
    against = f" and {len(seals)} seal(s) up to log size {max(s.size for s in seals)}" if seals else ""
    if result.ok:
        print(f"History intact: {result.checked} events in their case chains and the log verified{against}.")
    else:
        where = (f"event {result.first_bad_seq}" if result.first_bad_seq is not None
                 else f"log entry {result.log_index}" if result.log_index is not None
                 else f"{result.stream} event {result.stream_seq}")
        print(f"History BROKEN at {where}: {result.reason} ({result.checked} events before it are intact).")
    return 0 if result.ok else 1


def cmd_seal(eng: engine.Engine, args: argparse.Namespace) -> int:
    def report(path: Path) -> None:
        if path != shown[-1]:
            made = eng.seals.load(path)
            print(f"Sealed the log at size {made.size} (root {made.root[:16]}…): {path}", flush=True)
            shown.append(path)

    shown: list[Path | None] = [None]
    if args.every:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        eng.seals.run(args.folder, None, args.every, stop, on_seal=report)
        return 0
    path = eng.seals.seal(args.folder, progress=progress_line("verifying the log before sealing"))
    print(file=sys.stderr)
    report(path)
    return 0


def cmd_prove(eng: engine.Engine, args: argparse.Namespace) -> int:
    """Seal what is new (sequencing first), then prove the case's events are in that sealed log."""
    path = eng.seals.seal(args.folder)
    seal = eng.seals.load(path)
    proof = eng.proofs.build(args.number, seal, json.loads(path.read_text(encoding="utf-8")))
    text = json.dumps(proof, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Proof of {len(proof['events'])} events of {args.number} in the log sealed at size {seal.size}: "
              f"{args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_prove_consistency(eng: engine.Engine, args: argparse.Namespace) -> int:
    """Show that the log sealed by OLD is a prefix of the log sealed by NEW."""
    old, new = eng.seals.load(args.old), eng.seals.load(args.new)
    documents = [json.loads(Path(p).read_text(encoding="utf-8")) for p in (args.old, args.new)]
    proof = eng.proofs.consistency(old, documents[0], new, documents[1])
    text = json.dumps(proof, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"Consistency proof from log size {old.size} to {new.size} ({len(proof['proof'])} hashes): {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_check_proof(_eng: engine.Engine | None, args: argparse.Namespace) -> int:
    """Needs no database: the audit paths need nothing, the seal's signature needs the seal key."""
    try:
        document = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read proof {args.file}: {exc}", file=sys.stderr)
        return 2
    result = proofs.check(document)
    for problem in result.problems:
        print(f"  {problem}")
    signed = "and its seal's signature checked" if result.signature_checked else (
        "but its seal's signature NOT checked (no seal key given)")
    if document.get("format") == proofs.CONSISTENCY_FORMAT:
        sizes = f"log size {document['old']['size']} to {document['new']['size']}"
        print(f"Consistency proof holds from {sizes}, {signed}." if result.ok
              else f"Consistency proof FAILS ({sizes}).")
        return 0 if result.ok else 1
    if result.ok:
        print(f"Proof holds: {result.events} events of {document['case']} lead to the sealed root of log size "
              f"{document['tree_head']['size']}, chained from the case's first event, {signed}.")
        return 0
    print(f"Proof FAILS for {document['case']}: {len(result.problems)} problem(s).")
    return 1


def cmd_replay(eng: engine.Engine, args: argparse.Namespace) -> int:
    report = eng.replay.run(args.number)
    for step in report.steps:
        seq = "" if step.seq is None else str(step.seq)
        if not step.workflow_input:
            outcome = "not a workflow input"
        else:
            outcome = "ok" if step.ok else f"DIFFERS: {step.difference}"
        print(f"{seq:>7} {step.kind:<17} {step.element_or_name or '-':<34} {outcome}")
    if report.ok:
        inputs = sum(1 for s in report.steps if s.workflow_input and s.seq is not None)
        print(f"Replay of {report.number}: {inputs} workflow steps reach the recorded state.")
        return 0
    where = report.first_difference
    at = "the end (the case as stored)" if where.seq is None else f"event {where.seq} ({where.kind})"
    print(f"Replay of {report.number}: differs at {at}: {where.difference}")
    return 1


Handler = Callable[[engine.Engine | None, argparse.Namespace], int]


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("spiff", "SpiffWorkflow", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_commands(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """The engine's commands; the web's command line adds ``serve`` and ``run`` to these."""
    deploy = sub.add_parser("deploy", help="validate and deploy a workflows folder")
    deploy.add_argument("dir", nargs="?", help="folder (default: COMPLAINTFLOW_WORKFLOWS or workflows/)")
    deploy.add_argument("--actor", default="owner1")
    deploy.add_argument("--note", default="")
    demo = sub.add_parser("demo", help="deploy, create demo people and demo complaints")
    demo.add_argument("--again", action="store_true", help="add demo complaints even if some exist")
    sub.add_parser("status", help="show deployed version, timers and cases")
    scheduler = sub.add_parser("scheduler", help="run the timer scheduler (lease-elected; its own process)")
    worker = sub.add_parser("worker", help="an extra timer-firing process (PostgreSQL; any machine)")
    for each in (scheduler, worker):
        each.add_argument("--poll", type=float, default=5.0, help="seconds between polls for new timers")
        each.add_argument("--workers", type=int, default=1, help="firing threads (SQLite: always 1)")
        each.add_argument("--senders", type=int, default=1, help="threads delivering notices (SQLite: always 1)")
        each.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
        each.add_argument("--metrics-host", default="0.0.0.0", help="address for --metrics-port")
    scheduler.add_argument("--service", default=None, help="service name in the lease holder id "
                           "(default COMPLAINTFLOW_SERVICE_NAME or 'scheduler'; the id is host:service)")
    worker.set_defaults(service=None)
    verify = sub.add_parser("verify", help="recompute every case chain and the log (and check them against seals)")
    verify.add_argument("--seal", action="append", metavar="FILE", help="a seal file or a folder of seals "
                        "(repeatable); needs COMPLAINTFLOW_SEAL_KEY or COMPLAINTFLOW_SEAL_KEY_FILE")
    seal = sub.add_parser("seal", help="sequence the log, sign its tree head into a seal file")
    seal.add_argument("--folder", default=os.environ.get("COMPLAINTFLOW_SEAL_DIR") or str(instance.resolve().seals),
                      help="where seals go (default: COMPLAINTFLOW_SEAL_DIR or instance/seals)")
    seal.add_argument("--every", type=float, default=None, metavar="SECONDS", help="keep sealing at this interval")
    prove = sub.add_parser("prove", help="write a JSON proof that a case's events are in the sealed log")
    prove.add_argument("number", help="complaint number")
    prove.add_argument("--out", metavar="FILE", help="where the proof goes (default: standard output)")
    prove.add_argument("--folder", default=os.environ.get("COMPLAINTFLOW_SEAL_DIR") or str(instance.resolve().seals),
                       help="the seals (default: COMPLAINTFLOW_SEAL_DIR or instance/seals); a new one is made first")
    consistency = sub.add_parser("prove-consistency", help="write a JSON proof that the log sealed by OLD is a "
                                 "prefix of the log sealed by NEW")
    consistency.add_argument("old", help="the older seal file")
    consistency.add_argument("new", help="the newer seal file")
    consistency.add_argument("--out", metavar="FILE", help="where the proof goes (default: standard output)")
    check = sub.add_parser("check-proof", help="check a proof file without the database (the seal key checks "
                           "its signature)")
    check.add_argument("file")
    check.set_defaults(no_database=True)
    replay = sub.add_parser("replay", help="re-run a case from its history and compare it step by step")
    replay.add_argument("number", help="complaint number")
    purge = sub.add_parser("purge", help="purge archived cases past the retention period (3 years by default)")
    purge.add_argument("--days", type=int, default=None, help="retention in days, not in years")
    purge.add_argument("--dry-run", action="store_true", help="only list the cases that are due")
    purge.add_argument("--actor", default="system")
    migrate = sub.add_parser("migrate", help="move waiting cases to a newer version where safe")
    migrate.add_argument("numbers", nargs="*", help="complaint numbers")
    migrate.add_argument("--all", action="store_true", help="every open case on an older version")
    migrate.add_argument("--to", type=int, default=None, help="target version (default: the newest)")
    migrate.add_argument("--dry-run", action="store_true", help="only say what would happen")
    migrate.add_argument("--actor", default="owner1")
    return {"purge": cmd_purge, "migrate": cmd_migrate, "deploy": cmd_deploy, "demo": cmd_demo, "status": cmd_status,
            "scheduler": cmd_scheduler, "worker": cmd_scheduler, "verify": cmd_verify, "seal": cmd_seal,
            "replay": cmd_replay, "prove": cmd_prove, "prove-consistency": cmd_prove_consistency,
            "check-proof": cmd_check_proof}


def run_handler(handler: Handler, args: argparse.Namespace) -> int:
    try:
        if getattr(args, "no_database", False):
            return handler(None, args)
        with open_engine(long_running=args.command in LONG_COMMANDS) as eng:
            return handler(eng, args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3


def main(argv: list[str] | None = None) -> int:
    """The engine-only command line (no web): ``python -m engine.cli``."""
    configure_logging()
    parser = argparse.ArgumentParser(prog="complaintflow", description=__doc__.splitlines()[0])
    handlers = add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_handler(handlers[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
