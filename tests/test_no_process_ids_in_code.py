"""No Python under engine/ or web/ decides by a name the process owners chose.

Every id in workflows/ (processes, elements, messages, decisions, form files and form field
names) is collected from the files themselves; a string literal in engine/ or web/ (templates
included) equal to one of them fails the test, naming file and line. A rename in the diagrams
must never need a code change: the code asks the deployed version's catalogue instead.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from lxml import etree

from engine.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"

# Generic words that are also field names in the shipped forms, each with why the code may use it.
ALLOWED = {
    "attachments": "the engine's attachment store and its upload field type, not a read of case data",
    "description": "a JSON Schema / OpenAPI keyword",
    "notes": "a generic word of the web's own forms",
    "actions": "the CSS class of a table's action column",
    "progress": "the CLI's progress reporting",
    "verify": "the history's verify command and page (complaintflow verify, /audit/verify)",
    "split": "a str method name the sandbox allows",
    "archived": "a case status (engine/store/enums.py), not an element",
}


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def process_names() -> set[str]:
    """Ids of processes, elements, messages and decisions; message names; form files and their fields."""
    names: set[str] = set()
    for path in sorted(WORKFLOWS.rglob("*")):
        if path.suffix in (".bpmn", ".dmn"):
            root = etree.parse(str(path)).getroot()
            for node in root.iter():
                tag = _local(node.tag)
                if node.get("id") and not tag.startswith("BPMN") and tag not in ("definitions",):
                    names.add(node.get("id"))
                if tag in ("message", "signal", "error", "escalation", "decision", "output", "input") \
                        and node.get("name"):
                    names.add(node.get("name"))
                if tag in ("messageVariable", "calledDecisionId") and (node.text or "").strip():
                    names.add(node.text.strip())
        elif path.suffix == ".json" and path.parent.name == "forms":
            schema = json.loads(path.read_text(encoding="utf-8"))
            names.add(path.name)
            names.update((schema.get("properties") or {}).keys())
    return {n for n in names if re.fullmatch(r"[A-Za-z_][\w.]*", n)}


def column_names() -> set[str]:
    """Columns of our own tables: the schema names them by meaning, which is not reading case data by name."""
    return {column.name for table in Base.metadata.tables.values() for column in table.columns}


def _is_query_args(node: ast.AST) -> bool:
    """``request.args`` / ``args``: the web's own URL parameters (its filters are named after columns)."""
    return (isinstance(node, ast.Name) and node.id == "args") or \
        (isinstance(node, ast.Attribute) and node.attr == "args")


def _reads_data(node: ast.Constant, parents: dict[ast.AST, ast.AST]) -> bool:
    """``x.get("name")``, ``x["name"]`` or ``"name" in x``: the literal reads a mapping by that name."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.slice is node:
        return True
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node and \
            isinstance(parent.func, ast.Attribute) and parent.func.attr in ("get", "pop", "setdefault"):
        return not _is_query_args(parent.func.value)
    return isinstance(parent, ast.Compare) and parent.left is node and \
        any(isinstance(op, ast.In | ast.NotIn) for op in parent.ops)


def source_hits(path: Path, names: set[str]) -> list[tuple[int, str]]:
    """(line, literal) of each string literal in ``path`` that names a process fact.

    A column name of our own schema passes, unless the literal reads a mapping by it (``data.get("grade")``).
    """
    columns = column_names()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
            and node.value not in ALLOWED and (node.value not in columns or _reads_data(node, parents))]


def python_hits(names: set[str]) -> list[str]:
    hits = []
    for path in sorted([*(ROOT / "engine").rglob("*.py"), *(ROOT / "web").rglob("*.py")]):
        if "migrations" in path.parts:  # past schema versions, written once and never changed
            continue
        hits += [f"{path.relative_to(ROOT)}:{line}: {literal!r}" for line, literal in source_hits(path, names)]
    return hits


TEMPLATE_READ = re.compile(r"""(?<!args)(\.get\(|\[|==\s*|!=\s*|\bin\s+\(?)\s*(?:'|")([A-Za-z_][\w.]*)(?:'|")""")
TEMPLATE_LITERAL = re.compile(r"""(?<![\w-])(?:'|")([A-Za-z_][\w.]*)(?:'|")""")


def template_hits(names: set[str]) -> list[str]:
    """Literals in templates: any process id, and a column name only where it reads or compares data."""
    columns = column_names()
    hits = []
    for path in sorted((ROOT / "web").rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            reads = {m.group(2) for m in TEMPLATE_READ.finditer(line)}
            for literal in TEMPLATE_LITERAL.findall(line):
                if literal in names and literal not in ALLOWED and (literal not in columns or literal in reads):
                    hits.append(f"{path.relative_to(ROOT)}:{number}: {literal!r}")
    return hits


def test_the_collector_finds_the_shipped_ids():
    """Guards the test itself: if parsing stopped finding ids, the checks below would pass vacuously."""
    names = process_names()
    for expected in ("complaint", "callback", "callbacks", "plan_confirmation", "customer_reply", "grading",
                     "propose_plan", "propose_plan.json", "satisfaction_label", "involved_staff", "grade"):
        assert expected in names, expected


def test_no_process_id_or_field_name_is_a_string_literal_in_engine_or_web_python():
    hits = python_hits(process_names())
    assert not hits, "process facts named in code (ask the deployed catalogue instead):\n" + "\n".join(hits)


def test_no_template_decides_by_a_process_id_or_field_name():
    hits = template_hits(process_names())
    assert not hits, "process facts named in templates:\n" + "\n".join(hits)


def test_the_check_catches_a_planted_element_id_and_a_read_of_a_field(tmp_path):
    """Lines like the ones this test exists to stop are found; a column named like a field is not a read."""
    planted = tmp_path / "planted.py"
    planted.write_text('SURVEY_STEP = "callback"\nGRADE = data.get("grade")\nquery = select(Case.grade)\n'
                       'COLUMNS = ("grade",)\nwanted = request.args.get("grade")\n', encoding="utf-8")
    assert source_hits(planted, process_names()) == [(1, "callback"), (2, "grade")]
