"""Reply templates: the texts handlers start from when they write to a customer, kept in the process
owners' ``workflows/replies.toml`` (deployed and versioned like the rest), in zh and en.

A form's text field offers a group of them with ``"x-replies": "<group>"``; the task page then shows
a list to insert one into the field, where the handler adapts it. The file::

    [first_contact.received]
    zh = "您好，我们已收到您的投诉……"
    en = "Hello, we have received your complaint…"
"""

from __future__ import annotations

import re
import tomllib

from engine.catalogue import toml_sections
from engine.errors import Problem

REPLIES_FILE = "replies.toml"
MAX_REPLY = 2000


def parse(text: str | None) -> dict[str, dict[str, dict[str, str]]]:
    """group -> key -> {"zh": ..., "en": ...} (empty for no file; deploy refuses a broken one)."""
    return toml_sections(text)


def check(files: dict[str, str], forms: dict[str, dict]) -> list[Problem]:
    """The file reads as TOML with zh and en words per reply, and every ``x-replies`` names a group of it."""
    problems: list[Problem] = []
    text = files.get(REPLIES_FILE)
    if text is not None:
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"line (\d+)", str(exc))
            return [Problem.of(REPLIES_FILE, None, "toml_invalid", line=found.group(1) if found else "?")]
        for group, entries in table.items():
            for key, entry in (entries.items() if isinstance(entries, dict) else []):
                if not (isinstance(entry, dict) and isinstance(entry.get("zh"), str) and entry.get("zh")
                        and isinstance(entry.get("en"), str) and entry.get("en")):
                    problems.append(Problem.of(REPLIES_FILE, f"{group}.{key}", "reply_needs_words"))
                elif max(len(entry["zh"]), len(entry["en"])) > MAX_REPLY:
                    problems.append(Problem.of(REPLIES_FILE, f"{group}.{key}", "reply_too_long", most=MAX_REPLY))
    groups = parse(text)
    for name, schema in sorted(forms.items()):
        for field, prop in (schema.get("properties") or {}).items():
            wanted = prop.get("x-replies") if isinstance(prop, dict) else None
            if wanted is None:
                continue
            if prop.get("type") != "string" or not isinstance(wanted, str) or wanted not in groups:
                problems.append(Problem.of(f"forms/{name}", field, "replies_unknown", value=str(wanted),
                                           groups=", ".join(sorted(groups)) or "—"))
    return problems
