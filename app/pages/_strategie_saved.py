"""Stratégie page, saved scenarios: save the current scenario by name, reopen one, compare two.

Scenarios are saved per signed-in user (:class:`geo.auth.scenarios.ScenarioStore`, the accounts
database), with the validated sites of an uploaded network (never the file nor its name). Reopening one
loads its address (``/?<query>``), so the page rebuilds from the URL; an address whose ``network`` names
an uploaded network gets it back from the user's saved scenarios (:func:`restore_network`), or says in
the page's language that it is missing and that the association's sites are used instead.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dash
from dash import Input, Output, State, ctx, no_update

from app import i18n, scenario, settings
from app.components.comparison import comparison_view
from app.scenario_params import Scenario, network_id
from app.security import current_user
from app.security.session import accounts_url
from geo import siting
from geo.auth.scenarios import ScenarioNameError, ScenarioStore
from geo.i18n import error_text, t

logger = logging.getLogger(__name__)

_STORES: dict[str, ScenarioStore] = {}
_LOCK = threading.Lock()


def scenario_store() -> ScenarioStore:
    """The saved-scenarios store of the running app's accounts database (migrated once)."""
    url = accounts_url()
    with _LOCK:
        if url not in _STORES:
            _STORES[url] = ScenarioStore(url)
        return _STORES[url]


@dash.callback(
    Output("strategie-saved-open", "options"),
    Output("strategie-compare-a", "options"),
    Output("strategie-compare-b", "options"),
    Output("strategie-save-msg", "children"),
    Input("strategie-save", "n_clicks"),
    State("strategie-save-name", "value"),
    State("strategie-query", "data"),
    State("strategie-sites", "data"),
)
def save_scenario(n: int | None, name: str | None, query: str | None, stored: dict[str, Any] | None) -> tuple[Any, ...]:
    """Save the current scenario under a name (on click) and list the user's scenarios."""
    lang = i18n.current_lang()
    user = current_user()
    if user is None:
        return [], [], [], ""
    store = scenario_store()
    message = ""
    if n and ctx.triggered_id == "strategie-save":
        try:
            records = stored["records"] if stored else None
            saved = store.save(user.id, name or "", Scenario.from_query(query).with_sites(records).to_query(),
                               sites=records)
            message = t("saved.done", lang, name=saved.name)
        except ScenarioNameError as exc:
            message = error_text(exc, lang)
    options = [{"label": s.name, "value": s.name} for s in store.list(user.id)]
    return options, options, options, message


@dash.callback(
    Output("strategie-nav", "href"),
    Input("strategie-saved-open", "value"),
    prevent_initial_call=True,
)
def open_scenario(name: str | None) -> Any:
    """Reopen a saved scenario: the page loads its address (every control)."""
    user = current_user()
    if not name or user is None:
        return no_update
    saved = scenario_store().get(user.id, name)
    return no_update if saved is None else "/?" + Scenario.from_query(saved.query).with_sites(saved.sites).to_query()


@dash.callback(
    Output("strategie-sites", "data", allow_duplicate=True),
    Output("strategie-network-msg", "children"),
    Input("strategie-url-network", "data"),
    State("strategie-sites", "data"),
    prevent_initial_call="initial_duplicate",
)
def restore_network(url: dict[str, Any] | None, stored: dict[str, Any] | None) -> tuple[Any, Any]:
    """The sites of the address's network: kept when the tab already holds them, restored from a saved
    scenario of the user, else the association's sites with a message saying the network is missing.

    A plain ``/`` (no scenario in the address) keeps the tab's sites, uploaded or not.
    """
    if not url or not url.get("query"):
        return no_update, ""
    wanted = url.get("network")
    if wanted == network_id(stored["records"] if stored else None):
        return no_update, ""
    if wanted is None:  # a scenario on the association's sites
        return None, ""
    user = current_user()
    found = None if user is None else next(
        (s for s in scenario_store().list(user.id) if s.sites is not None and network_id(s.sites) == wanted), None)
    if found is not None:
        return {"records": found.sites, "saved": found.name}, ""
    return None, t("scen.network_missing", i18n.current_lang())


def _plan(saved: Any) -> Any:
    return scenario.plan_for(Scenario.from_query(saved.query), sites=saved.sites, data_dir=settings.data_dir())


@dash.callback(
    Output("strategie-comparison", "children"),
    Input("strategie-compare-a", "value"),
    Input("strategie-compare-b", "value"),
    prevent_initial_call=True,
)
def compare(name_a: str | None, name_b: str | None) -> Any:
    """Two saved scenarios side by side (figures, cities, map of the differences)."""
    lang = i18n.current_lang()
    user = current_user()
    if not name_a or not name_b or user is None:
        return t("compare.pick_two", lang)
    store = scenario_store()
    a, b = store.get(user.id, name_a), store.get(user.id, name_b)
    if a is None or b is None:
        return t("compare.pick_two", lang)
    try:
        return comparison_view(name_a, _plan(a), name_b, _plan(b), lang=lang)
    except (ValueError, siting.InfeasibleError) as exc:
        from app.pages._strategie_plan import engine_message

        return engine_message(exc, lang)
