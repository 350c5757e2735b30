"""The knowledge base (issue 14, seed 003's 《问题-原因-解决方案》知识库): a completed root-cause analysis leaves
one "problem – cause – solution" entry in the same transaction, recorded in the case's history; the entries
are found by Chinese words of two characters and by English words on SQLite (FTS5 trigram) and PostgreSQL
(pg_trgm); the handler checking a new complaint about the same product is shown them; the quality lead
corrects and retires them; the link to the source case follows the involved-staff rule."""

from __future__ import annotations

import json

import pytest

from engine.catalogue import Meaning, form_field
from engine.errors import DeployError, FormInvalid, NotAllowed
from engine.knowledge_marks import KNOWLEDGE_MARK, KNOWN_ISSUES_MARK, Part, marked_fields
from engine.store.enums import EventKind, KnowledgeStatus
from tests.driver import complete, registration, task, to_responsibility

KETTLE, WATCH = "智能电水壶", "智能手表 W3"
RCA = "root_cause_analysis"


def analysed(eng, product: str = KETTLE, *, problem: str = "热水壶底座漏电", cause: str = "搓轮材质耐磨性不足",
             corrective: str = "更换模具", preventive: str = "加强出厂检验", defect: str = "shell_crack",
             **registered: object) -> str:
    """A product-quality complaint walked through its root-cause analysis (the step that makes an entry)."""
    number = eng.runtime.start("complaint", registration(product_name=product, **registered), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    form = eng.repository.active().form(task(eng, number, RCA).form_file)
    marks = marked_fields(form)
    answers = {marks[Part.CAUSE][0]: cause, marks[Part.SOLUTION][0]: corrective, marks[Part.SOLUTION][1]: preventive,
               form_field(form, Meaning.DEFECT_TYPE): defect}
    if Part.PROBLEM in marks:
        answers[marks[Part.PROBLEM][0]] = problem
    complete(eng, number, RCA, **answers)
    return number


def test_completing_the_root_cause_analysis_adds_one_entry_recorded_in_the_case_history(eng):
    number = analysed(eng)
    entries = eng.knowledge.search("sup1")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.problem, entry.cause) == ("热水壶底座漏电", "搓轮材质耐磨性不足")
    assert entry.solution == "更换模具\n\n加强出厂检验"  # both fields marked solution, in the form's order
    assert (entry.product, entry.defect_type, entry.source_case, entry.source_element) == (
        KETTLE, "shell_crack", number, RCA)
    assert (entry.status, entry.version, entry.created_by) == (KnowledgeStatus.ACTIVE, 1, "eng1")
    events = eng.history.events(number)
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.KNOWLEDGE_ADDED) == 1
    added = events[kinds.index(EventKind.KNOWLEDGE_ADDED)]
    completed = events[kinds.index(EventKind.KNOWLEDGE_ADDED) - 1]
    assert completed.kind == EventKind.TASK_COMPLETED and completed.payload["element"] == RCA
    assert added.payload["entry"] == entry.id and added.payload["task_id"] == entry.source_task
    assert eng.history.verify().ok
    assert eng.replay.run(number).ok  # the entry's event is no step: replay reaches the recorded state


def test_a_form_marking_no_problem_takes_the_case_description(eng, workflows_dir):
    path = workflows_dir / "forms" / "root_cause_analysis.json"
    text = path.read_text(encoding="utf-8")
    marked = '"title": "Problem as found",\n      "x-knowledge": "problem"'
    assert marked in text
    path.write_text(text.replace(marked, '"title": "Problem as found"'), encoding="utf-8")
    eng.repository.deploy(actor="owner1", note="the problem is the customer's description")
    analysed(eng, description="热水壶烧水时跳闸")
    assert eng.knowledge.search("sup1")[0].problem == "热水壶烧水时跳闸"


def test_a_refused_analysis_makes_no_entry(eng):
    number = eng.runtime.start("complaint", registration(), "cs1")
    to_responsibility(eng, number)
    complete(eng, number, "determine_responsibility")
    with pytest.raises(FormInvalid):
        complete(eng, number, RCA, defect_type="not_on_the_list")
    assert eng.knowledge.search("sup1") == []
    assert EventKind.KNOWLEDGE_ADDED not in [e.kind for e in eng.history.events(number)]


