"""Notices on the pages: the header's unread count, the list, the inbox to-do, delivery on the case page."""

from __future__ import annotations

import re
from datetime import timedelta

from engine.notify import ChannelSettings, RetryPolicy
from engine.notify.settings import SmtpSettings
from tests.driver import registration
from tests.notify_peers import SmtpPeer
from tests.web.conftest import login


def unread(page: str) -> str:
    found = re.search(r'id="unread-count"[^>]*>(\d+)<', page)
    assert found, "no unread count in the header"
    return found.group(1)


def overdue(eng, web_clock) -> str:  # noqa: ANN001
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=11))
    assert eng.timers.fire_due() == 1
    return number


def drain(eng) -> None:  # noqa: ANN001
    while eng.notifications.deliver_due():
        pass


def test_the_unread_count_rises_and_opening_the_notice_lands_on_the_case(client, eng, web_clock):
    login(client, "sup1")
    assert unread(client.get("/inbox").get_data(as_text=True)) == "0"
    number = overdue(eng, web_clock)
    drain(eng)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert unread(inbox) == "1"
    assert client.get("/notices/unread").get_json() == {"unread": 1}
    assert 'id="notice-todos"' in inbox and number in inbox  # sup1 must act: a to-do in the inbox
    listed = client.get("/notices").get_data(as_text=True)
    notice_id = re.search(r'data-notice="(\d+)"', listed).group(1)
    assert "首次响应超时" in listed and "需您处理" in listed
    response = client.get(f"/notices/{notice_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{number}")
    after = client.get("/inbox").get_data(as_text=True)
    assert unread(after) == "0" and 'id="notice-todos"' not in after


def test_the_backup_is_told_but_has_no_to_do_and_others_cannot_open_the_notice(client, eng, web_clock):
    overdue(eng, web_clock)
    drain(eng)
    login(client, "sup2")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert unread(inbox) == "1" and 'id="notice-todos"' not in inbox
    sup1_notice = eng.notifications.for_user("sup1")[0].id
    assert client.get(f"/notices/{sup1_notice}").status_code == 404
    assert eng.notifications.unread_count("sup1") == 1


def test_the_case_page_says_sent_only_for_what_was_sent_and_shows_a_failed_channel(client, eng, web_clock):
    with SmtpPeer() as smtp:
        smtp.refuse = True
        eng.notifications.settings = ChannelSettings(smtp=SmtpSettings.parse(smtp.url))
        eng.notifications.policy = RetryPolicy(attempts=2, first_backoff=60)
        number = overdue(eng, web_clock)
        login(client, "sup1")
        page = client.get(f"/cases/{number}").get_data(as_text=True)
        assert "通知及送达情况" in page and "已发送的通知" not in page
        assert "等待发送" in page and "已于" not in page
        drain(eng)
        page = client.get(f"/cases/{number}").get_data(as_text=True)
        assert re.search(r'data-channel="app" data-recipient="sup1" data-status="sent"', page)
        assert re.search(r'data-channel="email" data-recipient="sup1" data-status="pending"', page)
        assert "第 1 次尝试失败" in page and "邮件服务器拒收" in page
        web_clock.advance(timedelta(minutes=2))
        drain(eng)
        page = client.get(f"/cases/{number}").get_data(as_text=True)
        assert re.search(r'data-channel="email" data-recipient="sup1" data-status="failed"', page)
        assert "尝试 2 次后发送失败" in page and "550" in page
        assert smtp.messages == []


def test_the_process_page_says_only_in_app_notices_go_out_when_no_channel_is_configured(client, eng):
    eng.notifications.settings = ChannelSettings()
    login(client, "owner1")
    page = client.get("/owner/").get_data(as_text=True)
    assert "目前只发送站内通知" in page
    eng.notifications.settings = ChannelSettings(smtp=SmtpSettings.parse("smtp://127.0.0.1:25"))
    page = client.get("/owner/").get_data(as_text=True)
    assert "通知通过站内及邮件发送" in page
