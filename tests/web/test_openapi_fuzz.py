"""schemathesis against the served OpenAPI document: every operation, over real HTTP, with a logged-in token.

What it checks (issue 13): no answer is a server error, and every answer matches the document (its
status code is listed, its content type and body match the schema, its documented headers are
there). A bounded number of examples per operation keeps the run within about two minutes.
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from web.api.openapi import PATHS

EXAMPLES = int(os.environ.get("COMPLAINTFLOW_FUZZ_EXAMPLES", "25"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]

METHODS = ("get", "put", "post", "delete", "patch")
# One test per documented operation (the document a test of test_api.py checks against the routes).
OPERATIONS = [(method, path) for path, item in PATHS.items() for method in METHODS if method in item]


@pytest.fixture
def token(served: str) -> str:
    # A supervisor: registers complaints, sees every case, works tasks; not a process owner (no deploys).
    answer = httpx.post(f"{served}/api/v1/session", json={"username": "sup1", "password": "demo"})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_every_answer_is_documented_and_none_is_a_server_error(method, path, served, token):
    document = schemathesis.openapi.from_url(f"{served}/api/v1/openapi.json")  # as served, not as imported
    operation = document[path][method.upper()]
    headers = {"Authorization": f"Bearer {token}"}

    # Valid requests, and requests that break the document (wrong types, values out of range, ...).
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=served, headers=headers, checks=CHECKS)

    answers_as_documented()
