"""Page « Terrain » (``/terrain``): door-level coverage of a site's campaigns, for its field manager.

Filters: site, campaigns, date range, outcomes (for the heat layer), "absent" doors in the revisit layer.
Map: H3 cells coloured by visits (or by the chosen outcomes) for the visible area, door points (buildings)
from zoom 16, the "à revoir" layer, the site's QPV coloured by coverage rate. Below: key figures, weekly
progress, the site's QPV ranked by remaining households, buildings to go back to. Import: the blank
template and the upload of a visit file (same checks as ``voisinmap coverage import``): the request only
keeps the file under its hash and queues an import job, whose progress and then report the page polls
(:mod:`app.components.jobs`); a poll of the store's version refreshes the figures when visits arrive; the
« Géocoder » button queues a geocoding job followed the same way (:mod:`app.components.geocoding`); the
walk list (:mod:`app.components.walklist`) downloads as CSV or PDF. Under about 768 px wide, the controls
fold into a drawer (``app/assets/terrain.css``).

Door-level data: managers see their own sites only (:func:`app.security.site_scope`; the access layer also
checks the ``terrain-site`` value of every callback), admins every site; others are refused. All figures
come from :mod:`geo.coverage.aggregate` over :func:`app.data.current_data`; the map, figures and tables
are drawn by :mod:`app.components`; callbacks only filter, call them and format.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import numpy as np
from dash import Input, Output, State, ctx, dcc, html, no_update

from app import callback_cache, i18n, settings
from app.components import (
    addresses,
    coverage_map,
    coverage_tables,
    geocoding,
    jobs,
    progress,
    terrain_controls,
    walklist,
)
from app.data import TerrainData, current_data, store_version
from geo.coverage import aggregate, schema
from geo.i18n import t

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/terrain", name="Terrain", title="voisinmap · Terrain", nav_key="nav.terrain",
                   order=20, roles=("manager", "admin"))

#: Seconds between two checks of the store's version (new visits refresh the figures without a reload).
POLL_SECONDS = 10


# --------------------------------------------------------------------------------------------- access
def site_scope() -> tuple[str, ...] | None:
    """Sites this request may read (None: all, for an admin), from :func:`app.security.site_scope`."""
    from app import security

    return security.site_scope()


def allowed_sites(data: TerrainData | None) -> list[str]:
    """Sites of the store the current user may see, sorted by name."""
    if data is None:
        return []
    scope = site_scope()
    codes = [s for s in data.prep.sites if scope is None or s in scope]
    return sorted(codes, key=lambda c: data.names.get(c, c))


def _check_site(site: str | None, data: TerrainData | None) -> str | None:
    """The requested site if the user may see it, else None (the page then shows nothing)."""
    if not site or data is None:
        return None
    return site if site in allowed_sites(data) else None


def site_qpv_codes(data: TerrainData, site: str, mask: np.ndarray) -> list[str]:
    """QPV of a site: those its visits touch, and those of its commune or EPCI."""
    prep = data.prep
    b = np.unique(prep.building[mask])
    idx = prep.b_qpv[b]
    codes = {prep.qpv_codes[i] for i in np.unique(idx[idx >= 0])}
    qpv = data.qpv
    com = qpv["insee_com"].astype(str).str.split(";").map(lambda parts: site in parts).to_numpy(dtype=bool)
    epci = (qpv["siren_epci"].astype(str) == site).to_numpy()
    codes |= set(qpv.loc[com | epci, "code_qp"].astype(str))
    return sorted(codes)


def _dates(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    return (start[:10] if start else None), (end[:10] if end else None)


def _bbox(bounds: Any) -> tuple[float, float, float, float] | None:
    try:
        (south, west), (north, east) = bounds
        return float(west), float(south), float(east), float(north)
    except (TypeError, ValueError):
        return None


def site_bounds(data: TerrainData, mask: np.ndarray) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the buildings of a selection, padded."""
    b = np.unique(data.prep.building[mask])
    return coverage_map.bounds_of(data.prep.b_lon[b], data.prep.b_lat[b])


