"""The case page: status, grade, tier, deadlines met / missed / pending, attachments, notifications, history."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from tests.driver import complete, registration, start_to_verified, task, to_callback
from tests.web.conftest import csrf_token, login

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 500
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00" + b"\x00" * 500


def outcomes(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-deadline="([^"]+)" data-outcome="([^"]+)"', page))


def upload(client, number: str, *files: tuple[bytes, str, str]):  # noqa: ANN201
    data = {"csrf_token": csrf_token(client, f"/cases/{number}"),
            "files": [(io.BytesIO(content), name, kind) for content, name, kind in files]}
    return client.post(f"/cases/{number}/attachments", data=data, content_type="multipart/form-data",
                       follow_redirects=True)


def test_the_case_page_shows_status_grade_tier_and_the_open_steps(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number)  # graded general
    login(client, "cs1")
    response = client.get(f"/cases/{number}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"<h1>案件 {number}" in page
    assert 'class="badge general">一般<' in page
    assert 'class="badge status-open">' in page
    assert f'href="/tasks/{task(eng, number, "start_handling_general").id}"' in page
    assert "启动处理" in page


def test_each_deadline_is_shown_as_met_missed_or_pending(client, eng, web_clock):
    on_time = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    complete(eng, on_time, "first_response")
    late = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=11))
    eng.timers.fire_due()
    login(client, "cs1")
    met = client.get(f"/cases/{on_time}").get_data(as_text=True)
    assert sorted(outcomes(met).values()) == ["met", "pending"]  # first response met, verify pending
    assert "按时完成" in met and "进行中" in met
    missed = client.get(f"/cases/{late}").get_data(as_text=True)
    assert list(outcomes(missed).values()) == ["missed"]
    assert "已超时" in missed


def test_the_notifications_are_listed(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=11))
    eng.timers.fire_due()
    login(client, "sup1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'data-subject="first_response_overdue"' in page
    assert "首次响应超时" in page and "客服主管" in page


def test_the_escalation_tier_is_shown(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, safety_hazard=True)
    web_clock.advance(timedelta(hours=2, minutes=1))
    eng.timers.fire_due()
    assert eng.cases.get(number).escalation_tier == 2
    login(client, "sup1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "第 2 级" in page and 'class="badge urgent"' in page


def test_photos_and_videos_are_uploaded_listed_and_served(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    response = upload(client, number, (JPEG, "底座.jpg", "image/jpeg"), (MP4, "clip.mp4", "video/mp4"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "已添加 2 个附件" in page and "底座.jpg" in page and "clip.mp4" in page
    photo = eng.attachments.list(number)[0]
    assert photo.uploaded_by == "cs1"
    served = client.get(f"/cases/{number}/attachments/{photo.id}")
    assert served.status_code == 200 and served.data == JPEG
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    download = client.get(f"/cases/{number}/attachments/{photo.id}?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert eng.history.events(number)[-1].kind == "attachment_added"


def test_a_file_that_is_not_a_photo_or_video_is_refused_with_a_reason(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    page = upload(client, number, (b"<script>alert(1)</script>", "photo.jpg", "image/jpeg")).get_data(as_text=True)
    assert "未上传" in page and "photo.jpg" in page and "仅接受照片" in page
    assert eng.attachments.list(number) == []


def test_a_photo_over_10_mb_is_refused(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    big = JPEG + b"\x00" * (10 * 1024 * 1024)
    page = upload(client, number, (big, "big.jpg", "image/jpeg")).get_data(as_text=True)
    assert "文件过大" in page
    assert eng.attachments.list(number) == []


def test_an_archived_case_takes_no_more_attachments(client, eng):
    number = eng.runtime.start("complaint", registration(complaint_type="service"), "cs1")
    start_to_verified(eng, number, verification_outcome="not_a_defect")
    complete(eng, number, "explain_to_customer")
    complete(eng, number, "callback")
    login(client, "cs1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "已归档" in page and 'enctype="multipart/form-data"' not in page
    refused = upload(client, number, (JPEG, "late.jpg", "image/jpeg")).get_data(as_text=True)
    assert "案件已归档" in refused
    assert eng.attachments.list(number) == []


def test_the_timeline_lists_every_step_with_its_values(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response", message_to_customer="您好，已收到您的投诉")
    login(client, "cs1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    timeline = page.split('id="timeline"')[1]
    assert timeline.index("环节完成") < timeline.index("登记")  # newest first
    assert "给客户的答复" in timeline and "您好，已收到您的投诉" in timeline


def test_a_complaint_number_typed_in_the_header_opens_the_case(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "cs1")
    response = client.get(f"/cases?number={number.lower()}")
    assert response.status_code == 302 and response.location.endswith(f"/cases/{number}")


def test_a_case_waiting_for_the_customer_says_so(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    start_to_verified(eng, number, verification_outcome="need_more_info")
    login(client, "cs1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "当前没有进行中的环节" in page and "客户答复" in page
    assert 'data-subject="more_info_requested"' in page and "需向客户补充询问的信息" in page
    assert "未发送：目前尚无可送达客户的渠道" in page  # nothing claims the customer was asked


def test_customer_service_creates_a_plan_confirmation_link_the_customer_uses_once(client, eng):
    from tests.driver import plan_through_review, to_plan

    number = eng.runtime.start("complaint", registration(), "cs1")
    to_plan(eng, number)
    plan_through_review(eng, number)
    login(client, "cs1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'data-purpose="confirm"' in page
    made = client.post(f"/cases/{number}/customer-link/confirm",
                       data={"csrf_token": csrf_token(client, f"/cases/{number}")}, follow_redirects=True)
    link = re.search(r"http://localhost(/c/confirm/[\w.\-]+)", made.get_data(as_text=True)).group(1)
    customer = client.application.test_client()
    token = csrf_token(customer, link)
    assert customer.post(link, data={"csrf_token": token, "answer": "accept"}).status_code == 200
    assert [t.name for t in eng.cases.get(number).open_tasks] == ["ship_exchange"]
    assert customer.post(link, data={"csrf_token": token, "answer": "accept"}).status_code == 410


def test_the_case_page_says_by_how_long_a_deadline_was_met_or_missed(client, eng, web_clock):
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=25))
    eng.timers.fire_due()
    complete(eng, number, "first_response")
    login(client, "auditor1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'data-deadline="first_response_deadline" data-outcome="missed"' in page
    assert 'data-minutes="15"' in page


def test_a_tampered_history_shows_where_the_replay_differs(client, eng):
    import json

    import sqlalchemy as sa

    number = eng.runtime.start("complaint", registration(), "cs1")
    complete(eng, number, "first_response")
    complete(eng, number, "verify")
    verify_event = [e for e in eng.history.events(number) if e.payload.get("element") == "verify"][0]
    payload = dict(verify_event.payload, data=dict(verify_event.payload["data"], safety_hazard=True))
    with eng.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE event SET payload = :p WHERE seq = :s"),
                     {"p": json.dumps(payload, ensure_ascii=False), "s": verify_event.seq})
    login(client, "auditor1")
    page = client.get(f"/cases/{number}/replay").get_data(as_text=True)
    assert 'data-ok="false"' in page and f'data-seq="{verify_event.seq}"' in page


def test_the_customers_answer_to_a_message_is_shown_in_words_not_as_its_field(client, eng):
    """``customerAnswers`` names the field that holds the customer's yes or no: the history says what it was."""
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_callback(eng, number)
    login(client, "sup1")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "<dt>客户的答复</dt><dd class=\"pre\">接受</dd>" in page
    client.get("/lang/en")
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "<dt>The customer&#39;s answer</dt><dd class=\"pre\">accepted</dd>" in page
    assert "<dt>accepted</dt>" not in page
