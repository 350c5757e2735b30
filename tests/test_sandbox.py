"""Deployed code runs in the sandbox: escapes placed in every kind of element reach nothing.

Each escape technique of ``ESCAPES`` is written into a script task, a gateway condition, a timer, a
DMN input expression and a DMN output cell of small diagrams (``tests/bpmn/sandbox/``, one template
per element kind). Each diagram is deployed through the real engine and, when the deploy accepts it,
a case is started from it. Whatever happens (a refusal at deploy, a failure at run), no escape may
open the canary file, import a module, run a command, look at a frame, or leave the canary secrets
(an environment variable, the file's content, another case's data) anywhere in the database.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest
import sqlalchemy as sa

import engine
from engine import sandbox, spiff, workflow_state
from engine.errors import DeployError, WorkflowFailure
from engine.spiff import RestrictedEnvironment
from engine.store.models import Case, Timer

TEMPLATES = Path(__file__).resolve().parent / "bpmn" / "sandbox"
CANARY_ENV = "COMPLAINTFLOW_CANARY"
CANARY_PATH = "CANARY_PATH"  # replaced by the canary file's path in each escape

# Escapes written as one expression: placed in every kind of element.
ESCAPES: list[str] = [
    # str.format and format_map walking attributes and items
    "'{0.__class__.__mro__[1].__subclasses__}'.format(x)",
    "'{0.__globals__[os].environ}'.format(working_days)",
    "'{0.__globals__[sandbox].os.environ[COMPLAINTFLOW_CANARY]}'.format(working_days)",
    "'{0.gi_frame.f_back.f_builtins}'.format((i for i in [1]))",
    "'{x.__init__.__globals__}'.format_map({'x': working_days})",
    "'{0[__builtins__]}'.format({'__builtins__': 1})",
    "'{0.__self__}'.format(''.join)",
    "'{0:{1}}'.format(1, '>999999999')",
    "'%s' % (working_days.__globals__,)",
    "'%*d' % (999999999, 1)",
    # f-strings with conversions and format specs
    "f'{working_days.__globals__}'",
    "f'{working_days!r:>999999999}'",
    "f'{(i for i in [1]).gi_frame!r}'",
    # frames, generators, code objects
    "(i for i in [1]).gi_frame.f_back.f_builtins['__import__']('os').environ['COMPLAINTFLOW_CANARY']",
    "(i for i in [1]).gi_frame.f_globals",
    "(i for i in [1]).gi_code.co_consts",
    "(lambda: 1).__code__.co_consts",
    "[f for f in [(i for i in [1]).gi_frame]][0].f_back.f_locals",
    # the engine's own functions: globals, closures, the calendar
    "working_days.__globals__['os'].environ['COMPLAINTFLOW_CANARY']",
    "notify.__globals__['sa']",
    "working_days.__closure__[0].cell_contents",
    "working_days.func_globals",
    "ｗｏｒｋｉｎｇ_ｄａｙｓ.ｆｕｎｃ_ｇｌｏｂａｌｓ",
    "working_days.__ｇｌｏｂａｌｓ__",
    "''.join.__self__",
    "(lambda f: f.__globals__)(working_days)",
    # dunder strings and builtins look-ups
    "__builtins__['__import__']('os').environ['COMPLAINTFLOW_CANARY']",
    "__import__('os').environ['COMPLAINTFLOW_CANARY']",
    "x['__class__']",
    "{'__class__': 1}['__class__']",
    "working_days['__globals__']",
    "max.__self__.open('CANARY_PATH').read()",
    # builtins that are not there
    "open('CANARY_PATH').read()",
    "getattr(working_days, '__globals__')",
    "list(map(getattr, [working_days], ['__globals__']))",
    "vars(working_days)",
    "dir(working_days)",
    "globals()['__builtins__']",
    "locals()",
    "eval('__import__(\"os\")')",
    "exec('import os')",
    "compile('1', 'x', 'eval')",
    "breakpoint()",
    "memoryview(b'x')",
    # types, classes and the class hierarchy
    "type(x).mro()",
    "type(x).__subclasses__(x)",
    "x.__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
    "._module.__builtins__['__import__']('os').environ['COMPLAINTFLOW_CANARY']",
    "str.format('{0.__class__}', x)",
    "dict.fromkeys.__self__",
    "ValueError.mro()",
    "ValueError('x').args.__class__",
    "x.__getattribute__('__class__')",
    "(1).real.__class__",
    "slice(1).start",
    # operator-like tricks and sizes
    "sum([[1], [2]], [])",
    "'a' * 10 ** 10",
    "2 ** 10 ** 9",
    "round(5, -10 ** 9)",
]

# Escapes that need statements: placed in script tasks.
SCRIPT_ESCAPES: list[str] = [
    "try:\n    1 / 0\nexcept Exception as e:\n    result = e.__traceback__.tb_frame.f_globals",
    "try:\n    1 / 0\nexcept Exception as e:\n    result = e.with_traceback(None)",
    "try:\n    1 / 0\nexcept Exception as e:\n    result = e.tb_frame",
    "@working_days.__globals__.get\ndef f():\n    pass",
    "def f():\n    yield 1\nresult = f().gi_frame.f_back.f_globals",
    "class A:\n    pass\nresult = A.__subclasses__()",
    "match working_days:\n    case object(__globals__=G):\n        result = G['os']",
    "match x:\n    case {'a': a}:\n        result = a",
    "import os\nresult = os.environ['COMPLAINTFLOW_CANARY']",
    "from os import environ",
    "with open('CANARY_PATH') as f:\n    result = f.read()",
    "f = working_days\nf.__globals__ = {}",
    "working_days.__dict__['a'] = 1",
    "def f():\n    pass\nf.__code__ = None",
    "del working_days.__globals__",
    "_getattr_ = getattr",
    "__builtins__ = {}",
    "print(working_days.__globals__)",
    "async def f():\n    pass",
    "def g():\n    global result\n    result = 1",
    "try:\n    pass\nexcept* Exception:\n    pass",
    "def __getattr__(name):\n    return name",
    "x.append(x)\nresult = str(x)",
    "raise SystemExit(1)",
    "raise BaseException('stop')",
    "def g():\n    return (i for i in [1])\ng().close()",
]

LEGITIMATE = [  # (kind, code, what the run must give)
    ("script", 'result = "PT48H" if customer_unreachable else "PT24H"', "PT48H"),
    ("script", "result = str(max(a, b)) + str(len(x) > 2)", "2True"),
    ("script", "total = 0\nfor n in x:\n    total += n\nresult = f'{total:>4}|{total!r}'", "   6|6"),
    ("script", "result = working_days(3)[:10]", "2026-03-05"),
    ("script", "result = '{} of {}'.format(len(x), 'items') + ', '.join(sorted({'b', 'a'}))", "3 of itemsa, b"),
    ("condition", "len(x) > 2", "end_yes"),
    ("condition", "max(a, b) == 2 and str(n) == '5'", "end_yes"),
    ("timer", '"PT48H" if customer_unreachable else "PT24H"', "48:00"),
    ("timer", '"PT" + str(max(a, b)) + "H"', "2:00"),
    ("timer", '"PT%dH" % min(len(x), round(2.4))', "2:00"),
    ("timeDate", "working_days(3)", "72:00"),
    ("input", "str(n)", "x"),
    ("output", '"PT" + str(round(n * 1.5)) + "H"', "PT8H"),
]
DATA = {"channel": "test", "customer_unreachable": True, "x": [1, 2, 3], "a": 1, "b": 2, "n": 5}


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def diagram(kind: str, pid: str, code: str) -> dict[str, str]:
    """The files of a small process with ``code`` in one element of ``kind``."""
    text = escape(code, quote=False)
    if kind in ("script", "condition", "later", "answered"):
        return {f"{pid}.bpmn": _template(f"{kind}.bpmn").replace("{ID}", pid).replace("{CODE}", text)}
    if kind in ("timer", "timeDate"):
        timer = "timeDuration" if kind == "timer" else "timeDate"
        return {f"{pid}.bpmn": _template("timer.bpmn").replace("{ID}", pid).replace("{KIND}", timer)
                .replace("{CODE}", text)}
    cells = {"input": (text, "&quot;5&quot;", "&quot;x&quot;"), "output": ("channel", "-", text)}[kind]
    if kind == "input" and code not in [c for _, c, _ in LEGITIMATE]:
        cells = (text, "&quot;never&quot;", "&quot;x&quot;")
    dmn = _template("decision.dmn").replace("{ID}", pid)
    for key, value in zip(("{INPUT}", "{ENTRY}", "{OUTPUT}"), cells, strict=True):
        dmn = dmn.replace(key, value)
    return {f"{pid}.bpmn": _template("rule.bpmn").replace("{ID}", pid), f"{pid}.dmn": dmn}


class Watch:
    """Everything deployed code must never do, seen from the interpreter's audit hooks."""

    FORBIDDEN = ("open", "import", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
                 "sys._getframe", "os.listdir", "os.scandir", "socket.", "ctypes.", "os.remove", "shutil.")
    events: list[tuple[str, str]] = []  # noqa: RUF012 - one audit hook per interpreter: shared
    installed = False

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if sandbox._budget.get() is None:  # only while deployed code runs
            return
        if event.startswith(cls.FORBIDDEN):
            cls.events.append((event, repr(args)[:200]))


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env_secret, file_secret = f"env-{uuid.uuid4().hex}", f"file-{uuid.uuid4().hex}"
    path = tmp_path / "canary.txt"
    path.write_text(file_secret, encoding="utf-8")
    monkeypatch.setenv(CANARY_ENV, env_secret)
    Watch.install()
    Watch.events.clear()
    return {"env": env_secret, "file": file_secret, "path": str(path)}