# -------------------------------------------------------------------------------------------- layout
def layout(**_kwargs: Any) -> html.Div:
    """The page (the language from the cookie; the site list from the user's scope)."""
    from geo.load import DataNotBuiltError

    lang = i18n.current_lang()
    try:
        data = current_data()
    except DataNotBuiltError:
        return html.Div(html.P(t("error.data_missing", lang), className="notice"), className="page-padded")
    sites = allowed_sites(data)
    names = data.names if data is not None else {}
    empty = [] if sites else [html.P(t("terrain.empty", lang), className="notice", id="terrain-empty")]
    # The map opens on the default site (the first of the dropdown), not on a fixed place.
    bounds = site_bounds(data, aggregate.select(data.prep, sites=[sites[0]])) if sites else None
    return html.Div([
        html.Aside([html.Button("×", id="terrain-drawer-close", n_clicks=0, className="drawer-close",
                                title=t("terrain.close_filters", lang),
                                **{"aria-label": t("terrain.close_filters", lang)}),
                    terrain_controls.controls(lang, sites, names)], className="terrain-side", id="terrain-side"),
        html.Section([
            html.Button(t("terrain.filters", lang), id="terrain-drawer-open", n_clicks=0, className="drawer-open",
                        **{"aria-controls": "terrain-side", "aria-expanded": "false"}),
            dcc.Store(id="terrain-version"),
            dcc.Interval(id="terrain-poll", interval=POLL_SECONDS * 1000),
            html.Div(t("terrain.demo", lang), id="terrain-demo", className="demo-banner", hidden=True),
            *empty,
            html.Div([coverage_map.coverage_map(lang, bounds=bounds), html.Div(id="terrain-legend")], className="map-wrap"),
            html.Div(id="terrain-kpis", className="terrain-kpis"),
            html.Div([
                html.Div([html.H3(t("terrain.progress", lang)),
                          dcc.Graph(id="terrain-progress", figure=progress.empty_progress_figure(lang),
                                    style={"height": f"{progress.PROGRESS_HEIGHT}px"},
                                    config={"displayModeBar": False, "responsive": True})],
                         className="terrain-block terrain-progress-block"),
                html.Div([html.H3(t("terrain.qpv_table", lang)),
                          coverage_tables.table("terrain-qpv-table", coverage_tables.QPV_COLUMNS, lang=lang)],
                         className="terrain-block terrain-qpv-block"),
                html.Div([html.H3(t("terrain.revisit_table", lang)),
                          html.P(t("terrain.walk_help", lang), className="help"),
                          terrain_controls.buttons(lang, ("terrain.walk_pdf", "terrain-walk-pdf"),
                                   ("terrain.walk_csv", "terrain-walk-csv"), kind="action-button"),
                          dcc.Download(id="terrain-walk-download"),
                          coverage_tables.table("terrain-revisit-table", walklist.WALK_COLUMNS, lang=lang)],
                         className="terrain-block terrain-walk-block"),
            ], className="terrain-results"),
        ], className="terrain-main"),
    ], className="page-terrain")


# ----------------------------------------------------------------------------------------- callbacks
@dash.callback(
    Output("terrain-campaigns", "options"),
    Output("terrain-campaigns", "value"),
    Input("terrain-site", "value"),
)
@callback_cache.cached_callback(doors=True, scoped=True)  # a site's door figures, per role's scope
def campaign_options(site: str | None) -> tuple[list[dict[str, str]], list[str]]:
    """The campaigns of the chosen site (the selection is cleared when the site changes)."""
    data = current_data()
    site = _check_site(site, data)
    if site is None:
        return [], []
    prep = data.prep
    own = np.flatnonzero(np.asarray(prep.sites, dtype=object)[prep.campaign_site] == site)
    names = sorted({prep.campaigns[i] for i in own})
    return [{"label": n, "value": n} for n in names], []


@dash.callback(
    Output("terrain-version", "data"),
    Input("terrain-poll", "n_intervals"),
    Input("terrain-upload-result", "children"),
    Input("terrain-geocode-status", "children"),
    State("terrain-version", "data"),
)
def store_changed(_n: int | None, _upload: Any, _geocode: Any, known: Any) -> Any:
    """The store's version, sent only when it changed (new visits imported, recorded or located)."""
    version = list(store_version(settings.store_url()))
    return no_update if version == known else version


