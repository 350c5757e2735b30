"""Lists of options the process owner keeps in a file of their own, e.g. ``defect_types.toml``.

A form field says ``"x-options": "defect_types"``; the list is ``workflows/defect_types.toml``, one
table per option code with its words: ``[battery_swelling] zh = "电池鼓包" en = "Battery swelling"``.
Deploy writes the codes into the deployed form as the field's ``enum`` (an array field: its items')
and the words into its ``x-ui`` labels, so the form, the validation (an unknown option is refused)
and the statistics read one list, and editing the file then deploying changes the options. A field
naming a list with no file, an empty list or an option without both words is refused.
"""

from __future__ import annotations

import copy
import re
import tomllib

from engine.errors import Problem

OPTIONS_KEY = "x-options"
LABEL_LANGUAGES = {"zh-CN": "zh", "en": "en"}  # a form's x-ui label key -> the word in the list file


def list_file(name: str) -> str:
    return f"{name}.toml"


def read_list(files: dict[str, str], name: str) -> tuple[dict[str, dict[str, str]] | None, list[Problem]]:
    """The options of list ``name`` (code -> {zh, en}) in file order, or None with what is wrong."""
    file = list_file(name)
    if not re.fullmatch(r"[A-Za-z_][\w-]*", name) or file not in files:
        return None, []
    try:
        table = tomllib.loads(files[file])
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        return None, [Problem.of(file, None, "toml_invalid", line=found.group(1) if found else "?")]
    problems, found_options = [], {}
    for code, entry in table.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("zh"), str) and entry.get("zh")
                and isinstance(entry.get("en"), str) and entry.get("en")):
            problems.append(Problem.of(file, str(code), "option_needs_words"))
            continue
        found_options[str(code)] = {"zh": entry["zh"], "en": entry["en"]}
    if not found_options and not problems:
        problems.append(Problem.of(file, None, "options_empty"))
    return (found_options if not problems else None), problems


def apply(files: dict[str, str], forms: dict[str, dict]) -> list[Problem]:
    """Fill every ``x-options`` field of ``forms`` (changed in place) from its list file; the problems found."""
    problems: list[Problem] = []
    for form_name, schema in sorted(forms.items()):
        for field, prop in list((schema.get("properties") or {}).items()):
            if not isinstance(prop, dict) or OPTIONS_KEY not in prop:
                continue
            name = prop[OPTIONS_KEY]
            options, found = read_list(files, name) if isinstance(name, str) else (None, [])
            for problem in found:
                if problem not in problems:
                    problems.append(problem)
            if options is None:
                if not found:
                    problems.append(Problem.of(f"forms/{form_name}", field, "options_unknown", value=name,
                                               list=list_file(str(name))))
                continue
            forms[form_name] = schema = _filled(schema, field, options)
    return problems


def _filled(schema: dict, field: str, options: dict[str, dict[str, str]]) -> dict:
    """``schema`` with ``field``'s codes and labels from the list (a copy: the file's text stays as written)."""
    schema = copy.deepcopy(schema)
    prop = schema["properties"][field]
    target = prop["items"] if prop.get("type") == "array" and isinstance(prop.get("items"), dict) else prop
    target["enum"] = list(options)
    labels = schema.setdefault("x-ui", {}).setdefault("labels", {})
    for key, language in LABEL_LANGUAGES.items():
        words = labels.setdefault(key, {}).setdefault("enum", {})
        words[field] = {code: entry[language] for code, entry in options.items()}
    return schema
