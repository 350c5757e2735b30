"""Issue 13, part 1: what an attacker working from OWASP ASVS level 2 found, each class closed.

Involved staff in the audit area, open redirects, login throttling and trusted proxies, security
headers and Secure cookies, owner-provided text in pages and spreadsheets, parameters out of
range, and the secret key shared by workers and restarts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.conftest import POSTGRES_URL, _reset_postgres
from tests.driver import registration, task
from tests.web.conftest import csrf_token, login
from web import create_app
from web.secret_key import instance_secret
from web.services import same_site_path

BOTH_DATABASES = pytest.mark.parametrize("web_database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def web_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite; the tests marked ``BOTH_DATABASES`` run on PostgreSQL as well (out-of-range values differ)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        _reset_postgres(POSTGRES_URL)
        return POSTGRES_URL
    return f"sqlite:///{tmp_path / 'web.sqlite'}"


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def failed_login(client: FlaskClient, username: str, password: str = "wrong", **kwargs: object) -> int:
    data = {"username": username, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data, **kwargs).status_code


def api_login(client: FlaskClient, username: str, password: str = "wrong", **kwargs: object) -> int:
    return client.post("/api/v1/session", json={"username": username, "password": password}, **kwargs).status_code


# ------------------------------------------------------------ 1. involved staff in the audit area

@BOTH_DATABASES
def test_an_involved_supervisor_finds_nothing_of_the_case_in_search_csv_and_xlsx(client, eng, web_clock):
    about_them = eng.runtime.start("complaint", registration(channel="phone", involved_staff=["sup1"]), "cs1")
    other = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=30))
    eng.timers.fire_due()  # both first responses missed: both in the report
    login(client, "sup1")
    period = "from=2026-03-01&to=2026-03-31"
    for query in ("product=电水壶", f"number={about_them}", f"number={about_them[-4:]}", "status=open"):
        assert f'data-number="{about_them}"' not in text(client.get(f"/audit/?{query}")), query
    assert f'data-number="{other}"' in text(client.get("/audit/?product=电水壶"))
    for kind in ("", "&format=csv"):
        found = text(client.get(f"/audit/report?{period}{kind}"))
        assert other in found and about_them not in found
    book = load_workbook(io.BytesIO(client.get(f"/audit/report?{period}&format=xlsx").data))
    cells = [str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row]
    assert other in cells and about_them not in cells


@BOTH_DATABASES
def test_the_product_search_cannot_recover_contact_digits(client, eng):
    eng.runtime.start("complaint", registration(contact="138-0013-5678"), "cs1")
    login(client, "auditor1")
    assert 'data-number="' in text(client.get("/audit/?product=电水壶"))
    for probe in ("5678", "678", "138", "张三", "漏电", "contact"):  # contact digits, name, description, a key
        assert 'data-number="' not in text(client.get(f"/audit/?product={probe}")), probe


# ------------------------------------------------------------ 2. one redirect check

ATTACKS = [
    "/%09/evil.example/", "/\\evil.example", "//evil.example", "https:evil.example", "/\t/evil.example",
    "java\nscript:alert(1)", "https://evil.example/", "\\\\evil.example", "/\\/evil.example", " //evil.example",
    "/%2F/evil.example", "/%5Cevil.example", "/%252F%252Fevil.example", "/\r\n/evil.example", "/\x00/evil",
    "%2F%2Fevil.example", "javascript:alert(1)", "/\n/evil.example", "/%0d%0aSet-Cookie:x=1", "///evil.example",
    "http:/\\evil.example", "\x7f//evil.example", "/%E3%80%80/x%0a",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_no_redirect_target_leaves_the_site(target):
    assert same_site_path(target) is None, repr(target)


def test_same_site_paths_stay_as_written():
    assert same_site_path("/cases/WEB-20260302-0001?tab=history#x") == "/cases/WEB-20260302-0001?tab=history#x"
    assert same_site_path("/inbox?scope=mine") == "/inbox?scope=mine"


def location_is_local(response) -> bool:  # noqa: ANN001
    where = response.headers.get("Location", "")
    return response.status_code in (302, 303) and where.startswith("/") and not where.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", ATTACKS)
def test_the_language_switch_and_the_login_land_on_a_local_default(client, target):
    switched = client.get("/lang/en", query_string={"next": target})
    assert location_is_local(switched), (target, switched.status_code, switched.headers.get("Location"))
    if not re.search(r"[\r\n\x00]", target):  # a header cannot even carry these
        referred = client.get("/lang/en", headers={"Referer": target})
        assert location_is_local(referred), target
    login_page = client.get("/login", query_string={"next": target})
    assert login_page.status_code == 200
    logged_in = client.post("/login", data={"username": "cs1", "password": "demo", "next": target,
                                            "csrf_token": csrf_token(client)})
    assert location_is_local(logged_in), (target, logged_in.headers.get("Location"))
    assert logged_in.headers["Location"] == "/inbox"


def test_the_raw_tab_slash_query_string_is_refused(client):
    answer = client.get("/lang/en?next=/%09/evil.example/")
    assert answer.headers["Location"] == "/"
    assert client.get("/lang/en?next=/x%0d%0aLocation:%20//evil").status_code == 302


def test_a_claim_s_next_stays_on_the_site(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    task_id = task(eng, number, "first_response").id
    login(client, "cs2")
    answer = client.post(f"/inbox/tasks/{task_id}/claim",
                         data={"next": "/%09/evil.example/", "csrf_token": csrf_token(client, "/inbox")})
    assert answer.status_code in (303, 409) and location_is_local(answer) or answer.status_code == 409


# ------------------------------------------------------------ 3. login throttling

def test_padded_and_case_changed_usernames_share_one_budget(client):
    spellings = [" cs1", "cs1\t", "CS1", "ｃｓ１", "cs1\u200b"]
    assert [failed_login(client, name) for name in spellings] == [401] * 5
    assert failed_login(client, "cs1") == 429
    refused = client.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": csrf_token(client)})
    assert refused.status_code == 429 and "登录失败次数过多" in text(refused)  # even the right password waits
    assert api_login(client, " Cs1 ", password="demo") == 429


def test_the_api_and_the_form_share_the_budget(client):
    assert [failed_login(client, "cs2") for _ in range(3)] == [401] * 3
    assert [api_login(client, "cs2") for _ in range(2)] == [401] * 2
    throttled = client.post("/api/v1/session", json={"username": "cs2", "password": "demo"})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    page = client.post("/login", data={"username": "cs2", "password": "demo", "csrf_token": csrf_token(client)})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0


def test_the_real_user_on_a_known_device_gets_in_while_the_account_is_under_attack(app, client):
    app.config["LOGIN_ACCOUNT_LIMIT"] = "6 per hour"
    login(client, "mgr2")  # the real user's browser: remembered as a device of mgr2
    client.post("/logout", data={"csrf_token": csrf_token(client, "/inbox")})
    attacker = app.test_client()
    for n in range(6):  # from six addresses, below each address's own limit
        assert failed_login(attacker, "mgr2", environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}) == 401
    # The account's budget is spent: a new device is refused even with the right password...
    assert failed_login(attacker, "mgr2", password="demo", environ_base={"REMOTE_ADDR": "203.0.113.99"}) == 429
    assert api_login(attacker, "mgr2", password="demo", environ_base={"REMOTE_ADDR": "203.0.113.98"}) == 429
    # ...but the real user's own device still gets in.
    assert failed_login(client, "mgr2", password="demo") == 302
    # A forged device cookie does not count.
    forged = app.test_client()
    forged.set_cookie("cf_device", "forged.value.sig")
    assert failed_login(forged, "mgr2", password="demo", environ_base={"REMOTE_ADDR": "203.0.113.97"}) == 429


def test_one_address_trying_many_accounts_is_throttled(app, client):
    app.config["LOGIN_ADDRESS_LIMIT"] = "8 per hour"
    assert [failed_login(client, f"guess{n}") for n in range(8)] == [401] * 8
    assert failed_login(client, "cs1", password="demo") == 429
    assert failed_login(client, "cs1", password="demo", environ_base={"REMOTE_ADDR": "198.51.100.7"}) == 302


# ------------------------------------------------------------ 4. trusted proxies

def proxied_app(app: Flask, hops: int | None) -> Flask:
    overrides = {k: app.config[k] for k in ("TESTING", "INSTANCE_DIR", "SECRET_KEY", "DATABASE_URL", "WORKFLOWS_DIR")}
    if hops is not None:
        overrides["TRUSTED_PROXIES"] = hops
    return create_app(overrides, eng=app.extensions["complaintflow.engine"])


def test_clients_behind_a_trusted_proxy_get_their_own_throttle_keys(app):
    client = proxied_app(app, 1).test_client()
    first, second = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
    assert [failed_login(client, "cs1", headers=first) for _ in range(5)] == [401] * 5
    assert failed_login(client, "cs1", headers=first) == 429
    assert failed_login(client, "cs1", password="demo", headers=second) == 302


def test_without_the_setting_x_forwarded_for_is_ignored(app):
    client = proxied_app(app, None).test_client()
    assert [failed_login(client, "cs1", headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(5)] == [401] * 5
    assert failed_login(client, "cs1", password="demo", headers={"X-Forwarded-For": "198.51.100.9"}) == 429


# ------------------------------------------------------------ 5. security headers and Secure cookies

CSP_PARTS = ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'",
             "base-uri 'self'", "form-action 'self'"]


def test_every_page_has_the_security_headers_and_is_not_stored(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    pages = ["/login", "/c/complaint", "/nowhere", "/api/v1/tasks"]
    answers = [client.get(p) for p in pages]
    login(client, "cs1")
    answers += [client.get(p) for p in ("/inbox", f"/cases/{number}", "/inbox?partial=1")]
    answers.append(client.post("/login", data={}))  # 400: CSRF
    for answer in answers:
        csp = answer.headers.get("Content-Security-Policy", "")
        assert all(part in csp for part in CSP_PARTS), (answer.request.path, csp)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] in ("same-origin", "strict-origin")
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
    static = client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert static.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_carry_no_inline_script(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    login(client, "owner1")
    for path in ("/inbox", f"/cases/{number}", "/owner/", "/audit/"):
        page = text(client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path


def test_cookies_are_secure_by_default_with_hsts(app, monkeypatch):
    monkeypatch.delenv("COMPLAINTFLOW_INSECURE_COOKIES", raising=False)
    production = create_app({k: app.config[k] for k in ("TESTING", "INSTANCE_DIR", "SECRET_KEY", "DATABASE_URL",
                                                         "WORKFLOWS_DIR")}, eng=app.extensions["complaintflow.engine"])
    assert production.config["SESSION_COOKIE_SECURE"] is True
    client = production.test_client()
    form = text(client.get("/login", base_url="https://localhost"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"username": "cs1", "password": "demo", "csrf_token": token},
                         base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert answer.status_code == 302
    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies
    assert "max-age=" in answer.headers["Strict-Transport-Security"]
    monkeypatch.setenv("COMPLAINTFLOW_INSECURE_COOKIES", "1")
    local = create_app({k: app.config[k] for k in ("TESTING", "INSTANCE_DIR", "SECRET_KEY", "DATABASE_URL",
                                                   "WORKFLOWS_DIR")}, eng=app.extensions["complaintflow.engine"])
    assert local.config["SESSION_COOKIE_SECURE"] is False
    assert "Strict-Transport-Security" not in local.test_client().get("/login").headers


# ------------------------------------------------------------ 6. owner-provided text

SCRIPT = '"><script>alert(1)</script>'


@pytest.fixture
def workflows_dir(tmp_path: Path) -> Path:
    """The shipped workflows with a hostile first-response form field and a formula for a task name."""
    import shutil

    from tests.conftest import WORKFLOWS

    target = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, target)
    form_path = target / "forms" / "first_response.json"
    form = json.loads(form_path.read_text(encoding="utf-8"))
    name = f"x{SCRIPT}"
    form["properties"][name] = {"type": "string", "minLength": 1, "maxLength": 200, "title": SCRIPT,
                               "description": SCRIPT}
    form["required"].append(name)
    form["x-ui"]["order"].append(name)
    for language in form["x-ui"]["labels"].values():
        language["fields"][name] = SCRIPT
    form_path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    intake = target / "intake.bpmn"
    bpmn = intake.read_text(encoding="utf-8")
    formula = '=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)'
    intake.write_text(bpmn.replace('name="首次响应 First response"', f'name="{formula}"'), encoding="utf-8")
    return target


def test_a_hostile_form_field_is_escaped_on_the_task_page(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    first = task(eng, number, "first_response")
    login(client, first.assignee or "cs1")
    shown = text(client.get(f"/tasks/{first.id}"))
    assert "<script>alert(1)" not in shown and "&lt;script&gt;alert(1)" in shown
    answer = client.post(f"/tasks/{first.id}", data={"csrf_token": csrf_token(client, f"/tasks/{first.id}"),
                                                     "expected_version": "1"})
    after_error = text(answer)
    assert answer.status_code in (200, 409, 422)
    assert "<script>alert(1)" not in after_error and '"><script>' not in after_error


def test_a_formula_task_name_is_text_in_the_compliance_csv_and_xlsx(client, eng, web_clock):
    eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    web_clock.advance(timedelta(minutes=30))
    eng.timers.fire_due()
    login(client, "auditor1")
    period = "from=2026-03-01&to=2026-03-31"
    rows = list(csv.reader(io.StringIO(text(client.get(f"/audit/report?{period}&format=csv")).lstrip("\ufeff"))))
    titles = [row[-1] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in titles
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    book = load_workbook(io.BytesIO(client.get(f"/audit/report?{period}&format=xlsx").data))
    formula_cells = [c for sheet in book for row in sheet.iter_rows() for c in row
                     if isinstance(c.value, str) and c.value.startswith("=")]
    assert formula_cells and all(c.data_type == "s" and c.quotePrefix for c in formula_cells)
    numbers = [c.value for c in next(book["汇总"].iter_rows(min_row=2, max_row=2))][3:6]
    assert all(isinstance(n, int) for n in numbers)


# ------------------------------------------------------------ 7. every parameter validated

@BOTH_DATABASES
def test_out_of_range_numbers_and_dates_are_400_never_500(client, eng):
    eng.runtime.start("complaint", registration(), "cs1")
    login(client, "sup1")
    for path in ("/inbox?page=99999999999999999999", "/inbox?page=" + "9" * 400, "/inbox?page=-1",
                 "/audit/?from=2026-13-45", "/audit/?to=99999-01-01", "/audit/?from=0001-01-01&to=0001-01-01",
                 "/audit/report?from=9999-12-31&to=9999-12-31", "/audit/report?from=0001-01-01",
                 "/audit/report?from=2026-02-30"):
        assert client.get(path).status_code == 400, path


@BOTH_DATABASES
def test_odd_numbers_in_api_bodies_are_4xx(client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    token = client.post("/api/v1/session", json={"username": "owner1", "password": "demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for advance in ("P99999999Y", "PT99999999999999999999S", "P" + "9" * 400 + "D", "P200Y"):
        answer = client.post("/api/v1/clock", json={"advance": advance}, headers=auth)
        assert answer.status_code == 422, (advance, answer.status_code)
    for version in (10**30, -1, 2**63):
        answer = client.post(f"/api/v1/cases/{number}/migration", json={"to_version": version}, headers=auth)
        assert 400 <= answer.status_code < 500, (version, answer.status_code)
        diff = client.get(f"/api/v1/deployments/1/diff?against={version}", headers=auth)
        assert diff.status_code < 500, (version, diff.status_code)  # before the first version: against nothing
    assert client.get(f"/api/v1/deployments/{10**30}/diff", headers=auth).status_code in (400, 404)


def test_a_405_keeps_its_allow_header(client):
    answer = client.put("/login")
    assert answer.status_code == 405 and "POST" in answer.headers["Allow"]
    api = client.delete("/api/v1/session")
    assert api.status_code == 405 and "POST" in api.headers["Allow"]


ODD_VALUES = ["99999999999999999999", "-1", "0", "2026-13-45", "9999-12-31", "%00", "x" * 300, "1e309", "NaN",
              "../../etc/passwd", "P99999999Y", "'", "1.5"]


QUERY_NAMES = ["page", "per_page", "from", "to", "number", "product", "grade", "status", "format", "against",
               "scope", "sort", "partial", "next", "version", "step", "channel", "overdue", "lang", "limit"]


@pytest.mark.parametrize("web_database_url", ["postgresql"], indirect=True)  # the stricter about values
def test_odd_values_for_every_parameter_of_every_page_give_no_server_error(app, client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    sane = {"number": number, "task_id": task(eng, number, "first_response").id, "version": "1", "code": "en"}
    login(client, "sup1")
    token = client.post("/api/v1/session", json={"username": "sup1", "password": "demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    failures = []

    def fill(rule, value: str | None) -> str:  # noqa: ANN001
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{argument}>", value or sane.get(argument, "x"), path)
        return path

    def probe(path: str, query: dict) -> None:
        answer = client.get(path, query_string=query, headers=auth)
        if answer.status_code >= 500 and not (path == "/readyz" and answer.status_code == 503):
            failures.append((path, query, answer.status_code))

    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for odd in ODD_VALUES if rule.arguments else []:
            probe(fill(rule, odd), {})
        for i, name in enumerate(QUERY_NAMES):
            for odd in {ODD_VALUES[i % len(ODD_VALUES)], ODD_VALUES[(i + 3) % len(ODD_VALUES)]}:
                probe(fill(rule, None), {name: odd})
    assert not failures, failures[:20]


# ------------------------------------------------------------ 8. the secret key

def test_two_apps_on_one_instance_folder_accept_each_other_s_session(app, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPLAINTFLOW_SECRET_KEY", raising=False)
    folder = tmp_path / "shared-instance"
    eng = app.extensions["complaintflow.engine"]
    settings = {"TESTING": True, "INSTANCE_DIR": str(folder), "DATABASE_URL": app.config["DATABASE_URL"],
                "WORKFLOWS_DIR": app.config["WORKFLOWS_DIR"]}
    first, second = create_app(dict(settings), eng=eng), create_app(dict(settings), eng=eng)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    key_file = folder / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    one = first.test_client()
    login(one, "cs1")
    cookie = one.get_cookie("session")
    other = second.test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/inbox").status_code == 200
    restarted = create_app(dict(settings), eng=eng).test_client()  # a restart keeps the key
    restarted.set_cookie("session", cookie.value)
    assert restarted.get("/inbox").status_code == 200


def test_workers_starting_at_once_agree_on_one_key(tmp_path):
    folder, keys, start = tmp_path / "race", [], threading.Barrier(8)

    def worker() -> None:
        start.wait()
        keys.append(instance_secret(folder))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["secret_key"]


def test_no_template_or_view_marks_text_safe():
    """Escaping is Jinja's default; nothing in the app opts out of it (a guard for the next change)."""
    web = Path(__file__).resolve().parents[2] / "web"
    sources = [p for p in web.rglob("*") if p.suffix in (".html", ".py") and "node_modules" not in p.parts]
    found = [f"{p.relative_to(web)}: {m.group(0)}" for p in sources
             for m in re.finditer(r"\|\s*safe\b|Markup\(|autoescape\s+false", p.read_text(encoding="utf-8"))]
    assert not found, found


