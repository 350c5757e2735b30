"""``complaintflow``: the engine's commands plus ``serve`` (the web app) and ``run`` (what ``make run`` does).

Settings come from environment variables: ``COMPLAINTFLOW_DATABASE_URL`` (default a SQLite
file under ``instance/``), ``COMPLAINTFLOW_WORKFLOWS``, ``COMPLAINTFLOW_CLOCK=manual``,
``COMPLAINTFLOW_SECRET_KEY`` (without it one is made once in the instance folder). On a loopback
address ``serve`` and ``run`` speak plain http://, so their cookies are not Secure-only.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from werkzeug.serving import run_simple

import engine
from engine import cli as engine_cli
from engine.people import DEMO_PASSWORD
from web import create_app

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def cmd_serve(eng: engine.Engine, args: argparse.Namespace) -> int:
    """The web app on a threaded development-grade server (production: gunicorn, see README)."""
    # Plain http:// on this machine only: a browser would never send a Secure cookie back over it.
    local = args.host in LOOPBACK
    app = create_app({"SESSION_COOKIE_SECURE": False} if local else None, eng=eng)
    print(f"complaintflow at http://{args.host}:{args.port}/  (customers: http://{args.host}:{args.port}/c/complaint)",
          flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)
    return 0


def cmd_run(eng: engine.Engine, args: argparse.Namespace) -> int:
    """Deploy, demo people and complaints, the scheduler in a thread, and the web app."""
    engine_cli.cmd_demo(eng, argparse.Namespace(again=False))
    print()
    engine_cli.cmd_status(eng, args)
    print()
    print(f"Demo logins (password {DEMO_PASSWORD!r}): cs1 cs2 (customer service), sup1 (supervisor), "
          "mgr1 (CS manager), eng1 (engineer), ql1 (quality), mgmt1 (management), gm1 (general manager), "
          "owner1, auditor1")
    stop = threading.Event()
    options = {"stop": stop, "poll_seconds": args.poll, "housekeeping": eng.duties()}
    scheduler = threading.Thread(target=eng.timers.run_scheduler, kwargs=options, daemon=True, name="scheduler")
    scheduler.start()
    eng.notifications.start(stop)
    try:
        return cmd_serve(eng, args)
    finally:
        stop.set()
        scheduler.join(10)


def main(argv: list[str] | None = None) -> int:
    engine_cli.configure_logging()
    parser = argparse.ArgumentParser(prog="complaintflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = engine_cli.add_commands(sub)
    for name, helptext in (("serve", "run the web app"), ("run", "demo data + scheduler + web app (make run)")):
        command = sub.add_parser(name, help=helptext)
        command.add_argument("--host", default=os.environ.get("COMPLAINTFLOW_HOST", "127.0.0.1"))
        command.add_argument("--port", type=int, default=int(os.environ.get("COMPLAINTFLOW_PORT", "5000")))
        command.add_argument("--poll", type=float, default=5.0, help="seconds between scheduler polls")
    handlers.update(serve=cmd_serve, run=cmd_run)
    args = parser.parse_args(argv)
    return engine_cli.run_handler(handlers[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
