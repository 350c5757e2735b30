"""Deploy checks of DMN files: read every decision into the form ``engine.decisions`` runs, or refuse.

Each refusal names the file, the decision, the rule (number and id) and the column, with advice that
works when followed. Nothing deployed runs here: expressions are only compiled in the sandbox, and
overlapping UNIQUE rules are found from what the cells say (``engine.dmn_cells`` regions).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from typing import Any

from lxml import etree

from engine import dmn_cells, feel_expressions, sandbox
from engine.decisions import AGGREGATIONS, HIT_POLICIES

Report = Callable[..., None]  # (file, element, code, **params): Bundle.problem
MAX_OVERLAPS_REPORTED = 5
BODIES = ("decisionTable", "literalExpression", "context", "invocation", "relation", "list", "functionDefinition")
WORD_PAIR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\s+[A-Za-z_][A-Za-z0-9_]*")


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: Any, name: str) -> list:
    return [child for child in node if _local(child) == name]


def _text(node: Any | None) -> str:
    if node is None:
        return ""
    found = [child for child in node.iter() if _local(child) == "text"]
    return (found[0].text or "").strip() if found else ""


def is_name(text: str) -> bool:
    """A name a decision may set in the case: a Python identifier not starting with ``_``, not a keyword."""
    return text.isidentifier() and not keyword.iskeyword(text) and not text.startswith("_")


def read_file(report: Report, file: str, root: Any) -> dict[str, dict[str, Any]]:
    """The decisions of one DMN file (id -> dict for ``engine.decisions.Decision``); problems reported."""
    found: dict[str, dict[str, Any]] = {}
    for node in root.iter("{*}decision"):
        decision_id = node.get("id") or ""
        name = " ".join((node.get("name") or "").split())
        if not decision_id:
            report(file, name or None, "dmn_decision_without_id")
            continue
        label = f"{decision_id} ({name})" if name and name != decision_id else decision_id
        dct = _read_decision(report, file, decision_id, label, name, node)
        if dct is not None:
            found[decision_id] = dct
    return found


def _read_decision(report: Report, file: str, decision_id: str, label: str, name: str,
                   node: Any) -> dict[str, Any] | None:
    variable_node = next(iter(_children(node, "variable")), None)
    variable = (variable_node.get("name") if variable_node is not None else None) or name or decision_id
    requires = [ref.get("href", "").lstrip("#").split("#")[-1] for req in _children(node, "informationRequirement")
                for ref in _children(req, "requiredDecision")]
    dct: dict[str, Any] = {"id": decision_id, "name": name, "variable": variable, "requires": requires, "file": file}
    bodies = [child for child in node if _local(child) in BODIES]
    if not bodies:
        report(file, label, "dmn_decision_empty")
        return None
    body = bodies[0]
    kind = _local(body)
    if kind == "literalExpression":
        return _read_literal(report, file, label, body, dct)
    if kind != "decisionTable":
        report(file, label, "dmn_decision_kind", kind=kind)
        return None
    problems: list[tuple] = []

    def tally(*args: Any, **kwargs: Any) -> None:
        problems.append(args)
        report(*args, **kwargs)

    _read_table(tally, file, label, body, dct)
    return None if problems else dct


def _read_literal(report: Report, file: str, label: str, body: Any, dct: dict[str, Any]) -> dict[str, Any] | None:
    text = _text(body)
    if not is_name(dct["variable"]):
        report(file, label, "dmn_variable_name", name=dct["variable"])
        return None
    if not text:
        report(file, label, "dmn_decision_empty")
        return None
    if _expression_problem(report, file, label, text, "literal expression"):
        return None
    dct["literal"] = text
    return dct


def _read_table(report: Report, file: str, label: str, table: Any, dct: dict[str, Any]) -> None:
    policy = " ".join((table.get("hitPolicy") or "UNIQUE").upper().replace("_", " ").split())
    aggregation = (table.get("aggregation") or "").upper() or None
    if policy not in HIT_POLICIES:
        report(file, label, "dmn_hit_policy", policy=policy)
    if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
        report(file, label, "dmn_aggregation", aggregation=aggregation, policy=policy)
    dct.update(hit_policy=policy, aggregation=aggregation, inputs=[], outputs=[], rules=[])
    for column in _children(table, "input"):
        text = _text(next(iter(_children(column, "inputExpression")), None))
        column_label = " ".join((column.get("label") or text or column.get("id") or "?").split())
        if not text:
            report(file, label, "dmn_input_expression", column=column_label)
        else:
            _expression_problem(report, file, f"{label}, {column_label}", text, "input expression")
        dct["inputs"].append({"label": column_label, "text": text})
    outputs = _children(table, "output")
    if not outputs:
        report(file, label, "dmn_no_output")
    if aggregation and len(outputs) > 1:
        report(file, label, "dmn_aggregation_outputs", aggregation=aggregation)
    for column in outputs:
        dct["outputs"].append(_read_output(report, file, label, column, dct["variable"], len(outputs)))
    if policy in ("PRIORITY", "OUTPUT ORDER") and not any(o["values"] for o in dct["outputs"]):
        report(file, label, "dmn_priority_without_values", policy=policy)
    for number, rule in enumerate(_children(table, "rule"), 1):
        dct["rules"].append(_read_rule(report, file, label, number, rule, dct))
    if policy in ("UNIQUE", "ANY"):
        _check_overlaps(report, file, label, dct)


def _read_output(report: Report, file: str, label: str, column: Any, variable: str, count: int) -> dict[str, Any]:
    name = (column.get("name") or "").strip()
    if not name and count == 1 and is_name(variable):
        name = variable
    if not name:
        report(file, label, "dmn_output_name", column=column.get("label") or column.get("id") or "?")
    elif not is_name(name):
        report(file, label, "dmn_output_not_identifier", name=name)
    values_text = _text(next(iter(_children(column, "outputValues")), None))
    values = dmn_cells.split_list(values_text) if values_text else []
    for value in values:
        if not dmn_cells.literal(value)[0]:
            report(file, label, "dmn_output_values", name=name, text=values_text)
            break
    default = _text(next(iter(_children(column, "defaultOutputEntry")), None)) or None
    if default:
        _expression_problem(report, file, f"{label}, {name}", default, "output cell")
    return {"name": name, "values": values, "default": default}


def _read_rule(report: Report, file: str, label: str, number: int, rule: Any, dct: dict[str, Any]) -> dict[str, Any]:
    rule_id = rule.get("id") or ""
    rule_label = f"{number} ({rule_id})" if rule_id else str(number)
    cells = [_text(entry) for entry in _children(rule, "inputEntry")]
    outputs = [_text(entry) for entry in _children(rule, "outputEntry")]
    if len(cells) != len(dct["inputs"]) or len(outputs) != len(dct["outputs"]):
        report(file, label, "dmn_rule_shape", rule=rule_label, inputs=len(cells), outputs=len(outputs),
               columns=len(dct["inputs"]), results=len(dct["outputs"]))
    for text, column in zip(cells, dct["inputs"], strict=False):
        try:
            dmn_cells.parse(text)
        except dmn_cells.CellRefused as exc:
            report(file, f"{label}, rule {rule_label}, {column['label']}", exc.code,
                   **{"cell": text, "rule": rule_label, "column": column["label"], **exc.params})
    for text, column in zip(outputs, dct["outputs"], strict=False):
        if text:
            _expression_problem(report, file, f"{label}, rule {rule_label}, {column['name']}", text, "output cell")
    return {"id": rule_id, "inputs": cells, "outputs": outputs}


def _expression_problem(report: Report, file: str, element: str, text: str, what: str) -> bool:
    """Report why expression ``text`` cannot run here (nothing is run); True when it cannot."""
    try:
        source = feel_expressions.translate(text)
    except feel_expressions.NotTranslatable:
        source = None
    rule = sandbox.check(source, "eval") if source is not None else sandbox.Rule("sandbox_syntax", {"line": "1"})
    if rule is None:
        return False
    if rule.code == "sandbox_syntax" and _names_with_spaces(text):
        report(file, element, "dmn_name_with_spaces", what=what, text=text)
    else:
        report(file, element, rule.code, what=what, text=text, **rule.params)
    return True


def _names_with_spaces(text: str) -> bool:
    """Whether the text holds a FEEL name with spaces (``Full Name``): two words side by side, neither a keyword."""
    outside_quotes = re.sub(r'"[^"]*"|\'[^\']*\'', " ", text)
    feel_words = {"then", "else", "and", "or", "not", "in", "if", "between", "instance", "of", "date", "time",
                  "some", "every", "satisfies", "for", "return", "function"}
    for pair in WORD_PAIR.finditer(outside_quotes):
        first, second = pair.group(0).split()
        if not ({first, second} & feel_words) and not keyword.iskeyword(first) and not keyword.iskeyword(second):
            return True
    return False


def _check_overlaps(report: Report, file: str, label: str, dct: dict[str, Any]) -> None:
    """UNIQUE rules that match the same input (ANY rules that do and give different constants), found from the
    cells alone; an expression cell leaves it to the case (then it is an incident at run)."""
    rows = []
    for number, rule in enumerate(dct["rules"], 1):
        try:
            rows.append((number, rule["id"], [dmn_cells.parse(cell).region for cell in rule["inputs"]]))
        except dmn_cells.CellRefused:
            return  # already reported
    reported = 0
    for i, (first, first_id, first_regions) in enumerate(rows):
        for second, second_id, second_regions in rows[i + 1:]:
            if not all(dmn_cells.overlap(a, b) is True for a, b in zip(first_regions, second_regions, strict=False)):
                continue
            if dct["hit_policy"] == "ANY" and not _constants_differ(dct["rules"][first - 1], dct["rules"][second - 1]):
                continue  # ANY allows overlaps that agree (or that only the case can compare)
            report(file, label, "dmn_unique_overlap" if dct["hit_policy"] == "UNIQUE" else "dmn_any_overlap",
                   first=f"{first} ({first_id})" if first_id else first,
                   second=f"{second} ({second_id})" if second_id else second)
            reported += 1
            if reported >= MAX_OVERLAPS_REPORTED:
                return


def _constants_differ(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """Whether two rules' outputs are constants and differ (an expression output: only the case can tell)."""
    values = [[dmn_cells.literal(text) for text in rule["outputs"]] for rule in (first, second)]
    if not all(found for rule in values for found, _ in rule):
        return False
    return [(dmn_cells.is_number(v), v) for _, v in values[0]] != [(dmn_cells.is_number(v), v) for _, v in values[1]]


def check_requirements(report: Report, decisions: dict[str, dict[str, Any]]) -> None:
    """Required decisions exist, set a name expressions can use, and require no cycle."""
    for decision_id, dct in decisions.items():
        for required in dct["requires"]:
            if required not in decisions:
                report(dct["file"], decision_id, "dmn_required_missing", required=required)
            elif not is_name(decisions[required]["variable"]):
                report(dct["file"], decision_id, "dmn_variable_name", name=decisions[required]["variable"])
        seen, stack = set(), list(dct["requires"])
        while stack:
            current = stack.pop()
            if current == decision_id:
                report(dct["file"], decision_id, "dmn_required_cycle")
                break
            if current in seen or current not in decisions:
                continue
            seen.add(current)
            stack.extend(decisions[current]["requires"])


def needed(called: str, decisions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The decision ``called`` and every decision it requires, directly or not."""
    found, stack = {}, [called]
    while stack:
        current = stack.pop()
        if current in found or current not in decisions:
            continue
        found[current] = decisions[current]
        stack.extend(decisions[current]["requires"])
    return found
