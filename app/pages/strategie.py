"""Page « Stratégie » (``/``): the national QPV map and the expansion recommendation.

Layout: controls on the left, the map (QPV choropleth, NPNRU, outlines, communes, sites) in the middle,
the results (progress toward the goal, ranked table, marginal-gain chart) below the map.
The callbacks are thin: they call :mod:`app.components`, :mod:`app.data`, :mod:`app.scenario`, :mod:`geo.places`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from functools import lru_cache
from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, ctx, dash_table, dcc, html, no_update

from app import data, i18n, scenario, settings
from app.components import basemap, mapstyle, qpv_symbols
from app.components.comparison import comparison_section, saved_controls
from app.components.layer_legend import layer_legend
from app.components.qpv_panel import qpv_panel
from app.components.scenario_controls import scenario_controls, sites_controls
from app.layers import layer_url
from app.scenario_params import Scenario
from geo import places, schema
from geo.i18n import colon, t
from geo.load import DataNotBuiltError, load_manifest, load_qpv

logger = logging.getLogger(__name__)

# The scenario callbacks (plan, URL, upload, regions, export; robustness; saved scenarios and comparison)
# live in three "_" modules that Dash does not register as pages. Dash executes this page module again for
# each app it builds and registers the callbacks declared meanwhile: run the helper modules again too.
for _helper in (f"{__package__}._strategie_plan", f"{__package__}._strategie_robust", f"{__package__}._strategie_saved"):
    if _helper in sys.modules:
        importlib.reload(sys.modules[_helper])
    else:
        importlib.import_module(_helper)
_plan_callbacks = sys.modules[f"{__package__}._strategie_plan"]

dash.register_page(__name__, path="/", name="Stratégie", title="voisinmap · Stratégie", nav_key="nav.strategie",
                   order=0, roles=("strategie", "admin"))

METRO_BOUNDS = [[41.2, -5.3], [51.2, 9.7]]
#: Map panes, bottom to top: land fill, district hulls, commune bubbles, QPV polygons, outlines, points.
PANES: dict[str, int] = {"vm-land": 350, "vm-districts": 380, "vm-bubbles": 390, "vm-qpv": 410,
                         "vm-qpv-points": 412, "vm-outlines": 420, "vm-points": 430}

#: Quick jumps: key -> département codes whose QPV give the bounds (None: the métropole box).
TERRITORIES: dict[str, tuple[str, ...] | None] = {
    "metropole": None,
    "guadeloupe": ("971",),
    "martinique": ("972",),
    "guyane": ("973",),
    "reunion": ("974",),
    "mayotte": ("976",),
    "saint_martin": ("978",),
    "polynesie": ("987",),
}

# ---------------------------------------------------------------------------------------------- data


@lru_cache(maxsize=4)
def _territory_bounds(folder: str, version: int) -> dict[str, list[list[float]]]:
    frame = load_qpv(data_dir=folder)
    out = {}
    for key, deps in TERRITORIES.items():
        if deps is None:
            out[key] = METRO_BOUNDS
            continue
        west, south, east, north = frame[frame["insee_dep"].isin(deps)].geometry.total_bounds
        pad = 0.05
        out[key] = [[south - pad, west - pad], [north + pad, east + pad]]
    return out


def territory_bounds() -> dict[str, list[list[float]]]:
    """Bounds ([[south, west], [north, east]]) of each quick-jump territory, from the QPV layer."""
    folder = settings.data_path()
    return _territory_bounds(str(folder), (folder / schema.LAYERS["qpv"]).stat().st_mtime_ns)


# -------------------------------------------------------------------------------------------- layout


def _map(lang: str, attribution: str) -> dl.Map:
    outline = {"variable": "voisinmap.outlineStyle"}
    base_layers = basemap.base_layers(lang=lang, max_zoom=18)  # Plan IGN v2, OSM, neutral (docs/app.md)
    qpv_layer = dl.GeoJSON(
        id="strategie-qpv",
        pane="vm-qpv",
        url=layer_url("qpv"),
        format="geobuf",
        style={"variable": "voisinmap.qpvStyle"},
        onEachFeature={"variable": "voisinmap.qpvTooltip"},
        hideout=mapstyle.hideout_for("poverty_rate", data.qpv(), lang=lang),
        attribution=attribution,
    )
    bubble_labels = {"qpv_residents_touching": t("bubble.qpv_residents_touching", lang), "n_qpv": t("bubble.n_qpv", lang),
                     "source": t("legend.source", lang, s="INSEE, ANCT")}
    district_labels = {"title": t("layer.districts", lang), "n_qpv": t("bubble.n_qpv", lang),
                       "population": t("ind.population", lang), "poverty_rate": t("ind.poverty_rate", lang),
                       "npnru": t("legend.npnru_yes", lang), "source": t("legend.source", lang, s="ANCT, INSEE, ANRU")}
    return dl.Map(
        id="strategie-map",
        center=[46.6, 2.4], zoom=5.5, zoomSnap=0.5, zoomDelta=0.5,  # Lille stays inside the top edge
        attributionControl=False,
        minZoom=3,
        maxZoom=18,
        preferCanvas=True,
        className="strategie-map",
        children=[
            # drawing order, bottom to top (Leaflet's overlayPane is 400, markerPane 600)
            *[dl.Pane(name=name, style={"zIndex": z}) for name, z in PANES.items()],
            dl.LayersControl(
                [
                    *base_layers,
                    dl.Overlay(dl.GeoJSON(id="strategie-regions", url=layer_url("regions"), format="geobuf", pane="vm-outlines",
                                          style=outline, interactive=False,
                                          hideout={"color": "#333333", "weight": 1.6, "fillOpacity": 0.0}),
                               name=t("layer.regions", lang), checked=True),
                    dl.Overlay(dl.GeoJSON(id="strategie-departements", url=layer_url("departements"), format="geobuf", pane="vm-land",
                                          style=outline, interactive=False,
                                          hideout={"color": "#8a8a8a", "weight": 0.6, "fill": "#fbfaf6",
                                                   "fillOpacity": 0.55}),
                               name=t("layer.departements", lang), checked=True),
                    dl.Overlay(dl.GeoJSON(id="strategie-communes", url=layer_url("communes"), format="geobuf", pane="vm-bubbles",
                                          pointToLayer={"variable": "voisinmap.communeBubble"},
                                          hideout={"lang": lang, "scale": 14, "labels": bubble_labels}),
                               name=t("layer.communes", lang), checked=True),
                    dl.Overlay(dl.LayerGroup([qpv_layer, qpv_symbols.symbols_layer(hideout=qpv_layer.hideout)]), name=t("layer.qpv", lang),
                        checked=True),
                    dl.Overlay(dl.GeoJSON(id="strategie-npnru", url=layer_url("npnru"), format="geobuf", pane="vm-points",
                                          pointToLayer={"variable": "voisinmap.npnruPoint"},
                                          hideout={"source": t("legend.source", lang, s="ANRU, ANCT"),
                                                   "labels": mapstyle.figure_labels(lang)}),
                               name=t("layer.npnru", lang), checked=False),
                    dl.Overlay(dl.LayerGroup(id="strategie-sites-layer"), name=t("layer.sites", lang), checked=True),
                    dl.Overlay(dl.GeoJSON(id="strategie-districts", url=layer_url("districts"), format="geobuf", pane="vm-districts",
                                          style={"variable": "voisinmap.districtStyle"},
                                          onEachFeature={"variable": "voisinmap.districtTooltip"},
                                          hideout={"lang": lang, "labels": district_labels}),
                               name=t("layer.districts", lang), checked=False),
                    dl.Overlay(dl.LayerGroup(id="strategie-recommended-layer"), name=t("layer.recommended", lang),
                               checked=True),
                ],
                id="strategie-layers",
                position="topright",
                collapsed=True,
            ),
            dl.ScaleControl(position="bottomright", imperial=False),
            dl.AttributionControl(position="bottomright", prefix=f"Leaflet | {attribution}"),
        ],
    )


def _controls(lang: str, scen: Scenario) -> html.Div:
    return html.Div(
        [
            dcc.Dropdown(id="strategie-search", placeholder=t("strat.search", lang), options=[], searchable=True,
                         clearable=True, className="search-box"),
            html.Div(
                [html.Span(colon(t("strat.jump", lang), lang), className="jump-label")]
                + [html.Button(t(f"terr.{key}", lang), id={"type": "strategie-jump", "key": key}, n_clicks=0,
                               className="jump-button")
                   for key in TERRITORIES],
                className="jumps",
            ),
            html.Label(t("strat.indicator", lang), htmlFor="strategie-indicator", className="control-label"),
            dcc.Dropdown(
                id="strategie-indicator",
                options=[{"label": t(f"ind.{key}", lang), "value": key} for key in mapstyle.INDICATORS],
                value="poverty_rate", clearable=False,
            ),
            scenario_controls(scen, lang=lang, region_options=_plan_callbacks.region_options()),
            sites_controls(lang=lang, max_bytes=scenario.MAX_UPLOAD_BYTES),
            saved_controls(lang=lang),
        ],
        className="strategie-controls",
    )


def _actions(lang: str) -> html.Div:
    buttons = [html.Button(t(f"export.button.{fmt}", lang), id=f"strategie-export-{fmt}", n_clicks=0, className="action-button")
               for fmt in _plan_callbacks.EXPORT_FORMATS]
    return html.Div(
        [html.Span(colon(t("export.title", lang), lang), className="actions-label"), *buttons,
         dcc.Download(id="strategie-download")],
        className="strategie-actions",
    )


def _placeholder(table_id: str) -> html.Div:
    """An empty, hidden table holding the id the first plan's table takes over, so that the robustness marks
    (:mod:`app.pages._strategie_robust`) update the tables' rows in place instead of redrawing them."""
    return html.Div(dash_table.DataTable(id=table_id, data=[], columns=[]), hidden=True)


