"""Stratégie page, scenario callbacks: the plan and its rendering, the URL, the sites upload, the region
view and « Exporter » (robustness: :mod:`app.pages._strategie_robust`).

Thin callbacks over :mod:`app.scenario` (cached plans), :mod:`app.components.results`,
:mod:`app.components.region_view` and :mod:`app.components.scenario_export`. The module name starts
with ``_``: Dash's pages plugin does not register it as a page; :mod:`app.pages.strategie` imports it.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
from dash import Input, Output, State, clientside_callback, ctx, dcc, html, no_update

from app import callback_cache, data, i18n, scenario, settings
from app.components import region_view, results, scenario_export
from app.scenario_params import Scenario
from geo import siting
from geo.i18n import error_text, t
from geo.load import load_manifest

logger = logging.getLogger(__name__)

EXPORT_FORMATS: tuple[str, ...] = ("xlsx", "csv", "md", "html")

#: Every scenario control, in the order of :func:`controls_to_scenario`'s arguments.
CONTROL_INPUTS: list[tuple[str, str]] = [
    ("strategie-mode", "value"), ("strategie-k", "value"), ("strategie-cities", "value"),
    ("strategie-regions", "value"), ("strategie-capacity", "value"), ("strategie-pace", "value"),
    ("strategie-radius", "value"), ("strategie-target", "value"),
    *[(f"strategie-w-{key}", "value") for key in siting.INDICATORS],
    ("strategie-main6", "value"), ("strategie-max-per-region", "value"), ("strategie-quota-regions", "value"),
]


def controls_to_scenario(*values: Any) -> Scenario:
    """The :class:`Scenario` of the controls' values (in :data:`CONTROL_INPUTS` order)."""
    mode, k, cities, regions, capacity, pace, radius, target = values[:8]
    n_w = len(siting.INDICATORS)
    weights = dict(zip(siting.INDICATORS, values[8:8 + n_w], strict=True))
    main6, max_per_region, quota_regions = values[8 + n_w:]
    return Scenario.from_controls({
        "mode": mode, "k": k, "cities": cities, "regions": regions, "capacity": capacity, "pace": pace,
        "radius_km": radius, "target_pct": target, "weights": weights, "main6": bool(main6),
        "max_per_region": max_per_region, "quota_regions": quota_regions or [],
    })


def engine_message(exc: BaseException, lang: str) -> str:
    """An engine or validation refusal in ``lang`` (région codes named); never raw English."""
    fields = getattr(exc, "fields", None)
    if isinstance(fields, dict) and "region" in fields:
        names = {o["value"]: o["label"] for o in region_options()}
        exc.fields = {**fields, "region": names.get(str(fields["region"]), fields["region"])}
    if getattr(exc, "msgid", None):
        return error_text(exc, lang)
    logger.info("engine refusal without a message id: %s", type(exc).__name__)
    return t("scen.error_generic", lang)


def region_options() -> list[dict[str, str]]:
    """Administrative régions by name (value: the région code the quotas use)."""
    frame = data.qpv()[["insee_reg", "lib_reg"]].drop_duplicates().dropna()
    return [{"label": str(r.lib_reg), "value": str(r.insee_reg)} for r in frame.sort_values("lib_reg").itertuples()]


def data_version() -> str:
    """The processed data's build date and code version (from the manifest)."""
    manifest = load_manifest(data_dir=settings.data_dir())
    return f"{manifest.get('built_at', '?')} · {manifest.get('code_version', '?')}"


def network_label(stored: dict[str, Any] | None, n: int, lang: str) -> str:
    """« 11 sites de l'association (data/sites.csv) », « 3 sites importés depuis mes_sites.csv » or the
    sites of a saved scenario."""
    if stored and stored.get("saved"):
        return t("scen.sites_saved", lang, n=n, name=stored["saved"])
    if stored:
        return t("scen.sites_uploaded", lang, n=n, f=stored.get("filename", "?"))
    return t("scen.sites_default", lang, n=n)


def robust_for(scen: Scenario, stored: dict[str, Any] | None, robust_key: str | None) -> Any:
    """The robustness of this scenario once the page computed it (:mod:`app.pages._strategie_robust`), else None."""
    if robust_key != scen.to_query():
        return None
    return scenario.robustness_for(scen, sites=stored["records"] if stored else None, data_dir=settings.data_dir())


