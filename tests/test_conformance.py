"""BPMN files drawn by other modelers (the MIWG reference models and their bpmn.io exports):
each one is accepted, or refused with problems that name the file, the element and the reason.
None crashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import engine
from engine.errors import DeployError

MIWG = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "miwg"
FILES = sorted(MIWG.glob("*/*.bpmn"))
ROLES = Path(__file__).resolve().parents[1] / "workflows" / "roles.toml"


def test_the_conformance_files_are_there():
    assert len(FILES) >= 40, f"expected the MIWG files under {MIWG}"


@pytest.fixture(scope="module")
def conformance_engine(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("miwg")
    with engine.open(f"sqlite:///{folder / 'miwg.sqlite'}", folder) as eng:
        yield eng


@pytest.mark.parametrize("bpmn", FILES, ids=[f"{f.parent.name[:9]}/{f.name}" for f in FILES])
def test_a_file_from_another_modeler_is_accepted_or_refused_element_by_element(bpmn, conformance_engine, tmp_path):
    shutil.copy(bpmn, tmp_path / bpmn.name)
    shutil.copy(ROLES, tmp_path / "roles.toml")
    try:
        versions = conformance_engine.repository.deploy(tmp_path, actor="owner1", note=bpmn.name)
    except DeployError as refused:
        assert refused.problems
        for problem in refused.problems:
            assert problem.file == bpmn.name, problem
            assert problem.element, problem
            assert problem.message and "Traceback" not in problem.message, problem
    else:
        assert versions, "accepted, so a version was made"
