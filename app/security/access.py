"""The access check run before every request, and the guarded page layouts.

Each request is classified into resources (:func:`app.security.resources.classify`) that
:func:`geo.auth.policy.decide` judges for the signed-in principal. A refused page redirects to
``/login`` (signed out) or renders a clear refusal in place of its content, with status 403; a refused
callback or download answers 401 / 403 in JSON. Paths holding a ``..`` segment answer 404 before
anything else, and callback inputs of a shape no component sends answer 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import flask
from dash import dcc, html

from app import i18n
from app.security.callback_guard import guard_callback, malformed_input
from app.security.errors import json_error
from app.security.headers import FORBIDDEN_FLAG
from app.security.resources import classify, home_path, page_for_path, page_resource, pages
from app.security.session import current_principal, who
from geo.auth import policy
from geo.auth.policy import Principal
from geo.i18n import t

logger = logging.getLogger(__name__)


def _refusal(principal: Principal | None, lang: str, next_path: str = "/") -> html.Div:
    if principal is None:
        return html.Div([html.H1(t("auth.denied.title", lang)), html.P(t("auth.denied.signin", lang)),
                         html.A(t("auth.denied.login", lang), href=f"/login?next={quote(next_path)}")],
                        className="page-denied notice", id="auth-denied")
    return html.Div([html.H1(t("auth.denied.title", lang)),
                     html.P(t("auth.denied.role", lang, role=principal.role)),
                     dcc.Link(t("auth.denied.home", lang), href=home_path(principal))],
                    className="page-denied notice", id="auth-denied")


def _refusal_text(principal: Principal) -> str:
    lang = i18n.current_lang()
    return f"{t('auth.denied.title', lang)}\n{t('auth.denied.role', lang, role=principal.role)}\n"


def _guard_layout(page: dict[str, Any], layout: Any) -> Callable[..., Any]:
    def guarded(**kwargs: Any) -> Any:
        principal = current_principal()
        resource = page_resource(page)
        if not policy.is_allowed(principal, resource):
            logger.info("page %s refused to %s", resource.name, who(principal))
            return _refusal(principal, i18n.current_lang(), page.get("relative_path", "/"))
        return layout(**kwargs) if callable(layout) else layout

    guarded.voisinmap_guarded = True  # type: ignore[attr-defined]
    return guarded


def wrap_layouts() -> None:
    """Wrap every registered page layout so that a refused page renders a refusal, never its content."""
    for page in pages():
        layout = page.get("layout")
        if not getattr(layout, "voisinmap_guarded", False):
            page["layout"] = _guard_layout(page, layout)


def has_parent_segment(path: str) -> bool:
    """Whether a (decoded) URL path climbs up with a ``..`` segment (also written with backslashes)."""
    return ".." in path.replace("\\", "/").split("/")


def _refuse(target_kind: str, principal: Principal | None, reason: str) -> flask.Response | None:
    request = flask.request
    if target_kind == "page":
        if principal is None:
            return flask.redirect(f"/login?next={quote(request.full_path.rstrip('?'))}", code=302)
        if request.path == "/" and home_path(principal) != "/":
            return flask.redirect(home_path(principal), code=302)
        if page_for_path(request.path) is None:  # a page outside Dash (field entry): refused here
            return flask.Response(_refusal_text(principal), status=403, mimetype="text/plain")
        setattr(flask.g, FORBIDDEN_FLAG, True)
        return None  # the shell loads; the wrapped layout shows the refusal
    if principal is None:
        return json_error(401, "sign in first")
    return json_error(403, f"access denied: {reason}")


def check_request() -> flask.Response | None:
    """``before_request``: refuse what the principal may not reach (None lets the request through)."""
    wrap_layouts()
    request = flask.request
    if has_parent_segment(request.path):
        flask.abort(404)
    body = definition = None
    if request.path == "/_dash-update-component":
        if request.method != "POST":
            return None  # Dash answers 405
        refusal, body, definition = guard_callback()
        if refusal is not None:
            return refusal
    target = classify(request.path, request.method, body, definition=definition)
    principal = current_principal()
    for resource in target.resources:
        decision = policy.decide(principal, resource)
        if not decision:
            logger.info("%s %s refused to %s: %s", resource.kind, resource.name, who(principal), decision.reason)
            return _refuse(target.kind, principal, decision.reason)
    if definition is not None:
        malformed = malformed_input(body or {}, definition)
        if malformed is not None:
            logger.info("callback refused: malformed input")
            return json_error(400, f"callback: {malformed}")
    return None
