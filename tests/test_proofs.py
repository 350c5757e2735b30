"""Inclusion proofs: a case's events are shown to be in the sealed log, checked without the database."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine import proofs
from engine.proofs import ProofError
from engine.seals import KEY_ENV, KEY_FILE_ENV
from engine.store.models import Event
from tests.driver import complete, registration, start_to_verified

KEY = "an auditor's key, not in the database"


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    return KEY


def proof_of(eng, number: str, folder) -> dict:  # noqa: ANN001
    path = eng.seals.seal(folder)
    return eng.proofs.build(number, eng.seals.load(path), json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture
def cases(eng) -> list[str]:
    """Several cases written in turns, so each case's events are spread over the log."""
    numbers = [eng.runtime.start("complaint", registration(channel=c), "cs1") for c in ("phone", "web", "email")]
    for number in numbers:
        complete(eng, number, "first_response")
    start_to_verified(eng, eng.runtime.start("complaint", registration(channel="store"), "cs1"))
    complete(eng, numbers[1], "verify")
    return numbers


def test_a_proof_holds_for_every_event_of_every_case_and_names_its_leaves(eng, cases, key, tmp_path):
    for number in cases:
        proof = proof_of(eng, number, tmp_path / "seals")
        assert [json.loads(e["event"])[2] for e in proof["events"]] == list(
            range(1, len(eng.history.events(number)) + 1))
        assert [e["leaf_index"] for e in proof["events"]] == [e.log_index for e in eng.history.events(number)]
        result = proofs.check(json.loads(json.dumps(proof)), KEY)
        assert result.ok and result.signature_checked and result.events == len(eng.history.events(number))


def test_a_proof_checks_its_paths_without_the_key_and_says_the_signature_was_not_checked(eng, cases, key, tmp_path,
                                                                                          monkeypatch):
    proof = proof_of(eng, cases[0], tmp_path / "seals")
    monkeypatch.delenv(KEY_ENV)
    result = proofs.check(proof)
    assert result.ok and not result.signature_checked


@pytest.mark.parametrize("tamper", ["event", "leaf_index", "audit_path", "root", "drop_first", "size"])
def test_an_edited_proof_fails(eng, cases, key, tmp_path, tamper):
    proof = proof_of(eng, cases[1], tmp_path / "seals")
    events = proof["events"]
    if tamper == "event":
        events[1]["event"] = events[1]["event"].replace("cs1", "cs2")
    elif tamper == "leaf_index":
        events[1]["leaf_index"] += 1
    elif tamper == "audit_path":
        events[1]["audit_path"][0] = "ab" * 32
    elif tamper == "root":
        proof["tree_head"]["root"] = "cd" * 32
    elif tamper == "drop_first":
        del events[0]
    elif tamper == "size":
        proof["tree_head"]["size"] += 1
    result = proofs.check(proof, KEY)
    assert not result.ok and result.problems


def test_a_proof_against_a_seal_the_log_no_longer_matches_is_refused(eng, cases, key, tmp_path):
    path = eng.seals.seal(tmp_path / "seals")
    seal = eng.seals.load(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    first = eng.history.events(cases[0])[0]
    table = Event.__table__
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.seq == first.seq).values(actor="intruder"))
    with pytest.raises(ProofError, match=f"event 1 of case {cases[0]} no longer matches its hash"):
        eng.proofs.build(cases[0], seal, document)
    with eng.db.engine.begin() as conn:  # the hash recomputed too: the log then misses the sealed root
        conn.execute(sa.update(table).where(table.c.log_index == 0).values(hash="ab" * 32))
    with pytest.raises(ProofError, match="no longer matches the seal"):
        eng.proofs.build(cases[1], seal, document)


def test_cli_prove_then_check_proof_without_the_database(workflows_dir, key, tmp_path, monkeypatch, capsys):
    from web import cli

    database = tmp_path / "cli.sqlite"
    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    monkeypatch.setenv("COMPLAINTFLOW_CLOCK", "manual")
    assert cli.main(["demo"]) == 0
    import engine

    with engine.open(f"sqlite:///{database}", workflows_dir) as eng:
        number = eng.cases.numbers(process_id="complaint")[0]
        events = len(eng.history.events(number))
    capsys.readouterr()
    out = tmp_path / "proof.json"
    assert cli.main(["prove", number, "--out", str(out), "--folder", str(tmp_path / "seals")]) == 0
    assert f"Proof of {events} events of {number}" in capsys.readouterr().out
    database.unlink()  # checking needs no database
    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert cli.main(["check-proof", str(out)]) == 0
    assert "Proof holds" in capsys.readouterr().out and not database.exists()
    document = json.loads(out.read_text(encoding="utf-8"))
    document["events"][0]["event"] = document["events"][0]["event"].replace(number, number + "X")
    out.write_text(json.dumps(document), encoding="utf-8")
    assert cli.main(["check-proof", str(out)]) == 1
    assert "Proof FAILS" in capsys.readouterr().out


def test_a_consistency_proof_shows_an_older_seal_is_a_prefix_of_a_newer_one(eng, cases, key, tmp_path,
                                                                           monkeypatch):
    folder = tmp_path / "seals"
    old_path = eng.seals.seal(folder)
    number = eng.runtime.start("complaint", registration(channel="web"), "cs1")
    complete(eng, number, "first_response")
    new_path = eng.seals.seal(folder)
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in (old_path, new_path)]
    old, new = eng.seals.load(old_path), eng.seals.load(new_path)
    proof = eng.proofs.consistency(old, documents[0], new, documents[1])
    assert proofs.check(proof, KEY).ok and proofs.check(proof, KEY).signature_checked
    monkeypatch.delenv(KEY_ENV)
    assert proofs.check(proof).ok  # the hashes need no key
    forged = dict(proof, proof=["ab" * 32, *proof["proof"][1:]])
    assert not proofs.check(forged).ok
    with pytest.raises(ProofError, match="older seal comes first"):
        eng.proofs.consistency(new, documents[1], old, documents[0])


def test_cli_prove_consistency_then_check_it(eng, cases, key, tmp_path, monkeypatch, capsys, database_url,
                                             workflows_dir):
    from web import cli

    folder = tmp_path / "seals"
    old_path = eng.seals.seal(folder)
    complete(eng, cases[2], "verify")
    new_path = eng.seals.seal(folder)
    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    out = tmp_path / "consistency.json"
    assert cli.main(["prove-consistency", str(old_path), str(new_path), "--out", str(out)]) == 0
    assert cli.main(["check-proof", str(out)]) == 0
    assert "Consistency proof holds" in capsys.readouterr().out
