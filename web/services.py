"""The engine the app runs on: views call its services and nothing below them."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import current_app

import engine as engine_package


def engine() -> engine_package.Engine:
    return current_app.extensions["complaintflow.engine"]


_BROWSER_DROPS = str.maketrans("", "", "\t\r\n")  # a browser removes these anywhere in a URL before parsing it


def same_site_path(target: str | None) -> str | None:
    """``target`` as a path on this site, or None when a browser could read it as another site.

    Browsers drop tabs and newlines inside a URL, read ``\\`` as ``/`` and ``//host`` as another
    host, and some proxies and frameworks decode ``%09`` or ``%2F`` before passing a path on; so the
    target is judged as written, after those drops and after decoding, and refused if any reading
    of it leaves this site or holds a control character.
    """
    if not target:
        return None
    kept = target.translate(_BROWSER_DROPS)
    readings, reading = [kept], kept
    for _ in range(3):  # %2509 decodes to %09 decodes to a tab: a few rounds catch the layered forms
        reading = unquote(reading)
        readings.append(reading)
    for text in readings:
        if any(unicodedata.category(char) == "Cc" for char in text):  # a decoded tab, newline or NUL
            return None
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            return None
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return None
    return kept


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site (see ``same_site_path``), else ``default``: every redirect
    that takes a user-provided target goes through here."""
    return same_site_path(target) or default