def test_search_finds_two_character_chinese_words_and_english_words(eng):
    rollers = analysed(eng, problem="连续打印50页后卡纸", cause="搓轮材质耐磨性不足",
                       corrective="更换高耐磨搓轮批次", preventive="改用硅胶材质搓轮")
    english = analysed(eng, product=WATCH, problem="Screen flickers after the OTA update",
                       cause="Display driver timing bug in firmware 2.1", corrective="Roll out firmware 2.2",
                       preventive="Add a flicker test to the release checklist", defect="software_fault")

    def found(text: str, **filters: str) -> set[str]:
        return {e.source_case for e in eng.knowledge.search("sup1", text, **filters)}

    assert found("卡纸") == {rollers}  # two Chinese characters, no spaces around them
    assert found("耐磨") == {rollers}
    assert found("硅胶") == {rollers}
    assert found("firmware") == {english}
    assert found("FLICKER") == {english}  # any case
    assert found("ota") == {english}  # a three-letter word
    assert found("driver 2.2") == {english}  # every word must match, in any part of the entry
    assert found("卡纸 firmware") == set()
    assert found("电水壶") == {rollers}  # the product is searched too
    assert found("裂纹") == found("shell crack") == {rollers}  # the defect type's words (zh, en) from the list
    assert found("") == {rollers, english}
    assert found("%") == set() and found("_") == set()  # LIKE's wildcards are matched as characters
    assert found("", product="智能手表w3") == {english}  # the same product whatever the spaces and case
    assert found("", defect_type="shell_crack") == {rollers}
    assert found("firmware", product=KETTLE) == set()


def test_the_handler_checking_a_new_complaint_sees_known_issues_of_the_same_product_only(eng):
    source = analysed(eng)
    same = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    other = eng.runtime.start("complaint", registration(product_name=WATCH), "cs1")
    known = eng.knowledge.known_issues("sup1", same)
    assert [e.source_case for e in known] == [source]
    assert eng.knowledge.known_issues("sup1", other) == []
    assert eng.knowledge.known_issues("sup1", source) == []  # never the case's own entry


def test_known_issues_narrow_to_the_defect_type_once_a_step_recorded_one(eng):
    cracked = analysed(eng, defect="shell_crack")
    analysed(eng, defect="software_fault")
    later = analysed(eng, defect="shell_crack")
    assert {e.source_case for e in eng.knowledge.known_issues("sup1", later)} == {cracked}


def test_the_link_to_the_source_case_follows_the_involved_staff_rule(eng):
    number = analysed(eng, involved_staff=["mgr1"])  # the CS manager (sees every case) is complained about
    assert eng.knowledge.search("sup1")[0].case_visible is True  # sees all, not involved
    assert eng.knowledge.search("mgr1")[0].case_visible is False  # involved: the lesson, never the case
    assert eng.knowledge.search("eng1")[0].case_visible is True  # had the analysis
    assert eng.knowledge.search("am1")[0].case_visible is False  # no task on it, does not see all
    assert eng.knowledge.get("mgr1", eng.knowledge.search("sup1")[0].id).source_case == number


def test_the_quality_lead_corrects_and_retires_an_entry_each_change_recorded(eng):
    number = analysed(eng)
    entry = eng.knowledge.search("ql1")[0]
    with pytest.raises(NotAllowed):
        eng.knowledge.correct(entry.id, "eng1", "p", "c", "s")
    with pytest.raises(FormInvalid) as refused:
        eng.knowledge.correct(entry.id, "ql1", "漏电", "", "更换底座")
    assert set(refused.value.errors) == {"cause"}
    corrected = eng.knowledge.correct(entry.id, "ql1", "底座漏电", "密封圈老化", "更换底座密封圈",
                                      expected_version=1)
    assert (corrected.version, corrected.cause, corrected.updated_by) == (2, "密封圈老化", "ql1")
    assert [e.source_case for e in eng.knowledge.search("sup1", "密封圈")] == [number]
    assert eng.knowledge.search("sup1", "耐磨") == []  # the old words no longer match
    with pytest.raises(FormInvalid):
        eng.knowledge.retire(entry.id, "ql1", "outdated", expected_version=1)  # someone changed it meanwhile
    retired = eng.knowledge.retire(entry.id, "ql1", "新款底座已停产")
    assert (retired.status, retired.version) == (KnowledgeStatus.RETIRED, 3)
    assert eng.knowledge.search("sup1") == []
    assert [e.id for e in eng.knowledge.search("sup1", include_retired=True)] == [entry.id]
    new = eng.runtime.start("complaint", registration(product_name=KETTLE), "cs1")
    assert eng.knowledge.known_issues("sup1", new) == []  # retired: no longer a known issue
    changes = [e for e in eng.history.events(number)
               if e.kind in (EventKind.KNOWLEDGE_CORRECTED, EventKind.KNOWLEDGE_RETIRED)]
    assert [(e.kind, e.actor) for e in changes] == [(EventKind.KNOWLEDGE_CORRECTED, "ql1"),
                                                    (EventKind.KNOWLEDGE_RETIRED, "ql1")]
    assert changes[0].payload["before"]["cause"] == "搓轮材质耐磨性不足"
    assert changes[1].payload["reason"] == "新款底座已停产"
    assert eng.history.verify().ok


