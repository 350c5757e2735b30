"""Sign-in through a real OpenID Connect provider (npm's oidc-provider on loopback) over real HTTP.

The provider's groups give roles through the deployed roles.toml (``groups = [...]``); the account
is found by issuer and subject, created at the first sign-in, and its roles follow its groups at
every sign-in, each change in the history. Every failure is a clear page, never a 500.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from flask import Flask

import engine
from engine.errors import NotFound
from engine.history import SYSTEM
from engine.store.enums import EventKind
from tests.web.http_clients import hidden
from tests.web.oidc_peer import PASSWORD, Directory, action_of, to_callback


@pytest.fixture
def web_database_url(database_url: str) -> str:  # SQLite and PostgreSQL
    return database_url


@pytest.fixture
def browsers() -> Iterator[list[httpx.Client]]:
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


def new_browser(browsers: list[httpx.Client], lang: str = "en") -> httpx.Client:
    """A browser-like client: one cookie jar for both sites on 127.0.0.1, as a real browser keeps."""
    client = httpx.Client(timeout=30, follow_redirects=False)
    browsers.append(client)
    client.headers["Accept-Language"] = lang
    return client


def sign_in(browsers: list[httpx.Client], served: str, directory: Directory, login: str) -> tuple[httpx.Client,
                                                                                                 httpx.Response]:
    http = new_browser(browsers)
    callback = to_callback(http, served, directory, login)
    return http, http.get(callback)


def roles_events(eng: engine.Engine) -> list:
    return [event for event in eng.history.events(SYSTEM) if event.kind == EventKind.SIGN_IN_ROLES_SET]


def test_the_login_page_offers_the_provider_only_when_configured(served: str, app: Flask):
    assert "oidc-sign-in" not in httpx.get(f"{served}/login").text
    assert httpx.get(f"{served}/login/oidc").status_code == 404
    app.config.update(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="x", OIDC_NAME="Corp SSO")
    page = httpx.get(f"{served}/login", headers={"Accept-Language": "en"}).text
    assert 'id="oidc-sign-in"' in page and "Sign in with Corp SSO" in page
    assert 'name="password"' in page, "local passwords stay"


def test_a_first_sign_in_creates_the_account_with_the_roles_of_its_groups(served, eng, company_directory, browsers):
    http, response = sign_in(browsers, served, company_directory, "alice")
    assert response.status_code == 302 and response.headers["location"] == "/inbox"
    inbox = http.get(f"{served}/inbox")
    assert inbox.status_code == 200 and "Alice Wang" in inbox.text
    person = eng.people.get("alice")
    assert person.roles == ("cs_specialist",) and person.display_name == "Alice Wang"
    assert eng.identities.identity_of("alice") == (company_directory.issuer, "u-1001")
    [event] = roles_events(eng)
    assert event.actor == "alice"
    assert event.payload["created"] is True and event.payload["before"] == []
    assert event.payload["after"] == ["cs_specialist"] and event.payload["groups"] == ["cs-team"]
    assert eng.people.authenticate("alice", "") is None, "an account of the provider has no password"
    [live] = [s for s in eng.sessions.of("alice") if s.active]  # the ordinary server-side session
    token = hidden(inbox.text, "csrf_token")
    assert http.post(f"{served}/logout", data={"csrf_token": token}).status_code == 302
    assert http.get(f"{served}/inbox").status_code == 302, "logout ends the session as for a password login"
    assert not [s for s in eng.sessions.of("alice") if s.active]


def test_two_groups_give_two_roles_and_a_group_of_no_role_gives_nothing(served, eng, company_directory, browsers):
    _, response = sign_in(browsers, served, company_directory, "bob")
    assert response.status_code == 302
    assert eng.people.get("bob").roles == ("cs_specialist", "cs_supervisor")


def test_a_second_sign_in_sets_the_roles_of_the_groups_now(served, eng, company_directory, browsers):
    sign_in(browsers, served, company_directory, "alice")
    company_directory.set_groups("alice", ["cs-leads"])
    http, response = sign_in(browsers, served, company_directory, "alice")
    assert response.status_code == 302
    assert eng.people.get("alice").roles == ("cs_supervisor",)
    first, second = roles_events(eng)
    assert second.payload["before"] == ["cs_specialist"] and second.payload["after"] == ["cs_supervisor"]
    assert second.payload["created"] is False
    # the same groups again: nothing changes, nothing recorded
    sign_in(browsers, served, company_directory, "alice")
    assert len(roles_events(eng)) == 2
    # the supervisor's right to see every case comes with the role
    assert eng.access.sees_all("alice")


def test_a_person_whose_groups_give_no_role_is_refused_and_no_account_is_made(served, eng, company_directory,
                                                                               browsers):
    http, response = sign_in(browsers, served, company_directory, "carol")
    assert response.status_code == 403
    assert "give no role" in response.text and "marketing" in response.text
    with pytest.raises(NotFound):
        eng.people.get("carol")
    assert http.get(f"{served}/inbox").status_code == 302, "not signed in"
    # someone who had a role and left its group loses it, and is refused too
    sign_in(browsers, served, company_directory, "alice")
    company_directory.set_groups("alice", ["marketing"])
    _, response = sign_in(browsers, served, company_directory, "alice")
    assert response.status_code == 403
    assert eng.people.get("alice").roles == ()
    assert roles_events(eng)[-1].payload["after"] == []


def test_a_provider_user_named_like_a_local_account_gets_an_account_of_their_own(served, eng, company_directory,
                                                                                  browsers):
    before = eng.people.get("cs1")
    _, response = sign_in(browsers, served, company_directory, "cs1")
    assert response.status_code == 302
    assert eng.people.get("cs1") == before
    assert eng.people.get("cs1-2").display_name == "Another cs1"
    assert eng.identities.identity_of("cs1") is None


def test_an_answer_for_another_browser_or_with_a_changed_state_is_refused(served, eng, company_directory, browsers):
    http = new_browser(browsers)
    callback = to_callback(http, served, company_directory, "alice")
    other = new_browser(browsers)
    response = other.get(callback)  # the answer delivered to a browser that never started this sign-in
    assert response.status_code == 400 and "does not belong to a sign-in started in this browser" in response.text
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    changed = urlunsplit(parts._replace(query=urlencode({**query, "state": query["state"][:-2] + "xx"})))
    assert http.get(changed).status_code == 400
    with pytest.raises(NotFound):
        eng.people.get("alice")


def test_an_id_token_with_another_nonce_is_refused(served, app, eng, company_directory, browsers):
    http = new_browser(browsers)
    callback = to_callback(http, served, company_directory, "alice")
    # the nonce this browser's sign-in expects is not the one the provider put in the token (a replayed token)
    serializer = app.session_interface.get_signing_serializer(app)
    kept = serializer.loads(http.cookies.get("session", domain="127.0.0.1"))
    [key] = [key for key in kept if key.startswith("_state_idp_")]
    kept[key]["data"]["nonce"] = "not-the-nonce-sent"
    http.cookies.set("session", serializer.dumps(kept), domain="127.0.0.1", path="/")
    response = http.get(callback)
    assert response.status_code == 400 and "did not pass the checks" in response.text
    with pytest.raises(NotFound):
        eng.people.get("alice")


def test_a_sign_in_cancelled_at_the_provider_is_a_clear_page(served, company_directory, browsers):
    http = new_browser(browsers)
    start = http.get(f"{served}/login/oidc")
    page = http.get(start.headers["location"], follow_redirects=True)
    response = http.get(f"{page.url}/abort")
    while response.is_redirect and not str(response.next_request.url).startswith(served):
        response = http.get(str(response.next_request.url))
    answer = http.get(str(response.next_request.url))
    assert answer.status_code == 400
    assert "did not sign you in" in answer.text and "access_denied" in answer.text


def test_an_unreachable_provider_is_a_clear_page(served, app, browsers):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(OIDC_ISSUER=f"http://127.0.0.1:{port}", OIDC_CLIENT_ID="complaintflow")
    response = new_browser(browsers).get(f"{served}/login/oidc")
    assert response.status_code == 502 and "cannot be reached" in response.text
    zh = new_browser(browsers, "zh-CN").get(f"{served}/login/oidc")
    assert zh.status_code == 502 and "无法连接身份提供方" in zh.text


def test_a_provider_gone_before_the_code_is_exchanged_is_a_clear_page(served, eng, company_directory, browsers):
    http = new_browser(browsers)
    callback = to_callback(http, served, company_directory, "alice")
    company_directory.stop()
    response = http.get(callback)
    assert response.status_code == 502 and "cannot be reached" in response.text
    with pytest.raises(NotFound):
        eng.people.get("alice")


def test_a_discovery_document_of_another_issuer_is_not_believed(served, app, company_directory, browsers, caplog):
    # the provider answers at localhost too, with its document naming http://127.0.0.1:<port>
    app.config.update(OIDC_ISSUER=company_directory.issuer.replace("127.0.0.1", "localhost"))
    response = new_browser(browsers).get(f"{served}/login/oidc")
    assert response.status_code == 502 and "cannot be reached" in response.text
    assert f"names the issuer '{company_directory.issuer}'" in caplog.text


def test_the_next_page_after_signing_in_is_only_one_of_this_site(served, company_directory, browsers):
    for target, expected in (("/inbox?page=2", "/inbox?page=2"), ("/%09/evil.example/", "/inbox")):
        http = new_browser(browsers)
        start = http.get(f"{served}/login/oidc", params={"next": target})
        assert start.status_code == 302
        page = http.get(start.headers["location"], follow_redirects=True)
        response = http.post(f"{company_directory.issuer}{action_of(page.text)}",
                             data={"login": "alice", "password": PASSWORD})
        while response.is_redirect and not str(response.next_request.url).startswith(served):
            response = http.get(str(response.next_request.url))
        assert http.get(str(response.next_request.url)).headers["location"] == expected


def test_abandoned_starts_do_not_grow_the_cookie(served, company_directory, browsers):
    http = new_browser(browsers)
    for _ in range(30):
        assert http.get(f"{served}/login/oidc").status_code == 302
    assert len(http.cookies.get("session", domain="127.0.0.1")) < 1500, "a browser drops cookies over 4 kB"
    callback = to_callback(http, served, company_directory, "alice")  # the latest start still finishes
    assert http.get(callback).headers["location"] == "/inbox"

