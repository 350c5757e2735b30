"""Sign-in through the company's identity provider with OpenID Connect (Authlib).

The authorization-code flow with PKCE (S256), ``state`` and ``nonce``; the provider is found by
discovery from ``COMPLAINTFLOW_OIDC_ISSUER``. The ID token is checked (signature, issuer, audience,
nonce), the groups are read from ``COMPLAINTFLOW_OIDC_GROUPS_CLAIM`` (ID token, else userinfo),
``engine.identities`` finds or creates the account and sets its roles from the deployed
``roles.toml``, and an ordinary server-side session starts (``web.auth.start_session``): logout,
the idle and the absolute limit apply as to a password login. Every failure (the provider's
``error``, a wrong ``state`` or ``nonce``, an unreachable issuer, no role, a disabled account) is a
page in the person's language, never a 500. Local passwords keep working beside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_user
from joserfc.errors import JoseError

from engine.errors import NotAllowed
from engine.identities import ProviderClaims, groups_of
from web import i18n, landing
from web.auth import User, start_session
from web.services import engine, same_site_path

log = logging.getLogger(__name__)
bp = Blueprint("oidc", __name__, template_folder="templates")

CLIENT = "complaintflow.oidc"  # app.extensions: the Authlib client and the settings it was made from
NEXT = "oidc_next"  # the session key keeping where to go after the provider sends the person back
TIMEOUT_SECONDS = 10
SHOWN_MAX = 300  # the provider's error words shown at most this long
AUTHLIB_NAME = "idp"  # not "oidc": Authlib would also read OIDC_* keys of the app's config as its own settings
PENDING_KEPT = 3  # sign-ins started and not finished kept in the cookie (a few tabs); older ones are dropped


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str

    @classmethod
    def of_app(cls) -> Settings | None:
        config = current_app.config
        if not (config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID")):
            return None
        return cls(config["OIDC_ISSUER"].rstrip("/"), config["OIDC_CLIENT_ID"],
                   config.get("OIDC_CLIENT_SECRET", ""), config.get("OIDC_SCOPES") or "openid profile email")


def client() -> Any:  # noqa: ANN401  (Authlib's FlaskOAuth2App)
    """The Authlib client for the configured provider, made once per settings (its discovery is kept)."""
    settings = Settings.of_app()
    if settings is None:
        abort(404)
    made = current_app.extensions.get(CLIENT)
    if made is None or made[0] != settings:
        oauth = OAuth(current_app._get_current_object())  # noqa: SLF001
        made = (settings, oauth.register(
            name=AUTHLIB_NAME, client_id=settings.client_id, client_secret=settings.client_secret or None,
            server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256",
                           "default_timeout": TIMEOUT_SECONDS}))
        current_app.extensions[CLIENT] = made
    return made[1]


@bp.app_context_processor
def sign_in_button() -> dict:
    """``oidc_name`` for the login page: the provider's name when sign-in through it is configured, else None."""
    if Settings.of_app() is None:
        return {"oidc_name": None}
    return {"oidc_name": current_app.config.get("OIDC_NAME") or _("the company account")}


def redirect_uri() -> str:
    return current_app.config.get("OIDC_REDIRECT_URI") or url_for("oidc.callback", _external=True)


def refused(title: str, message: str, status: int) -> ResponseReturnValue:
    return render_template("oidc/refused.html", title=title, message=message), status


def unreachable(error: Exception) -> ResponseReturnValue:
    log.warning("the identity provider cannot be reached: %s", error)
    return refused(_("The identity provider cannot be reached"),
                   _("Signing in through the identity provider is not possible right now. Try again in a few "
                     "minutes, or log in with your password if you have one."), 502)


@bp.get("/login/oidc")
def start() -> ResponseReturnValue:
    """Off to the provider's sign-in page, with a new state, nonce and PKCE verifier kept in the session."""
    oidc = client()
    forget_old_starts()
    session[NEXT] = same_site_path(request.args.get("next")) or ""
    try:
        discovered(oidc)
        return oidc.authorize_redirect(redirect_uri())
    except (requests.RequestException, ValueError, KeyError, OAuthError) as error:
        return unreachable(error)


