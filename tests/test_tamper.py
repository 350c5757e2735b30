"""Tampering with the history straight in the database is found, and the first bad event named.

The attacker here is whoever holds the database: they edit, delete, insert and reorder event
rows with SQL, and can even rewrite a case's chain with freshly computed hashes and move its head,
or go further and recompute the log's tree heads too. Plain verify catches everything in a case
chain but such a rewrite; the log catches the rewrite of a sequenced event; a seal made before it,
signed with a key the database does not hold, catches the rewrite of the log as well.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine import merkle
from engine.history import GENESIS, SYSTEM, event_hash, log_leaf
from engine.seals import KEY_ENV, KEY_FILE_ENV, Seal, SealError
from engine.store.models import Case, Event, LogState, StreamHead, TreeHead
from tests.driver import complete, registration, start_to_verified, to_plan

KEY = "an auditor's key, not in the database"
E, S, L, T, C = Event.__table__, StreamHead.__table__, LogState.__table__, TreeHead.__table__, Case.__table__


@pytest.fixture
def history(eng) -> dict[str, list[dict]]:
    """Three cases at different steps, each its own chain: stream -> its events in chain order."""
    long = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    to_plan(eng, long)
    for channel in ("web", "email"):
        number = eng.runtime.start("complaint", registration(channel=channel), "cs1")
        complete(eng, number, "first_response")
    streams = chains(eng)
    assert len(streams[long]) >= 5 and SYSTEM in streams and eng.history.verify().ok
    return streams


@pytest.fixture
def case(history) -> list[dict]:
    """The longest case chain."""
    return max((rows for stream, rows in history.items() if stream != SYSTEM), key=len)


def chains(eng) -> dict[str, list[dict]]:
    with eng.db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(E).order_by(E.c.stream, E.c.stream_seq))]
    streams: dict[str, list[dict]] = {}
    for row in rows:
        streams.setdefault(row["stream"], []).append(row)
    return streams


def rehash(row: dict, prev: str, n: int | None = None) -> dict:
    row = dict(row, prev_hash=prev, stream_seq=row["stream_seq"] if n is None else n)
    row["hash"] = event_hash(prev, row["stream"], row["stream_seq"], row["case_number"], row["at"], row["actor"],
                             row["kind"], row["deployment_version"], row["payload"])
    return row


def write_rows(conn, rows: list[dict]) -> None:
    for row in rows:
        values = {k: v for k, v in row.items() if k not in ("seq", "log_index")}
        conn.execute(sa.update(E).where(E.c.seq == row["seq"]).values(**values))


def move_head(conn, stream: str, n: int, digest: str) -> None:
    """Where the head lives: a case's on its row, the system stream's in stream_head."""
    conn.execute(sa.update(S).where(S.c.stream == stream).values(seq=n, hash=digest))
    conn.execute(sa.update(C).where(C.c.number == stream).values(head_seq=n, head_hash=digest))


def renumber(conn, stream: str, after: int, by: int) -> None:
    """Shift the stream numbers after ``after`` by ``by`` (in two steps: (stream, stream_seq) is unique)."""
    conn.execute(sa.update(E).where(E.c.stream == stream, E.c.stream_seq > after).values(stream_seq=-E.c.stream_seq))
    conn.execute(sa.update(E).where(E.c.stream == stream, E.c.stream_seq < 0).values(stream_seq=-E.c.stream_seq + by))


def rewrite_case(eng, stream: str, n: int) -> None:
    """Change event ``n`` of a case and recompute every hash of its chain from there, and its head."""
    rows = chains(eng)[stream]
    prev = rows[n - 2]["hash"] if n > 1 else GENESIS
    fresh = []
    for row in rows[n - 1:]:
        if row["stream_seq"] == n:
            row = dict(row, payload=row["payload"].replace("cs1", "cs2"), actor="cs2")
        fresh.append(rehash(row, prev))
        prev = fresh[-1]["hash"]
    with eng.db.engine.begin() as conn:
        write_rows(conn, fresh)
        move_head(conn, stream, fresh[-1]["stream_seq"], prev)


def recompute_log(eng) -> None:
    """What an attacker with the database does next: rebuild the tree heads and the log state to match."""
    with eng.db.engine.begin() as conn:
        rows = conn.execute(sa.select(E).where(E.c.log_index.is_not(None)).order_by(E.c.log_index)).all()
        sizes = set(conn.scalars(sa.select(T.c.size)))
        frontier: list[str] = []
        for i, row in enumerate(rows):
            merkle.push(frontier, i, log_leaf(row.hash))
            if i + 1 in sizes:
                conn.execute(sa.update(T).where(T.c.size == i + 1).values(
                    root=merkle.root(frontier), frontier=json.dumps(frontier)))
        conn.execute(sa.update(L).values(size=len(rows), root=merkle.root(frontier), frontier=json.dumps(frontier)))


def assert_bad(eng, stream: str, n: int, *words: str, seq: int | None = None):  # noqa: ANN201
    result = eng.history.verify()
    assert not result.ok
    assert (result.stream, result.stream_seq) == (stream, n), result
    if seq is not None:
        assert result.first_bad_seq == seq, result
    for word in words:
        assert word in result.reason, result.reason
    return result


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    return KEY


# -- case chains: each kind of tampering named at its first bad event -------------------------

def test_an_edited_payload_names_that_event(eng, case):
    target = case[2]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target["seq"]).values(payload=target["payload"] + " "))
    assert_bad(eng, target["stream"], 3, "changed", seq=target["seq"])


@pytest.mark.parametrize("field, value", [("actor", "mgr1"), ("kind", "case_archived"),
                                          ("case_number", "20260101-PHONE-999"), ("deployment_version", 7)])
def test_an_edited_field_names_that_event(eng, case, field, value):
    target = case[1]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target["seq"]).values(**{field: value}))
    assert_bad(eng, target["stream"], 2, "changed", seq=target["seq"])


def test_an_edited_time_names_that_event(eng, case):
    target = case[3]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == target["seq"]).values(at=target["at"] - timedelta(hours=1)))
    assert_bad(eng, target["stream"], 4, "changed", seq=target["seq"])


def test_an_edit_whose_own_hash_was_recomputed_still_names_that_event(eng, case):
    target = dict(case[2], payload=case[2]["payload"][:-1] + ',"zz":"added later"}')
    with eng.db.engine.begin() as conn:
        write_rows(conn, [rehash(target, target["prev_hash"])])
    assert_bad(eng, target["stream"], 3, "changed", "recomputed")


@pytest.mark.parametrize("index, word", [(0, "missing"), (2, "missing"), (-1, "removed")])
def test_a_deleted_event_names_the_missing_one(eng, case, index, word):
    target = case[index]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq == target["seq"]))
    assert_bad(eng, target["stream"], target["stream_seq"], word)


def test_a_deleted_case_with_its_head_left_is_named(eng, history):
    stream = sorted(s for s in history if s != SYSTEM)[0]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.stream == stream))
    assert_bad(eng, stream, 1, "removed")


def test_a_deleted_event_with_the_later_ones_renumbered_names_the_missing_one(eng, case):
    stream, target = case[0]["stream"], case[2]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq == target["seq"]))
        renumber(conn, stream, 3, -1)
        move_head(conn, stream, len(case) - 1, case[-1]["hash"])
    assert_bad(eng, stream, 3, "missing", "renumbered")


def test_an_inserted_event_with_a_valid_hash_is_named(eng, case):
    stream, k = case[0]["stream"], case[2]
    forged = rehash(dict(k, stream_seq=4, actor="sup1", kind="note_added",
                         payload=json.dumps({"note": "approved by phone"})), k["hash"])
    del forged["seq"], forged["log_index"]
    with eng.db.engine.begin() as conn:
        renumber(conn, stream, 3, 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, stream, len(case) + 1, case[-1]["hash"])
    assert_bad(eng, stream, 4, "inserted")


def test_an_inserted_event_with_a_plausible_but_wrong_hash_is_named(eng, case):
    stream, k = case[0]["stream"], case[2]
    forged = dict(k, stream_seq=4, prev_hash=k["hash"], hash="ab" * 32, kind="note_added")
    del forged["seq"], forged["log_index"]
    with eng.db.engine.begin() as conn:
        renumber(conn, stream, 3, 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, stream, len(case) + 1, case[-1]["hash"])
    assert_bad(eng, stream, 4, "inserted")


def test_an_event_appended_past_the_chain_head_is_named(eng, case):
    last = case[-1]
    forged = rehash(dict(last, stream_seq=last["stream_seq"] + 1, kind="note_added"), last["hash"])
    del forged["seq"], forged["log_index"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.insert(E), forged)
    assert_bad(eng, last["stream"], forged["stream_seq"], "inserted")


def test_events_of_a_case_that_has_no_chain_head_are_named(eng, case):
    forged = rehash(dict(case[0], stream="20260101-WEB-999", case_number="20260101-WEB-999"), GENESIS)
    del forged["seq"], forged["log_index"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.insert(E), forged)
    assert_bad(eng, "20260101-WEB-999", 1, "no head", "inserted")


def test_two_neighbours_with_their_numbers_exchanged_name_the_first(eng, case):
    stream = case[0]["stream"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == case[2]["seq"]).values(stream_seq=-1))
        conn.execute(sa.update(E).where(E.c.seq == case[3]["seq"]).values(stream_seq=3))
        conn.execute(sa.update(E).where(E.c.seq == case[2]["seq"]).values(stream_seq=4))
    assert_bad(eng, stream, 3, "swapped")


def test_two_distant_events_with_their_numbers_exchanged_name_the_first(eng, case):
    stream = case[0]["stream"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == case[1]["seq"]).values(stream_seq=-1))
        conn.execute(sa.update(E).where(E.c.seq == case[4]["seq"]).values(stream_seq=2))
        conn.execute(sa.update(E).where(E.c.seq == case[1]["seq"]).values(stream_seq=5))
    assert_bad(eng, stream, 2)


def test_an_event_moved_to_another_case_is_named(eng, history, case):
    other = next(s for s in history if s not in (SYSTEM, case[0]["stream"]))
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == case[-1]["seq"]).values(
            stream=other, stream_seq=len(history[other]) + 1))
    result = eng.history.verify()
    assert not result.ok and result.stream in (other, case[0]["stream"])


def test_two_events_with_their_contents_exchanged_name_the_first(eng, case):
    a, b = case[1], case[3]
    content = ("case_number", "at", "actor", "kind", "payload", "deployment_version")
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == a["seq"]).values(**{k: b[k] for k in content}))
        conn.execute(sa.update(E).where(E.c.seq == b["seq"]).values(**{k: a[k] for k in content}))
    assert_bad(eng, a["stream"], 2, "changed")


def test_an_edited_chain_head_is_named(eng, case):
    with eng.db.engine.begin() as conn:
        move_head(conn, case[0]["stream"], len(case), "cd" * 32)
    assert_bad(eng, case[0]["stream"], len(case), "head")


def test_an_edited_system_event_is_named(eng, history):
    deploy = history[SYSTEM][0]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == deploy["seq"]).values(actor="intruder"))
    assert_bad(eng, SYSTEM, 1, "changed")


# -- the log: what a rewritten case chain cannot hide -------------------------------------------

def test_a_case_rewritten_with_its_chain_recomputed_passes_the_chains_but_not_the_log(eng, case):
    assert eng.history.sequence() > 0
    rewrite_case(eng, case[0]["stream"], 2)
    result = eng.history.verify()
    assert not result.ok and result.stream is None and result.log_index is not None
    assert "tree head" in result.reason and "changed after it was sequenced" in result.reason


def test_a_case_rewritten_with_the_log_recomputed_too_passes_plain_verify_but_not_a_seal(eng, case, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    rewrite_case(eng, case[0]["stream"], 2)
    recompute_log(eng)
    assert eng.history.verify().ok  # case chains, tree heads and log state all recomputed
    result = eng.seals.verify_against(seal)
    assert not result.ok and "sealed root" in result.reason and "rewritten" in result.reason


def test_two_events_swapped_with_every_hash_recomputed_are_caught_by_the_log(eng, case):
    eng.history.sequence()
    stream = case[0]["stream"]
    rows = list(case)
    rows[2], rows[3] = dict(rows[3], stream_seq=3), dict(rows[2], stream_seq=4)
    prev, fresh = rows[1]["hash"], []
    for row in rows[2:]:
        fresh.append(rehash(row, prev))
        prev = fresh[-1]["hash"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == case[2]["seq"]).values(stream_seq=-1))
        write_rows(conn, fresh)
        move_head(conn, stream, fresh[-1]["stream_seq"], prev)
    result = eng.history.verify()
    assert not result.ok and result.log_index is not None and "tree head" in result.reason


def test_an_event_taken_out_of_the_log_is_named(eng, case):
    eng.history.sequence()
    with eng.db.engine.begin() as conn:
        index = conn.execute(sa.select(E.c.log_index).where(E.c.seq == case[1]["seq"])).scalar_one()
        conn.execute(sa.update(E).where(E.c.seq == case[1]["seq"]).values(log_index=None))
    result = eng.history.verify()
    assert not result.ok and result.log_index == index and f"log entry {index} is missing" in result.reason


def test_a_deleted_sequenced_event_with_its_case_renumbered_is_caught_by_the_log(eng, case):
    eng.history.sequence()
    stream = case[0]["stream"]
    rows = [dict(r) for r in case[:2] + case[3:]]
    prev, fresh = rows[1]["hash"], []
    for i, row in enumerate(rows[2:], start=3):
        fresh.append(rehash(row, prev, i))
        prev = fresh[-1]["hash"]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.delete(E).where(E.c.seq == case[2]["seq"]))
        write_rows(conn, fresh)
        move_head(conn, stream, len(case) - 1, prev)
    result = eng.history.verify()
    assert not result.ok and result.log_index is not None


def test_events_written_after_sequencing_are_covered_by_their_chains_until_the_next_run(eng, case):
    eng.history.sequence()
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    assert eng.history.unsequenced() == 1
    assert eng.history.verify().ok
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.stream == number).values(actor="intruder"))
    assert_bad(eng, number, 1, "changed")
    from engine.history import SequenceError

    with pytest.raises(SequenceError, match=f"event 1 of case {number}"):
        eng.history.sequence()
    assert eng.history.unsequenced() == 1  # a changed event is never put into the log


def test_sequencing_is_idempotent_and_the_tree_heads_are_the_rfc_9162_roots(eng, history):
    total = sum(len(rows) for rows in history.values())
    assert eng.history.sequence(batch_size=4) == total
    assert eng.history.sequence() == 0
    with eng.db.engine.connect() as conn:
        rows = conn.execute(sa.select(E).order_by(E.c.log_index)).all()
        heads = conn.execute(sa.select(T.c.size, T.c.root).order_by(T.c.size)).all()
    assert [r.log_index for r in rows] == list(range(total))
    assert [h.size for h in heads] == [n for n in range(4, total, 4)] + [total]
    leaves = [log_leaf(r.hash) for r in rows]
    for size, root in heads:
        frontier: list[str] = []
        for i, leaf in enumerate(leaves[:size]):
            merkle.push(frontier, i, leaf)
        assert merkle.root(frontier) == root
    assert eng.history.tree_head().size == total and eng.history.verify().ok


# -- seals --------------------------------------------------------------------------------------

def test_a_seal_is_a_small_signed_json_file_of_the_tree_head(eng, history, key, tmp_path):
    total = sum(len(rows) for rows in history.values())
    path = eng.seals.seal(tmp_path / "seals")
    assert path.name == f"seal-{total}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert set(document) == {"format", "size", "root", "sealed_at", "signature"}
    assert document["size"] == total and document["root"] == eng.history.tree_head().root
    seal = eng.seals.load(path)
    assert isinstance(seal, Seal) and seal.sealed_at == eng.clock.now()
    assert eng.seals.verify_against(seal).ok


def test_two_seals_narrow_a_rewrite_down_to_the_entries_between_them(eng, history, key, tmp_path):
    folder = tmp_path / "seals"
    early = eng.seals.load(eng.seals.seal(folder))
    number = eng.runtime.start("complaint", registration(channel="store"), "cs1")
    start_to_verified(eng, number)
    late = eng.seals.load(eng.seals.seal(folder))
    assert late.size > early.size + 1
    rewrite_case(eng, number, 2)
    recompute_log(eng)
    assert eng.history.verify().ok
    result = eng.seals.verify_against(eng.seals.load_folder(folder))
    assert not result.ok and f"log entries {early.size} to {late.size - 1}" in result.reason
    assert eng.seals.verify_against(early).ok  # the rewrite lies after it


def test_a_truncated_log_with_its_state_moved_back_is_caught_by_a_seal(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    keep = seal.size - 3
    with eng.db.engine.begin() as conn:
        gone = conn.execute(sa.select(E.c.stream, E.c.stream_seq).where(E.c.log_index >= keep)).all()
        conn.execute(sa.delete(E).where(E.c.log_index >= keep))
        conn.execute(sa.delete(T).where(T.c.size > keep))
        for stream, n in gone:
            conn.execute(sa.update(S).where(S.c.stream == stream, S.c.seq >= n).values(seq=n - 1))
            conn.execute(sa.update(C).where(C.c.number == stream, C.c.head_seq >= n).values(head_seq=n - 1))
    recompute_log(eng)
    with eng.db.engine.begin() as conn:  # the heads now point at the last events kept
        for stream, rows in chains(eng).items():
            move_head(conn, stream, rows[-1]["stream_seq"], rows[-1]["hash"])
    assert eng.history.verify().ok
    result = eng.seals.verify_against(seal)
    assert not result.ok and "removed" in result.reason


def test_verify_against_a_seal_with_the_whole_chain_also_checks_later_events(eng, history, key, tmp_path):
    seal = eng.seals.load(eng.seals.seal(tmp_path / "seals"))
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    last = chains(eng)[number][-1]
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == last["seq"]).values(actor="mgr1"))
    assert eng.seals.verify_against(seal).ok  # the seal covers only the log
    result = eng.seals.verify_against(seal, whole_chain=True)
    assert not result.ok and result.first_bad_seq == last["seq"]


@pytest.mark.parametrize("field, value", [("size", 3), ("root", "0" * 64), ("sealed_at", "2030-01-01T00:00:00+00:00")])
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
    assert eng.seals.load(path, key=KEY).size == sum(len(rows) for rows in history.values())
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(SealError, match="cannot read the seal key file"):
        eng.seals.seal(tmp_path / "seals")


def test_a_broken_history_is_not_sealed(eng, case, key, tmp_path):
    with eng.db.engine.begin() as conn:
        conn.execute(sa.update(E).where(E.c.seq == case[2]["seq"]).values(actor="mgr1"))
    with pytest.raises(SealError, match=f"broken: event 3 of case {case[0]['stream']}"):
        eng.seals.seal(tmp_path / "seals")
    assert not list(tmp_path.glob("seals/seal-*.json"))


def test_a_log_changed_after_sequencing_is_not_sealed(eng, case, key, tmp_path):
    eng.history.sequence()
    rewrite_case(eng, case[0]["stream"], 2)
    with pytest.raises(SealError, match="tree head"):
        eng.seals.seal(tmp_path / "seals")


def test_sealing_again_checks_only_new_entries_and_refuses_a_log_that_left_its_last_seal(eng, history, key, tmp_path):
    folder = tmp_path / "seals"
    first = eng.seals.seal(folder)
    assert eng.seals.seal(folder) == first  # nothing new: the same seal
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    calls: list[tuple[int, int]] = []
    second = eng.seals.seal(folder, progress=lambda done, total: calls.append((done, total)))
    assert second != first and calls[-1] == (2, 2)  # only the two new entries were recomputed
    rewrite_case(eng, number, 1)
    recompute_log(eng)
    with pytest.raises(SealError, match="no longer matches"):
        eng.seals.seal(folder)


def test_a_forged_seal_in_the_folder_stops_sealing(eng, history, key, tmp_path):
    folder = tmp_path / "seals"
    path = eng.seals.seal(folder)
    document = json.loads(path.read_text(encoding="utf-8"))
    (folder / "seal-1.json").write_text(json.dumps(dict(document, size=1)), encoding="utf-8")
    with pytest.raises(SealError, match="not genuine"):
        eng.seals.seal(folder)


# -- progress -----------------------------------------------------------------------------------

def test_verify_reports_progress_batch_by_batch(eng, history):
    total = sum(len(rows) for rows in history.values())
    eng.history.sequence()
    calls: list[tuple[int, int]] = []
    result = eng.history.verify(lambda done, all_: calls.append((done, all_)), batch_size=3)
    assert result.ok and result.checked == total
    assert len(calls) >= 2 * total // 3
    assert [c for c, _ in calls] == sorted(c for c, _ in calls)
    assert {t for _, t in calls} == {2 * total}  # every chain, then every log entry
    assert calls[-1] == (2 * total, 2 * total)


def test_verify_in_small_batches_names_the_same_event(eng, case):
    stream, k = case[0]["stream"], case[2]
    forged = rehash(dict(k, stream_seq=4, kind="note_added"), k["hash"])
    del forged["seq"], forged["log_index"]
    with eng.db.engine.begin() as conn:
        renumber(conn, stream, 3, 1)
        conn.execute(sa.insert(E), forged)
        move_head(conn, stream, len(case) + 1, case[-1]["hash"])
    for size in (1, 2, 5, 1000):
        result = eng.history.verify(batch_size=size)
        assert (result.stream, result.stream_seq) == (stream, 4) and "inserted" in result.reason


def test_each_case_chain_starts_at_the_genesis(eng, history):
    assert all(rows[0]["prev_hash"] == GENESIS and rows[0]["stream_seq"] == 1 for rows in history.values())


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
    sealed = json.loads(path.read_text(encoding="utf-8"))["size"]
    assert f"Sealed the log at size {sealed} " in out
    assert cli.main(["verify", "--seal", str(path)]) == 0
    captured = capsys.readouterr()
    assert "History intact" in captured.out and f"verifying: {2 * sealed} of {2 * sealed} events (100%)" in captured.err
    import engine

    with engine.open(f"sqlite:///{tmp_path / 'cli.sqlite'}", workflows_dir) as eng:
        stream = next(s for s in chains(eng) if s != SYSTEM)
        rewrite_case(eng, stream, 1)
        recompute_log(eng)
    assert cli.main(["verify"]) == 0
    assert cli.main(["verify", "--seal", str(folder)]) == 1
    assert "History BROKEN at log entry" in capsys.readouterr().out
    monkeypatch.delenv(KEY_ENV)
    assert cli.main(["seal", "--folder", str(folder)]) == 2
    assert "no seal key" in capsys.readouterr().err
