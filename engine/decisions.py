"""Decisions evaluated as DMN 1.3 says: every hit policy, aggregation, default output and null.

A ``Decision`` is built from the texts a DMN file holds (``Decision.from_dict``: the same dictionary a
deployed version stores), so a deployed version compiles its tables once, when it is loaded. Cells
are read by ``engine.dmn_cells``; every expression (input expressions, output entries, expression
cells) runs in the sandbox through the ``evaluate`` function the caller gives.

Hit policies (DMN 1.3, 8.2.11): UNIQUE (more than one match is an error), ANY (matches must agree),
PRIORITY and OUTPUT ORDER (ranked by the outputs' value lists), FIRST, RULE ORDER, COLLECT with no
aggregation (a list) or SUM, COUNT, MIN, MAX. With no match, a single-hit table gives each output's
``defaultOutputEntry`` (null without one); a multiple-hit table gives an empty list (COUNT gives 0).

What goes wrong while deciding is a ``DecisionError`` with a code of ``engine.refusals`` naming the
decision, the rule and the column: the case gets an incident, never a silently chosen answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine import dmn_cells, feel_expressions, sandbox

SINGLE_HIT = ("UNIQUE", "ANY", "PRIORITY", "FIRST")
MULTIPLE_HIT = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
HIT_POLICIES = SINGLE_HIT + MULTIPLE_HIT
AGGREGATIONS = ("SUM", "COUNT", "MIN", "MAX")

# (python source, extra names) -> value: runs in the sandbox over the case's data
Evaluator = Callable[[str, Mapping[str, Any]], Any]


class DecisionError(Exception):
    """A decision could not give its answer (an overlap, a conflict, a failing cell): code and facts."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = {key: str(value) for key, value in params.items()}
        super().__init__(f"{code} {self.params}")


@dataclass
class InputColumn:
    label: str
    text: str  # the input expression as written
    source: str  # its sandbox source


@dataclass
class OutputColumn:
    name: str
    values: list[Any]  # the output values list (PRIORITY, OUTPUT ORDER), [] when none
    default: str | None  # the default output entry's sandbox source


@dataclass
class Row:
    number: int  # 1-based, as a modeler counts rules
    rule_id: str
    tests: list[dmn_cells.Test]
    outputs: list[str | None]  # sandbox sources; None: an empty output entry (null)

    @property
    def label(self) -> str:
        return f"{self.number} ({self.rule_id})" if self.rule_id else str(self.number)


class Decision:
    """One decision of a DMN file: a decision table or a literal expression, with what it requires."""

    def __init__(self, dct: dict[str, Any]) -> None:
        self.dct = dct
        self.id: str = dct["id"]
        self.name: str = dct.get("name") or self.id
        self.variable: str = dct["variable"]
        self.requires: list[str] = list(dct.get("requires", []))
        self.literal: str | None = None
        self.hit_policy, self.aggregation = dct.get("hit_policy", "UNIQUE"), dct.get("aggregation")
        self.inputs: list[InputColumn] = []
        self.outputs: list[OutputColumn] = []
        self.rows: list[Row] = []
        if dct.get("literal") is not None:
            self.literal = feel_expressions.translate(dct["literal"])
            return
        self.inputs = [InputColumn(i["label"], i["text"], feel_expressions.translate(i["text"]))
                       for i in dct["inputs"]]
        self.outputs = [OutputColumn(o["name"], [dmn_cells.literal(v)[1] for v in o.get("values", [])],
                                     _output_source(o.get("default"))) for o in dct["outputs"]]
        self.rows = [Row(n, r.get("id") or "", [dmn_cells.parse(cell) for cell in r["inputs"]],
                         [_output_source(cell) for cell in r["outputs"]]) for n, r in enumerate(dct["rules"], 1)]

    @classmethod
    def from_dict(cls, dct: dict[str, Any]) -> Decision:
        return cls(dct)

    def to_dict(self) -> dict[str, Any]:
        return self.dct

    # ------------------------------------------------------------ evaluating

    def evaluate(self, evaluate: Evaluator, known: Mapping[str, Any] | None = None) -> Any:
        """The decision's result: a value (one output or a literal), a dict (several outputs), or a list."""
        known = dict(known or {})
        if self.literal is not None:
            return self._run(evaluate, self.literal, known, None, None)
        values = [self._run(evaluate, column.source, known, None, column.label) for column in self.inputs]
        matched = [row for row in self.rows if self._matches(row, values, evaluate, known)]
        policy = self.hit_policy
        if policy in SINGLE_HIT:
            if not matched:
                return self._shape([None if o.default is None else self._run(evaluate, o.default, known, None, o.name)
                                    for o in self.outputs])
            if policy == "UNIQUE" and len(matched) > 1:
                raise DecisionError("dmn_unique_overlap_run", decision=self.id,
                                    rules=", ".join(row.label for row in matched))
            results = [self._outputs(row, evaluate, known) for row in matched]
            if policy == "ANY" and any(result != results[0] for result in results[1:]):
                raise DecisionError("dmn_any_conflict", decision=self.id,
                                    rules=", ".join(row.label for row in matched))
            if policy == "PRIORITY":
                ranked = sorted(zip(matched, results, strict=True), key=lambda pair: self._rank(*pair))
                return self._shape(ranked[0][1])
            return self._shape(results[0])
        results = [self._outputs(row, evaluate, known) for row in matched]
        if policy == "OUTPUT ORDER":
            results = [r for _, r in sorted(zip(matched, results, strict=True), key=lambda pair: self._rank(*pair))]
        shaped = [self._shape(result) for result in results]
        if policy == "COLLECT" and self.aggregation:
            return self._aggregate(shaped)
        return shaped

    def task_data(self, result: Any) -> dict[str, Any]:
        """What the business rule task writes into the case: each output by name (a list for multiple hits)."""
        if self.literal is not None:
            return {self.variable: result}
        if self.hit_policy in MULTIPLE_HIT and not (self.hit_policy == "COLLECT" and self.aggregation):
            if len(self.outputs) == 1:
                return {self.outputs[0].name: result}
            return {o.name: [item[o.name] for item in result] for o in self.outputs}
        if len(self.outputs) == 1:
            return {self.outputs[0].name: result}
        return dict(result)

    def _matches(self, row: Row, values: list[Any], evaluate: Evaluator, known: dict[str, Any]) -> bool:
        for column, (test, value) in enumerate(zip(row.tests, values, strict=True)):
            def run(source: str, input_value: Any, _column: int = column) -> Any:
                return self._run(evaluate, source, {**known, dmn_cells.INPUT_NAME: input_value}, row,
                                 self.inputs[_column].label)
            try:
                if not test.matches(value, run):
                    return False
            except dmn_cells.CellTypeError as exc:
                raise DecisionError("dmn_cell_type", decision=self.id, rule=row.label,
                                    column=self.inputs[column].label, detail=exc) from None
        return True

    def _outputs(self, row: Row, evaluate: Evaluator, known: dict[str, Any]) -> list[Any]:
        return [None if source is None else self._run(evaluate, source, known, row, output.name)
                for source, output in zip(row.outputs, self.outputs, strict=True)]

    def _shape(self, values: list[Any]) -> Any:
        if len(self.outputs) == 1:
            return values[0]
        return {output.name: value for output, value in zip(self.outputs, values, strict=True)}

    def _rank(self, row: Row, values: list[Any]) -> tuple:
        """A rule's place by the output values lists: the first output decides, then the next."""
        rank = []
        for output, value in zip(self.outputs, values, strict=True):
            if not output.values:
                continue
            positions = [i for i, allowed in enumerate(output.values) if dmn_cells.equal(value, allowed)]
            if not positions:
                raise DecisionError("dmn_output_not_listed", decision=self.id, rule=row.label, column=output.name)
            rank.append(positions[0])
        return (*rank, row.number)

    def _aggregate(self, values: list[Any]) -> Any:
        present = [v for v in values if v is not None]
        if self.aggregation == "COUNT":
            return len(present)
        if not present:
            return None
        if any(not dmn_cells.is_number(v) for v in present) and self.aggregation == "SUM":
            raise DecisionError("dmn_aggregate_not_number", decision=self.id, aggregation=self.aggregation)
        try:
            if self.aggregation == "SUM":
                return sum(present, Decimal(0) if any(isinstance(v, Decimal) for v in present) else 0)
            return min(present) if self.aggregation == "MIN" else max(present)
        except TypeError:
            raise DecisionError("dmn_aggregate_not_number", decision=self.id, aggregation=self.aggregation) from None

    def _run(self, evaluate: Evaluator, source: str, extra: Mapping[str, Any], row: Row | None,
             column: str | None) -> Any:
        try:
            return evaluate(source, extra)
        except (sandbox.LimitExceeded, DecisionError):
            raise
        except Exception as exc:
            raise DecisionError("dmn_cell_failed", decision=self.id, rule=row.label if row else "-",
                                column=column or "-", error=type(exc).__name__) from exc


