"""The shipped diagrams are valid BPMN 2.0 XML (the OMG schema SpiffWorkflow ships), so other modelers
open them and the bare-SpiffWorkflow benchmark, which parses with validation, reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator

from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "workflows").glob("*.bpmn"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_each_shipped_diagram_follows_the_bpmn_schema(path: Path):
    BpmnValidator().validate(etree.parse(str(path)), path.name)