def _filters(data: TerrainData, site: str, campaigns: list[str] | None, start: str | None,
             end: str | None) -> np.ndarray:
    start, end = _dates(start, end)
    return aggregate.select(data.prep, sites=[site], campaigns=campaigns or None, start=start, end=end)


def site_walk(data: TerrainData, site: str, mask: np.ndarray, *, include_absent: bool) -> Any:
    """The walk list of a selection of one site's visits (addresses from the store)."""
    revisit = aggregate.revisit_layer(data.prep, mask, include_absent=include_absent)
    return walklist.walk_list(revisit, addresses.site_addresses(settings.store_url(), data.prep, site))


@dash.callback(
    Output("terrain-kpis", "children"),
    Output("terrain-progress", "figure"),
    Output("terrain-qpv-table", "data"),
    Output("terrain-revisit-table", "data"),
    Output("terrain-qpv-layer", "data"),
    Output("terrain-demo", "hidden"),
    Output("terrain-map", "viewport"),
    Input("terrain-site", "value"),
    Input("terrain-campaigns", "value"),
    Input("terrain-dates", "start_date"),
    Input("terrain-dates", "end_date"),
    Input("terrain-absent", "value"),
    Input("terrain-version", "data"),
)
@callback_cache.cached_callback(doors=True, scoped=True)  # a site's door figures, per role's scope
def site_summary(site: str | None, campaigns: list[str] | None, start: str | None, end: str | None,
                 absent: list[str] | None, _version: Any = None) -> tuple[Any, ...]:
    """Figures that follow the filters but not the map: key figures, progress, QPV table, walk list."""
    lang = i18n.current_lang()
    data = current_data()
    site = _check_site(site, data)
    if site is None:
        return [], progress.empty_progress_figure(lang), [], [], None, True, no_update
    mask = _filters(data, site, campaigns, start, end)
    site_mask = aggregate.select(data.prep, sites=[site])
    qpv_frame = aggregate.aggregate_qpv(data.prep, mask, qpv=data.qpv,
                                        include=site_qpv_codes(data, site, site_mask))
    revisit = aggregate.revisit_layer(data.prep, mask, include_absent=bool(absent))
    walk = walklist.walk_list(revisit, addresses.site_addresses(settings.store_url(), data.prep, site))
    summary = aggregate.summarise(data.prep, mask)
    periods = aggregate.aggregate_periods(data.prep, mask)
    viewport: Any = no_update
    if ctx.triggered_id in (None, "terrain-site"):
        bounds = site_bounds(data, site_mask)
        viewport = {"bounds": bounds, "transition": "flyToBounds"} if bounds else no_update
    return (coverage_tables.kpis(summary, revisit, lang=lang), progress.progress_figure(periods, lang=lang),
            coverage_tables.qpv_rows(qpv_frame, lang=lang), walklist.walk_rows(walk, lang=lang),
            coverage_map.qpv_features(data.qpv, qpv_frame), not summary["demo"], viewport)


