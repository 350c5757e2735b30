"""Deploy checks of what a diagram asks of the engine: every element either runs here or is refused.

SpiffWorkflow parses far more than this engine can carry out. A service task needs an operator
the engine does not offer; a signal or message nobody sends leaves a case waiting for ever; a link
or compensation event is read as a plain event and silently does the wrong thing; the parser's own
complaints about a task with two outgoing flows or a subprocess without a start are cut-off English
sentences. Each is found here in the file as written, before the parser sees it, and refused with
a code whose words (and what to draw instead) are in ``engine.refusals``.

What a case may wait on, and who ends the wait:
- a user, manual or plain task: a person of its lane, from the inbox (``engine.tasks``);
- a timer: the scheduler;
- a message catch: whoever calls ``Runtime.message`` with the message's name (``POST /api/v1/messages``,
  the customer pages), or a throw of the same message in the same case;
- a signal catch: a throw of the same signal in the same case (nothing outside a case sends signals).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask

if TYPE_CHECKING:
    from engine.validation import Bundle

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ACTIVITIES = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
              "businessRuleTask", "subProcess", "callActivity", "transaction", "adHocSubProcess"}
CATCHES = {"startEvent", "intermediateCatchEvent", "boundaryEvent"}
THROWS = {"intermediateThrowEvent", "endEvent"}
BLOCKING = {"intermediateCatchEvent", "receiveTask"}  # a case stands still there until the event comes
FLOW_NODES = ACTIVITIES | CATCHES | THROWS | {"exclusiveGateway", "inclusiveGateway", "parallelGateway",
                                              "eventBasedGateway", "complexGateway"}
PYTHON_FORMATS = {"python", "python3", "py", "text/python", "text/x-python", "application/x-python"}
SPLITTING_GATEWAYS = {"exclusiveGateway", "inclusiveGateway"}
UNSUPPORTED_KINDS = {"complexGateway": "complex_gateway_unsupported", "adHocSubProcess": "ad_hoc_unsupported",
                     "serviceTask": "service_task_unsupported"}
UNSUPPORTED_EVENTS = {"conditionalEventDefinition": "conditional_event_unsupported",
                      "linkEventDefinition": "link_event_unsupported",
                      "compensateEventDefinition": "compensation_unsupported"}


def _local(node: Any) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: Any, *names: str) -> list:
    return [child for child in node if _local(child) in names]


def label(node: Any) -> str:
    """The element as a refusal names it: its id, with its name in brackets when it has one."""
    found = node.get("id") or "?"
    name = " ".join((node.get("name") or "").split())
    return f"{found} ({name})" if name else found


@dataclass
class Catalogue:
    """What every BPMN file of the deployment throws, catches and calls, so one file's check sees the others."""

    processes: set[str] = field(default_factory=set)
    executable: set[str] = field(default_factory=set)
    calls: dict[str, set[str]] = field(default_factory=dict)  # process id -> process ids it calls
    thrown: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (kind, name) -> throwing processes
    caught: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (kind, name) -> catching processes
    decisions: set[str] = field(default_factory=set)  # decision ids of the DMN files

    @classmethod
    def of(cls, files: dict[str, str]) -> Catalogue:
        found = cls()
        for name, text in files.items():
            if not name.endswith((".bpmn", ".dmn")):
                continue
            try:
                root = etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError:
                continue
            found.decisions |= {node.get("id") for node in root.iter("{*}decision") if node.get("id")}
            for process in root.iter(f"{{{BPMN}}}process"):
                pid = process.get("id") or ""
                found.processes.add(pid)
                if _executable(process):
                    found.executable.add(pid)
                calls = found.calls.setdefault(pid, set())
                for node in process.iter(f"{{{BPMN}}}callActivity"):
                    if node.get("calledElement"):
                        calls.add(node.get("calledElement"))
                for node in _flow_nodes(process):
                    kind = _local(node)
                    for what, name in _events(root, node):
                        if kind in THROWS or kind == "sendTask":
                            found.thrown.setdefault((what, name), set()).add(pid)
                        elif kind in CATCHES or kind == "receiveTask":
                            found.caught.setdefault((what, name), set()).add(pid)
        return found

    def relatives(self, process_id: str) -> set[str]:
        """The processes that can run in the same case: those linked to it by call activities, either way."""
        seen, todo = {process_id}, [process_id]
        while todo:
            current = todo.pop()
            linked = set(self.calls.get(current, set()))
            linked |= {caller for caller, called in self.calls.items() if current in called}
            for other in linked - seen:
                seen.add(other)
                todo.append(other)
        return seen


