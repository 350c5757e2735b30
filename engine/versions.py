"""What changed between two deployed versions: files, diagram elements and deadlines.

Layout (the diagram's shapes and edges) is not a change of the process, so it is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

DI = ("http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DMN/20180521/DMNDI/",
      "https://www.omg.org/spec/DMN/20191111/DMNDI/")
TIMER_PARTS = ("timeDuration", "timeDate", "timeCycle")


@dataclass(frozen=True)
class ElementChange:
    file: str
    element: str  # id
    name: str
    kind: str  # the BPMN/DMN element type, e.g. userTask


@dataclass(frozen=True)
class DeadlineChange:
    file: str
    element: str
    name: str
    before: str | None  # the timer expression, None when the timer is new
    after: str | None  # None when the timer was removed


@dataclass(frozen=True)
class VersionDiff:
    from_version: int
    to_version: int
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    elements_added: list[ElementChange] = field(default_factory=list)
    elements_removed: list[ElementChange] = field(default_factory=list)
    elements_changed: list[ElementChange] = field(default_factory=list)
    deadlines_changed: list[DeadlineChange] = field(default_factory=list)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _in_di(node: etree._Element) -> bool:
    return etree.QName(node).namespace in DI


def _own_content(node: etree._Element) -> list[etree._Element]:
    """The element's inner nodes, stopping at nested elements that have an id of their own."""
    found = []
    for child in node:
        if not isinstance(child.tag, str) or _in_di(child):
            continue
        if child.get("id") and not _local(child).endswith("EventDefinition"):
            continue
        found.append(child)
        found.extend(_own_content(child))
    return found


def _elements(text: str) -> dict[str, tuple[str, str, str, str | None]]:
    """id -> (kind, name, signature, timer expression) for every element with an id, layout left out."""
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return {}
    found = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or _in_di(node) or not node.get("id"):
            continue
        if _local(node).endswith("EventDefinition"):
            continue  # part of its event, compared with it
        parts = [f"{k}={v}" for k, v in sorted(node.attrib.items())]
        timer = None
        for child in _own_content(node):
            parts.append(f"{_local(child)}:{sorted(child.attrib.items())}:{(child.text or '').strip()}")
            if _local(child) in TIMER_PARTS:
                timer = (child.text or "").strip()
        found[node.get("id")] = (_local(node), " ".join((node.get("name") or "").split()), "\n".join(parts), timer)
    return found


def diff_files(old: dict[str, str], new: dict[str, str], from_version: int, to_version: int) -> VersionDiff:
    result = VersionDiff(from_version, to_version)
    result.files_added.extend(sorted(set(new) - set(old)))
    result.files_removed.extend(sorted(set(old) - set(new)))
    result.files_changed.extend(sorted(f for f in set(old) & set(new) if old[f] != new[f]))
    for file in sorted(set(old) | set(new)):
        if not file.endswith((".bpmn", ".dmn")) or old.get(file) == new.get(file):
            continue
        before, after = _elements(old.get(file, "")), _elements(new.get(file, ""))
        for element in sorted(set(after) - set(before)):
            kind, name, _, timer = after[element]
            result.elements_added.append(ElementChange(file, element, name, kind))
            if timer is not None:
                result.deadlines_changed.append(DeadlineChange(file, element, name, None, timer))
        for element in sorted(set(before) - set(after)):
            kind, name, _, timer = before[element]
            result.elements_removed.append(ElementChange(file, element, name, kind))
            if timer is not None:
                result.deadlines_changed.append(DeadlineChange(file, element, name, timer, None))
        for element in sorted(set(before) & set(after)):
            if before[element][2] != after[element][2]:
                kind, name, _, timer = after[element]
                result.elements_changed.append(ElementChange(file, element, name, kind))
                if before[element][3] != timer:
                    result.deadlines_changed.append(DeadlineChange(file, element, name, before[element][3], timer))
    return result