@pytest.fixture
def sandboxed(database_url: str, clock):  # noqa: ANN001, ANN201
    instance = engine.open(database_url, TEMPLATES, clock=clock)
    yield instance
    instance.close()


def _deploy(eng, files: dict[str, str]) -> list:  # noqa: ANN001
    """The refusal's problems, or [] when deployed."""
    files = {**files, "roles.toml": _template("roles.toml")}
    try:
        eng.repository.deploy_files(files, actor="owner1", note="sandbox test")
    except DeployError as exc:
        return exc.problems
    return []


SANDBOX_CODES = {"sandbox_syntax", "sandbox_private_name", "sandbox_reserved_name", "sandbox_attribute",
                 "sandbox_construct", "sandbox_limit"}


def _everything_stored(eng) -> str:  # noqa: ANN001
    """Every row of every table, as text: where a secret an escape got hold of would end up."""
    with eng.db.read() as session:
        tables = sa.inspect(session.connection()).get_table_names()
        return "\n".join(str(row) for table in tables
                         for row in session.execute(sa.text(f'SELECT * FROM "{table}"')).all())


def test_at_least_forty_escape_techniques_are_tried():
    assert len(ESCAPES) >= 40 and len(ESCAPES) + len(SCRIPT_ESCAPES) >= 60


