"""Page « Équipe terrain » (``/saisie/equipe``): a site manager creates the Voisin accounts of their site.

A Voisin account belongs to one site and records visits under a pseudonymous Voisin code (``V001``…,
given by default, or typed: ``GRI-V03``), never a name (:mod:`geo.auth.store`). The page lists the
Voisins of the chosen site (account name, code, active) and creates new ones; managers see and create
only those of their own sites (the ``equipe-site`` value is checked by the access check, and again here).
The password is handed over by the manager and never shown again.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from app import i18n
from geo.auth.store import UserExistsError
from geo.i18n import t

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/saisie/equipe", name="Équipe terrain", title="voisinmap · Équipe terrain",
                   nav_key="nav.equipe", order=25, roles=("manager", "admin"), access_level="door")


def _scope_sites() -> list[str]:
    """Sites of the current account: a manager's own; an admin's, every site of the store."""
    from app import security
    from app.data import store_sites
    from app.settings import store_url

    scope = security.site_scope()
    return sorted(store_sites(store_url())) if scope is None else list(scope)


def _team_rows(site: str | None) -> list[dict[str, str]]:
    from app import security

    if not site or site not in _scope_sites():
        return []
    lang = i18n.current_lang()
    yes, no = t("equipe.yes", lang), t("equipe.no", lang)
    return [{"name": u.username, "code": u.voisin_code, "active": yes if u.active else no}
            for u in security.user_store().voisins([site])]


def layout(**_kwargs: Any) -> html.Div:
    """The site selector, the creation form and the team table."""
    lang = i18n.current_lang()
    sites = _scope_sites()
    field = "equipe-field"
    return html.Div([
        html.H1(t("equipe.title", lang)),
        html.P(t("equipe.intro", lang), className="equipe-intro"),
        html.Label([t("equipe.site", lang), dcc.Dropdown(id="equipe-site", options=sites, value=sites[0] if sites else None,
                                                         clearable=False)], className=field),
        html.Div([
            html.Label([t("equipe.name", lang), dcc.Input(id="equipe-name", type="text", maxLength=40, debounce=False,
                                                          autoComplete="off")], className=field),
            html.Label([t("equipe.password", lang), dcc.Input(id="equipe-password", type="password", maxLength=1024,
                                                              autoComplete="new-password")], className=field),
            html.Label([t("equipe.code", lang), dcc.Input(id="equipe-code", type="text", maxLength=16,
                                                          placeholder="V001")], className=field),
            html.Button(t("equipe.create", lang), id="equipe-create", n_clicks=0, className="equipe-create"),
        ], className="equipe-form"),
        html.P(id="equipe-result", role="status", className="equipe-result"),
        html.H2(t("equipe.team", lang)),
        html.Table(id="equipe-table", className="equipe-table"),
    ], className="page-equipe")


def _table(site: str | None) -> list[Any]:
    lang = i18n.current_lang()
    head = html.Tr([html.Th(t("equipe.col.name", lang)), html.Th(t("equipe.col.code", lang)),
                    html.Th(t("equipe.col.active", lang))])
    rows = [html.Tr([html.Td(r["name"]), html.Td(r["code"]), html.Td(r["active"])]) for r in _team_rows(site)]
    return [html.Thead(head), html.Tbody(rows or [html.Tr(html.Td(t("equipe.empty", lang), colSpan=3))])]


@dash.callback(Output("equipe-table", "children"), Input("equipe-site", "value"))
def show_team(site: str | None) -> list[Any]:
    """The Voisins of the chosen site."""
    return _table(site)


@dash.callback(
    Output("equipe-result", "children"),
    Output("equipe-table", "children", allow_duplicate=True),
    Output("equipe-password", "value"),
    Input("equipe-create", "n_clicks"),
    State("equipe-site", "value"),
    State("equipe-name", "value"),
    State("equipe-password", "value"),
    State("equipe-code", "value"),
    prevent_initial_call=True,
)
def create_voisin(n_clicks: int | None, site: str | None, name: str | None, password: str | None,
                  code: str | None) -> tuple[str, list[Any], str]:
    """Create a Voisin account of the chosen site (the password field is emptied in every case)."""
    from app import security

    lang = i18n.current_lang()
    if not n_clicks or not site or site not in _scope_sites():
        return t("equipe.error.site", lang), _table(site), ""
    try:
        user = security.user_store().add_user(name or "", password or "", role="voisin", sites=[site],
                                              voisin_code=code or None)
    except UserExistsError:
        return t("equipe.error.exists", lang), _table(site), ""
    except ValueError as exc:
        reasons = {"username": t("equipe.error.username", lang), "password": t("equipe.error.password", lang),
                   "voisin_code": t("equipe.error.voisin_code", lang)}
        return reasons.get(str(exc).split(":", 1)[0], t("equipe.error.other", lang)), _table(site), ""
    logger.info("a Voisin account was created for a site by its manager")
    return t("equipe.created", lang, name=user.username, code=user.voisin_code), _table(site), ""