# ------------------------------------------------------------------------------------------ callbacks


@dash.callback(
    Output("strategie-k", "value"),
    Output("strategie-k-slider", "value"),
    Input("strategie-k", "value"),
    Input("strategie-k-slider", "value"),
    prevent_initial_call=True,
)
def sync_k(box: int | None, slider: int | None) -> tuple[Any, Any]:
    """The k number box and its slider show the same value (the box commits on Enter or blur)."""
    if ctx.triggered_id == "strategie-k-slider":
        return (slider if slider != box else no_update), no_update
    if box is None:
        return no_update, no_update
    return no_update, (box if box != slider else no_update)


@dash.callback(
    Output("strategie-results", "children"),
    Output("strategie-regions-area", "children"),
    Output("strategie-sites-area", "children"),
    Output("strategie-sites-layer", "children"),
    Output("strategie-recommended-layer", "children"),
    Output("strategie-sites-info", "children"),
    Output("strategie-error", "children"),
    Output("strategie-query", "data"),
    *[Input(i, p) for i, p in CONTROL_INPUTS],
    Input("strategie-sites", "data"),
    Input("strategie-map-ready", "data"),
    State("strategie-robust", "data"),  # marks shown when known; new ones come from app.pages._strategie_robust
)
@callback_cache.cached_callback(doors=False, scoped=False)  # the same answer for everyone, visits or not
def recommend(*values: Any) -> tuple[Any, ...]:
    """Run the cached two-level plan of the controls and render it; a refusal keeps the previous results.

    The first results wait until the map has drawn its QPV (``strategie-map-ready``), so the tables and the
    chart do not compete with the map's first paint.
    """
    lang = i18n.current_lang()
    *controls, stored, ready, robust_key = values
    if not ready:
        return (no_update,) * 8
    records = stored["records"] if stored else None
    scen = controls_to_scenario(*controls).with_sites(records)
    try:
        plan = scenario.plan_for(scen, sites=records, data_dir=settings.data_dir())
        robust = robust_for(scen, stored, robust_key)
    except (ValueError, siting.InfeasibleError) as exc:  # SitesError is a ValueError
        return (no_update,) * 6 + (engine_message(exc, lang), scen.to_query())
    radius = float(plan.params["radius_km"])
    head = html.Div([
        results.headline(plan, lang=lang),
        html.Div([results.progress_bar(plan, lang=lang), results.assumptions(plan, lang=lang)], className="progress-grid"),
    ])
    sites_area = results.sites_area(plan, lang=lang, robust=robust)
    return (head, region_view.region_table(plan, lang=lang, robust=robust), sites_area,
            results.current_site_layers(plan.network, radius_km=radius, lang=lang),
            results.recommended_layers(plan.table, radius_km=radius, lang=lang, robust=robust),
            network_label(stored, len(plan.network), lang), "", scen.to_query())


# the map is ready once its QPV are drawn (or after 9 s whatever happens): then the first results render
clientside_callback(
    """function (n) {
        const ns = window.voisinmap;
        const drawn = ns && ns.countFeatures && ns.countFeatures("code_qp", true) > 0;
        if (drawn || (n || 0) >= 60) { return [true, true]; }
        return [window.dash_clientside.no_update, false];
    }""",
    Output("strategie-map-ready", "data"),
    Output("strategie-ready-poll", "disabled"),
    Input("strategie-ready-poll", "n_intervals"),
)


# the address bar follows the scenario without reloading the page (a copied link reopens it)
clientside_callback(
    """function (query) {
        if (query === undefined || query === null) { return window.dash_clientside.no_update; }
        const url = window.location.pathname + (query ? "?" + query : "");
        if (url !== window.location.pathname + window.location.search) { window.history.replaceState(null, "", url); }
        return "";
    }""",
    Output("strategie-url-sink", "children"),
    Input("strategie-query", "data"),
)