def test_no_escape_reaches_anything_from_any_element(sandboxed, canary, clock):  # noqa: ANN001
    eng = sandboxed
    victim_secret = f"victim-{uuid.uuid4().hex}"
    placements = [(kind, code) for code in ESCAPES for kind in ("script", "condition", "timer", "input", "output")]
    placements += [("script", code) for code in SCRIPT_ESCAPES]
    assert _deploy(eng, diagram("later", "victim", 'result = "kept"')) == []
    victim = eng.runtime.start("victim", {**DATA, "secret": victim_secret}, "cs1")  # another case, waiting
    refused = ran = 0
    for i, (kind, code) in enumerate(placements):
        code = code.replace(CANARY_PATH, canary["path"])
        if kind == "script" and "\n" not in code and not code.startswith(("import", "from", "_", "print")):
            code = f"result = {code}"
        pid = f"escape_{i}"
        problems = _deploy(eng, diagram(kind, pid, code))
        assert not Watch.events, f"{kind} {code!r} ran at deploy: {Watch.events}"
        for problem in problems:
            assert problem.code in SANDBOX_CODES or problem.code.startswith("timer_"), f"{kind} {code!r}: {problem}"
            for lang in ("zh", "en"):
                message = problem.text(lang)
                assert canary["env"] not in message and canary["file"] not in message
                assert "Traceback" not in message and " at 0x" not in message
        if problems:
            refused += 1
            continue
        ran += 1
        with contextlib.suppress(WorkflowFailure):  # failing is fine; reaching anything is not
            eng.runtime.start(pid, dict(DATA), "cs1")
        assert not Watch.events, f"{kind} {code!r} reached {Watch.events}"
    stored = _everything_stored(eng)
    assert canary["env"] not in stored and canary["file"] not in stored
    with eng.db.read() as session:
        (victim_id,) = session.execute(sa.select(Case.id).where(Case.number == victim)).one()
        others = session.execute(sa.text('SELECT state, summary FROM "case" WHERE id != :i'), {"i": victim_id}).all()
        others += session.execute(sa.text("SELECT body FROM workflow_task WHERE case_id != :i"), {"i": victim_id}).all()
    assert victim_secret not in str(others)
    assert refused + ran == len(placements) and refused > ran  # most are refused at deploy, the rest fail at run