def layout(**kwargs: Any) -> html.Div:
    """The page layout (language from the cookie; the scenario from the query string, if any)."""
    lang = i18n.current_lang()
    try:
        manifest = load_manifest(data_dir=settings.data_dir())
        frame = data.qpv()
    except DataNotBuiltError:
        return html.Div(html.P(t("error.data_missing", lang), className="notice"), className="page-padded")
    scen = Scenario.from_query(kwargs)
    attribution = i18n.attribution(manifest.get("attribution") or "ANCT, INSEE, ANRU, IGN — Licence Ouverte 2.0", lang)
    return html.Div(
        [
            dcc.Store(id="strategie-selected", data=None),
            dcc.Store(id="strategie-sites", storage_type="session", data=None),
            dcc.Store(id="strategie-query", data=scen.to_query()),
            dcc.Store(id="strategie-robust", data=None),
            # the address's network (None: the association's sites); "query": the page was opened on a scenario
            dcc.Store(id="strategie-url-network", data={"query": bool(kwargs), "network": scen.network}),
            dcc.Store(id="strategie-region-bounds", data=None),
            dcc.Store(id="strategie-map-ready", data=False),
            dcc.Interval(id="strategie-ready-poll", interval=150, max_intervals=80),
            html.Div(id="strategie-url-sink", hidden=True),
            html.Div(id="strategie-region-sink", hidden=True),
            html.Aside(_controls(lang, scen), className="strategie-side"),
            html.Section(
                [
                    html.Div(
                        [
                            _map(lang, attribution),
                            html.Div([html.Div(mapstyle.legend("poverty_rate", frame, lang=lang), id="strategie-legend"),
                                      layer_legend(lang=lang)], className="legend-stack"),
                            html.Div(id="strategie-panel", className="qpv-panel", hidden=True),
                        ],
                        className="map-wrap",
                    ),
                    html.Div(id="strategie-error", className="error", role="alert"),
                    html.Div([html.Span(className="spinner", **{"aria-hidden": "true"}), t("res.robust.running", lang)],
                             id="strategie-robust-status", className="robust-status", role="status", hidden=True,
                             title=t("res.robust.help", lang)),
                    html.Div(id="strategie-results", className="strategie-results"),
                    html.Section([html.H3(t("region.title", lang)),
                                  html.Div([html.Div(_placeholder("strategie-regions-table"), id="strategie-regions-area",
                                                     className="regions-table"),
                                            html.Div(id="strategie-region-cities", className="regions-cities")],
                                           className="regions-grid")],
                                 className="strategie-regions", id="strategie-regions-section"),
                    html.Div(_placeholder("strategie-table"), id="strategie-sites-area", className="strategie-sites-area"),
                    _actions(lang),
                    comparison_section(lang=lang),
                ],
                className="strategie-main",
            ),
        ],
        className="page-strategie",
    )


