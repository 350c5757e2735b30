"""Security headers on every response, set in one ``after_request`` hook.

The policy allows only this site's own scripts (every page's code lives in static files, the
modelers' too), inline styles (bpmn-js and dmn-js draw with them), images from data:/blob:
(the diagrams' exports), and no framing. Every answer except static files and the vendored
libraries may carry personal data, so none of it is stored by the browser or a proxy.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
HSTS = "max-age=31536000; includeSubDomains"


def cacheable() -> bool:
    """Static files and the vendored front-end libraries: the same for everyone, no personal data."""
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static") or endpoint == "vendor.asset"


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not cacheable():
            headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
