"""Deploy check of the improvement loop: a script that opens improvement items needs a process to run them.

``open_improvement(...)`` and ``count_recurrence(...)`` (which opens one when a group passes its threshold)
start a case of the process whose start event says ``improvement = true`` (``engine.catalogue``). Without
such a process the call fails in the middle of a complaint's step, long after deploy; so the deployment is
refused instead, naming each script that calls them and what to write.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from lxml import etree

from engine.catalogue import IMPROVEMENT
from engine.errors import Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
OPENERS = ("open_improvement", "count_recurrence")  # the script functions that open improvement items


def check(files: dict[str, str]) -> list[Problem]:
    """A problem for each script calling an opener when no executable process is an improvement process."""
    roots = {}
    for name, text in sorted(files.items()):
        if name.endswith(".bpmn"):
            try:
                roots[name] = etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError:
                continue  # the BPMN checks report a file that is not XML
    if any(serves_improvement(process) for root in roots.values() for process in _executable(root)):
        return []
    return [Problem.of(file, element, "improvement_process_missing", function=function)
            for file, root in roots.items() for element, function in _callers(root)]


def _executable(root: etree._Element) -> Iterator[etree._Element]:
    for process in root.iter(f"{{{BPMN}}}process"):
        if process.get("isExecutable", "true") == "true":
            yield process


def serves_improvement(process: etree._Element) -> bool:
    """Its start event says ``improvement = true`` (as ``engine.catalogue.build`` reads it)."""
    for start in process.iter(f"{{{BPMN}}}startEvent"):
        for prop in start.iter(f"{{{SPIFF}}}property"):
            if prop.get("name") == IMPROVEMENT and (prop.get("value") or "").strip() == "true":
                return True
    return False


def _callers(root: etree._Element) -> Iterator[tuple[str, str]]:
    """(element, function) of each script of an executable process calling an opener, the element as
    ``id (name)``."""
    for process in _executable(root):
        for node in process.iter():
            if not isinstance(node.tag, str):
                continue
            local = etree.QName(node).localname
            if local not in ("script", "preScript", "postScript"):
                continue
            owner = next((a for a in node.iterancestors()
                          if etree.QName(a).localname not in ("extensionElements",)), None)
            for function in _called(node.text or ""):
                yield _label(owner if owner is not None else node), function


def _called(script: str) -> list[str]:
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return []  # the sandbox's checks refuse a script that is no Python
    found = {node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in OPENERS}
    return [name for name in OPENERS if name in found]


def _label(node: etree._Element) -> str:
    found = node.get("id") or "?"
    name = " ".join((node.get("name") or "").split())
    return f"{found} ({name})" if name else found