@pytest.mark.parametrize(("kind", "code", "expected"), LEGITIMATE)
def test_legitimate_expressions_deploy_and_run(sandboxed, clock, kind, code, expected):  # noqa: ANN001
    eng = sandboxed
    assert _deploy(eng, diagram(kind, "legit", code)) == []
    number = eng.runtime.start("legit", dict(DATA), "cs1")
    if kind in ("timer", "timeDate"):
        with eng.db.read() as session:
            due = session.scalar(sa.select(Timer.due_at).join(Case, Case.id == Timer.case_id)
                                 .where(Case.number == number))
        hours = (_aware(due) - clock.now()).total_seconds() / 3600
        assert f"{int(hours)}:{round(hours * 60) % 60:02d}" == expected
        return
    workflow = _workflow(eng, number)
    assert workflow.completed
    if kind == "condition":
        assert expected in spiff.done_elements(workflow)
    else:
        assert spiff.snapshot(workflow).data["result"] == expected


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _workflow(eng, number: str):  # noqa: ANN001, ANN202
    """The case's workflow as stored (loaded the way the engine loads it)."""
    with eng.db.read() as session:
        row = session.execute(sa.select(Case.id, Case.deployment_id, Case.process_id)
                              .where(Case.number == number)).one()
        deployment = eng.repository.load(row.deployment_id)
        spec, subs = deployment.specs(row.process_id)
        return workflow_state.load(session.connection(), row.id, spec, subs, deployment.script_engine)


@pytest.mark.parametrize(("code", "limit"), [
    ("n = 0\nwhile True:\n    n += 1", "time"),
    ("def f(k):\n    return f(k - 1) + f(k - 1) if k else 1\nresult = f(60)", "time"),
    ("try:\n    while True:\n        pass\nexcept Exception:\n    result = 'caught'", "time"),
    ("big = [0] * 10 ** 6\nkeep = []\nfor i in range(100):\n    keep.append(big * 1)", "size"),
    ("big = 'x' * 10 ** 9", "size"),
    ("rows = [[0] * 999999 for i in range(1000)]", "size"),
    ("x = [1]\nwhile True:\n    x = [*x, *x]", "size"),
    ("x = [1] * 1000\nwhile True:\n    x[0:0] = x", "size"),
    ("x = [0] * 10 ** 6\ny = []\nfor i in range(2000):\n    y.append(x)\nresult = sorted(y)", "size"),
    ("x = [0] * 10 ** 6\ny = [x, x]\nwhile True:\n    y = [y, y]\n    result = x in y", "size"),
])
def test_a_loop_or_a_large_allocation_is_stopped_as_an_incident_naming_the_element(
        sandboxed, clock, monkeypatch, code, limit):  # noqa: ANN001
    # A short time limit for the loops; a long one for the allocations, so that only their size stops them
    # (however busy the machine).
    monkeypatch.setenv(sandbox.TIME_LIMIT_ENV, "0.3" if limit == "time" else "5")
    eng = sandboxed
    assert _deploy(eng, diagram("later", "limited", code)) == []
    number = eng.runtime.start("limited", dict(DATA), "cs1")
    clock.advance(timedelta(hours=1, minutes=1))
    began = time.monotonic()
    eng.timers.fire_due()
    assert time.monotonic() - began < (5 if limit == "time" else 10)
    (incident,) = [e for e in eng.history.events(number) if e.kind == "incident"]
    reason = incident.payload["reason"]
    assert f"the {limit} limit" in reason and "at run" in reason, reason
    assert eng.cases.get(number).status == "open"


