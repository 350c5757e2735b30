"""The words bpmn-js shows in its palette and on a selected element, in the person's language.

bpmn-js asks a ``translate`` service for each of its texts (its own English); the modeler page passes
these to it, so a process owner working in Chinese does not meet English tool names.
"""

from __future__ import annotations

from flask_babel import gettext as _


def modeler_words() -> dict[str, str]:
    """bpmn-js's English text -> the person's language (``{element}`` kept as bpmn-js fills it in)."""
    return {
        "Activate hand tool": _("Activate hand tool"),
        "Activate lasso tool": _("Activate lasso tool"),
        "Activate create/remove space tool": _("Activate create/remove space tool"),
        "Activate global connect tool": _("Activate global connect tool"),
        "Create start event": _("Create start event"),
        "Create intermediate/boundary event": _("Create intermediate/boundary event"),
        "Create end event": _("Create end event"),
        "Create gateway": _("Create gateway"),
        "Create task": _("Create task"),
        "Create data object reference": _("Create data object reference"),
        "Create data store reference": _("Create data store reference"),
        "Create expanded sub-process": _("Create expanded sub-process"),
        "Create pool/participant": _("Create pool/participant"),
        "Create group": _("Create group"),
        "Search in diagram": _("Search in diagram"),
        "Append end event": _("Append end event"),
        "Append gateway": _("Append gateway"),
        "Append task": _("Append task"),
        "Append intermediate/boundary event": _("Append intermediate/boundary event"),
        "Append receive task": _("Append receive task"),
        "Append message intermediate catch event": _("Append message intermediate catch event"),
        "Append timer intermediate catch event": _("Append timer intermediate catch event"),
        "Append conditional intermediate catch event": _("Append conditional intermediate catch event"),
        "Append signal intermediate catch event": _("Append signal intermediate catch event"),
        "Append compensation activity": _("Append compensation activity"),
        "Add lane above": _("Add lane above"),
        "Add lane below": _("Add lane below"),
        "Add text annotation": _("Add text annotation"),
        "Change element": _("Change element"),
        "Connect to other element": _("Connect to other element"),
        "Connect using association": _("Connect using association"),
        "Connect using data input association": _("Connect using data input association"),
        "Delete": _("Delete"),
        "Align elements": _("Align elements"),
        "Distribute elements horizontally": _("Distribute elements horizontally"),
        "Distribute elements vertically": _("Distribute elements vertically"),
        "Toggle non-interrupting": _("Toggle non-interrupting"),
        "Open {element}": _("Open {element}"),
    }
