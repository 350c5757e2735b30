"""A linked complaint's customer receives the improvement's verification link by e-mail, answers on the public
page over real HTTP (no login, CSRF, zh/en), a second answer through the link is refused, and the person
verifying with customers sees the answer on their step. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from engine.improvement_answers import MAX_COMMENT
from tests.driver import registration, task
from tests.test_improvement_loop import items_of
from tests.test_improvement_verification import to_verification
from tests.web.test_customer_in_the_loop import CUSTOMER_MAIL, csrf, drain, link_in, smtp, wired  # noqa: F401


@pytest.fixture
def web_database_url(database_url: str) -> str:  # SQLite and PostgreSQL
    return database_url


def verification_mail(smtp_peer, base: str) -> str:  # noqa: ANN001
    mails = [m for m in smtp_peer.to(CUSTOMER_MAIL) if "/c/verify/" in m.get_body(("plain",)).get_content()]
    assert len(mails) == 1, "one verification mail"
    return link_in(mails[0], base, "verify")


def test_the_customer_answers_through_the_mailed_link_once_and_the_verifier_sees_it(eng, smtp, wired):  # noqa: F811
    number = eng.runtime.start("complaint", registration(complaint_type="suggestion", contact=CUSTOMER_MAIL,
                                                         description="希望水壶保温更久"), "cs1")
    [item] = items_of(eng, number)
    to_verification(eng, item)
    drain(eng)
    url = verification_mail(smtp, wired)
    with httpx.Client() as browser:
        shown = browser.get(url)
        assert shown.status_code == 200 and number in shown.text and "问题解决了吗？" in shown.text
        assert f'maxlength="{MAX_COMMENT}"' in shown.text
        assert CUSTOMER_MAIL not in shown.text and "希望水壶保温更久" not in shown.text  # nothing but their number
        assert browser.post(url, data={"solved": "yes"}).status_code == 400  # no CSRF token: refused
        token = csrf(shown.text)
        missing = browser.post(url, data={"comment": "?", "csrf_token": token})
        assert missing.status_code == 422 and "请选择问题是否已经解决。" in missing.text
        long = browser.post(url, data={"solved": "no", "comment": "长" * (MAX_COMMENT + 1), "csrf_token": token})
        assert long.status_code == 422 and f"最多 {MAX_COMMENT} 个字符" in long.text
        answered = browser.post(url, data={"solved": "no", "comment": "保温还是只有两小时", "csrf_token": token})
        assert answered.status_code == 200 and "谢谢" in answered.text
        again = browser.post(url, data={"solved": "yes", "csrf_token": token})
        assert again.status_code == 410 and "已经使用过" in again.text
        english = browser.get(url, headers={"Accept-Language": "en"})
        assert english.status_code == 410 and "already been used" in english.text
    [answer] = eng.verification.answers(item)
    assert (answer.complaint, answer.solved, answer.comment) == (number, False, "保温还是只有两小时")

    step = task(eng, item, "customer_verification")
    with httpx.Client(base_url=wired, follow_redirects=True) as staff:
        login = staff.get("/login")
        staff.post("/login", data={"username": step.assignee, "password": "demo", "csrf_token": csrf(login.text)})
        page = staff.get(f"/tasks/{step.id}").text
        assert f'data-answer="{number}" data-solved="no"' in page and "保温还是只有两小时" in page
        assert "已询问 1 位客户，1 位已回答，其中 0 位表示问题已解决。" in page
        other = staff.get(f"/tasks/{task(eng, item, 'verify_internally').id}").text
        assert 'id="customer-answers"' not in other  # only the step marked customerVerification shows them


def test_an_expired_or_altered_verification_link_shows_why_it_cannot_be_used(eng, smtp, wired, web_clock):  # noqa: F811
    number = eng.runtime.start("complaint", registration(complaint_type="suggestion", contact=CUSTOMER_MAIL), "cs1")
    [item] = items_of(eng, number)
    to_verification(eng, item)
    drain(eng)
    url = verification_mail(smtp, wired)
    with httpx.Client(headers={"Accept-Language": "en"}) as browser:
        assert browser.get(url[:-3] + "xyz").status_code == 404
        web_clock.advance(timedelta(days=8))
        expired = browser.get(url)
        assert expired.status_code == 410 and "expired" in expired.text
    assert eng.verification.answers(item) == []