def test_the_process_stays_usable_after_a_limit_in_a_web_request_thread(sandboxed, monkeypatch):  # noqa: ANN001
    """A user action whose script hits a limit fails that request only (WorkflowFailure), in any thread."""
    monkeypatch.setenv(sandbox.TIME_LIMIT_ENV, "0.2")
    eng = sandboxed
    assert _deploy(eng, diagram("script", "spin", "while True:\n    pass")) == []
    results: list[object] = []

    def request() -> None:
        try:
            eng.runtime.start("spin", dict(DATA), "cs1")
        except WorkflowFailure as exc:
            results.append(exc)

    thread = threading.Thread(target=request)
    began = time.monotonic()
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - began < 5
    assert "the time limit" in str(results[0]) and "at run" in str(results[0])


def test_a_limit_in_a_persons_step_is_refused_and_kept_as_an_incident(sandboxed, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv(sandbox.TIME_LIMIT_ENV, "0.2")
    eng = sandboxed
    assert _deploy(eng, diagram("answered", "answered", "rows = [answer] * 10 ** 7")) == []
    number = eng.runtime.start("answered", dict(DATA), "cs1")
    with pytest.raises(WorkflowFailure) as failure:
        eng.runtime.message(number, "answer", {"text": "yes"}, "customer")
    assert failure.value.element == "run" and "the size limit" in str(failure.value)
    (incident,) = [e for e in eng.history.events(number) if e.kind == "incident"]
    assert incident.payload["element"] == "run" and incident.actor == "customer"
    assert [e.kind for e in eng.history.events(number)] == ["case_started", "incident"]  # the step was rolled back


def test_compiling_is_cached_by_source_and_mode():
    sandbox.compile_source.cache_clear()
    first = sandbox.compile_source("len(x) > 2", "eval")
    assert sandbox.compile_source("len(x) > 2", "eval") is first
    assert sandbox.compile_source.cache_info().hits == 1


def test_refusals_name_the_rule_in_both_languages_and_never_a_value(sandboxed, canary):  # noqa: ANN001
    code = "working_days.__globals__['os']"
    (problem,) = _deploy(sandboxed, diagram("condition", "bad", code))
    assert problem.code == "sandbox_private_name" and dict(problem.params)["name"] == "__globals__"
    assert "__globals__" in problem.text("zh") and "条件" in problem.text("zh")
    assert "names starting with _" in problem.text("en") and problem.file == "bad.bpmn"
    (problem,) = _deploy(sandboxed, diagram("timer", "spin", "str(sum(range(10 ** 5)) * 0) + 'PT1H' if all("
                                            "[1 for i in range(10 ** 6) for j in range(10 ** 6)]) else 'PT1H'"))
    assert problem.code == "sandbox_limit" and canary["env"] not in problem.text("en")


def test_code_cannot_end_the_thread_or_process_running_it():
    env = RestrictedEnvironment({})
    for script in ("raise SystemExit(1)", "raise KeyboardInterrupt", "raise GeneratorExit", "raise BaseException()"):
        with pytest.raises(Exception) as raised:  # an ordinary error of the step, never a BaseException
            env.execute(script, {})
        assert isinstance(raised.value, Exception)


def test_data_a_script_leaves_is_plain_and_functions_it_defines_are_dropped():
    env = RestrictedEnvironment({})
    data = {"x": [1, 2], "gone": 1}
    env.execute("def f(v):\n    return v * 2\ny = f(3)\ng = (i for i in x)\ndel gone", data)
    assert data == {"x": [1, 2], "y": 6}
    with pytest.raises(NameError):
        env.evaluate("open", {})


def test_the_web_process_needs_no_seal_key(sandboxed, tmp_path, monkeypatch):  # noqa: ANN001
    """Only ``complaintflow seal`` reads the key: the web app deploys, runs cases and answers without it."""
    from web import create_app

    for name in ("COMPLAINTFLOW_SEAL_KEY", "COMPLAINTFLOW_SEAL_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "INSTANCE_DIR": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
                      "DATABASE_URL": sandboxed.db.url, "WORKFLOWS_DIR": str(TEMPLATES)}, eng=sandboxed)
    assert _deploy(sandboxed, diagram("script", "plain", 'result = "done"')) == []
    sandboxed.runtime.start("plain", dict(DATA), "cs1")
    assert app.test_client().get("/healthz").status_code == 200
    assert sandboxed.history.verify().ok
