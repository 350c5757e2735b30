"""Tampering with the history straight in the database is found, and the first bad event named.

The attacker here is whoever holds the database: they edit, delete, insert and reorder event
rows with SQL, and can even rewrite a whole tail with freshly computed hashes and move the
chain head. Plain verify catches all but that rewrite (and a truncated tail); a seal made
before it, signed with a key the database does not hold, catches those too.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.history import GENESIS, event_hash
from engine.seals import KEY_ENV, KEY_FILE_ENV, Seal, SealError
from engine.store.models import ChainHead, Event
from tests.driver import complete, registration, start_to_verified

KEY = "an auditor's key, not in the database"
E, H = Event.__table__, ChainHead.__table__


@pytest.fixture
def history(eng) -> list[dict]:
    """Three cases at different steps: about a dozen events."""
    for channel in ("phone", "web", "email"):
        number = eng.runtime.start("complaint", registration(channel=channel), "cs1")
        complete(eng, number, "first_response")
        if channel != "email":
            complete(eng, number, "verify")
    rows = events(eng)
    assert len(rows) >= 8 and eng.history.verify().ok
    return rows


def events(eng) -> list[dict]:
    with eng.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(E).order_by(E.c.seq))]


def rehash(row: dict, prev: str) -> dict:
    row = dict(row, prev_hash=prev)
    row["hash"] = event_hash(prev, row["seq"], row["case_number"], row["at"], row["actor"], row["kind"],
                             row["deployment_version"], row["payload"])
    return row


def shift(conn, after: int, by: int) -> None:
    """Renumber the events after ``after`` by ``by`` (in two steps: seq is the primary key)."""
    conn.execute(sa.update(E).where(E.c.seq > after).values(seq=-E.c.seq))
    conn.execute(sa.update(E).where(E.c.seq < 0).values(seq=-E.c.seq + by))


def write_rows(conn, rows: list[dict]) -> None:
    for row in rows:
        conn.execute(sa.update(E).where(E.c.seq == row["seq"]).values(
            **{k: v for k, v in row.items() if k != "seq"}))


def move_head(conn, seq: int, digest: str) -> None:
    conn.execute(sa.update(H).where(H.c.id == 1).values(seq=seq, hash=digest))


def rewrite_tail(eng, after: int) -> None:
    """Change the event after ``after`` and recompute every hash from there, and the chain head."""
    rows = events(eng)
    prev = rows[after - 1]["hash"]
    fresh = []
    for row in rows[after:]:
        if row["seq"] == after + 1:
            row = dict(row, payload=row["payload"].replace("cs1", "cs2"), actor="cs2")
        row = rehash(row, prev)
        fresh.append(row)
        prev = row["hash"]
    with eng.db.engine.begin() as conn:
        write_rows(conn, fresh)
        move_head(conn, fresh[-1]["seq"], prev)


def assert_bad(eng, seq: int, *words: str):  # noqa: ANN201
    result = eng.history.verify()
    assert not result.ok
    assert result.first_bad_seq == seq, result
    assert result.checked == seq - 1
    for word in words:
        assert word in result.reason, result.reason
    return result


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    return KEY


# -- plain verify: each kind of tampering named at its first bad event ------------------------

def test_an_edited_payload_names_that_event(eng, history):
    target = history[4]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target).values(payload=history[4]["payload"] + " "))
    assert_bad(eng, target, "changed")


@pytest.mark.parametrize("field, value", [("actor", "mgr1"), ("kind", "case_archived"),
                                          ("case_number", "20260101-PHONE-999"), ("deployment_version", 7)])
def test_an_edited_field_names_that_event(eng, history, field, value):
    target = history[2]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target).values(**{field: value}))
    assert_bad(eng, target, "changed")


def test_an_edited_time_names_that_event(eng, history):
    target = history[3]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target["seq"]).values(at=target["at"] - timedelta(hours=1)))
    assert_bad(eng, target["seq"], "changed")


def test_an_edit_whose_own_hash_was_recomputed_still_names_that_event(eng, history):
    target = dict(history[3], payload=history[3]["payload"][:-1] + ',"zz":"added later"}')
    with eng.db.engine.begin() as conn:
        write_rows(conn, [rehash(target, target["prev_hash"])])
    assert_bad(eng, target["seq"], "changed", "recomputed")


@pytest.mark.parametrize("index", [0, 5, -1])
def test_a_deleted_event_names_the_missing_seq(eng, history, index):
    target = history[index]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq == target))
    assert_bad(eng, target, "missing" if index != -1 else "removed")


def test_a_deleted_event_with_the_later_ones_renumbered_names_the_missing_seq(eng, history):
    target = history[5]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq == target))
        shift(conn, target, -1)
        move_head(conn, history[-2]["seq"], history[-1]["hash"])
    assert_bad(eng, target, "missing", "renumbered")


def test_an_inserted_event_with_a_valid_hash_is_named(eng, history):
    k = history[4]
    forged = rehash(dict(k, seq=k["seq"] + 1, actor="sup1", kind="note_added",
                         payload=json.dumps({"note": "approved by phone"})), k["hash"])
    with eng.db.engine.begin() as conn:
        shift(conn, k["seq"], 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, history[-1]["seq"] + 1, history[-1]["hash"])
    assert_bad(eng, forged["seq"], "inserted")


def test_an_inserted_event_with_a_plausible_but_wrong_hash_is_named(eng, history):
    k = history[4]
    forged = dict(k, seq=k["seq"] + 1, prev_hash=k["hash"], hash="ab" * 32, kind="note_added")
    with eng.db.engine.begin() as conn:
        shift(conn, k["seq"], 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, history[-1]["seq"] + 1, history[-1]["hash"])
    assert_bad(eng, forged["seq"], "inserted")


def test_an_event_appended_past_the_chain_head_is_named(eng, history):
    last = history[-1]
    forged = rehash(dict(last, seq=last["seq"] + 1, kind="note_added"), last["hash"])
    with eng.db.engine.begin() as conn:
        conn.execute(sa.insert(E), forged)
    assert_bad(eng, forged["seq"], "inserted")


def test_two_neighbours_with_their_seq_exchanged_name_the_first(eng, history):
    first, second = history[3]["seq"], history[4]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == first).values(seq=-1))
        conn.execute(sa.update(E).where(E.c.seq == second).values(seq=first))
        conn.execute(sa.update(E).where(E.c.seq == -1).values(seq=second))
    assert_bad(eng, first, "swapped")


def test_two_distant_events_with_their_seq_exchanged_name_the_first(eng, history):
    first, second = history[2]["seq"], history[6]["seq"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == first).values(seq=-1))
        conn.execute(sa.update(E).where(E.c.seq == second).values(seq=first))
        conn.execute(sa.update(E).where(E.c.seq == -1).values(seq=second))
    assert_bad(eng, first)


def test_two_events_with_their_contents_exchanged_name_the_first(eng, history):
    a, b = history[2], history[5]
    content = ("case_number", "at", "actor", "kind", "payload", "deployment_version")
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == a["seq"]).values(**{k: b[k] for k in content}))
        conn.execute(sa.update(E).where(E.c.seq == b["seq"]).values(**{k: a[k] for k in content}))
    assert_bad(eng, a["seq"], "changed")


def test_two_events_swapped_with_every_hash_recomputed_pass_plain_verify_but_not_a_seal(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    a, b = history[3], history[4]
    rows = events(eng)
    rows[3], rows[4] = dict(b, seq=a["seq"]), dict(a, seq=b["seq"])
    prev = rows[2]["hash"]
    fresh = []
    for row in rows[3:]:
        fresh.append(rehash(row, prev))
        prev = fresh[-1]["hash"]
    with eng.db.engine.begin() as conn:
        write_rows(conn, fresh)
        move_head(conn, fresh[-1]["seq"], prev)
    assert eng.history.verify().ok
    result = eng.seals.verify_against(seal)
    assert not result.ok and result.first_bad_seq == seal.seq


def test_an_edited_chain_head_is_named(eng, history):
    with eng.db.engine.begin() as conn:
        move_head(conn, history[-1]["seq"], "cd" * 32)
    assert_bad(eng, history[-1]["seq"], "head")


# -- seals --------------------------------------------------------------------------------------

def test_a_seal_is_a_small_signed_json_file_of_the_chain_head(eng, history, key, tmp_path):
    path = eng.seals.seal(tmp_path / "seals")
    assert path.name == f"seal-{history[-1]['seq']}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"format", "seq", "hash", "events", "sealed_at", "signature"}
    assert document["seq"] == document["events"] == len(history)
    assert document["hash"] == history[-1]["hash"]
    seal = eng.seals.load(path)
    assert isinstance(seal, Seal) and seal.sealed_at == eng.clock.now()
    assert eng.seals.verify_against(seal).ok


def test_a_rewritten_tail_passes_plain_verify_but_not_a_seal_made_before(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    k = 4
    rewrite_tail(eng, k)
    assert eng.history.verify().ok  # every hash and the head were recomputed: plain verify cannot tell
    result = eng.seals.verify_against(seal)
    assert not result.ok
    assert result.first_bad_seq == seal.seq
    assert "sealed hash" in result.reason and "rewritten" in result.reason


def test_two_seals_narrow_a_rewrite_down_to_the_events_between_them(eng, history, key, tmp_path, clock):
    folder = tmp_path / "seals"
    early = eng.seals.load(eng.seals.seal(folder))
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    start_to_verified(eng, number)
    late = eng.seals.load(eng.seals.seal(folder))
    assert late.seq > early.seq + 1
    rewrite_tail(eng, early.seq + 1)
    assert eng.history.verify().ok
    result = eng.seals.verify_against(eng.seals.load_folder(folder))
    assert not result.ok and result.first_bad_seq == late.seq
    assert f"after event {early.seq}" in result.reason
    assert eng.seals.verify_against(early).ok  # the rewrite lies after it


def test_a_truncated_tail_with_the_head_moved_back_is_caught_by_a_seal(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    keep = history[5]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq > keep["seq"]))
        move_head(conn, keep["seq"], keep["hash"])
    assert eng.history.verify().ok
    result = eng.seals.verify_against(seal)
    assert not result.ok and result.first_bad_seq == keep["seq"] + 1
    assert "removed" in result.reason


def test_verify_against_a_seal_with_the_whole_chain_also_checks_later_events(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    last = events(eng)[-1]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == last["seq"]).values(actor="mgr1"))
    assert eng.seals.verify_against(seal).ok  # the seal covers only what it sealed
    result = eng.seals.verify_against(seal, whole_chain=True)
    assert not result.ok and result.first_bad_seq == last["seq"]


@pytest.mark.parametrize("field, value", [("seq", 3), ("hash", "0" * 64), ("events", 999),
                                          ("sealed_at", "2030-01-01T00:00:00+00:00")])
def test_an_edited_seal_is_refused(eng, history, key, tmp_path, field, value):
    path = eng.seals.seal(tmp_path / "seals")
    document = json.loads(path.read_text(encoding="utf-8"))
    document[field] = value
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SealError, match="not genuine"):
        eng.seals.load(path)


def test_a_seal_forged_with_another_key_or_without_a_signature_is_refused(eng, history, key, tmp_path):
    path = eng.seals.seal(tmp_path / "seals", key="the attacker's own key, quite long")
    with pytest.raises(SealError, match="not genuine"):
        eng.seals.load(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["signature"]
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SealError, match="not a complaintflow seal"):
        eng.seals.load(path)


def test_sealing_without_a_key_is_refused_with_a_clear_message(eng, history, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    with pytest.raises(SealError, match=f"no seal key: set {KEY_ENV} or {KEY_FILE_ENV}"):
        eng.seals.seal(tmp_path / "seals")
    assert not list(tmp_path.glob("seals/seal-*.json"))
    with pytest.raises(SealError, match="too short"):
        eng.seals.seal(tmp_path / "seals", key="short")


def test_the_key_may_come_from_a_key_file(eng, history, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "seal.key").write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "seal.key"))
    path = eng.seals.seal(tmp_path / "seals")
    assert eng.seals.load(path, key=KEY).seq == len(history)
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(SealError, match="cannot read the seal key file"):
        eng.seals.seal(tmp_path / "seals")


def test_a_broken_history_is_not_sealed(eng, history, key, tmp_path):
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == history[2]["seq"]).values(actor="mgr1"))
    with pytest.raises(SealError, match=f"broken at event {history[2]['seq']}"):
        eng.seals.seal(tmp_path / "seals")


def test_sealing_again_checks_only_new_events_and_refuses_a_history_that_left_its_last_seal(
        eng, history, key, tmp_path):
    folder = tmp_path / "seals"
    first = eng.seals.seal(folder)
    assert eng.seals.seal(folder) == first  # nothing new: the same seal
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    calls: list[tuple[int, int]] = []
    second = eng.seals.seal(folder, progress=lambda checked, total: calls.append((checked, total)))
    assert second != first and calls[-1] == (len(events(eng)), len(events(eng)))
    rewrite_tail(eng, 3)
    with pytest.raises(SealError, match="broken at event|no longer matches"):
        eng.seals.seal(folder)


def test_a_forged_seal_in_the_folder_stops_sealing(eng, history, key, tmp_path):
    folder = tmp_path / "seals"
    path = eng.seals.seal(folder)
    document = json.loads(path.read_text(encoding="utf-8"))
    (folder / "seal-1.json").write_text(json.dumps(dict(document, seq=1)), encoding="utf-8")
    with pytest.raises(SealError, match="not genuine"):
        eng.seals.seal(folder)


# -- progress -----------------------------------------------------------------------------------

def test_verify_reports_progress_batch_by_batch(eng, history):
    calls: list[tuple[int, int]] = []
    result = eng.history.verify(lambda checked, total: calls.append((checked, total)), batch_size=3)
    assert result.ok and result.checked == len(history)
    assert len(calls) >= len(history) // 3
    assert [c for c, _ in calls] == sorted(c for c, _ in calls)
    assert {t for _, t in calls} == {len(history)}
    assert calls[-1] == (len(history), len(history))


def test_verify_up_to_an_event_stops_there(eng, history):
    result = eng.history.verify(up_to=5, batch_size=2)
    assert result.ok and result.checked == 5


def test_verify_in_small_batches_names_the_same_event(eng, history):
    k = history[4]
    forged = rehash(dict(k, seq=k["seq"] + 1, kind="note_added"), k["hash"])
    with eng.db.engine.begin() as conn:
        shift(conn, k["seq"], 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, history[-1]["seq"] + 1, history[-1]["hash"])
    for size in (1, 2, 5, 1000):
        result = eng.history.verify(batch_size=size)
        assert result.first_bad_seq == forged["seq"] and "inserted" in result.reason


def test_the_genesis_is_the_first_prev_hash(eng, history):
    assert history[0]["prev_hash"] == GENESIS


# -- the command line ---------------------------------------------------------------------------

def test_cli_seal_then_verify_against_it_with_a_progress_line(workflows_dir, key, tmp_path, monkeypatch, capsys):
    from web import cli

    monkeypatch.setenv("COMPLAINTFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("COMPLAINTFLOW_WORKFLOWS", str(workflows_dir))
    monkeypatch.setenv("COMPLAINTFLOW_CLOCK", "manual")
    assert cli.main(["demo"]) == 0
    folder = tmp_path / "seals"
    assert cli.main(["seal", "--folder", str(folder)]) == 0
    out = capsys.readouterr().out
    [path] = folder.glob("seal-*.json")
    sealed = json.loads(path.read_text(encoding="utf-8"))["seq"]
    assert f"Sealed event {sealed} ({sealed} events" in out
    assert cli.main(["verify", "--seal", str(path)]) == 0
    captured = capsys.readouterr()
    assert "History intact" in captured.out and f"verifying: {sealed} of {sealed} events (100%)" in captured.err
    import engine

    with engine.open(f"sqlite:///{tmp_path / 'cli.sqlite'}", workflows_dir) as eng:
        rewrite_tail(eng, 3)
    assert cli.main(["verify"]) == 0
    assert cli.main(["verify", "--seal", str(folder)]) == 1
    assert f"History BROKEN at event {sealed}" in capsys.readouterr().out
    monkeypatch.delenv(KEY_ENV)
    assert cli.main(["seal", "--folder", str(folder)]) == 2
    assert "no seal key" in capsys.readouterr().err
