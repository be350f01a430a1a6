"""Stratégie page, robustness without a button: after each change of the controls, the page reruns the plan
over the 18-point grid of :mod:`geo.siting.robustness` in a request of its own, and the robust and
fragile picks appear in the table, the region view and on the map once it is done.

The recommendation does not wait for it: :func:`compute_robustness` answers separately (about 1 s on
the national data, then read from the shared cache per data version, scenario and network,
:func:`app.scenario.robustness_for`), and the results re-render with the marks when
``strategie-robust`` holds the scenario's address. While it runs, « Robustesse en cours de calcul… »
shows above the results. The module name starts with ``_``: :mod:`app.pages.strategie` imports it.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import Input, Output, State, no_update

from app import scenario, settings
from app.pages._strategie_plan import CONTROL_INPUTS, controls_to_scenario
from geo import siting

logger = logging.getLogger(__name__)


@dash.callback(
    Output("strategie-robust", "data"),
    *[Input(i, p) for i, p in CONTROL_INPUTS],
    Input("strategie-sites", "data"),
    Input("strategie-map-ready", "data"),
    State("strategie-robust", "data"),
    running=[(Output("strategie-robust-status", "hidden"), False, True)],
)
def compute_robustness(*values: Any) -> Any:
    """The robustness of the controls' scenario (cached); returns its address, which the results compare.

    Nothing happens before the map is drawn, nor when the robustness of this scenario is already shown;
    a scenario the engine refuses (its message shows with the results) gets no robustness.
    """
    *controls, stored, ready, shown = values
    if not ready:
        return no_update
    records = stored["records"] if stored else None
    scen = controls_to_scenario(*controls).with_sites(records)
    key = scen.to_query()
    if key == shown:
        return no_update
    try:
        scenario.robustness_for(scen, sites=records, data_dir=settings.data_dir())
    except (ValueError, siting.InfeasibleError) as exc:  # SitesError is a ValueError
        logger.info("robustness not computed: %s", type(exc).__name__)
        return no_update
    return key