def _executable(process: Any) -> bool:
    """As SpiffWorkflow reads it: a process without ``isExecutable`` is executable."""
    return process.get("isExecutable", "true") == "true"


def _flow_nodes(process: Any) -> Iterator[Any]:
    for node in process.iter():
        if _local(node) in FLOW_NODES:
            yield node


def _events(root: Any, node: Any) -> list[tuple[str, str]]:
    """(kind, name) of the messages and signals an event or a send/receive task throws or catches."""
    found = []
    kind = _local(node)
    if kind in ("sendTask", "receiveTask"):
        found.append(("message", _message_name(root, node.get("messageRef"), node)))
    for definition in _children(node, "messageEventDefinition"):
        found.append(("message", _message_name(root, definition.get("messageRef"), node)))
    for definition in _children(node, "signalEventDefinition"):
        found.append(("signal", " ".join((_named(root, "signal", definition.get("signalRef")) or "").split())))
    return found


def _named(root: Any, tag: str, ref: str | None) -> str | None:
    if not ref:
        return None
    for item in root.iter(f"{{{BPMN}}}{tag}"):
        if item.get("id") == ref:
            return item.get("name") or None
    return None


def _message_name(root: Any, ref: str | None, node: Any) -> str:
    """The name SpiffWorkflow matches a message by: its message's name, or without a message the event's name."""
    if ref:
        return " ".join((_named(root, "message", ref) or "").split())
    return " ".join((node.get("name") or "").split())


def check_file(bundle: Bundle, file: str, root: Any, catalogue: Catalogue) -> bool:
    """Refuse what the engine cannot carry out in the executable processes of one BPMN file; True if any."""
    before = len(bundle.problems)
    for process in root.iter(f"{{{BPMN}}}process"):
        if not _executable(process):
            continue
        _check_process(bundle, file, root, process, catalogue)
    return len(bundle.problems) > before


