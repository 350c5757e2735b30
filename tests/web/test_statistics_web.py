"""The statistics page, its XLSX export and ``GET /api/v1/statistics`` give the seeded month's figures
known in advance (tests/test_statistics.py); an involved viewer's drill-down leaves their case out."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import SHANGHAI  # noqa: F401  (the seeded month is in the calendar's zone)
from tests.driver import registration
from tests.test_statistics import FRYER, KETTLE, KNOWN, seed_month, through_root_cause
from tests.web.conftest import login

APRIL = "period=month&from=2026-04-01"


@pytest.fixture
def web_database_url(database_url: str) -> str:  # SQLite and PostgreSQL
    return database_url


def test_the_page_the_xlsx_and_the_api_give_the_seeded_months_figures(app, client, eng, web_clock, served):
    seeded = seed_month(eng, web_clock)
    login(client, "ql1")
    page = client.get(f"/statistics/?{APRIL}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    volume = re.search(r'id="figure-volume">.*?class="value"[^>]*>(\d+)<', html, re.S)
    assert volume and int(volume.group(1)) == KNOWN["volume"]
    assert re.search(r'id="figure-satisfaction">.*?class="value"[^>]*>4\.0<', html, re.S)
    assert re.search(r'id="figure-repeats">.*?class="value"[^>]*>2<', html, re.S)
    top = re.findall(r'<tr data-key="(\w+)"><td>[^<]*</td>\s*<td><a href="([^"]+)">(\d+)</a>',
                     html.split('id="table-defect-types"')[1].split("</table>")[0])
    assert [(key, int(count)) for key, _link, count in top[:3]] == KNOWN["top3"]
    assert 'data-chart=' in html and "chart.umd.min.js" in html and "<script>" not in html
    # Drill from the top defect type to its complaints.
    drill = client.get(top[0][1].replace("&amp;", "&"))
    found = re.findall(r'<tr data-case="([^"]+)">', drill.get_data(as_text=True))
    assert sorted(found) == sorted(seeded["april"][:3])

    export = client.get(f"/statistics/?{APRIL}&format=xlsx")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["volume"] == KNOWN["volume"] and isinstance(summary["volume"], int)
    assert summary["satisfaction_average"] == KNOWN["satisfaction_average"]
    assert summary["repeat_complaints"] == KNOWN["repeats"]
    defects = [(r[0], r[2]) for r in book["defect_types"].iter_rows(min_row=2, values_only=True)]
    assert defects[:3] == KNOWN["top3"]
    steps = {r[0]: (r[3], r[4]) for r in book["on_time_steps"].iter_rows(min_row=2, values_only=True)}
    assert steps["first_response"] == KNOWN["first_response"]
    products = {r[0]: r[2] for r in book["by_product_name"].iter_rows(min_row=2, values_only=True)}
    assert products == {KETTLE: 4, FRYER: 3}

    http = httpx.Client(base_url=served, timeout=30)
    token = http.post("/api/v1/session", json={"username": "ql1", "password": "demo"}).json()["token"]
    answer = http.get(f"/api/v1/statistics?{APRIL}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    assert figures["volume"] == KNOWN["volume"]
    assert figures["ratings"]["average"] == KNOWN["satisfaction_average"]
    assert figures["repeats"]["count"] == KNOWN["repeats"]
    assert [(r["key"], r["count"]) for r in figures["defect_types"][:3]] == KNOWN["top3"]
    [first] = [r for r in figures["on_time"]["steps"] if r["step"] == "first_response"]
    assert (first["met"], first["missed"]) == KNOWN["first_response"]
    bad = http.get("/api/v1/statistics?period=month&from=April", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and "from" in bad.text
    handler = http.post("/api/v1/session", json={"username": "cs1", "password": "demo"}).json()["token"]
    assert http.get("/api/v1/statistics", headers={"Authorization": f"Bearer {handler}"}).status_code == 403


def test_an_involved_viewers_drill_down_leaves_their_case_out_and_others_may_not_open_it(client, eng, web_clock):
    from datetime import datetime
    web_clock.set(datetime(2026, 4, 10, 10, 0, tzinfo=SHANGHAI))
    mine = eng.runtime.start("complaint", registration(involved_staff=["mgr1"]), "cs1")
    other = eng.runtime.start("complaint", registration(), "cs1")
    for number in (mine, other):
        through_root_cause(eng, number, "overheating")
    login(client, "mgr1")
    html = client.get(f"/statistics/?{APRIL}").get_data(as_text=True)
    assert re.search(r'id="figure-volume">.*?class="value"[^>]*>1<', html, re.S)
    drill = client.get(f"/statistics/cases?{APRIL}&dimension=defect_type&value=overheating").get_data(as_text=True)
    assert re.findall(r'<tr data-case="([^"]+)">', drill) == [other]
    client.get("/logout")
    login(client, "cs1")
    assert client.get(f"/statistics/?{APRIL}").status_code == 403