@dash.callback(
    Output("terrain-cells", "data"),
    Output("terrain-cells", "hideout"),
    Output("terrain-doors", "data"),
    Output("terrain-doors", "hideout"),
    Output("terrain-revisit-layer", "data"),
    Output("terrain-legend", "children"),
    Input("terrain-site", "value"),
    Input("terrain-campaigns", "value"),
    Input("terrain-dates", "start_date"),
    Input("terrain-dates", "end_date"),
    Input("terrain-outcomes", "value"),
    Input("terrain-absent", "value"),
    Input("terrain-map", "bounds"),
    Input("terrain-map", "zoom"),
    Input("terrain-version", "data"),
)
@callback_cache.cached_callback(doors=True, scoped=True)  # a site's door figures, per role's scope
def map_view(site: str | None, campaigns: list[str] | None, start: str | None, end: str | None,
             outcomes: list[str] | None, absent: list[str] | None, bounds: Any, zoom: float | None,
             _version: Any = None) -> tuple[Any, ...]:
    """The layers of the visible area: H3 cells (heat), door points from zoom 16, buildings to revisit."""
    lang = i18n.current_lang()
    data = current_data()
    site = _check_site(site, data)
    empty = coverage_map.EMPTY_COLLECTION
    zoom = float(zoom) if zoom is not None else 14.0
    doors_hideout = coverage_map.door_hideout(lang=lang, zoom=zoom)
    if site is None:
        return empty, coverage_map.empty_heat_hideout(), empty, doors_hideout, empty, None
    start, end = _dates(start, end)
    bbox = _bbox(bounds)
    if bbox is None:
        site_box = site_bounds(data, aggregate.select(data.prep, sites=[site]))
        bbox = (site_box[0][1], site_box[0][0], site_box[1][1], site_box[1][0]) if site_box else (-180, -90, 180, 90)
    view = aggregate.viewport(data.prep, bbox=bbox, zoom=zoom, sites=[site], campaigns=campaigns or None,
                              start=start, end=end, include_absent=bool(absent))
    chosen = [o for o in (outcomes or []) if o in schema.OUTCOMES]
    cells = view.cells.copy()
    cells["count"] = cells[chosen].sum(axis=1) if chosen else cells["visits"]
    cells = cells[cells["count"] > 0]
    cells["value"] = coverage_map.cell_density(cells, "count")
    limits = coverage_map.site_heat_limits(data.prep, site=site, campaigns=campaigns, outcomes=chosen)
    hideout = coverage_map.heat_hideout(limits, lang=lang,
                                        title=coverage_map.heat_title(chosen, lang=lang))
    cells_geo = aggregate.cells_geojson(cells, properties=("value", "visits", "ouvert", "open_rate",
                                                            "households_reached"))
    known = addresses.site_addresses(settings.store_url(), data.prep, site)
    doors = empty
    if view.buildings is not None:
        points = view.buildings
        if chosen:
            points = points[points[chosen].sum(axis=1) > 0]
        points = addresses.with_addresses(points, known, revisit=view.revisit)
        doors = aggregate.points_geojson(points, properties=(
            "building", "address", "visits", "ouvert", "open_rate", "households_reached", "doors_knocked",
            "to_revisit", "last_visit", "last_outcome"))
    rings = addresses.with_addresses(view.revisit.head(2000), known)
    revisit = aggregate.points_geojson(rings, properties=("building", "address", "doors_to_revisit", "last_visit",
                                                          "doors"))
    return (cells_geo, hideout, doors, doors_hideout, revisit,
            coverage_map.legend(hideout, lang=lang, resolution=view.resolution, demo=bool(view.summary["demo"])))


@dash.callback(
    Output("terrain-walk-download", "data"),
    Input("terrain-walk-csv", "n_clicks"),
    Input("terrain-walk-pdf", "n_clicks"),
    State("terrain-site", "value"),
    State("terrain-campaigns", "value"),
    State("terrain-dates", "start_date"),
    State("terrain-dates", "end_date"),
    State("terrain-absent", "value"),
    prevent_initial_call=True,
)
def walk_download(n_csv: int | None, n_pdf: int | None, site: str | None, campaigns: list[str] | None,
                  start: str | None, end: str | None, absent: list[str] | None) -> Any:
    """The walk list of the filters, as French CSV or as a PDF of one page per building."""
    lang = i18n.current_lang()
    data = current_data()
    site = _check_site(site, data)
    if site is None or not (n_csv or n_pdf):
        return no_update
    walk = site_walk(data, site, _filters(data, site, campaigns, start, end), include_absent=bool(absent))
    stem = f"tournee_{site}"
    if ctx.triggered_id == "terrain-walk-pdf":
        heading = t("walk.heading", lang, site=data.names.get(site, site),
                    campaigns=", ".join(campaigns) if campaigns else t("terrain.campaigns_all", lang))
        return dcc.send_bytes(walklist.walk_pdf(walk, lang=lang, heading=heading), stem + ".pdf")
    return dcc.send_bytes(walklist.walk_csv(walk, lang=lang), stem + ".csv")


