"""Customers' links: each works once, for one purpose, until it expires (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.errors import NotFound
from engine.links import LinkInvalid
from tests.driver import registration


def reason(call) -> str:  # noqa: ANN001
    with pytest.raises(LinkInvalid) as caught:
        call()
    return caught.value.reason


def test_a_link_works_once(eng) -> None:
    number = eng.runtime.start("complaint", registration(), "cs1")
    token = eng.links.issue(number, "confirm", timedelta(days=3))
    assert len(token) >= 40
    assert eng.links.check(token, "confirm") == number  # looking does not use it up
    assert eng.links.use(token, "confirm") == number
    assert reason(lambda: eng.links.use(token, "confirm")) == "used"
    assert reason(lambda: eng.links.check(token, "confirm")) == "used"


def test_expired_unknown_and_wrong_purpose_links_are_refused(eng, clock) -> None:
    number = eng.runtime.start("complaint", registration(), "cs1")
    token = eng.links.issue(number, "survey", timedelta(days=7))
    assert reason(lambda: eng.links.use(token, "confirm")) == "wrong_purpose"
    assert reason(lambda: eng.links.use("no-such-token", "survey")) == "unknown"
    clock.advance(timedelta(days=7))
    assert reason(lambda: eng.links.use(token, "survey")) == "expired"


def test_links_are_only_issued_for_existing_cases_and_known_purposes(eng) -> None:
    with pytest.raises(NotFound):
        eng.links.issue("20260302-WEB-999", "survey", timedelta(days=1))
    number = eng.runtime.start("complaint", registration(), "cs1")
    with pytest.raises(ValueError, match="purpose"):
        eng.links.issue(number, "refund", timedelta(days=1))


def test_two_racing_uses_one_wins(eng) -> None:
    number = eng.runtime.start("complaint", registration(), "cs1")
    token = eng.links.issue(number, "survey", timedelta(days=7))
    results: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(eng.links.use(token, "survey"))
        except LinkInvalid as error:
            results.append(error.reason)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == sorted([number, "used", "used", "used"])
