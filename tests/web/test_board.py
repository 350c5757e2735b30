"""The supervisor's board (issue 15): open tasks by step and holder, reassign to a named person (recorded),
bulk reassign and claim; only for roles the deployed roles.toml lets reassign."""

from __future__ import annotations

import re

from tests.driver import registration, task
from tests.web.conftest import csrf_token, login


def board_rows(page: str) -> dict[str, str]:
    """task id -> holder as the board shows them."""
    return dict(re.findall(r'<tr data-task="([^"]+)".*?<td class="holder">([^<]*)</td>', page, re.S))


def hand(client, to: str, *task_ids: str, action: str = "reassign"):  # noqa: ANN201
    data = {"csrf_token": csrf_token(client, "/board"), "action": action, "to": to, "task": list(task_ids)}
    return client.post("/board/reassign", data=data, follow_redirects=True)


def test_a_supervisor_reassigns_a_case_to_cs2_and_cs2s_inbox_shows_it(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    assert first.assignee == "cs1"
    login(client, "sup1")
    page = client.get("/board").get_data(as_text=True)
    assert board_rows(page)[first.id].strip() == "cs1"
    assert 'data-step="first_response"' in page
    after = hand(client, "cs2", first.id).get_data(as_text=True)
    assert "cs2" in after and number in after
    assert task(eng, number, "first_response").assignee == "cs2"
    moved = [e for e in eng.history.events(number) if e.kind == "task_reassigned"]
    assert moved and moved[-1].actor == "sup1" and moved[-1].payload["to"] == "cs2"
    assert moved[-1].payload["from"] == "cs1"
    login(client, "cs2")
    assert f'data-task="{first.id}"' in client.get("/inbox?scope=mine").get_data(as_text=True)


def test_bulk_reassign_moves_every_ticked_task_and_refuses_a_person_without_the_role(client, eng):
    numbers = [eng.runtime.start("complaint", registration(channel="phone"), "cs1") for _ in range(3)]
    ids = [task(eng, n, "first_response").id for n in numbers]
    login(client, "sup1")
    hand(client, "cs2", *ids[:2])
    assert [task(eng, n, "first_response").assignee for n in numbers] == ["cs2", "cs2", "cs1"]
    refused = hand(client, "eng1", ids[2]).get_data(as_text=True)
    assert "could not change hands" in refused or "无法转交" in refused
    assert task(eng, numbers[2], "first_response").assignee == "cs1"


def test_a_task_goes_back_to_its_group_with_nobody_holding_it(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    first = task(eng, number, "first_response")
    login(client, "sup1")
    hand(client, "", first.id)
    assert task(eng, number, "first_response").assignee is None


def test_a_person_complained_about_never_gets_the_case(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone", involved_staff=["cs2"]), "cs1")
    first = task(eng, number, "first_response")
    login(client, "sup1")
    hand(client, "cs2", first.id)
    assert task(eng, number, "first_response").assignee != "cs2"


def test_the_board_and_reassigning_are_for_roles_that_may(client, eng):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "cs1")
    assert client.get("/board").status_code == 403
    token = csrf_token(client, "/inbox")
    response = client.post("/board/reassign", data={"csrf_token": token, "action": "reassign", "to": "cs1",
                                                     "task": [task(eng, number, "first_response").id]})
    assert response.status_code == 403
    assert "/board" not in client.get("/inbox").get_data(as_text=True)


def test_the_board_filters_by_step_and_holder_and_counts_each_step(client, eng):
    phone = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    other = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "sup1")
    hand(client, "cs2", task(eng, other, "first_response").id)
    page = client.get("/board?holder=cs2").get_data(as_text=True)
    assert list(board_rows(page)) == [task(eng, other, "first_response").id]
    count = re.search(r'data-step="first_response">.*?<span class="count">(\d+)</span>', page, re.S)
    assert count and int(count.group(1)) >= 1
    assert task(eng, phone, "first_response").id in board_rows(client.get("/board?step=first_response")
                                                                .get_data(as_text=True))
