"""The ``complaintflow`` command line that ``make run`` drives, on a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from web import cli


@pytest.fixture
def env(tmp_path: Path, workflows_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    return workflows_dir


def test_demo_then_status_shows_demo_complaints_in_different_states(env, capsys):
    assert cli.main(["demo"]) == 0
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Deployed:   v1" in out
    assert "History:    intact" in out
    assert "start_emergency_handling (ql1" in out
    assert "message customer_reply" in out
    assert "approve_compensation_manager (mgr1" in out
    assert "give_gm_opinion (gm1" in out  # a serious case waits for the general manager's opinion
    assert "-SYSTEM-001" in out and "timer " in out


def test_demo_twice_adds_no_second_set_of_complaints(env, capsys):
    cli.main(["demo"])
    capsys.readouterr()
    assert cli.main(["demo"]) == 0
    assert "5 complaints already exist" in capsys.readouterr().out


def test_deploying_a_broken_folder_prints_the_problems_and_exits_2(env, capsys):
    cli.main(["deploy"])
    (env / "complaint.bpmn").write_text("<definitions>", encoding="utf-8")
    assert cli.main(["deploy", str(env)]) == 2
    err = capsys.readouterr().err
    assert "Deployment refused; nothing changed" in err
    assert "complaint.bpmn" in err


def test_verify_exits_0_on_an_intact_history(env, capsys):
    cli.main(["demo"])
    assert cli.main(["verify"]) == 0


def test_the_cli_uses_the_database_of_complaintflow_instance_as_the_web_does(tmp_path, workflows_dir, monkeypatch,
                                                                              capsys):
    """gunicorn and ``complaintflow scheduler`` of one installation must meet in one database."""
    from web.settings import from_environment

    monkeypatch.delenv("COMPLAINTFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("COMPLAINTFLOW_INSTANCE", str(tmp_path / "site"))
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["deploy"]) == 0
    assert (tmp_path / "site" / "complaintflow.sqlite").is_file()
    assert not (tmp_path / "instance").exists()
    assert cli.main(["status"]) == 0
    assert f"Database:   sqlite:///{tmp_path / 'site' / 'complaintflow.sqlite'}" in capsys.readouterr().out
    assert from_environment()["DATABASE_URL"] == f"sqlite:///{tmp_path / 'site' / 'complaintflow.sqlite'}"
