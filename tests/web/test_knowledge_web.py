"""The knowledge base over the web (issue 14): the /knowledge pages in zh-CN and English, the quality lead's
corrections, ``GET /api/v1/knowledge`` over real HTTP, and the defect check's task page showing the known
issues of the same product (never another product's); links to a source case follow the involved-staff
rule. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.driver import complete, registration, task
from tests.test_knowledge import KETTLE, WATCH, analysed
from tests.web.conftest import csrf_token, login

CAUSE = "搓轮材质耐磨性不足"


@pytest.fixture
def web_database_url(database_url: str) -> str:
    return database_url


def test_the_knowledge_page_finds_entries_by_chinese_and_english_words(client, eng):
    chinese = analysed(eng, problem="连续打印50页后卡纸", cause=CAUSE)
    english = analysed(eng, product=WATCH, problem="Screen flickers after the update",
                       cause="Display driver timing bug", defect="software_fault")
    login(client, "sup1")
    page = client.get("/knowledge/").get_data(as_text=True)
    assert 'id="knowledge-link"' in page and "知识库" in page and "缺陷类型" in page
    assert page.count('data-entry="') == 2
    found = client.get("/knowledge/?q=卡纸").get_data(as_text=True)
    assert found.count('data-entry="') == 1 and chinese in found and english not in found
    found = client.get("/knowledge/?q=driver").get_data(as_text=True)
    assert found.count('data-entry="') == 1 and english in found
    found = client.get("/knowledge/", query_string={"product": WATCH}).get_data(as_text=True)
    assert found.count('data-entry="') == 1 and english in found
    found = client.get("/knowledge/?defect_type=shell_crack").get_data(as_text=True)
    assert found.count('data-entry="') == 1 and "外壳破损/裂纹" in found
    assert 'id="no-knowledge"' in client.get("/knowledge/?q=不存在的问题").get_data(as_text=True)
    assert "已加入知识库" in client.get(f"/cases/{chinese}").get_data(as_text=True)  # the case's history says so
    client.get("/lang/en")
    english_page = client.get("/knowledge/").get_data(as_text=True)
    assert "Knowledge base" in english_page and "Defect type" in english_page and "Shell crack" in english_page


def test_the_entry_page_links_its_source_case_only_for_those_who_may_open_it(client, eng):
    number = analysed(eng, cause=CAUSE, involved_staff=["mgr1"])
    entry = eng.knowledge.search("sup1")[0]
    login(client, "sup1")
    page = client.get(f"/knowledge/{entry.id}").get_data(as_text=True)
    assert CAUSE in page and f'href="/cases/{number}"' in page
    assert 'id="correct-entry"' not in page  # the supervisor reads; the quality lead corrects
    client.post("/logout", data={"csrf_token": csrf_token(client, "/knowledge/")})
    login(client, "mgr1")  # complained about in that case
    page = client.get(f"/knowledge/{entry.id}").get_data(as_text=True)
    assert CAUSE in page and number not in page and 'id="source-hidden"' in page
    assert number not in client.get("/knowledge/").get_data(as_text=True)
    assert client.get("/knowledge/999999").status_code == 404


def test_the_quality_lead_corrects_and_retires_an_entry_from_its_page(client, eng):
    number = analysed(eng, cause=CAUSE)
    entry = eng.knowledge.search("sup1")[0]
    login(client, "eng1")
    token = csrf_token(client, f"/knowledge/{entry.id}")
    refused = client.post(f"/knowledge/{entry.id}/correct", data={
        "csrf_token": token, "problem": "p", "cause": "c", "solution": "s", "version": "1"})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": token})
    login(client, "ql1")
    page = client.get(f"/knowledge/{entry.id}").get_data(as_text=True)
    assert 'id="correct-entry"' in page and 'id="retire-entry"' in page
    token = csrf_token(client, f"/knowledge/{entry.id}")
    missing = client.post(f"/knowledge/{entry.id}/correct", data={
        "csrf_token": token, "problem": entry.problem, "cause": "", "solution": entry.solution, "version": "1"})
    assert missing.status_code == 422 and 'data-error-for="cause"' in missing.get_data(as_text=True)
    done = client.post(f"/knowledge/{entry.id}/correct", data={
        "csrf_token": token, "problem": entry.problem, "cause": "密封圈老化", "solution": entry.solution,
        "version": "1"}, follow_redirects=True)
    assert done.status_code == 200 and "密封圈老化" in done.get_data(as_text=True)
    retired = client.post(f"/knowledge/{entry.id}/retire", data={
        "csrf_token": token, "reason": "产品已停产", "version": "2"}, follow_redirects=True)
    assert 'id="retired-mark"' in retired.get_data(as_text=True)
    kinds = [e.kind for e in eng.history.events(number)]
    assert kinds[-2:] == ["knowledge_corrected", "knowledge_retired"]
    assert client.get("/knowledge/").get_data(as_text=True).count('data-entry="') == 0
    assert client.get("/knowledge/?retired=1").get_data(as_text=True).count('data-entry="') == 1


def test_the_api_searches_the_knowledge_base(served, eng):
    number = analysed(eng, problem="连续打印50页后卡纸", cause=CAUSE, involved_staff=["mgr1"])
    http = httpx.Client(base_url=f"{served}/api/v1", timeout=30)

    def token(user: str) -> dict:
        answer = http.post("/session", json={"username": user, "password": "demo"})
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    assert http.get("/knowledge").status_code == 401
    sup = token("sup1")
    answer = http.get("/knowledge", params={"q": "卡纸"}, headers=sup)
    assert answer.status_code == 200
    [entry] = answer.json()["entries"]
    assert (entry["cause"], entry["product"], entry["source_case"], entry["status"]) == (
        CAUSE, KETTLE, number, "active")
    assert http.get("/knowledge", params={"q": "paper"}, headers=sup).json() == {"entries": []}
    assert http.get("/knowledge", params={"product": WATCH}, headers=sup).json() == {"entries": []}
    involved = http.get("/knowledge", params={"q": "耐磨"}, headers=token("mgr1")).json()["entries"]
    assert [e["source_case"] for e in involved] == [None]  # the lesson, never the case it complains about
    assert http.get("/knowledge", params={"limit": "0"}, headers=sup).status_code == 422
    assert http.get("/knowledge", params={"q": "x" * 201}, headers=sup).status_code == 422
    assert "/api/v1/knowledge" in http.get("/openapi.json").json()["paths"]


def test_the_defect_check_shows_known_issues_of_the_same_product_and_not_of_another(client, eng):
    source = analysed(eng, cause=CAUSE)
    same = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    other = eng.runtime.start("complaint", registration(product_name=WATCH), "cs1")
    for number in (same, other):
        complete(eng, number, "first_response")
    first = task(eng, same, "verify")
    login(client, first.assignee)
    page = client.get(f"/tasks/{first.id}").get_data(as_text=True)
    section = page[page.index('id="known-issues"'):]
    assert CAUSE in section and re.search(r'href="/knowledge/\d+"', section) and f'href="/cases/{source}"' in section
    other_page = client.get(f"/tasks/{task(eng, other, 'verify').id}").get_data(as_text=True)
    assert 'id="no-known-issues"' in other_page and CAUSE not in other_page
    later = eng.tasks.for_case(source, "completed")
    first_response = next(t for t in later if t.name == "first_response")
    assert 'id="known-issues"' not in client.get(f"/tasks/{first_response.id}").get_data(as_text=True)
