"""Page « Connexion » (``/login``): the sign-in form (``username``, ``password``), or the account and sign-out.

The form posts to ``POST /login`` (:mod:`app.security.routes`), a plain HTML form with a CSRF token: the password
never goes through a Dash callback.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from app import i18n, security
from geo.i18n import t

dash.register_page(__name__, path="/login", name="Connexion", title="voisinmap · Connexion", nav_key="nav.account",
                   order=900, roles=None, public=True)


def _field(label: str, **input_props: Any) -> html.Div:
    return html.Div([html.Label(label, htmlFor=input_props["id"]), dcc.Input(**input_props)], className="form-row")


def layout(error: str | None = None, next: str | None = None, **_kwargs: Any) -> html.Div:  # noqa: A002
    """The form (signed out) or the current account with a sign-out button (signed in)."""
    lang = i18n.current_lang()
    user = security.current_user()
    token = security.csrf_token()
    if user is not None:
        lines = [html.P(t("login.signed_in", lang, name=user.username, role=t(f"login.role.{user.role}", lang)),
                        id="login-current")]
        if user.sites:
            lines.append(html.P(t("login.sites", lang, sites=", ".join(user.sites))))
        return html.Div([
            html.H1(t("login.title", lang)), *lines,
            dcc.Link(t("login.continue", lang), href=security.home_path(user.principal()), className="button"),
            html.Form([
                dcc.Input(type="hidden", name="csrf_token", value=token, id="logout-csrf"),
                html.Button(t("login.logout", lang), type="submit", id="logout-submit"),
            ], action="/logout", method="post", className="logout-form"),
        ], className="page-login")
    messages = []
    if error:
        key = {"csrf": "login.error_csrf", "demo": "login.error_demo"}.get(error, "login.error")
        messages.append(html.P(t(key, lang), className="notice error", role="alert", id="login-error"))
    try:
        empty = security.user_store().count_users() == 0
    except Exception:  # noqa: BLE001 - the form still shows
        empty = False
    if empty:
        messages.append(html.P(t("login.no_account", lang), className="notice", id="login-no-account"))
    return html.Div([
        html.H1(t("login.title", lang)),
        html.P(t("login.intro", lang)),
        *messages,
        html.Form([
            _field(t("login.username", lang), id="login-username", name="username", type="text",
                   autoComplete="username", required=True, maxLength=40, autoFocus=True),
            _field(t("login.password", lang), id="login-password", name="password", type="password",
                   autoComplete="current-password", required=True, maxLength=1024),
            dcc.Input(type="hidden", name="csrf_token", value=token, id="login-csrf"),
            dcc.Input(type="hidden", name="next", value=next or "", id="login-next"),
            html.Button(t("login.submit", lang), type="submit", id="login-submit"),
        ], action="/login", method="post", className="login-form", id="login-form"),
    ], className="page-login")
