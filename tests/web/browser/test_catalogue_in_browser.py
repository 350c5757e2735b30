"""No page a person meets shows a string in the other language (issue 15), checked on the pages as Chromium
renders them, in zh-CN and in English.

What the web says comes from its catalogues (``web/**/translations``): a string marked for translation is
rendered untranslated when a lookup misses at run time (a text taken before the language was known, a
blueprint's catalogue hidden by another, a domain that is not loaded). So on each page every piece of text
the person sees (headings, labels, buttons, cells, messages, titles and placeholders) is compared with
the catalogues:

- in Chinese, no piece may be a catalogue's English source text that has Chinese words;
- in English, no piece may be a catalogue's Chinese words for a different English text;
- in either, no piece may be a bare code of the deployed files (a process, step, message or role id, a grade or
  outcome code) where the files give words for it.

What was typed into the case (the registration, the forms' values, a note) is data and stays as typed, even
where it happens to read like a catalogue string (a team named 客服专员); the diagrams are drawn from the
deployed files with the names their owners gave (``svg`` is not looked at).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser

from tests.driver import FORM_DATA, registration, start_to_verified, to_callback
from tests.web.browser.conftest import SIGNED_IN

WEB = Path(__file__).resolve().parents[3] / "web"

# The texts a person sees: text nodes outside scripts and styles, and the attributes read aloud or shown.
VISIBLE_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, template, noscript, svg, datalist')) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) found.push(text);
  }
  for (const element of document.querySelectorAll('[title], [placeholder], [aria-label], input[type=submit][value]')) {
    for (const name of ['title', 'placeholder', 'aria-label', 'value']) {
      if (name === 'value' && element.type !== 'submit') continue;
      const text = (element.getAttribute(name) || '').replace(/\\s+/g, ' ').trim();
      if (text) found.push(text);
    }
  }
  found.push(document.title.trim());
  return found;
}"""


def catalogue() -> dict[str, str]:
    """Every English source text with its Chinese words, from every catalogue the app loads."""
    pairs: dict[str, str] = {}
    for po in sorted(WEB.rglob("zh_CN/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle):
                if isinstance(message.id, str) and isinstance(message.string, str) and message.id and message.string:
                    pairs.setdefault(" ".join(message.id.split()), " ".join(message.string.split()))
    return pairs


NOTE = "请 @cs1 回访前先看质检报告"


def typed() -> set[str]:
    """Every text this test puts into its cases (the registration, each form's sample values, the note)."""
    found: set[str] = {NOTE}
    pending: list[object] = [registration(channel="phone"), registration(channel="web"), FORM_DATA]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif isinstance(value, str):
            found.add(" ".join(value.split()))
    return found


def codes(eng) -> set[str]:  # noqa: ANN001
    """The ids and codes of the deployed files that have words of their own."""
    deployed = eng.repository.active()
    found = {code for code, name in deployed.element_names.items() if name != code}
    found |= set(deployed.roles) | set(deployed.catalogue.message_titles)
    for section in ("grades", "outcomes"):
        found |= set(deployed.catalogue.labels.get(section, {}))
    return found


def foreign(pairs: dict[str, str], language: str) -> set[str]:
    """The catalogue texts that belong to the other language (those that read the same in both do not)."""
    other = 1 if language == "en" else 0
    return {pair[other] for pair in pairs.items() if pair[0] != pair[1]}


def strays(texts: list[str], wrong: set[str], words: set[str], data: set[str], raw: set[str]) -> list[str]:
    seen = set(texts)
    return sorted((seen & wrong | (seen & raw) - words) - data)  # a code that is also a word ("archived") is one


def pages(eng) -> dict[str, list[str]]:  # noqa: ANN001
    """Who sees which pages: a case at the customer's confirmation and one at its first callback, with a note."""
    early = eng.runtime.start("complaint", registration(channel="phone"), "cs1")
    start_to_verified(eng, early)
    late = eng.runtime.start("complaint", registration(channel="web"), "cs1")
    to_callback(eng, late)
    eng.notes.add(late, "sup1", NOTE)
    first = eng.tasks.for_case(early)[0]
    callback = eng.tasks.for_case(late)[0]
    return {
        first.assignee: ["/inbox", f"/tasks/{first.id}", "/register", "/notices", f"/cases/{early}",
                         "/account/sessions", "/knowledge/"],
        callback.assignee: [f"/tasks/{callback.id}"],
        "sup1": ["/inbox", "/board", f"/cases/{late}", f"/cases?q={late[-4:]}", f"/cases/{late}/replay",
                 "/statistics/", "/statistics/reports", "/pending-matters/"],
        "auditor1": ["/audit/", f"/audit/?case={late}", "/audit/report", "/audit/deployments"],
        "owner1": ["/owner/", "/owner/versions", "/owner/migration", "/owner/model/complaint.bpmn",
                   "/people/", "/people/roles", "/people/accounts/cs1"],
        "": ["/login", "/c/complaint", "/c/status"],
    }


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_no_page_shows_a_string_of_the_other_language(browser: Browser, served: str, eng, language: str):
    pairs, data, raw = catalogue(), typed(), codes(eng)
    wrong = foreign(pairs, language)
    found: dict[str, list[str]] = {}
    for username, paths in pages(eng).items():
        context = browser.new_context(base_url=served, locale=language)
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            if username:
                page.goto("/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", "demo")
                page.click("button[type=submit]")
                page.wait_for_url(SIGNED_IN)
            for path in paths:
                response = page.goto(path)
                assert response is not None and response.ok, f"{username} {path}: {response and response.status}"
                page.wait_for_load_state("networkidle")
                bad = strays(page.evaluate(VISIBLE_TEXT), wrong, set(pairs), data, raw)
                if bad:
                    found[f"{username or 'customer'} {path}"] = bad
        finally:
            context.close()
    assert not found, f"untranslated in {language}: {found}"
