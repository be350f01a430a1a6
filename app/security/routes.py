"""The sign-in and sign-out routes: ``POST /login`` (form fields ``username``, ``password``,
``csrf_token``, ``next``; the form is the page ``/login``) and ``POST /logout``.

Both check a CSRF token (Flask-WTF) and that the form comes from the same origin. Sign-in goes through
the throttle (:mod:`app.security.throttle`) and, in production, refuses the demo accounts. Logs name
accounts by a keyed digest only, never a password or an address.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

import flask

from app import i18n
from app.security import throttle
from app.security.downloads import DOWNLOAD_PREFIX
from app.security.errors import json_error
from app.security.resources import home_path
from app.security.session import end_session, refused_in_production, start_session, user_store
from geo.auth.policy import Principal
from geo.auth.store import name_digest

logger = logging.getLogger(__name__)


def safe_next(value: str | None, principal: Principal | None = None) -> str:
    """A local path to go to after signing in (anything else gives the principal's home page)."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if (not value.startswith("/") or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc
            or value.startswith(("/login", "/logout", "/_", DOWNLOAD_PREFIX))):
        return home_path(principal)
    return value


def same_origin() -> bool:
    """Whether the form was posted from this site (``Origin`` or ``Referer``; absent: non-browser client)."""
    origin = flask.request.headers.get("Origin") or flask.request.headers.get("Referer")
    if not origin:
        return True  # non-browser clients; the CSRF token still applies
    return urlsplit(origin).netloc == flask.request.host


def csrf_token() -> str:
    """A CSRF token for a form of this session (Flask-WTF)."""
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


def _csrf_ok() -> bool:
    from flask_wtf.csrf import ValidationError, validate_csrf

    try:
        validate_csrf(flask.request.form.get("csrf_token", ""))
    except ValidationError:
        return False
    return True


def login_view() -> flask.Response:
    """``POST /login``: check the form, the throttle and the password; open the session."""
    request = flask.request
    next_path = request.form.get("next", "")
    if not same_origin():
        logger.info("sign-in refused: cross-origin form")
        return json_error(403, "sign-in: cross-origin form refused")
    if not _csrf_ok():
        logger.info("sign-in refused: missing or invalid CSRF token")
        return flask.redirect(f"/login?error=csrf&next={quote(next_path)}", code=303)
    username = request.form.get("username", "")[:80]
    password = request.form.get("password", "")[:1024]
    name = username.strip().lower()
    if refused_in_production(name):
        logger.warning("sign-in refused for %s: demo account in production", name_digest(username))
        return flask.redirect(f"/login?error=demo&next={quote(next_path)}", code=303)
    store = user_store()
    key, locked = throttle.record_attempt(store, name)
    if locked:
        logger.warning("sign-in refused for %s: too many failed attempts", name_digest(username))
        return throttle.locked_page(i18n.current_lang())
    user = store.authenticate(username, password) if username and password else None
    if user is None:
        logger.info("sign-in failed for %s", name_digest(username))
        return flask.redirect(f"/login?error=1&next={quote(next_path)}", code=303)
    start_session(user)
    response = flask.redirect(safe_next(next_path, user.principal()), code=303)
    throttle.attempt_succeeded(store, key, name, response)
    return response


def logout_view() -> flask.Response:
    """``POST /logout``: end the session and every other open session of the account."""
    if not same_origin():
        return json_error(403, "sign-out: cross-origin form refused")
    if not _csrf_ok():
        return json_error(400, "sign-out: missing or invalid CSRF token")
    end_session()
    return flask.redirect("/login", code=303)


def init_routes(server: flask.Flask) -> None:
    """Register ``POST /login`` (under the per-address limit) and ``POST /logout``."""
    server.add_url_rule("/login", "voisinmap_login", throttle.limit_sign_in(login_view), methods=["POST"])
    server.add_url_rule("/logout", "voisinmap_logout", logout_view, methods=["POST"])
