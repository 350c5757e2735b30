"""Notices delivered over real protocols to real peers on loopback (issue 12, part A)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import DeployError
from engine.notify import ChannelSettings, RetryPolicy
from engine.notify.channels import message_id
from engine.notify.settings import SmtpSettings
from tests.driver import fire_next, registration
from tests.notify_peers import SmtpPeer, WebhookPeer, self_signed

SECRET = "SEC-test-secret"


@pytest.fixture
def peers():  # noqa: ANN201
    with SmtpPeer() as smtp, WebhookPeer("dingtalk", SECRET) as ding, WebhookPeer("wecom") as wecom, \
            WebhookPeer("sms") as sms:
        yield {"smtp": smtp, "dingtalk": ding, "wecom": wecom, "sms": sms}


def connect(eng, peers, attempts: int = 3) -> None:  # noqa: ANN001
    eng.notifications.settings = ChannelSettings(
        smtp=SmtpSettings.parse(peers["smtp"].url), mail_from="complaints@example.test",
        dingtalk_webhook=peers["dingtalk"].url, dingtalk_secret=SECRET, wecom_webhook=peers["wecom"].url,
        sms_url=peers["sms"].url, base_url="https://cf.example.test", timeout=5)
    eng.notifications.policy = RetryPolicy(attempts=attempts, first_backoff=60, max_backoff=600, claim_seconds=30)


def drain(eng) -> None:  # noqa: ANN001
    while eng.notifications.deliver_due():
        pass


def overdue_first_response(eng, clock) -> str:  # noqa: ANN001
    number = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    assert fire_next(eng, clock) == 1
    return number


def test_an_overdue_first_response_reaches_the_supervisor_by_mail_robots_and_in_the_app(eng, clock, peers):
    connect(eng, peers)
    eng.people.set_contact("sup1", email="sup1@demo.complaintflow.test", phone="13800001111",
                           channels=["app", "email", "dingtalk", "wecom", "sms"])
    number = overdue_first_response(eng, clock)
    drain(eng)

    mails = peers["smtp"].to("sup1@demo.complaintflow.test")
    assert len(mails) == 1
    mail = mails[0]
    assert number in mail["Subject"] and "首次响应超时" in mail["Subject"]
    assert mail.is_multipart()
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"https://cf.example.test/cases/{number}" in text
    assert f'href="https://cf.example.test/cases/{number}"' in html
    assert peers["dingtalk"].rejected == [] and len(peers["dingtalk"].bodies) == 1
    assert number in peers["dingtalk"].bodies[0]["markdown"]["text"]
    assert len(peers["wecom"].bodies) == 1 and number in peers["wecom"].bodies[0]["markdown"]["content"]
    assert peers["sms"].bodies[0]["to"] == "13800001111"
    assert peers["sms"].bodies[0]["template"] == "first_response_overdue"

    listed = eng.notifications.for_user("sup1")
    assert [(n.case_number, n.subject, n.must_act) for n in listed] == [(number, "first_response_overdue", True)]
    assert eng.notifications.unread_count("sup1") == 1
    assert [n.must_act for n in eng.notifications.for_user("sup2")] == [False]  # the backup is told, sup1 acts
    assert eng.notifications.open("sup1", listed[0].id) == number
    assert eng.notifications.unread_count("sup1") == 0

    statuses = [d for ds in eng.notifications.for_case(number).values() for d in ds]
    assert {(d.recipient, d.channel, d.status) for d in statuses} >= {
        ("sup1", "app", "sent"), ("sup1", "email", "sent"), ("sup1", "sms", "sent"),
        ("group", "dingtalk", "sent"), ("group", "wecom", "sent")}
    assert all(d.sent_at is not None for d in statuses)


def test_mail_carries_one_message_id_per_notice_and_recipient_and_is_not_sent_again(eng, clock, peers):
    connect(eng, peers)
    number = overdue_first_response(eng, clock)
    drain(eng)
    drain(eng)
    assert sorted(m["To"] for m in peers["smtp"].messages) == ["sup1@demo.complaintflow.test",
                                                               "sup2@demo.complaintflow.test"]
    assert all(count == 1 for count in peers["smtp"].ids.values())
    keys = {d.channel: d for ds in eng.notifications.for_case(number).values() for d in ds if d.recipient == "sup1"}
    assert keys["email"].status == "sent"
    assert message_id(f"cf-{next(iter(eng.notifications.for_case(number)))}-email-sup1") in peers["smtp"].ids


def test_smtp_login_is_used_when_the_url_names_a_user(eng, clock):
    with SmtpPeer(user="mailer", password="p@ss") as smtp, WebhookPeer("dingtalk", SECRET) as ding, \
            WebhookPeer("wecom") as wecom, WebhookPeer("sms") as sms:
        connect(eng, {"smtp": smtp, "dingtalk": ding, "wecom": wecom, "sms": sms})
        overdue_first_response(eng, clock)
        drain(eng)
        assert len(smtp.to("sup1@demo.complaintflow.test")) == 1


def test_mail_goes_over_starttls_with_login_and_the_server_certificate_verified(eng, clock, tmp_path):
    cert, context = self_signed(tmp_path)
    with SmtpPeer(user="mailer@x", password="p@ss:w", tls=context) as smtp:
        eng.notifications.settings = ChannelSettings(smtp=SmtpSettings.parse(f"{smtp.url}&cafile={cert}"))
        overdue_first_response(eng, clock)
        drain(eng)
        assert len(smtp.to("sup1@demo.complaintflow.test")) == 1
        received = len(smtp.messages)
        untrusted = ChannelSettings(smtp=SmtpSettings.parse(smtp.url))  # the system's CAs do not know it
        eng.notifications.settings = untrusted
        number = overdue_first_response(eng, clock)
        drain(eng)
        mail = [d for ds in eng.notifications.for_case(number).values() for d in ds if d.channel == "email"]
        assert {d.error_code for d in mail} == {"delivery_unreachable"} and len(smtp.messages) == received


def test_a_channel_that_is_down_is_retried_with_backoff_then_parked_as_failed(eng, clock, peers):
    connect(eng, peers, attempts=3)
    peers["smtp"].refuse = True
    peers["wecom"].status = 500
    number = overdue_first_response(eng, clock)
    drain(eng)

    def status(channel: str, recipient: str = "sup1"):  # noqa: ANN202
        found = [d for ds in eng.notifications.for_case(number).values() for d in ds
                 if d.channel == channel and d.recipient == recipient]
        assert len(found) == 1
        return found[0]

    assert (status("email").status, status("email").attempts) == ("pending", 1)
    assert "550" in status("email").reason("en")
    assert status("wecom", "group").reason("en") == "wecom answered HTTP 500"
    assert status("app").status == "sent" and status("dingtalk", "group").status == "sent"
    clock.advance(timedelta(seconds=59))
    drain(eng)
    assert status("email").attempts == 1  # the backoff has not passed yet
    clock.advance(timedelta(seconds=2))
    drain(eng)
    assert (status("email").status, status("email").attempts) == ("pending", 2)
    clock.advance(timedelta(seconds=121))  # doubled
    drain(eng)
    assert (status("email").status, status("email").attempts) == ("failed", 3)
    assert status("wecom", "group").status == "failed"
    assert "邮件服务器拒收" in status("email").reason("zh")
    assert peers["smtp"].messages == [] and peers["wecom"].bodies == []
    clock.advance(timedelta(hours=2))
    drain(eng)
    assert status("email").attempts == 3  # parked: never tried again
    # the case itself went on regardless
    assert [t.name for t in eng.tasks.for_case(number)] == ["first_response"]


def test_with_no_channel_configured_only_in_app_notices_go_out(eng, clock):
    eng.notifications.settings = ChannelSettings()
    assert eng.notifications.settings.channels == ("app",)
    number = overdue_first_response(eng, clock)
    drain(eng)
    statuses = [d for ds in eng.notifications.for_case(number).values() for d in ds]
    assert {(d.recipient, d.channel, d.status) for d in statuses} == {("sup1", "app", "sent"),
                                                                      ("sup2", "app", "sent")}


def test_settings_come_from_the_environment_names_the_issue_gives():
    settings = ChannelSettings.from_environment({
        "COMPLAINTFLOW_SMTP_URL": "smtp://u%40x:pw@mail.example.test:587?starttls=1",
        "COMPLAINTFLOW_MAIL_FROM": "cf@example.test", "COMPLAINTFLOW_DINGTALK_WEBHOOK": "https://d/x",
        "COMPLAINTFLOW_DINGTALK_SECRET": "s", "COMPLAINTFLOW_WECOM_WEBHOOK": "https://w/x",
        "COMPLAINTFLOW_SMS_URL": "https://s/x"})
    assert settings.smtp == SmtpSettings("mail.example.test", 587, "u@x", "pw", True, False)
    assert settings.channels == ("app", "email", "dingtalk", "wecom", "sms")
    assert ChannelSettings.from_environment({}).channels == ("app",)


def test_deploy_refuses_a_notice_template_naming_a_variable_a_case_does_not_have(eng, workflows_dir):
    path = workflows_dir / "notifications" / "verify_overdue.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("{{ recipient }}", "{{ customer_phone }}", 1),
                    encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    codes = {(p.file, p.code) for p in refused.value.problems}
    assert codes == {("notifications/verify_overdue.toml", "notice_unknown_variable")}
    assert "customer_phone" in refused.value.problems[0].text("zh")


def test_deploy_refuses_attribute_access_and_a_template_without_english(eng, workflows_dir):
    folder = workflows_dir / "notifications"
    (folder / "verify_overdue.toml").write_text(
        '["zh-CN"]\ntitle = "{{ link.__class__ }}"\ntext = "x"\n', encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(workflows_dir, actor="owner1")
    assert sorted(p.code for p in refused.value.problems) == ["notice_attribute_access",
                                                              "notice_template_incomplete"]


def test_a_deployed_template_renders_sandboxed_and_escapes_html(eng, clock, peers, workflows_dir):
    (workflows_dir / "notifications" / "first_response_overdue.toml").write_text(
        '["zh-CN"]\ntitle = "T {{ case_number }}"\ntext = "{{ product_name }}"\nhtml = "<p>{{ product_name }}</p>"\n'
        '[en]\ntitle = "T"\ntext = "x"\n', encoding="utf-8")
    eng.repository.deploy(workflows_dir, actor="owner1")
    connect(eng, peers)
    eng.runtime.start("complaint", registration(channel="phone", product_name="<script>x</script>"), "cs1")
    assert fire_next(eng, clock) == 1
    drain(eng)
    mail = peers["smtp"].to("sup1@demo.complaintflow.test")[0]
    assert mail.get_body(("plain",)).get_content().strip() == "<script>x</script>"
    assert "&lt;script&gt;" in mail.get_body(("html",)).get_content()
