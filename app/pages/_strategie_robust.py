"""Stratégie page, robustness without a button: once the recommendation of the controls is shown, the page
reruns the plan over the 18-point grid of :mod:`geo.siting.robustness` in a request of its own, and the
robust and fragile picks appear in the table, the region view and on the map when it is done.

The chain: the recommendation (:func:`app.pages._strategie_plan.recommend`) writes the scenario's address
into ``strategie-query``; :func:`compute_robustness` then computes the robustness of that scenario (about
1 s on the national data, then read from the shared cache per data version, scenario and network,
:func:`app.scenario.robustness_for`) and writes the address into ``strategie-robust``; :func:`show_marks`
then fills the marks into the rows of the ranked table and the region view, and redraws the map's markers. The recommendation never waits for the robustness and
never shares the processor with it for the same change (it is over when the robustness starts). While it
runs, « Robustesse en cours de calcul… » shows above the results. The recommendation reads
``strategie-robust`` as a state: a scenario seen before shows its marks at once. The module name starts
with ``_``: :mod:`app.pages.strategie` imports it.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import Input, Output, State, no_update

from app import i18n, scenario, settings
from app.components import region_view, results
from app.scenario_params import Scenario
from geo import siting

logger = logging.getLogger(__name__)


def _records(stored: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    return stored["records"] if stored else None


@dash.callback(
    Output("strategie-robust", "data"),
    Input("strategie-query", "data"),
    State("strategie-sites", "data"),
    State("strategie-robust", "data"),
    running=[(Output("strategie-robust-status", "hidden"), False, True)],
    prevent_initial_call=True,
)
def compute_robustness(query: str | None, stored: dict[str, Any] | None, shown: str | None) -> Any:
    """The robustness of the scenario just shown (cached); returns its address, which the marks compare.

    Nothing is computed when the robustness of this scenario is already shown, for a scenario the engine
    refused (its message shows, the previous results stay), nor for sites that no longer match the address
    (the next recommendation brings the right one).
    """
    if query is None or query == shown:
        return no_update
    scen = Scenario.from_query(query)
    records = _records(stored)
    if scen.with_sites(records) != scen:
        return no_update
    try:
        scenario.plan_for(scen, sites=records, data_dir=settings.data_dir())  # cached; a refused plan gets no marks
        scenario.robustness_for(scen, sites=records, data_dir=settings.data_dir())
    except (ValueError, siting.InfeasibleError) as exc:  # SitesError is a ValueError
        logger.info("robustness not computed: %s", type(exc).__name__)
        return no_update
    return query


@dash.callback(
    Output("strategie-table", "data", allow_duplicate=True),
    Output("strategie-regions-table", "data", allow_duplicate=True),
    Output("strategie-recommended-layer", "children", allow_duplicate=True),
    Input("strategie-robust", "data"),
    State("strategie-query", "data"),
    State("strategie-sites", "data"),
    prevent_initial_call=True,
)
def show_marks(robust_key: str | None, query: str | None, stored: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    """Robust and fragile marks in the ranked table, the region view and on the map (the plan is cached).

    The tables' rows are updated in place (their columns, order and the selected region stay); the layout
    holds both table ids from the start (:func:`app.pages.strategie.layout`).
    """
    if not robust_key or robust_key != query:
        return no_update, no_update, no_update
    lang = i18n.current_lang()
    scen = Scenario.from_query(query)
    records = _records(stored)
    try:
        plan = scenario.plan_for(scen, sites=records, data_dir=settings.data_dir())
        robust = scenario.robustness_for(scen, sites=records, data_dir=settings.data_dir())
    except (ValueError, siting.InfeasibleError):  # the results show the engine's message and stay as they were
        return no_update, no_update, no_update
    radius = float(plan.params["radius_km"])
    return (results.table_records(plan.table, robust=robust, lang=lang),
            region_view.region_records(plan, lang=lang, robust=robust),
            results.recommended_layers(plan.table, radius_km=radius, lang=lang, robust=robust))