@dash.callback(
    Output("terrain-geocode-task", "data"),
    Output("terrain-geocode-poll", "disabled"),
    Output("terrain-geocode-status", "children"),
    Input("terrain-geocode", "n_clicks"),
    Input("terrain-geocode-poll", "n_intervals"),
    State("terrain-geocode-task", "data"),
    prevent_initial_call=True,
)
def geocode(n: int | None, _tick: int | None, task: str | None) -> tuple[Any, bool, Any]:
    """Queue the geocoding of the user's pending visits, then follow the job (read from the queue)."""
    scope = site_scope()
    if ctx.triggered_id == "terrain-geocode" and n:
        task = geocoding.start(settings.store_url(), sites=scope)
    return geocoding.follow(settings.store_url(), task, sites=scope, lang=i18n.current_lang())


@dash.callback(
    Output("terrain-template-download", "data"),
    Input("terrain-template-csv", "n_clicks"),
    Input("terrain-template-xlsx", "n_clicks"),
    prevent_initial_call=True,
)
def template_download(n_csv: int | None, n_xlsx: int | None) -> Any:
    """The blank template, as CSV or XLSX."""
    from geo.coverage.template import template_csv, template_xlsx

    if ctx.triggered_id == "terrain-template-xlsx" and n_xlsx:
        return dcc.send_bytes(template_xlsx(), "modele_visites.xlsx")
    if ctx.triggered_id == "terrain-template-csv" and n_csv:
        return dcc.send_bytes(template_csv(), "modele_visites.csv")
    return no_update


@dash.callback(
    Output("terrain-upload-job", "data"),
    Output("terrain-upload-error", "children"),
    Input("terrain-upload", "contents"),
    State("terrain-upload", "filename"),
    prevent_initial_call=True,
)
def upload(contents: str | None, filename: str | None) -> tuple[Any, Any]:
    """Keep an uploaded visit file (under its hash) and queue its import; returns at once with the job's id,
    which :func:`upload_progress` follows. Rows of other sites than the user's are rejected by the import."""
    if not contents or "," not in contents:
        return no_update, no_update
    try:
        job = jobs.start_import(settings.store_url(), contents, filename, scope=site_scope())
    except ValueError:
        lang = i18n.current_lang()
        return None, html.Div(t("terrain.upload_refused", lang, e=t("terrain.upload_unreadable", lang)),
                              className="error", role="alert")
    return job.id, None


@dash.callback(
    Output("terrain-upload-result", "children"),
    Output("terrain-report", "data"),
    Output("terrain-report-button", "hidden"),
    Output("terrain-upload-poll", "disabled"),
    Input("terrain-upload-job", "data"),
    Input("terrain-upload-poll", "n_intervals"),
    State("terrain-upload", "filename"),
    prevent_initial_call=True,
)
def upload_progress(job_id: str | None, _tick: int | None, filename: str | None) -> tuple[Any, Any, bool, bool]:
    """The progress of the upload's import job, then its report (polled; any server process may answer)."""
    if not job_id:
        return None, None, True, True
    return jobs.follow_import(settings.store_url(), job_id, scope=site_scope(), lang=i18n.current_lang(),
                              filename=_display_name(filename))


def _display_name(filename: str | None) -> str:
    """The uploaded name as the browser gave it, for this user's own page only (never stored nor logged)."""
    return (filename or "visites.csv").replace("/", "_").replace("\\", "_")[-120:]


@dash.callback(
    Output("terrain-report-download", "data"),
    Input("terrain-report-button", "n_clicks"),
    State("terrain-report", "data"),
    prevent_initial_call=True,
)
def report_download(n: int | None, report: dict[str, str] | None) -> Any:
    """The report of the rejected rows of the last upload (CSV, UTF-8 with BOM for spreadsheets)."""
    if not n or not report:
        return no_update
    return dcc.send_bytes(("\ufeff" + report["csv"]).encode("utf-8"), report["name"])


dash.clientside_callback(
    """
    function(nOpen, nClose) {
        const trig = window.dash_clientside.callback_context.triggered_id;
        const open = trig === 'terrain-drawer-open';
        return [open ? 'terrain-side open' : 'terrain-side', open ? 'true' : 'false'];
    }
    """,
    Output("terrain-side", "className"),
    Output("terrain-drawer-open", "aria-expanded"),
    Input("terrain-drawer-open", "n_clicks"),
    Input("terrain-drawer-close", "n_clicks"),
    prevent_initial_call=True,
)
