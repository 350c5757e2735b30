"""Notice templates: the process owner's files ``notifications/<subject>.toml``, rendered sandboxed.

One file per subject, with a table per language (``zh-CN`` and ``en``) holding ``title``,
``text`` and optionally ``html``. They are deployed with the diagrams, so they are untrusted:
they render in Jinja2's ``SandboxedEnvironment`` with autoescaping for HTML, and deploy refuses
a template naming a variable a notice does not have (``VARIABLES``) or that does not parse.
A subject without a template still goes out, in the built-in wording.

Two optional top-level keys say what a notice carries besides its words:

- ``link = "confirm" | "reply" | "survey" | "verify"``: a customer notice (``notify("customer", ...)``) carries a
  signed, single-use link of that kind (answer yes or no to the plan, answer a request for more
  information with text and photos, answer the survey; verify: an improvement item's notice, one link per
  linked complaint, ``engine.improvements``), issued in the step's own transaction and
  valid for the ``customerLinkDays`` of what it answers; ``{{ link }}`` is that link, and
  ``{{ link_expires }}`` its end. Without it a customer's ``{{ link }}`` is the status page.
- ``report = "compliance"`` with ``period = "week" | "month"``: the notice carries the deadline
  compliance figures of the last full week or month: ``{{ link }}`` is the audit report page of that
  period and e-mails get the figures as an XLSX attachment. Raising such a notice also stores the period's
  statistics as a review report (kept and listed at ``/statistics/reports``): ``{{ report_link }}`` is its page.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import Problem

FOLDER = "notifications/"
LANGUAGES = ("zh-CN", "en")
PARTS = ("title", "text", "html")
# What every notice knows: columns of its case row that are not personal data, and the notice's own facts.
VARIABLES = frozenset({"case_number", "subject", "role", "recipient", "link", "grade", "escalation_tier", "status",
                       "channel", "complaint_type", "product_name", "created_at", "link_expires", "period_start",
                       "period_end", "report_link"})
LINKS = ("confirm", "reply", "survey", "verify")  # what ``link = ...`` may name (engine.links.PURPOSES)
REPORTS = ("compliance",)
PERIODS = ("week", "month")
BUILTIN = {
    "zh-CN": {"title": "[{{ case_number }}] {{ subject }}",
              "text": "案件 {{ case_number }}：{{ subject }}（{{ role }}）。\n{{ link }}"},
    "en": {"title": "[{{ case_number }}] {{ subject }}",
           "text": "Case {{ case_number }}: {{ subject }} ({{ role }}).\n{{ link }}"},
}

_text_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_html_env = SandboxedEnvironment(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    title: str
    text: str
    html: str | None


def subject_of(file_name: str) -> str | None:
    if file_name.startswith(FOLDER) and file_name.endswith(".toml"):
        return file_name.removeprefix(FOLDER).removesuffix(".toml")
    return None


def check(files: dict[str, str]) -> list[Problem]:
    """Every problem of the deployment's notice templates (deploy refuses them all at once)."""
    problems: list[Problem] = []
    for name, text in files.items():
        if subject_of(name) is None:
            continue
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem.of(name, None, "toml_invalid", line=getattr(exc, "lineno", "?")))
            continue
        problems.extend(_check_options(name, table))
        for language in LANGUAGES:
            parts = table.get(language)
            if not isinstance(parts, dict) or not parts.get("title") or not parts.get("text"):
                problems.append(Problem.of(name, language, "notice_template_incomplete", language=language))
                continue
            for part in PARTS:
                if part in parts:
                    problems.extend(_check_part(name, f"{language}.{part}", str(parts[part])))
    return problems


def _check_options(name: str, table: dict) -> list[Problem]:
    problems = []
    for key, allowed in (("link", LINKS), ("report", REPORTS), ("period", PERIODS)):
        if key in table and table[key] not in allowed:
            problems.append(Problem.of(name, key, "notice_option_invalid", key=key, value=str(table[key]),
                                       allowed=", ".join(allowed)))
    if ("report" in table) != ("period" in table):
        problems.append(Problem.of(name, "report", "notice_report_needs_period"))
    return problems


def options(files: dict[str, str], subject: str) -> dict[str, str]:
    """The subject's ``link``, ``report`` and ``period`` (those set), from its deployed template."""
    text = files.get(f"{FOLDER}{subject}.toml")
    if not text:
        return {}
    try:
        table = parse_toml(text)
    except ValueError:
        return {}
    return {key: str(table[key]) for key in ("link", "report", "period") if isinstance(table.get(key), str)}


def link_purposes(files: dict[str, str]) -> dict[str, str]:
    """subject -> the link its customer notices carry, for every template that names one."""
    found = {}
    for name in files:
        subject = subject_of(name)
        if subject is not None and options(files, subject).get("link"):
            found[subject] = options(files, subject)["link"]
    return found


def report_periods(files: dict[str, str]) -> dict[str, str]:
    """subject -> the period (week | month) of the report its notices carry: each such notice, when the
    diagram raises it, stores that period's statistics as a review report (``engine.review_reports``)."""
    found = {}
    for name in files:
        subject = subject_of(name)
        if subject is not None and options(files, subject).get("report") and options(files, subject).get("period"):
            found[subject] = options(files, subject)["period"]
    return found


def _check_part(name: str, where: str, source: str) -> list[Problem]:
    try:
        tree = _text_env.parse(source)
    except TemplateSyntaxError as exc:
        return [Problem.of(name, where, "notice_template_invalid", line=exc.lineno)]
    problems = [Problem.of(name, where, "notice_unknown_variable", variable=variable,
                           known=", ".join(sorted(VARIABLES)))
                for variable in sorted(meta.find_undeclared_variables(tree) - VARIABLES)]
    # Attribute and item access would walk into objects; every variable is a plain value.
    if any(True for _ in tree.find_all((nodes.Getattr, nodes.Getitem))):
        problems.append(Problem.of(name, where, "notice_attribute_access"))
    return problems


def render(files: dict[str, str], subject: str, language: str, values: dict[str, object]) -> Rendered:
    """The notice in ``language`` (zh-CN unless ``en``), from the deployed template or the built-in one."""
    language = "en" if language.lower().startswith("en") else "zh-CN"
    text = files.get(f"{FOLDER}{subject}.toml")
    parts = parse_toml(text).get(language, {}) if text else BUILTIN[language]
    context = {key: ("" if value is None else value) for key, value in values.items() if key in VARIABLES}
    title = _compiled(False, str(parts["title"])).render(context)
    html = _compiled(True, str(parts["html"])).render(context) if parts.get("html") else None
    return Rendered(" ".join(title.split()), _compiled(False, str(parts["text"])).render(context), html)


@lru_cache(maxsize=256)
def parse_toml(text: str) -> dict:
    """A deployed TOML file, parsed once (the same text is rendered for every notice)."""
    return tomllib.loads(text)


@lru_cache(maxsize=1024)
def _compiled(html: bool, source: str):  # noqa: ANN202 (a jinja2 Template)
    """Compiling costs far more than rendering; a deployed file's text never changes under it."""
    return (_html_env if html else _text_env).from_string(source)
