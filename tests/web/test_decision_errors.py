"""A decision failing in a person's request answers 422 with its code, in the person's language."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

import engine

DECISIONS = Path(__file__).resolve().parents[1] / "bpmn" / "decisions"


def _files(workflows_dir: Path) -> dict[str, str]:
    template = (DECISIONS / "answered_rule.bpmn").read_text(encoding="utf-8")
    return {"late_overlap.bpmn": template.replace("{ID}", "late_overlap").replace("{DECISION}", "overlap_runtime"),
            "overlap_runtime.dmn": (DECISIONS / "overlap_runtime.dmn").read_text(encoding="utf-8"),
            "roles.toml": (workflows_dir / "roles.toml").read_text(encoding="utf-8")}


def test_overlapping_unique_rules_at_run_answer_422_with_the_code_in_the_persons_language(
        eng: engine.Engine, client: FlaskClient, workflows_dir: Path) -> None:
    eng.repository.deploy_files(_files(workflows_dir), actor="owner1", note="decision failing at run")
    number = eng.runtime.start("late_overlap", {"channel": "test"}, "sup1")
    token = client.post("/api/v1/session", json={"username": "sup1", "password": "demo"}).get_json()["token"]
    answer = {"case_number": number, "name": "answer", "payload": {"amount": 600, "limit": 1000}}
    for language, words in (("zh-CN", "规则 1 (small), 2 (large)"), ("en", "rules 1 (small), 2 (large) all matched")):
        response = client.post("/api/v1/messages", json=answer,
                               headers={"Authorization": f"Bearer {token}", "Accept-Language": language})
        assert response.status_code == 422, response.get_data(as_text=True)
        body = response.get_json()
        assert body["code"] == "dmn_unique_overlap_run" and body["element"] == "decide"
        assert words in body["message"] and "Traceback" not in body["message"]
