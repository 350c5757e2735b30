"""Every string the web marks for translation has its zh-CN words (issue 15): a new page or message
without them fails here, before a Chinese user meets English. Strings are extracted the way pybabel
does (Python ``_``/``gettext``/``lazy_gettext``/``ngettext`` and the templates' ``_()``), and looked
up in every catalogue the app loads (the main one and the blueprints' own)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def marked() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(str(WEB), METHODS, OPTIONS,
                                                                         keywords=KEYWORDS):
        text = message if isinstance(message, str) else message[0]
        if text:
            found.setdefault(text, f"web/{filename}:{line}")
    return found


def translated() -> set[str]:
    words = set()
    for po in WEB.rglob("zh_CN/LC_MESSAGES/*.po"):
        with po.open("rb") as handle:
            for message in read_po(handle):
                done = message.string if isinstance(message.string, str) else all(message.string)
                if message.id and done:
                    words.add(message.id if isinstance(message.id, str) else message.id[0])
    return words


def test_every_marked_string_has_chinese_words():
    found, words = marked(), translated()
    assert len(found) > 200  # the extraction itself works
    missing = {text: where for text, where in found.items() if text not in words}
    assert not missing, "no zh-CN words for:\n" + "\n".join(f"{where}: {text!r}" for text, where in
                                                             sorted(missing.items(), key=lambda m: m[1]))


def test_no_catalogue_has_a_message_twice():
    for po in WEB.rglob("zh_CN/LC_MESSAGES/*.po"):
        ids = [line for line in po.read_text(encoding="utf-8").splitlines() if line.startswith("msgid ")]
        repeated = sorted({i for i in ids if ids.count(i) > 1} - {'msgid ""'})
        assert not repeated, f"{po.relative_to(WEB)} has these twice: {repeated}"
