"""Business rule tasks decide with ``engine.decisions``; SpiffWorkflow keeps running the BPMN around them.

SpiffWorkflow's DMN engine evaluates hit policies, defaults and FEEL wrongly without an error (issue
10), so only how a decision is evaluated is replaced: the parser hands its business rule tasks a
``DecisionEngine`` (``DecisionParser.get_engine``), and the serializer stores that engine's decisions
(``DecisionTaskConverter``), so a deployed version's tables are compiled once, when it is loaded.
Versions deployed before keep loading: their SpiffWorkflow tables are read into the same form.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.task_spec import BusinessRuleTaskConverter, SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask

from engine import decision_checks, decisions


class DecisionFailed(WorkflowTaskException):
    """A decision failed while a case ran: the code and facts of ``engine.decisions.DecisionError``."""

    def __init__(self, error: decisions.DecisionError, task: Any) -> None:
        super().__init__(str(error), task=task)
        self.code, self.params = error.code, error.params


class DecisionEngine:
    """What a business rule task spec holds in place of SpiffWorkflow's ``DMNEngine``."""

    def __init__(self, decided: decisions.Decisions) -> None:
        self.decisions = decided

    def result(self, task: Any) -> dict[str, Any]:
        """Decide over the task's data in the workflow's sandbox and set the outputs in it.

        The outputs replace what the case held under their names, and nothing is left for SpiffWorkflow
        to merge (its deep merge would mix a list an earlier run collected with the new one).
        """
        environment = task.workflow.script_engine.environment  # the engine's: every cell runs in the sandbox
        try:
            outputs = self.decisions.decide(decisions.environment_evaluator(environment, task.data))
        except decisions.DecisionError as exc:
            raise DecisionFailed(exc, task) from exc
        task.data.update(outputs)
        return {}


class DecisionParser(SpiffBpmnParser):
    """SpiffWorkflow's parser, with the deployment's decisions (read by ``engine.decision_checks``)."""

    def __init__(self, decided: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.decided = decided

    def get_engine(self, decision_ref: str, node: Any) -> DecisionEngine:  # noqa: D102 - SpiffWorkflow's hook
        if decision_ref not in self.decided:
            raise ValidationException(f'no decision "{decision_ref}"', node=node, file_name="")
        return DecisionEngine(decisions.Decisions(decision_ref, decision_checks.needed(decision_ref, self.decided)))


class DecisionTaskConverter(BusinessRuleTaskConverter):
    """Stores a business rule task with its decisions; reads SpiffWorkflow's own form for older versions."""

    def to_dict(self, spec: Any) -> dict[str, Any]:
        dct = SpiffBpmnTaskConverter.to_dict(self, spec)
        dct["decisions"] = spec.dmnEngine.decisions.to_dict()
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        if "decisions" in dct:
            decided = decisions.Decisions.from_dict(dct.pop("decisions"))
        else:
            decided = from_spiff_table(dct.pop("decision_table"))
        dct["dmnEngine"] = DecisionEngine(decided)
        return self.task_spec_from_dict(dct)


def from_spiff_table(table: dict[str, Any]) -> decisions.Decisions:
    """A table stored by SpiffWorkflow's converter (versions deployed before this engine), in our form."""
    outputs = [{"name": o.get("name") or "", "values": [], "default": None} for o in table["outputs"]]
    dct = {
        "id": table["id"], "name": table.get("name") or table["id"], "variable": table["id"], "requires": [],
        "hit_policy": (table.get("hit_policy") or "UNIQUE").upper(), "aggregation": None,
        "inputs": [{"label": i.get("label") or i.get("expression") or "", "text": i.get("expression") or ""}
                   for i in table["inputs"]],
        "outputs": outputs,
        "rules": [{"id": r.get("id") or "",
                   "inputs": [next(iter(e.get("lhs") or [None])) or "-" for e in r["input_entries"]],
                   "outputs": [e.get("text") or "" for e in r["output_entries"]]} for r in table["rules"]],
    }
    return decisions.Decisions(table["id"], {table["id"]: dct})


def same_meaning(first: Any, second: Any) -> bool:
    """Whether two business rule task specs decide alike (ids, labels and file names aside).

    A version stored in SpiffWorkflow's table form and the same DMN deployed again differ in how they
    are written, not in what they decide: a case past the step may move between them.
    """
    engines = [getattr(spec, "dmnEngine", None) for spec in (first, second)]
    if not all(isinstance(each, DecisionEngine) for each in engines):
        return False
    return _meaning(engines[0].decisions) == _meaning(engines[1].decisions)


def _meaning(decided: decisions.Decisions) -> list[dict[str, Any]]:
    def cell(text: str | None) -> str:
        return (text or "").strip() or "-"

    found = []
    for decision_id in decided.order():
        dct = decided.decisions[decision_id].dct
        top_table = decision_id == decided.called and dct.get("literal") is None
        found.append({
            "hit_policy": dct.get("hit_policy"), "aggregation": dct.get("aggregation"), "literal": dct.get("literal"),
            "variable": None if top_table else dct["variable"],
            "inputs": [(i["text"] or "").strip() for i in dct.get("inputs", [])],
            "outputs": [(o["name"], list(o.get("values") or []), o.get("default")) for o in dct.get("outputs", [])],
            "rules": [([cell(c) for c in r["inputs"]], [(c or "").strip() for c in r["outputs"]])
                      for r in dct.get("rules", [])],
        })
    return found


def configure(config: dict) -> dict:
    """A SpiffWorkflow serializer configuration storing business rule tasks this way."""
    return {**config, BusinessRuleTask: DecisionTaskConverter}
