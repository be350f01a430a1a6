"""Page « Connexion » (``/login``): the sign-in form (``username``, ``password``), or the account and sign-out.

The form posts to ``POST /login`` (:mod:`app.auth`), a plain HTML form with a CSRF token: the password
never goes through a Dash callback.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

from app import auth, i18n

dash.register_page(__name__, path="/login", name="Connexion", title="voisinmap · Connexion", nav_key="nav.account",
                   order=900, roles=None, public=True)

i18n.register({
    "login.title": {"fr": "Connexion", "en": "Sign in"},
    "login.intro": {
        "fr": "Connectez-vous avec le compte que vous a remis l'équipe VoisinMalin.",
        "en": "Sign in with the account the VoisinMalin team gave you.",
    },
    "login.username": {"fr": "Identifiant", "en": "User name"},
    "login.password": {"fr": "Mot de passe", "en": "Password"},
    "login.submit": {"fr": "Se connecter", "en": "Sign in"},
    "login.error": {"fr": "Identifiant ou mot de passe incorrect.", "en": "Wrong user name or password."},
    "login.error_csrf": {
        "fr": "Le formulaire a expiré : saisissez à nouveau vos identifiants.",
        "en": "The form expired: please enter your credentials again.",
    },
    "login.signed_in": {"fr": "Connecté en tant que {name} (rôle : {role}).", "en": "Signed in as {name} (role: {role})."},
    "login.sites": {"fr": "Sites : {sites}.", "en": "Sites: {sites}."},
    "login.logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "login.continue": {"fr": "Continuer", "en": "Continue"},
    "login.no_account": {
        "fr": "Aucun compte n'existe encore : créez un compte administrateur avec "
              "`voisinmap users add NOM --role admin` (le mot de passe est lu sur l'entrée standard).",
        "en": "No account exists yet: create an administrator with `voisinmap users add NAME --role admin` "
              "(the password is read from standard input).",
    },
    "login.role.strategie": {"fr": "stratégie", "en": "strategy"},
    "login.role.financeur": {"fr": "financeur", "en": "funder"},
    "login.role.manager": {"fr": "responsable de site", "en": "site manager"},
    "login.role.admin": {"fr": "administrateur", "en": "administrator"},
})

t = i18n.t


def _field(label: str, **input_props: Any) -> html.Div:
    return html.Div([html.Label(label, htmlFor=input_props["id"]), dcc.Input(**input_props)], className="form-row")


def layout(error: str | None = None, next: str | None = None, **_kwargs: Any) -> html.Div:  # noqa: A002
    """The form (signed out) or the current account with a sign-out button (signed in)."""
    lang = i18n.current_lang()
    user = auth.current_user()
    token = auth.csrf_token()
    if user is not None:
        lines = [html.P(t("login.signed_in", lang, name=user.username, role=t(f"login.role.{user.role}", lang)),
                        id="login-current")]
        if user.sites:
            lines.append(html.P(t("login.sites", lang, sites=", ".join(user.sites))))
        return html.Div([
            html.H1(t("login.title", lang)), *lines,
            dcc.Link(t("login.continue", lang), href=auth.home_path(user.principal()), className="button"),
            html.Form([
                dcc.Input(type="hidden", name="csrf_token", value=token, id="logout-csrf"),
                html.Button(t("login.logout", lang), type="submit", id="logout-submit"),
            ], action="/logout", method="post", className="logout-form"),
        ], className="page-login")
    messages = []
    if error:
        key = "login.error_csrf" if error == "csrf" else "login.error"
        messages.append(html.P(t(key, lang), className="notice error", role="alert", id="login-error"))
    try:
        empty = auth.user_store().count_users() == 0
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
