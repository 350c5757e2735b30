"""Deploy-time checks: everything SpiffWorkflow would only discover while a case runs.

Each check returns ``Problem``s naming the file, the element and what to change. The
parser's own errors are turned into problems too, so a malformed file never reaches a
caller as a stack trace.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ScriptTask, UserTask

from engine import (
    catalogue_checks,
    decision_checks,
    decision_tasks,
    forms,
    options,
    process_checks,
    sandbox,
    spiff,
)
from engine.calendar import BusinessCalendar, CalendarConfig
from engine.catalogue import REVIEW_REPORT
from engine.errors import Problem
from engine.notify import templates as notice_templates
from engine.notify.templates import PERIODS as REPORT_PERIODS
from engine.roles import GROUP_NAME_MAX, GROUPS, GROUPS_MAX, groups_problem

ISO_DURATION_NAME = re.compile(r"^P(\d|T\d)", re.IGNORECASE)


@dataclass
class Bundle:
    """The files of one deployment, read and checked."""

    files: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    specs: dict[str, dict] = field(default_factory=dict)  # process id -> {"spec", "subprocess_specs"}
    forms: dict[str, dict] = field(default_factory=dict)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    roles: dict[str, dict] = field(default_factory=dict)
    lanes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # role -> [(file, task label)]

    def problem(self, file: str, element: str | None, code: str, **params: object) -> None:
        """Record a problem once: a called process is checked on its own and again under each caller."""
        found = Problem.of(file, element, code, **params)
        if found not in self.problems:
            self.problems.append(found)


def check_bundle(files: dict[str, str]) -> Bundle:
    bundle = Bundle(files)
    _check_config(bundle)
    _check_forms(bundle)
    bundle.problems.extend(options.apply(files, bundle.forms))
    bundle.problems.extend(notice_templates.check(files))
    parser = _parse(bundle)
    if parser is not None:
        _check_processes(bundle, parser)
    bundle.problems += catalogue_checks.check(bundle.files, bundle.forms)
    return bundle


# ---------------------------------------------------------------- config files


def _check_config(bundle: Bundle) -> None:
    text = bundle.files.get("calendar.toml")
    if text is not None:
        try:
            bundle.calendar = CalendarConfig.from_toml(text)
        except ValueError as exc:
            bundle.problem("calendar.toml", "calendar", "calendar_invalid", detail=exc)
    text = bundle.files.get("roles.toml")
    if text is None:
        bundle.problem("roles.toml", None, "roles_missing")
        return
    try:
        roles = tomllib.loads(text).get("roles", {})
    except tomllib.TOMLDecodeError as exc:
        bundle.problem("roles.toml", None, "toml_invalid", line=_toml_line(exc))
        return
    for key, role in roles.items():
        if not isinstance(role, dict) or not role.get("zh") or not role.get("en"):
            bundle.problem("roles.toml", key, "role_needs_names")
    _check_fallbacks(bundle, roles)
    _check_groups(bundle, roles)
    bundle.roles = roles


def _check_groups(bundle: Bundle, roles: dict[str, Any]) -> None:
    """``groups`` (the identity provider's groups that give the role) is a short list of names."""
    for key, role in roles.items():
        if isinstance(role, dict) and GROUPS in role and groups_problem(role[GROUPS]):
            bundle.problem("roles.toml", key, "role_groups_invalid", value=role[GROUPS], most=GROUPS_MAX,
                           longest=GROUP_NAME_MAX)


def _check_fallbacks(bundle: Bundle, roles: dict[str, Any]) -> None:
    """Each ``fallback`` names another role, and following them never comes back: a task must land somewhere."""
    named = {key: role.get("fallback") for key, role in roles.items() if isinstance(role, dict) and "fallback" in role}
    for key, fallback in named.items():
        if not isinstance(fallback, str) or fallback not in roles:
            bundle.problem("roles.toml", key, "fallback_unknown_role", fallback=fallback,
                           roles=", ".join(sorted(roles)))
    for key in named:
        seen, current = [key], named.get(key)
        while isinstance(current, str) and current in roles:
            if current in seen:
                if current == key:  # reported once, by each role on the loop: name the loop from it
                    bundle.problem("roles.toml", key, "fallback_cycle", chain=" → ".join([*seen, key]))
                break
            seen.append(current)
            current = named.get(current)


def _check_forms(bundle: Bundle) -> None:
    for name, text in bundle.files.items():
        if not (name.startswith("forms/") and name.endswith(".json")):
            continue
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            bundle.problem(name, None, "json_invalid", line=exc.lineno, column=exc.colno)
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            bundle.problem(name, where, "schema_invalid", where=where, keyword=exc.validator)
            continue
        if schema.get("type") != "object":
            bundle.problem(name, None, "form_not_object")
            continue
        for where, code in unbounded_fields(schema):
            bundle.problem(name, where, code, field=where)
        for key, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and forms.NOT_AFTER in prop and (
                    prop[forms.NOT_AFTER] not in forms.NOT_AFTER_VALUES or prop.get("format") != "date"):
                bundle.problem(name, key, "form_not_after_invalid", field=key, keyword=forms.NOT_AFTER,
                               values=", ".join(forms.NOT_AFTER_VALUES))
        bundle.forms[name.removeprefix("forms/")] = schema


# Where a form defines its fields. Conditions (if/then, anyOf, ...) only narrow a field defined here, so a
# bounded field stays bounded whatever they add.
SUBSCHEMA_KEYS = ("items", "additionalProperties")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
SUBSCHEMA_LISTS = ("prefixItems",)


def unbounded_fields(schema: object, where: str = "") -> list[tuple[str, str]]:
    """Every free-text string without ``maxLength`` and list without ``maxItems``, by path, with its code.

    Whoever can reach a form (customers on the public page, any API caller) could otherwise store
    megabytes per field; a value from a fixed list (``enum``, ``const``) is bounded already.
    """
    if not isinstance(schema, dict):
        return []
    found: list[tuple[str, str]] = []
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    label = where or "(root)"
    if "string" in kinds and "enum" not in schema and "const" not in schema and "maxLength" not in schema:
        found.append((label, "form_text_needs_max_length"))
    if "array" in kinds and "maxItems" not in schema and "enum" not in schema and "const" not in schema:
        found.append((label, "form_list_needs_max_items"))
    for key in SUBSCHEMA_KEYS:
        found += unbounded_fields(schema.get(key), f"{where}/{key}" if where else key)
    for key in SUBSCHEMA_MAPS:
        children = schema.get(key)
        if isinstance(children, dict):
            for child, sub in children.items():
                path = f"{child}" if key == "properties" else f"{key}/{child}"
                found += unbounded_fields(sub, f"{where}/{path}" if where else path)
    for key in SUBSCHEMA_LISTS:
        children = schema.get(key)
        if isinstance(children, list):
            for index, sub in enumerate(children):
                found += unbounded_fields(sub, f"{where}/{key}/{index}".lstrip("/"))
    return found


# ---------------------------------------------------------------- BPMN and DMN parsing


def _parse(bundle: Bundle) -> SpiffBpmnParser | None:
    decided: dict[str, dict] = {}
    parser = decision_tasks.DecisionParser(decided)
    ok = True
    catalogue = process_checks.Catalogue.of(bundle.files)
    for name, text in sorted(bundle.files.items()):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"))
        except etree.XMLSyntaxError as exc:
            bundle.problem(name, None, "xml_malformed", line=exc.lineno)
            ok = False
            continue
        if name.endswith(".bpmn") and (_unsupported_elements(bundle, name, root)
                                       | process_checks.check_file(bundle, name, root, catalogue)):
            ok = False
            continue
        try:
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(root, filename=name)
            else:
                ok = _read_decisions(bundle, name, root, decided) and ok
        except ValidationException as exc:
            code, params = _refusal_of(exc)
            bundle.problem(name, _element_of(exc), code, **params)
            ok = False
        except Exception:  # the parser's other errors: still a refusal with a reason
            bundle.problem(name, None, "cannot_parse")
            ok = False
    if ok:
        before = len(bundle.problems)
        decision_checks.check_requirements(bundle.problem, decided)
        ok = len(bundle.problems) == before
    return parser if ok else None


def _read_decisions(bundle: Bundle, file: str, root: Any, decided: dict[str, dict]) -> bool:
    """Read a DMN file's decisions (``engine.decision_checks``); False when any is refused."""
    before = len(bundle.problems)
    for decision_id, dct in decision_checks.read_file(bundle.problem, file, root).items():
        if decision_id in decided:
            bundle.problem(file, decision_id, "dmn_duplicate_decision", other=decided[decision_id]["file"])
        decided[decision_id] = dct
    return len(bundle.problems) == before


UNSUPPORTED = {"dataStore": "data_store_unsupported"}


def _unsupported_elements(bundle: Bundle, file: str, root: Any) -> bool:
    """Refuse, by element, what SpiffWorkflow would reject without saying where."""
    found = False
    for node in root.iter():
        kind = _local(node) if isinstance(node.tag, str) else ""
        if kind in UNSUPPORTED:
            label = node.get("id") or "?"
            if node.get("name"):
                label += f" ({' '.join(node.get('name').split())})"
            bundle.problem(file, label, UNSUPPORTED[kind])
            found = True
    return found


def _locate(text: str, message: str) -> str | None:
    """The element a message talks about when the parser did not say: one whose attribute is quoted in it."""
    names = re.findall(r"'([^']+)'|\"([^\"]+)\"", message)
    wanted = {a or b for a, b in names}
    if not wanted or not text:
        return None
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return None
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id") and wanted & set(node.attrib.values()) - {node.get("id")}:
            return node.get("id")
    return None


def _element_of(exc: ValidationException) -> str | None:
    return getattr(exc, "id", None) or getattr(exc, "name", None) or None


PLAINER = {"Unknown Time Specification": "timer_without_value"}  # SpiffWorkflow's wording → our code


def _refusal_of(exc: Exception) -> tuple[str, dict[str, object]]:
    """A code for the parser's known complaints; otherwise its first line (the parser's own words)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    code = next((code for known, code in PLAINER.items() if known in message), None)
    if code:
        return code, {}
    line = getattr(exc, "line_number", "")
    return "parser_refused", {"detail": f"{message} (line {line})" if line else message}


def _toml_line(exc: Exception) -> str:
    found = re.search(r"line (\d+)", str(exc))
    return found.group(1) if found else "?"


def _local(node: Any) -> str:
    return etree.QName(node).localname


def _check_expression(bundle: Bundle, file: str, element: str, text: str, what: str) -> None:
    """Compile ``text`` in the sandbox it will run in (nothing is run): a refusal names the rule broken."""
    rule = sandbox.check(text, "eval")
    if rule is not None:
        bundle.problem(file, element, rule.code, what=what, text=text, **rule.params)


# ---------------------------------------------------------------- processes


def _check_processes(bundle: Bundle, parser: SpiffBpmnParser) -> None:
    calendar = BusinessCalendar(bundle.calendar)
    for process_id in sorted(parser.get_process_ids()):
        file = parser.get_process_parser(process_id).filename or "?"
        if not parser.get_process_parser(process_id).process_executable:
            continue
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as exc:
            where = exc.file_name or file
            element = _element_of(exc) or _locate(bundle.files.get(where, ""), str(exc))
            code, params = _refusal_of(exc)
            bundle.problem(where, element, code, **params)
            continue
        except Exception:
            bundle.problem(file, process_id, "cannot_build")
            continue
        for each in [spec, *subprocess_specs.values()]:
            _check_spec(bundle, each, calendar)
        bundle.specs[process_id] = {
            "spec": spiff.spec_to_dict(spec),
            "subprocess_specs": {k: spiff.spec_to_dict(v) for k, v in subprocess_specs.items()},
        }


def _check_spec(bundle: Bundle, spec: Any, calendar: BusinessCalendar) -> None:
    file = spec.file or "?"
    for task_spec in spec.task_specs.values():
        element = getattr(task_spec, "bpmn_id", None)
        if element is None:
            continue
        label = f"{element} ({task_spec.bpmn_name})" if task_spec.bpmn_name else element
        if isinstance(task_spec, UserTask):
            _check_user_task(bundle, file, label, task_spec)
        elif process_checks.is_person_task(task_spec):
            process_checks.check_person_task(bundle, file, label, task_spec)
        if isinstance(task_spec, ScriptTask):
            _check_script(bundle, file, label, task_spec.script, "script")
        for key in ("prescript", "postscript"):
            script = getattr(task_spec, key, None)
            if script:
                _check_script(bundle, file, label, script, key)
        for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
            args = getattr(condition, "args", None)
            if args:
                _check_expression(bundle, file, label, str(args[0]), "condition")
        if isinstance(task_spec, CatchingEvent) and isinstance(task_spec.event_definition, TimerEventDefinition):
            problem = check_timer(task_spec.event_definition, calendar)
            if problem:
                bundle.problem(file, label, problem[0], **problem[1])
        props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
        form = props.get("formJsonSchemaFilename")
        if form and form not in bundle.forms:
            bundle.problem(file, label, "form_file_missing", form=form)


def _check_user_task(bundle: Bundle, file: str, label: str, task_spec: Any) -> None:
    if not task_spec.lane:
        bundle.problem(file, label, "user_task_lane")
    elif bundle.roles and task_spec.lane not in bundle.roles:
        bundle.problem(file, label, "lane_not_role", lane=task_spec.lane, roles=", ".join(sorted(bundle.roles)))
    else:
        bundle.lanes.setdefault(task_spec.lane, []).append((file, label))
    props = (task_spec.extensions or {}).get("properties", {})
    if not props.get("formJsonSchemaFilename"):
        bundle.problem(file, label, "user_task_form")
    if REVIEW_REPORT in props and props[REVIEW_REPORT] not in REPORT_PERIODS:
        bundle.problem(file, label, "review_report_period", value=props[REVIEW_REPORT],
                       allowed=", ".join(REPORT_PERIODS))


def _check_script(bundle: Bundle, file: str, label: str, script: str, what: str) -> None:
    """Compile ``script`` in the sandbox it will run in (nothing is run)."""
    rule = sandbox.check(script, "exec")
    if rule is not None:
        bundle.problem(file, label, rule.code, what=what, text=_first_line(script, rule), **rule.params)


def _first_line(script: str, rule: sandbox.Rule) -> str:
    """The line of the script a refusal is about, as the modeler wrote it."""
    lines = script.splitlines()
    number = int(rule.params.get("line") or 0)
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def check_timer(definition: TimerEventDefinition, calendar: BusinessCalendar) -> tuple[str, dict] | None:
    """Try a timer expression as the engine will; return (code, params) of what is wrong, or None.

    It is compiled in the sandbox, and tried there over stand-ins for the case data (never real
    data, no ``notify``), within the sandbox's limits: deploy runs nothing else. A refusal quotes
    the expression as written, never a value it gave.
    """
    expression = (definition.expression or "").strip()
    if not expression:
        return "timer_empty", {}
    rule = sandbox.check(expression, "eval")
    if rule is not None:
        return rule.code, {"what": "timer", "text": expression, **rule.params}
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and ISO_DURATION_NAME.match(node.id):
            return "timer_unquoted", {"text": expression, "name": node.id}
    # Every branch of a conditional must be a valid value, not only the one the probe takes.
    candidates = [
        branch.value
        for node in ast.walk(tree)
        if isinstance(node, ast.IfExp)
        for branch in (node.body, node.orelse)
        if isinstance(branch, ast.Constant) and isinstance(branch.value, str)
    ]
    trial = sandbox.Sandbox(spiff.engine_functions(calendar))
    try:
        value = trial.try_evaluate(expression)
    except sandbox.LimitExceeded as exc:
        return "sandbox_limit", {"what": "timer", "text": expression, "limit": exc.limit}
    except Exception as exc:
        return "timer_not_evaluable", {"text": expression, "rule": type(exc).__name__}
    for text in [value, *candidates]:
        if isinstance(text, sandbox.Probe):
            continue  # it depends on the case's data: only the case can tell
        if not isinstance(text, str):
            return "timer_not_text", {"text": expression}
        reason = _iso_problem(definition, text)
        if reason:
            return reason, {"text": expression}
    return None


def _iso_problem(definition: TimerEventDefinition, text: str) -> str | None:
    try:
        if isinstance(definition, DurationTimerEventDefinition):
            TimerEventDefinition.parse_iso_duration(text)
        elif isinstance(definition, TimeDateEventDefinition):
            parsed = TimerEventDefinition.parse_time_or_duration(text)
            if not isinstance(parsed, datetime):
                return "timer_duration_for_date"
        elif isinstance(definition, CycleTimerEventDefinition):
            TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:
        return {DurationTimerEventDefinition: "timer_bad_duration", TimeDateEventDefinition: "timer_bad_date",
                CycleTimerEventDefinition: "timer_bad_cycle"}.get(type(definition), "timer_bad_duration")
    return None
