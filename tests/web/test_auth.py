"""Logging in and out; the API's bearer tokens."""

from __future__ import annotations

from tests.web.conftest import csrf_token, login


def test_a_handler_logs_in_and_lands_in_the_inbox(client):
    login(client, "cs1")
    page = client.get("/inbox")
    assert page.status_code == 200


def test_a_page_behind_login_sends_a_stranger_to_the_login_page(client):
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.location


def test_a_wrong_password_is_refused_with_a_message(client):
    response = client.post("/login", data={"username": "cs1", "password": "nope", "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert "password" in response.get_data(as_text=True).lower() or "密码" in response.get_data(as_text=True)


def test_a_login_without_the_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "cs1", "password": "demo"})
    assert response.status_code == 400


def test_login_is_throttled_after_repeated_failures(client):
    token = csrf_token(client)
    codes = [client.post("/login", data={"username": "cs1", "password": "bad", "csrf_token": token}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    # Even the right password waits until the window passes.
    assert client.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": token}).status_code == 429


def test_logout_ends_the_session(client):
    login(client, "cs1")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    assert client.get("/inbox").status_code == 302


def test_the_language_switch_keeps_the_choice(client):
    client.get("/lang/en")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_the_session_ends_after_the_idle_time_even_while_the_inbox_refreshes_itself(app, client):
    import time
    from datetime import timedelta

    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=2)
    login(client, "cs1")
    time.sleep(1.2)
    assert client.get("/inbox?partial=1", headers={"X-Auto-Refresh": "1"}).status_code == 200
    time.sleep(2.0)  # signatures count whole seconds: well past the 2 s, though the refresh was 2 s ago
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.location