def discovered(oidc: Any) -> dict:  # noqa: ANN401
    """The provider's discovery document, refused (ValueError) unless it names the configured issuer exactly
    (OpenID Connect Discovery 4.3): a document served for another issuer must not be believed."""
    metadata = oidc.load_server_metadata()
    named, configured = metadata.get("issuer"), Settings.of_app().issuer
    if str(named or "").rstrip("/") != configured:
        metadata.clear()  # read it again next time: the provider may be fixed meanwhile
        raise ValueError(f"the discovery document names the issuer {named!r}, not {configured!r}")
    return metadata


def forget_old_starts() -> None:
    """Each start keeps its state, nonce and PKCE verifier in the signed cookie for an hour: keep the newest
    few, so abandoned starts cannot grow the cookie past what a browser stores."""
    prefix = f"_state_{AUTHLIB_NAME}_"
    pending = sorted((key for key in session if key.startswith(prefix)),
                     key=lambda key: session[key].get("exp", 0) if isinstance(session[key], dict) else 0)
    for key in pending[:max(0, len(pending) - (PENDING_KEPT - 1))]:
        session.pop(key)


@bp.get("/login/oidc/callback")
def callback() -> ResponseReturnValue:
    """The provider sends the person back: check everything, then the account, its roles and a session."""
    oidc = client()
    if request.args.get("error"):
        shown = f"{request.args['error']}: {request.args.get('error_description', '')}"[:SHOWN_MAX]
        log.info("the identity provider refused the sign-in: %s", shown)
        return refused(_("The identity provider did not sign you in"),
                       _("It answered: %(answer)s", answer=shown), 400)
    try:
        token = oidc.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise OAuthError(error="no_id_token", description="the provider sent no ID token")
        claims = with_userinfo(oidc, token, claims)
    except MismatchingStateError:
        return refused(_("This sign-in cannot be finished"),
                       _("The answer of the identity provider does not belong to a sign-in started in this "
                         "browser (it may be old, or opened in another browser). Start again from the login "
                         "page."), 400)
    except OAuthError as error:
        log.warning("the identity provider's token answer was refused: %s", error)
        return refused(_("The identity provider did not sign you in"),
                       _("It answered: %(answer)s", answer=str(error)[:SHOWN_MAX]), 400)
    except (JoseError, AuthlibBaseError) as error:  # joserfc's, or an older Authlib's own
        log.warning("the identity provider's ID token was refused: %r", error)
        return refused(_("This sign-in cannot be finished"),
                       _("The identity provider's answer did not pass the checks (signature, audience or "
                         "nonce). Start again from the login page."), 400)
    except (requests.RequestException, ValueError, KeyError) as error:
        return unreachable(error)
    return signed_in(claims)


def with_userinfo(oidc: Any, token: dict, claims: dict) -> dict:  # noqa: ANN401
    """The ID token's claims completed from the userinfo endpoint when the groups claim is not in the token."""
    metadata = oidc.load_server_metadata()
    if current_app.config["OIDC_GROUPS_CLAIM"] in claims or not metadata.get("userinfo_endpoint"):
        return claims
    more = dict(oidc.userinfo(token=token))
    if more.get("sub") != claims["sub"]:  # OpenID Connect Core 5.3.2: another person's claims are ignored
        raise OAuthError(error="userinfo_subject", description="the userinfo answer is about someone else")
    return {**more, **claims}


def text(value: Any) -> str | None:  # noqa: ANN401
    return value.strip() if isinstance(value, str) and value.strip() else None


def signed_in(claims: dict) -> ResponseReturnValue:
    found = ProviderClaims(
        issuer=str(claims.get("iss") or client().load_server_metadata().get("issuer", "")), subject=str(claims["sub"]),
        preferred_username=text(claims.get("preferred_username")), name=text(claims.get("name")),
        email=text(claims.get("email")), groups=groups_of(claims.get(current_app.config["OIDC_GROUPS_CLAIM"])))
    try:
        person = engine().identities.sign_in(found)
    except NotAllowed as error:  # no role for the groups, a disabled account
        return refused(_("You cannot sign in"), error.text(i18n.current_language()), 403)
    target = session.get(NEXT)
    session.clear()  # a new session at login, as with a password
    session.permanent = True
    start_session(person.username)
    signed_in = User(person.username, person.display_name, person.roles)
    login_user(signed_in)
    return redirect(landing.after_sign_in(person.username, signed_in.read_only, target))