def test_the_shipped_forms_mark_the_analysis_and_the_defect_check(eng):
    active = eng.repository.active()
    rca = marked_fields(active.form("root_cause_analysis.json"))
    assert set(rca) == set(Part) and len(rca[Part.SOLUTION]) == 2  # corrective and preventive actions
    assert set(marked_fields(active.form("department_action.json"))) == set(Part)
    assert active.form("verify.json")[KNOWN_ISSUES_MARK] is True
    assert active.form("check_validity.json")[KNOWN_ISSUES_MARK] is True


def _refused(eng, path, old: str, new: str) -> list:  # noqa: ANN001
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        eng.repository.deploy(actor="owner1")
    return refused.value.problems


def test_deploy_refuses_an_unknown_knowledge_mark_naming_file_and_field(eng, workflows_dir):
    path = workflows_dir / "forms" / "root_cause_analysis.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    field = next(name for name, prop in schema["properties"].items() if prop.get(KNOWLEDGE_MARK) == "cause")
    problems = _refused(eng, path, '"x-knowledge": "cause"', '"x-knowledge": "reason"')
    found = [p for p in problems if p.code == "knowledge_mark_unknown"]
    assert [(p.file, p.element) for p in found] == [("forms/root_cause_analysis.json", field)]
    assert "reason" in found[0].text("en") and "problem, cause, solution" in found[0].text("en")
    assert "未知" in found[0].text("zh")


def test_deploy_refuses_a_knowledge_mark_on_a_field_that_is_not_text(eng, workflows_dir):
    path = workflows_dir / "forms" / "verify.json"
    problems = _refused(eng, path, '"title": "Batch defect"', '"title": "Batch defect", "x-knowledge": "problem"')
    assert [(p.file, p.element, p.code) for p in problems] == [
        ("forms/verify.json", "batch_defect", "knowledge_mark_not_text")]


def test_deploy_refuses_a_known_issues_mark_that_is_not_a_flag_and_an_unknown_right(eng, workflows_dir):
    problems = _refused(eng, workflows_dir / "forms" / "verify.json", '"x-known-issues": true',
                        '"x-known-issues": "yes"')
    assert [(p.file, p.element, p.code) for p in problems] == [
        ("forms/verify.json", KNOWN_ISSUES_MARK, "known_issues_mark_invalid")]
    (workflows_dir / "forms" / "verify.json").write_text(
        (workflows_dir / "forms" / "verify.json").read_text(encoding="utf-8").replace(
            '"x-known-issues": "yes"', '"x-known-issues": true'), encoding="utf-8")
    problems = _refused(eng, workflows_dir / "roles.toml", '\nknowledge = "edit"', '\nknowledge = "write"')
    assert [(p.file, p.element, p.code) for p in problems] == [
        ("roles.toml", "quality_lead", "knowledge_right_invalid")]
    assert 'knowledge = "edit"' in problems[0].text("zh") and 'knowledge = "edit"' in problems[0].text("en")


def test_an_installation_in_a_schema_of_its_own_migrates_and_searches_with_pg_trgm_elsewhere(workflows_dir, clock):
    """The extension is installed once per database (here in public, off the installation's search path):
    the trigram index names its operator class by the extension's schema."""
    import sqlalchemy as sa

    import engine
    from tests.conftest import POSTGRES_URL

    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(sa.text("DROP SCHEMA IF EXISTS cf_own_schema CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA cf_own_schema"))
    try:
        with engine.open(f"{POSTGRES_URL}?options=-csearch_path%3Dcf_own_schema", workflows_dir, clock=clock) as eng:
            eng.repository.deploy(actor="owner1", note="own schema")
            eng.people.seed_demo()
            number = analysed(eng)
            assert [e.source_case for e in eng.knowledge.search("ql1", "漏电")] == [number]
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA cf_own_schema CASCADE"))
        admin.dispose()
