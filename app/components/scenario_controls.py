"""The scenario controls of the Stratégie page, filled from a :class:`app.scenario_params.Scenario`.

Number boxes are ``dcc.Input(type="number", debounce=True)``: their value (and the recommendation)
changes when the user presses Enter or leaves the box. Sliders do not take typed input
(``allow_direct_input=False``): the k slider mirrors its number box. Quotas are picked from région
names, never typed as codes.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from app.scenario_params import LIMITS, Scenario
from geo import siting
from geo.i18n import t

SLIDER_MARKS: dict[str, dict[float, str]] = {
    "k": {1: "1", 10: "10", 20: "20", 30: "30"},
    "radius_km": {1: "1", 3: "3", 5: "5", 10: "10"},
    "target_pct": {5: "5", 20: "20", 35: "35", 50: "50"},
}


def _slider(id_: str, name: str, step: float, value: float) -> dcc.Slider:
    lo, hi = LIMITS[name]
    return dcc.Slider(id=id_, min=lo, max=hi, step=step, value=value, marks=SLIDER_MARKS.get(name),
                      tooltip={"placement": "bottom", "always_visible": False}, updatemode="mouseup",
                      allow_direct_input=False)


def number_box(id_: str, name: str, value: float | None, *, step: float = 1, placeholder: str = "") -> dcc.Input:
    """A number box that updates on Enter or blur (``debounce=True``)."""
    lo, hi = LIMITS[name]
    return dcc.Input(id=id_, type="number", min=lo, max=hi, step=step, value=value, debounce=True,
                     placeholder=placeholder, className="small-input", inputMode="numeric")


def _labelled(label: str, control: Any, *, for_id: str, help_text: str | None = None) -> html.Div:
    return html.Div([html.Label(label, htmlFor=for_id, className="control-label"), control,
                     *([html.Div(help_text, className="help")] if help_text else [])], className="control-row")


def scenario_controls(scen: Scenario, *, lang: str, region_options: list[dict[str, str]]) -> html.Div:
    """The scenario block: mode and sizes of the plan, reach, capacity, pace, goal, weights, quotas."""
    weights = dict(scen.weights)
    weight_rows = [
        html.Div([html.Span(t(f"wt.{key}", lang), className="weight-label"),
                  dcc.Slider(id=f"strategie-w-{key}", min=0, max=1, step=0.1, value=weights.get(key, 0.0),
                             marks={0: "0", 1: "1"}, updatemode="mouseup", allow_direct_input=False)],
                 className="weight-row")
        for key in siting.INDICATORS
    ]
    return html.Div(
        [
            html.H2(t("scen.title", lang), className="side-title"),
            dcc.RadioItems(id="strategie-mode", value=scen.mode, className="mode-radio",
                           options=[{"label": " " + t(f"scen.mode.{m}", lang), "value": m} for m in ("k", "plan")]),
            _labelled(t("scen.k", lang), html.Div([number_box("strategie-k", "k", scen.k),
                                                   _slider("strategie-k-slider", "k", 1, scen.k)], className="box-slider"),
                      for_id="strategie-k"),
            html.Div([
                _labelled(t("scen.cities", lang), number_box("strategie-cities", "cities", scen.cities),
                          for_id="strategie-cities", help_text=t("scen.cities_help", lang)),
                _labelled(t("scen.regions", lang), number_box("strategie-regions", "regions", scen.regions),
                          for_id="strategie-regions", help_text=t("scen.regions_help", lang)),
            ], className="two-boxes"),
            html.Div([
                _labelled(t("scen.capacity", lang), number_box("strategie-capacity", "capacity", scen.capacity, step=1000),
                          for_id="strategie-capacity", help_text=t("scen.capacity_help", lang)),
                _labelled(t("scen.pace", lang), number_box("strategie-pace", "pace", scen.pace, step=1),
                          for_id="strategie-pace", help_text=t("scen.pace_help", lang)),
            ], className="two-boxes"),
            html.Label(t("scen.radius", lang), className="control-label"),
            _slider("strategie-radius", "radius_km", 0.5, scen.radius_km),
            html.Label(t("scen.target", lang), className="control-label"),
            _slider("strategie-target", "target_pct", 1, scen.target_pct),
            html.Details([html.Summary(t("scen.weights", lang)), html.Div(t("scen.weights_help", lang), className="help"),
                          *weight_rows], className="control-details"),
            html.Details(
                [
                    html.Summary(t("scen.quotas", lang)),
                    dcc.Checklist(id="strategie-main6", value=["main6"] if scen.main6 else [],
                                  options=[{"label": " " + t("scen.main6", lang), "value": "main6"}]),
                    html.Label(t("scen.max_per_region", lang), htmlFor="strategie-max-per-region",
                               className="control-label small"),
                    number_box("strategie-max-per-region", "max_per_region", scen.max_per_region, placeholder="—"),
                    html.Label(t("scen.quota_regions", lang), htmlFor="strategie-quota-regions",
                               className="control-label small"),
                    dcc.Dropdown(id="strategie-quota-regions", options=region_options, value=list(scen.quota_regions),
                                 multi=True, placeholder=t("scen.quota_regions_ph", lang)),
                ],
                className="control-details", open=bool(scen.main6 or scen.max_per_region is not None or scen.quota_regions),
            ),
        ],
        className="scenario-controls",
    )


def sites_controls(*, lang: str, max_bytes: int) -> html.Div:
    """Current sites: the label, the upload (with its one message next to it) and the reset link."""
    return html.Div(
        [
            html.Label(t("scen.sites", lang), className="control-label"),
            html.Div(id="strategie-sites-info", className="help"),
            html.Div(id="strategie-network-msg", className="notice small", role="status"),
            dcc.Upload(id="strategie-upload", children=html.Div(t("scen.upload", lang)), className="upload",
                       accept=".csv,text/csv,text/plain", max_size=max_bytes, multiple=False),
            html.Div(id="strategie-upload-error", className="error", role="alert"),
            html.Div(t("scen.upload_help", lang), className="help"),
            html.Button(t("scen.reset", lang), id="strategie-sites-reset", n_clicks=0, className="link-button"),
        ],
        className="sites-controls",
    )