# ----------------------------------------------------------------------------------------- callbacks


@dash.callback(
    Output("strategie-qpv", "hideout"),
    Output("strategie-legend", "children"),
    Output("strategie-qpv-points", "hideout"),
    Input("strategie-indicator", "value"),
    Input("strategie-selected", "data"),
    prevent_initial_call=True,  # the layout already holds the first hideout and legend
)
def restyle(indicator: str, selected: str | None) -> tuple[dict[str, Any], html.Div, dict[str, Any]]:
    """New indicator or selection: only the ``hideout`` and the legend change (geometry stays in the browser)."""
    lang = i18n.current_lang()
    frame = data.qpv()
    hideout = mapstyle.hideout_for(indicator, frame, lang=lang, selected=selected)
    return hideout, mapstyle.legend(indicator, frame, lang=lang), qpv_symbols.symbols_hideout(hideout)


@dash.callback(
    Output("strategie-search", "options"),
    Input("strategie-search", "search_value"),
    State("strategie-search", "value"),
    prevent_initial_call=True,
)
def search_options(text: str | None, value: str | None) -> Any:
    """Matching places for the text typed in the search box (the chosen one is kept in the list)."""
    if not text:
        return no_update if value else []
    hits = places.search_places(data.place_index(), text, limit=12)
    # "search" holds the typed text, so the dropdown's own filter keeps the server's ranked list as it is
    # (« st denis », « Lille-Sud » match through abbreviations and aliases the labels do not show)
    lang = i18n.current_lang()
    kinds = {"qpv": t("search.kind.qpv", lang), "commune": t("search.kind.commune", lang)}
    options = [{"label": f"{kinds.get(k, k)} · {label} · {code}", "value": f"{k}:{code}",
                "search": f"{text} {label} {code}"}
               for k, code, label in zip(hits["kind"], hits["code"], hits["label"], strict=True)]
    if value and value not in {o["value"] for o in options}:
        options.append({"label": value, "value": value})
    return options


