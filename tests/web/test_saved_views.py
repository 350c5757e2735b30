"""Saved inbox views per person (issue 15): a named set of filters, one click away, only one's own."""

from __future__ import annotations

import re

from tests.driver import registration
from tests.web.conftest import csrf_token, login


def test_a_handler_saves_a_view_and_it_brings_the_filters_back(client, eng):
    eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    login(client, "cs1")
    page = client.get("/inbox?scope=mine&overdue=1").get_data(as_text=True)
    query = re.search(r'<input type="hidden" name="query" value="([^"]*)">', page).group(1)
    response = client.post("/inbox/views", data={"csrf_token": csrf_token(client, "/inbox"), "name": "我的超时",
                                                 "query": query.replace("&amp;", "&") + "&evil=1"})
    assert response.status_code == 303 and "evil" not in response.location
    inbox = client.get("/inbox").get_data(as_text=True)
    link = re.search(r'<span class="saved-view" data-view="我的超时">\s*<a href="([^"]+)"', inbox).group(1)
    assert "scope=mine" in link and "overdue=1" in link and "evil" not in link
    login(client, "cs2")
    assert "我的超时" not in client.get("/inbox").get_data(as_text=True)


def test_a_view_is_deleted_by_its_owner_only(client, eng):
    eng.saved_views.save("cs1", "急件", "grade=urgent")
    [view] = eng.saved_views.of("cs1")
    login(client, "cs2")
    client.post(f"/inbox/views/{view.id}/delete", data={"csrf_token": csrf_token(client, "/inbox")})
    assert eng.saved_views.of("cs1") == [view]
    login(client, "cs1")
    client.post(f"/inbox/views/{view.id}/delete", data={"csrf_token": csrf_token(client, "/inbox")})
    assert eng.saved_views.of("cs1") == []