@dash.callback(
    Output("strategie-sites", "data"),
    Output("strategie-upload-error", "children"),
    Input("strategie-upload", "contents"),
    Input("strategie-sites-reset", "n_clicks"),
    State("strategie-upload", "filename"),
    prevent_initial_call=True,
)
def upload_sites(contents: str | None, _reset: int, filename: str | None) -> tuple[Any, Any]:
    """Validate an uploaded sites file against the data; a refusal leaves the sites and results as they were."""
    lang = i18n.current_lang()
    if ctx.triggered_id == "strategie-sites-reset" or not contents:
        return None, ""
    try:
        frame = scenario.parse_sites_upload(contents, filename or "")
        scenario.check_sites(frame, data_dir=settings.data_dir())
    except siting.SitesError as exc:
        return no_update, t("scen.upload_error", lang, e=engine_message(exc, lang))
    records = frame.drop(columns=["code_type"], errors="ignore").to_dict("records")
    return {"records": records, "filename": filename}, ""


@dash.callback(
    Output("strategie-region-cities", "children"),
    Output("strategie-region-bounds", "data"),
    Input("strategie-regions-table", "selected_rows"),
    State("strategie-regions-table", "data"),
    State("strategie-query", "data"),
    State("strategie-sites", "data"),
    prevent_initial_call=True,
)
def show_region(rows: list[int] | None, table: list[dict[str, Any]] | None, query: str | None,
                stored: dict[str, Any] | None) -> tuple[Any, Any]:
    """A selected urban region: the map zooms to its QPV and its cities are listed."""
    lang = i18n.current_lang()
    if not rows or not table or rows[0] >= len(table):
        return region_view.region_cities(None, None, lang=lang), no_update
    name = table[rows[0]]["urban_region"]
    scen = Scenario.from_query(query)
    plan = scenario.plan_for(scen, sites=stored["records"] if stored else None, data_dir=settings.data_dir())
    codes = scenario.region_qpv_codes(scen, name, data_dir=settings.data_dir())
    viewport = no_update
    if codes:
        qpv = data.qpv()
        west, south, east, north = qpv[qpv["code_qp"].isin(codes)].geometry.total_bounds
        pad_x, pad_y = max((east - west) * 0.1, 0.02), max((north - south) * 0.1, 0.015)
        viewport = [[south - pad_y, west - pad_x], [north + pad_y, east + pad_x]]
    return region_view.region_cities(plan, name, lang=lang), viewport


# the map flies to the selected urban region (the viewport prop stays owned by the search and quick jumps)
clientside_callback(
    """function (bounds) {
        const maps = (window.voisinmap && window.voisinmap.maps) || [];
        const map = maps.find(m => m.getContainer().id === "strategie-map") || maps[0];
        if (bounds && map) { map.flyToBounds(bounds, {duration: 0.8}); }
        return "";
    }""",
    Output("strategie-region-sink", "children"),
    Input("strategie-region-bounds", "data"),
    prevent_initial_call=True,
)


@dash.callback(
    Output("strategie-download", "data"),
    *[Input(f"strategie-export-{fmt}", "n_clicks") for fmt in EXPORT_FORMATS],
    State("strategie-query", "data"),
    State("strategie-sites", "data"),
    State("strategie-robust", "data"),
    prevent_initial_call=True,
)
def export(*values: Any) -> Any:
    """« Exporter »: the scenario's plan as XLSX, French CSV, Markdown or HTML brief, with its parameters."""
    clicks, (query, stored, robust_key) = values[:len(EXPORT_FORMATS)], values[len(EXPORT_FORMATS):]
    trigger = ctx.triggered_id
    if not isinstance(trigger, str) or not any(clicks):
        return no_update
    fmt = trigger.rsplit("-", 1)[-1]
    lang = i18n.current_lang()
    scen = Scenario.from_query(query)
    try:
        plan = scenario.plan_for(scen, sites=stored["records"] if stored else None, data_dir=settings.data_dir())
        robust = robust_for(scen, stored, robust_key)
    except (ValueError, siting.InfeasibleError):
        return no_update
    kw = {"network": network_label(stored, len(plan.network), lang), "data_version": data_version(), "lang": lang}
    stem = t("export.filename", lang)
    if fmt == "xlsx":
        return dcc.send_bytes(scenario_export.to_xlsx(scen, plan, **kw), f"{stem}.xlsx")
    if fmt == "csv":
        return dcc.send_bytes(scenario_export.to_csv(scen, plan, **kw), f"{stem}.csv")
    brief = scenario_export.brief_markdown(scen, plan, robust=robust, **kw)
    if fmt == "md":
        return {"content": brief, "filename": f"{stem}.md", "type": "text/markdown"}
    return {"content": scenario_export.brief_html(brief, lang=lang), "filename": f"{stem}.html", "type": "text/html"}

