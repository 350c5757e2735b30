"""Customers verify an improvement's effect (issue 14): when the item's verification opens, the customer of
each linked complaint gets a single-use, expiring link (the notice template says ``link = "verify"``); their
answer is recorded on the item, once. SQLite and PostgreSQL, real SpiffWorkflow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import DeployError, FormInvalid
from engine.improvement_answers import MAX_COMMENT
from engine.links import LinkInvalid
from engine.store.models import Case, LinkToken, Notification
from tests.driver import complete
from tests.test_improvement_loop import analysed, items_of, names, suggestion

pytestmark = pytest.mark.spec


def to_verification(eng, item: str) -> None:
    complete(eng, item, "analyse_and_plan", implementation_days=10)
    for step in ("review_by_product", "review_by_quality", "review_by_rd", "carry_out_improvement"):
        complete(eng, item, step)
    assert names(eng, item) == ["customer_verification", "verify_internally"]


def verification_links(eng, subject: str = "improvement_verification") -> dict[str, str]:
    """complaint number -> the token its customer's notice carries."""
    with eng.db.read() as session:
        rows = session.execute(select(Case.number, Notification.link_token).join(Case, Case.id == Notification.case_id)
                               .where(Notification.subject == subject, Notification.role == "customer")).all()
    return {number: token for number, token in rows}


def test_each_linked_complaints_customer_gets_their_own_link_and_answers_once_on_the_item(eng, clock):
    complaints = [analysed(eng) for _ in range(6)]
    [item] = items_of(eng, complaints[-1])
    assert verification_links(eng) == {}
    to_verification(eng, item)
    tokens = verification_links(eng)
    assert tokens.pop(item, None) is None  # the item has no customer of its own: no link for it
    assert sorted(tokens) == sorted(complaints) and len(set(tokens.values())) == 6 and all(tokens.values())
    with eng.db.read() as session:
        rows = {row.case_number: row for row in session.scalars(select(LinkToken).where(LinkToken.purpose == "verify"))}
    assert sorted(rows) == sorted(complaints) and {r.item_number for r in rows.values()} == {item}
    first = rows[complaints[0]]
    assert first.expires_at - first.created_at == timedelta(days=7)  # customer_verification's customerLinkDays

    question = eng.verification.question(tokens[complaints[0]])
    assert (question.complaint, question.item, question.product) == (complaints[0], item, "智能电水壶")
    eng.verification.answer(tokens[complaints[0]], False, "  还是有裂纹  ")
    eng.verification.answer(tokens[complaints[1]], True)
    with pytest.raises(LinkInvalid) as used:
        eng.verification.answer(tokens[complaints[0]], True, "改主意了")
    assert used.value.reason == "used"
    answers = eng.verification.answers(item)
    assert [(a.complaint, a.solved, a.comment) for a in answers] == [
        (complaints[0], False, "还是有裂纹"), (complaints[1], True, "")]
    assert [e.actor for e in eng.history.events(item) if e.kind == "improvement_answered"] == ["customer", "customer"]
    complete(eng, item, "customer_verification")
    complete(eng, item, "verify_internally")
    report = eng.replay.run(item)
    assert report.ok, report.first_difference


def test_a_comment_too_long_is_refused_and_the_link_still_works(eng):
    number, item = suggestion(eng)
    to_verification(eng, item)
    token = verification_links(eng)[number]
    with pytest.raises(FormInvalid) as refused:
        eng.verification.answer(token, True, "好" * (MAX_COMMENT + 1))
    assert list(refused.value.errors) == ["comment"]
    assert eng.verification.answers(item) == []
    eng.verification.answer(token, True, "好" * MAX_COMMENT)
    assert len(eng.verification.answers(item)) == 1


def test_an_expired_verification_link_is_refused_and_records_nothing(eng, clock):
    number, item = suggestion(eng)
    to_verification(eng, item)
    token = verification_links(eng)[number]
    clock.advance(timedelta(days=7, minutes=1))
    with pytest.raises(LinkInvalid) as expired:
        eng.verification.answer(token, True)
    assert expired.value.reason == "expired"
    assert eng.verification.answers(item) == []


def test_a_verification_link_cannot_be_used_as_another_kind_of_link(eng):
    number, item = suggestion(eng)
    to_verification(eng, item)
    token = verification_links(eng)[number]
    with pytest.raises(LinkInvalid) as wrong:
        eng.links.use(token, "confirm")
    assert wrong.value.reason == "wrong_purpose"
    assert eng.links.check(token, "verify") == number


def test_customer_verification_outside_the_improvement_process_is_refused_at_deploy(eng, workflows_dir):
    path = workflows_dir / "execution.bpmn"
    text = path.read_text(encoding="utf-8")
    old = '<spiffworkflow:property name="formJsonSchemaFilename" value="notify_result.json"/>'
    path.write_text(text.replace(old, old + '<spiffworkflow:property name="customerVerification" value="true"/>'),
                    encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    [problem] = [p for p in refused.value.problems if p.code == "customer_verification_invalid"]
    assert (problem.file, problem.element) == ("execution.bpmn", "notify_result")
    assert "improvement = true" in problem.text("en") and "改进流程" in problem.text("zh")