@dash.callback(
    Output("strategie-map", "viewport"),
    Output("strategie-selected", "data", allow_duplicate=True),
    Input("strategie-search", "value"),
    Input({"type": "strategie-jump", "key": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def zoom_to(value: str | None, _clicks: list[int]) -> tuple[Any, Any]:
    """Zoom to the searched place or to the chosen territory."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict) and trigger.get("type") == "strategie-jump":
        if not any(_clicks):
            return no_update, no_update
        # a jump crosses oceans: no flying animation
        return {"bounds": territory_bounds()[trigger["key"]], "transition": "fitBounds"}, no_update
    if not value or ":" not in value:
        return no_update, no_update
    kind, code = value.split(":", 1)
    index = data.place_index()
    row = index[(index["kind"] == kind) & (index["code"] == code)]
    if row.empty:
        return no_update, no_update
    r = row.iloc[0]
    return ({"bounds": padded_bounds(r["west"], r["south"], r["east"], r["north"]), "transition": "flyToBounds"},
            (code if kind == "qpv" else no_update))


def padded_bounds(west: float, south: float, east: float, north: float, *, ratio: float = 0.6,
                  minimum_deg: float = 0.01) -> list[list[float]]:
    """[[south, west], [north, east]] widened on each side, so the place shows with its surroundings."""
    dx = max((east - west) * ratio, minimum_deg)
    dy = max((north - south) * ratio, minimum_deg * 0.7)
    return [[float(south - dy), float(west - dx)], [float(north + dy), float(east + dx)]]


@dash.callback(
    Output("strategie-selected", "data"),
    Input("strategie-qpv", "clickData"),
    prevent_initial_call=True,
)
def select_qpv(click: dict[str, Any] | None) -> Any:
    """A click on a QPV selects it."""
    props = (click or {}).get("properties") or {}
    return props.get("code_qp", no_update)


@dash.callback(
    Output("strategie-panel", "children"),
    Output("strategie-panel", "hidden"),
    Input("strategie-selected", "data"),
    prevent_initial_call=True,
)
def show_panel(code: str | None) -> tuple[Any, bool]:
    """The side panel of the selected QPV (its figures, sources and official page)."""
    if not code:
        return None, True
    return qpv_panel(data.qpv(), code, lang=i18n.current_lang()), False


@dash.callback(
    Output("strategie-selected", "data", allow_duplicate=True),
    Input("strategie-panel-close", "n_clicks"),
    prevent_initial_call=True,
)
def close_panel(n: int | None) -> Any:
    """The close button of the side panel."""
    return None if n else no_update