FORM_NAMES = ["expected_version", "holder", "next", "answer", "to", "action", "task", "note", "advance", "to_version",
              "number", "last4", "contact", "description", "version", "files", "replace", "purpose"]


@pytest.mark.parametrize("web_database_url", ["postgresql"], indirect=True)
def test_odd_values_posted_to_every_form_and_call_give_no_server_error(app, client, eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    sane = {"number": number, "task_id": task(eng, number, "first_response").id, "version": "1", "code": "en",
            "purpose": "survey"}
    login(client, "owner1")
    csrf = csrf_token(client, "/inbox")
    token = client.post("/api/v1/session", json={"username": "owner1", "password": "demo"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule in ("/logout", "/api/v1/session"):
            continue
        for odd in (ODD_VALUES[0], ODD_VALUES[3], ODD_VALUES[6], "-1"):
            path = rule.rule
            for argument in rule.arguments:
                path = re.sub(rf"<(?:[^:<>]+:)?{argument}>", sane.get(argument, odd), path)
            form = {name: odd for name in FORM_NAMES}
            answers = [client.post(path, data={**form, "csrf_token": csrf}, headers=auth),
                       client.post(path, json={**form, "data": {"x": odd}}, headers=auth)]
            failures += [(path, odd, a.status_code) for a in answers if a.status_code >= 500]
    assert not failures, failures[:20]