def _output_source(text: str | None) -> str | None:
    text = (text or "").strip()
    return feel_expressions.translate(text) if text else None


class Decisions:
    """The decisions a business rule task may need: the one it calls and those it requires, in order."""

    def __init__(self, called: str, dcts: dict[str, dict[str, Any]]) -> None:
        self.called = called
        self.decisions = {key: Decision.from_dict(value) for key, value in dcts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"called": self.called, "decisions": {k: d.to_dict() for k, d in self.decisions.items()}}

    @classmethod
    def from_dict(cls, dct: dict[str, Any]) -> Decisions:
        return cls(dct["called"], dct["decisions"])

    def decide(self, evaluate: Evaluator) -> dict[str, Any]:
        """The called decision's outputs for the case data, its required decisions evaluated first."""
        known: dict[str, Any] = {}
        for decision_id in self.order():
            decision = self.decisions[decision_id]
            known[decision.variable] = decision.evaluate(evaluate, known)
        top = self.decisions[self.called]
        return top.task_data(known[top.variable])

    def result(self, evaluate: Evaluator) -> Any:
        """The called decision's own result (the value the DMN TCK expects)."""
        known: dict[str, Any] = {}
        for decision_id in self.order():
            decision = self.decisions[decision_id]
            known[decision.variable] = decision.evaluate(evaluate, known)
        return known[self.decisions[self.called].variable]

    def order(self) -> list[str]:
        """Required decisions before the decisions requiring them (deploy refused cycles)."""
        done: list[str] = []

        def visit(decision_id: str) -> None:
            if decision_id in done:
                return
            for required in self.decisions[decision_id].requires:
                visit(required)
            done.append(decision_id)

        visit(self.called)
        return done


def sandbox_evaluator(box: sandbox.Sandbox, data: Mapping[str, Any]) -> Evaluator:
    """Evaluate sources over ``data`` in ``box``, with FEEL's functions in reach."""
    feel = feel_expressions.functions()

    def evaluate(source: str, extra: Mapping[str, Any]) -> Any:
        return box.evaluate(source, data, {**feel, **extra})

    return evaluate


def environment_evaluator(environment: Any, data: Mapping[str, Any]) -> Evaluator:
    """Evaluate sources over ``data`` in a SpiffWorkflow script environment (the engine's runs the sandbox)."""
    feel = feel_expressions.functions()

    def evaluate(source: str, extra: Mapping[str, Any]) -> Any:
        return environment.evaluate(source, data, {**feel, **extra})

    return evaluate
