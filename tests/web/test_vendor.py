"""The diagram library is served by the app itself (from the npm lock file), never from a CDN."""

from __future__ import annotations


def test_bpmn_js_is_served_by_the_app(client):
    response = client.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert response.status_code == 200 and len(response.data) > 100_000


def test_only_listed_packages_are_served(client):
    assert client.get("/vendor/left-pad/index.js").status_code == 404
    assert client.get("/vendor/bpmn-js/../../package.json").status_code == 404
