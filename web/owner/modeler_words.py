"""The words bpmn-js shows in its palette and on a selected element, in the person's language.

bpmn-js asks a ``translate`` service for each of its texts (its own English); the modeler page passes
these to it, so a process owner working in Chinese does not meet English tool names.
"""

from __future__ import annotations

from flask_babel import gettext


def _l(text: str) -> str:
    """Marks one of bpmn-js's texts for the catalogue (extracted as ``_l``); translated when the page is drawn."""
    return text


# bpmn-js's own English, as it asks for it (``{element}`` is filled in by bpmn-js).
WORDS = (
    _l("Activate hand tool"),
    _l("Activate lasso tool"),
    _l("Activate create/remove space tool"),
    _l("Activate global connect tool"),
    _l("Create start event"),
    _l("Create intermediate/boundary event"),
    _l("Create end event"),
    _l("Create gateway"),
    _l("Create task"),
    _l("Create data object reference"),
    _l("Create data store reference"),
    _l("Create expanded sub-process"),
    _l("Create pool/participant"),
    _l("Create group"),
    _l("Search in diagram"),
    _l("Append end event"),
    _l("Append gateway"),
    _l("Append task"),
    _l("Append intermediate/boundary event"),
    _l("Append receive task"),
    _l("Append message intermediate catch event"),
    _l("Append timer intermediate catch event"),
    _l("Append conditional intermediate catch event"),
    _l("Append signal intermediate catch event"),
    _l("Append compensation activity"),
    _l("Add lane above"),
    _l("Add lane below"),
    _l("Add text annotation"),
    _l("Change element"),
    _l("Connect to other element"),
    _l("Connect using association"),
    _l("Connect using data input association"),
    _l("Delete"),
    _l("Align elements"),
    _l("Distribute elements horizontally"),
    _l("Distribute elements vertically"),
    _l("Toggle non-interrupting"),
    _l("Open {element}"),
)


def modeler_words() -> dict[str, str]:
    """bpmn-js's English text -> the person's language."""
    return {text: gettext(text) for text in WORDS}