def _check_process(bundle: Bundle, file: str, root: Any, process: Any, catalogue: Catalogue) -> None:
    pid = process.get("id") or ""
    relatives = catalogue.relatives(pid)
    ids = {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    kinds = {node.get("id"): _local(node) for node in root.iter() if isinstance(node.tag, str) and node.get("id")}
    if not any(_local(node) not in CATCHES | THROWS or _local(node) in BLOCKING for node in _flow_nodes(process)):
        bundle.problem(file, label(process), "process_does_nothing", process=pid)
    for node in _flow_nodes(process):
        where, kind = label(node), _local(node)
        code = UNSUPPORTED_KINDS.get(kind)
        if code:
            bundle.problem(file, where, code)
            continue
        if node.get("isForCompensation") == "true":
            bundle.problem(file, where, "compensation_unsupported")
        for definition in node:
            code = UNSUPPORTED_EVENTS.get(_local(definition))
            if code:
                bundle.problem(file, where, code)
        if kind == "scriptTask" and (node.get("scriptFormat") or "python").strip().lower() not in PYTHON_FORMATS:
            bundle.problem(file, where, "script_not_python", format=node.get("scriptFormat"))
        elif kind == "scriptTask":
            script = next(iter(_children(node, "script")), None)
            if script is None or not (script.text or "").strip():
                bundle.problem(file, where, "script_empty")
        if kind == "callActivity" and not node.get("calledElement"):
            bundle.problem(file, where, "call_activity_unset")
        elif kind == "callActivity" and node.get("calledElement") not in catalogue.processes:
            bundle.problem(file, where, "call_activity_missing", called=node.get("calledElement"))
        elif kind == "callActivity" and node.get("calledElement") not in catalogue.executable:
            bundle.problem(file, where, "call_activity_not_executable", called=node.get("calledElement"))
        if kind == "subProcess" and node.get("triggeredByEvent") == "true" and any(
                start.get("isInterrupting", "true") != "false" for start in _children(node, "startEvent")):
            bundle.problem(file, where, "event_subprocess_interrupting")
        if kind in ("subProcess", "transaction"):
            starts = _children(node, "startEvent")
            if len(starts) != 1:
                bundle.problem(file, where, "subprocess_start_count", count=len(starts))
            if not _children(node, "endEvent"):
                bundle.problem(file, where, "subprocess_without_end")
        if kind == "businessRuleTask":
            _check_decision(bundle, file, where, node, catalogue)
        if kind == "parallelGateway":
            _check_join(bundle, file, where, node)
        _check_loop(bundle, file, where, node)
        _check_outgoing(bundle, file, where, node, kind)
        _check_data(bundle, file, where, node, ids, kinds)
        _check_events(bundle, file, root, where, node, kind, relatives, catalogue)


def _check_decision(bundle: Bundle, file: str, where: str, node: Any, catalogue: Catalogue) -> None:
    """A business rule task runs the DMN decision its ``spiffworkflow:calledDecisionId`` names."""
    called = [(item.text or "").strip() for item in node.iter("{*}calledDecisionId")]
    if not called or not called[0]:
        bundle.problem(file, where, "business_rule_without_decision")
    elif called[0] not in catalogue.decisions:
        bundle.problem(file, where, "decision_missing", decision=called[0])


def _check_join(bundle: Bundle, file: str, where: str, node: Any) -> None:
    """A parallel join whose branches part at an exclusive or event-based gateway waits for a branch never taken.

    For each incoming flow, walk back (not through the join) measuring steps; the splitting gateway
    common to every incoming flow and nearest to the join is where its branches part.
    """
    scope = node.getparent()
    flows = _children(scope, "sequenceFlow")
    incoming = [flow.get("sourceRef") for flow in flows if flow.get("targetRef") == node.get("id")]
    if len(incoming) < 2:
        return
    nodes = {child.get("id"): child for child in scope if _local(child) in FLOW_NODES}
    into: dict[str, list[str]] = {}
    out_count: dict[str, int] = {}
    for flow in flows:
        into.setdefault(flow.get("targetRef"), []).append(flow.get("sourceRef"))
        out_count[flow.get("sourceRef")] = out_count.get(flow.get("sourceRef"), 0) + 1
    distances = []
    for source in incoming:
        seen, todo = {source: 0}, [source]
        while todo:
            current = todo.pop(0)
            for earlier in into.get(current, []):
                if earlier not in seen and earlier != node.get("id"):
                    seen[earlier] = seen[current] + 1
                    todo.append(earlier)
        distances.append(seen)
    common = set.intersection(*(set(d) for d in distances))
    splits = [n for n in common if out_count.get(n, 0) > 1 and n in nodes and _local(nodes[n]).endswith("Gateway")]
    if not splits:
        return
    nearest = min(splits, key=lambda n: (max(d[n] for d in distances), n))
    if _local(nodes[nearest]) in ("exclusiveGateway", "eventBasedGateway"):
        bundle.problem(file, where, "join_waits_for_untaken_branch", gateway=label(nodes[nearest]))


def _check_loop(bundle: Bundle, file: str, where: str, node: Any) -> None:
    for loop in _children(node, "standardLoopCharacteristics"):
        if loop.get("loopMaximum") is None and not _children(loop, "loopCondition"):
            bundle.problem(file, where, "loop_without_end")
    for loop in _children(node, "multiInstanceLoopCharacteristics"):
        if not _children(loop, "loopCardinality", "loopDataInputRef"):
            bundle.problem(file, where, "multi_instance_without_count")


def _check_outgoing(bundle: Bundle, file: str, where: str, node: Any, kind: str) -> None:
    process = node.getparent()
    flows = [flow for flow in _children(process, "sequenceFlow") if flow.get("sourceRef") == node.get("id")]
    if kind in ACTIVITIES and len(flows) > 1:
        bundle.problem(file, where, "task_multiple_outgoing", count=len(flows))
    if kind in SPLITTING_GATEWAYS and len(flows) > 1:
        for flow in flows:
            if flow.get("id") != node.get("default") and not _children(flow, "conditionExpression"):
                bundle.problem(file, label(flow), "flow_without_condition", gateway=where)
        if not node.get("default"):
            _check_coverage(bundle, file, where, flows)


def _check_coverage(bundle: Bundle, file: str, where: str, flows: list) -> None:
    """A gateway without a default whose conditions test one form field against values must cover its enum.

    Otherwise a value the form allows takes no flow and the step before the gateway can never be done.
    Conditions of any other shape are left to the process owner (they cannot be judged from the file).
    """
    variable, values = None, set()
    for flow in flows:
        condition = next(iter(_children(flow, "conditionExpression")), None)
        tested = _tested_values((condition.text or "") if condition is not None else "")
        if tested is None or variable not in (None, tested[0]):
            return
        variable = tested[0]
        values |= tested[1]
    allowed = set()
    for schema in bundle.forms.values():
        prop = (schema.get("properties") or {}).get(variable) or {}
        allowed |= {value for value in prop.get("enum") or [] if isinstance(value, str)}
    missing = sorted(allowed - values)
    if allowed and missing:
        bundle.problem(file, where, "gateway_values_uncovered", field=variable, values=", ".join(missing))


def _tested_values(text: str) -> tuple[str, set[str]] | None:
    """(field, values) of ``field == "v"``, ``"v" == field`` or ``field in ("v", "w")``; None for anything else."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(tree, ast.Compare) or len(tree.ops) != 1:
        return None
    left, right, op = tree.left, tree.comparators[0], tree.ops[0]
    if isinstance(op, ast.Eq) and isinstance(right, ast.Name):
        left, right = right, left
    if not isinstance(left, ast.Name):
        return None
    if isinstance(op, ast.Eq) and isinstance(right, ast.Constant) and isinstance(right.value, str):
        return left.id, {right.value}
    if isinstance(op, ast.In) and isinstance(right, ast.Tuple | ast.List | ast.Set) and all(
            isinstance(item, ast.Constant) and isinstance(item.value, str) for item in right.elts):
        return left.id, {item.value for item in right.elts}
    return None


def _check_data(bundle: Bundle, file: str, where: str, node: Any, ids: set, kinds: dict) -> None:
    refs = [ref for assoc in _children(node, "dataInputAssociation") for ref in _children(assoc, "sourceRef")]
    refs += [ref for assoc in _children(node, "dataOutputAssociation") for ref in _children(assoc, "targetRef")]
    for ref in refs:
        target = (ref.text or "").strip()
        if kinds.get(target) == "dataStoreReference":
            bundle.problem(file, where, "data_store_unsupported")
        elif kinds.get(target) not in ("dataObjectReference", "dataObject"):
            bundle.problem(file, where, "data_association_unresolved", ref=target)


def _check_events(bundle: Bundle, file: str, root: Any, where: str, node: Any, kind: str, relatives: set[str],
                  catalogue: Catalogue) -> None:
    throws = kind in THROWS or kind == "sendTask"
    for what, name in _events(root, node):
        if not name:
            if what == "message":
                bundle.problem(file, where, "message_unnamed")
            else:
                bundle.problem(file, where, "signal_unnamed")
        elif throws and not relatives & catalogue.caught.get((what, name), set()):
            if what == "message":
                bundle.problem(file, where, "message_never_caught", name=name)
            else:
                bundle.problem(file, where, "signal_never_caught", name=name)
        elif not throws and what == "signal" and not relatives & catalogue.thrown.get((what, name), set()):
            bundle.problem(file, where, "signal_never_thrown", name=name)


# ---------------------------------------------------------------- parsed specs


def is_person_task(task_spec: Any) -> bool:
    """A manual or plain task: a person of its lane marks it done in the inbox (no form needed)."""
    return isinstance(task_spec, ManualTask | NoneTask)


def check_person_task(bundle: Bundle, file: str, where: str, task_spec: Any) -> None:
    """A manual or plain task goes to the inbox of its lane's role, so it needs a lane that is a role."""
    if not task_spec.lane:
        bundle.problem(file, where, "person_task_lane")
    elif bundle.roles and task_spec.lane not in bundle.roles:
        bundle.problem(file, where, "lane_not_role", lane=task_spec.lane, roles=", ".join(sorted(bundle.roles)))
    else:
        bundle.lanes.setdefault(task_spec.lane, []).append((file, where))
