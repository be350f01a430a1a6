"""Page « Impact » (``/impact``): where the association works and what it achieves, for funders.

Everything shown comes from :class:`geo.export.report.ImpactReport`, protected by statistical secrecy
(:mod:`geo.privacy`: no cell of fewer than 11 households, complementary cells hidden so that nothing
can be recovered by subtraction). The page never reads a door, a building or a visit position: the map
draws official QPV polygons and commune centroids. The only filter is the région (a fixed partition of
the protected table); there is no free date range on purpose.

Downloads (``/download/impact-…``): tables as CSV / XLSX, the map as offline HTML, PNG or GeoJSON.
"""

from __future__ import annotations

import logging
from typing import Any

import dash
import dash_leaflet as dl
import numpy as np
import pandas as pd
from dash import Input, Output, dash_table, dcc, html

from app import auth, data, i18n, settings
from app.components.figures import kpi_card
from app.components.legends import legend_row
from geo import privacy
from geo.auth.policy import AGGREGATE
from geo.export import bundle, html_map, tables
from geo.export import report as rpt
from geo.i18n import format_number, format_percent, t

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/impact", name="Impact", title="voisinmap · Impact", nav_key="nav.impact",
                   order=30, roles=None, access_level=AGGREGATE)

TABLE_LABELS = {"regions": "impact.regions", "quarters": "impact.trend", "sites": "impact.sites", "qpv": "impact.qpv"}
DOWNLOAD_PATTERN = r"impact-(regions|quarters|sites|qpv|tableaux|carte)\.(csv|xlsx|geojson|html|png)"

# ------------------------------------------------------------------------------------------ data
def report_scope() -> tuple[str, ...] | None:
    """Sites whose visits the report of this request covers: ``None`` (all) for every role but
    ``manager``, the manager's own sites for a manager.

    A manager knows their own sites' figures exactly (Terrain, by quarter too). With other sites in the
    same report, a total minus their own figures would give away a hidden cell of another site (région
    households − own site = a secret neighbour). So a manager's Impact covers their own sites only."""
    principal = auth.current_principal()
    if principal is not None and principal.role == "manager":
        return tuple(sorted(str(code) for code in principal.sites))
    return None


def current_report() -> rpt.ImpactReport:
    """The protected report of the store for this request's :func:`report_scope` (:func:`app.data.current_report`)."""
    return data.current_report(scope=report_scope())


def _regions_outline() -> dict | None:
    try:
        from geo.load import load_regions

        reg = load_regions(data_dir=settings.data_dir())[["code", "nom", "geometry"]].copy()
        reg["geometry"] = reg.geometry.simplify(0.01, preserve_topology=True)
        return reg.__geo_interface__
    except Exception:  # noqa: BLE001
        return None


# ---------------------------------------------------------------------------------------- layout
#: Inline styles of the key-figure cards of this page.
KPI_STYLE = {"background": "#fff", "border": "1px solid #d9dde4", "borderRadius": "6px", "padding": "0.6rem 0.9rem",
             "minWidth": "180px"}
KPI_VALUE_STYLE = {"fontSize": "1.6rem", "fontWeight": 700}
KPI_LABEL_STYLE = {"color": "#5b6475", "fontSize": "0.85rem"}


def _kpi(value: str, label: str, kid: str) -> html.Div:
    return kpi_card(value, label, card_id=kid, style=KPI_STYLE, value_style=KPI_VALUE_STYLE,
                    label_style=KPI_LABEL_STYLE)


def layout(**_kwargs: Any) -> html.Div:
    """The page: région filter, headline figures, map, quarterly trend, tables, downloads."""
    lang = i18n.current_lang()
    try:
        report = current_report()
    except Exception:  # noqa: BLE001 - data not built, store unreachable...
        logger.exception("impact report unavailable")
        return html.Div([html.H1(t("impact.title", lang)), html.P(t("error.data_missing", lang), className="notice")],
                        className="page-padded page-impact")
    options = [{"label": t("impact.france", lang), "value": "*"}]
    for code in privacy.view(report.cube, (1, 0))["region"]:
        options.append({"label": report.regions.get(code, code), "value": code})
    header = [html.H1(t("impact.title", lang)), html.P(t("impact.intro", lang))]
    if report.demo:
        header.append(html.P(t("impact.demo", lang), className="notice", id="impact-demo"))
    if report.empty:
        header.append(html.P(t("impact.empty", lang), className="notice", id="impact-empty"))
    return html.Div([
        *header,
        html.Div([html.Label(t("impact.region", lang), htmlFor="impact-region", className="control-label"),
                  dcc.Dropdown(id="impact-region", options=options, value="*", clearable=False,
                               style={"maxWidth": "360px"})]),
        html.Div(id="impact-kpis", style={"display": "flex", "gap": "0.8rem", "flexWrap": "wrap", "margin": "1rem 0"}),
        html.Div([
            dl.Map(id="impact-map", center=[46.6, 2.4], zoom=5, attributionControl=True, preferCanvas=False,
                   bounds=_bounds(report, None), style={"width": "100%", "height": "100%"},
                   children=_base_layers(lang)),
            html.Div(_legend(lang), className="legend", id="impact-legend"),
        ], className="map-wrap", style={"height": "56vh", "position": "relative"}),
        html.P(privacy.NOTE[lang], className="impact-secret-note", style={"fontSize": "0.85rem", "color": "#5b6475"}),
        html.H2(t("impact.trend", lang)),
        dcc.Graph(id="impact-trend", config={"displaylogo": False, "responsive": True}, style={"height": "320px"}),
        html.H2(t("impact.regions", lang)), html.Div(id="impact-regions-table"),
        html.H2(t("impact.sites", lang)), html.Div(id="impact-sites-table"),
        html.H2(t("impact.qpv", lang)), html.Div(id="impact-qpv-table"),
        html.H2(t("impact.downloads", lang)), html.Ul(id="impact-downloads"),
    ], className="page-padded page-impact")


def _base_layers(lang: str) -> list[Any]:
    layers: list[Any] = []
    tiles = settings.tiles(default_url=None, default_attribution="")
    if tiles:
        layers.append(dl.TileLayer(url=tiles.url, attribution=tiles.attribution))
    outline = _regions_outline()
    if outline is not None:
        layers.append(dl.GeoJSON(id="impact-outlines", data=outline,
                                 style={"color": html_map.OUTLINE_COLOUR, "weight": 1, "fillColor": "#f7f7f7",
                                        "fillOpacity": 0.7}))
    layers.append(dl.LayerGroup(id="impact-layers"))
    return layers


def _legend(lang: str) -> list[Any]:
    rows = [legend_row(c, label) for c, label in html_map.share_legend(lang)]
    rows.append(legend_row(html_map.SITE_COLOUR, html_map.TEXT[lang]["site"], swatch_style={"borderRadius": "50%"}))
    return [html.Div(html_map.TEXT[lang]["coverage"], className="legend-title"), *rows,
            html.Div(html_map.ATTRIBUTION[lang], className="legend-source")]


# ------------------------------------------------------------------------------------ callbacks
def _region(value: str | None, report: rpt.ImpactReport) -> str | None:
    if not value or value == "*":
        return None
    known = set(privacy.view(report.cube, (1, 0))["region"])
    return value if value in known else None


def _kpis(report: rpt.ImpactReport, region: str | None, lang: str) -> list[Any]:
    if region:
        row = report.regions_table().set_index("region").loc[region]
        figures = {m: (None if row["secret"] else row[m]) for m in rpt.MEASURES}
        qpv, reach = report.qpv_count(region), row["reach_share"]
    else:
        nat = report.national()
        figures = {m: nat[m] for m in rpt.MEASURES}
        qpv, reach = nat["qpv_active"], nat["reach_share"]
    cards = [
        _kpi(_count(figures["households"], lang), t("impact.kpi.households", lang), "impact-kpi-households"),
        _kpi(_count(figures["doors_opened"], lang), t("impact.kpi.doors", lang), "impact-kpi-doors"),
        _kpi(_count(figures["visits"], lang), t("impact.kpi.visits", lang), "impact-kpi-visits"),
        _kpi(_count(qpv, lang), t("impact.kpi.qpv", lang), "impact-kpi-qpv"),
        _kpi(_share(reach, lang) if reach is not None else "–", t("impact.kpi.reach", lang),
             "impact-kpi-reach"),
    ]
    if report.period:
        cards.append(html.Div(t("impact.period", lang, start=report.period[0], end=report.period[1]),
                              style={"alignSelf": "center", "color": "#5b6475"}))
    return cards


def _map_layers(report: rpt.ImpactReport, region: str | None, lang: str) -> list[Any]:
    tx = html_map.TEXT[lang]
    layers: list[Any] = []
    qpv = report.qpv_frame(region, lang=lang)
    if len(qpv) and "geometry" in qpv.columns:
        frame = qpv[["code_qp", "lib_qp", "households", "coverage_rate", "secret", "geometry"]].copy()
        frame["geometry"] = frame.geometry.simplify(0.0002, preserve_topology=True)
        frame["colour"] = [html_map.share_colour(v) for v in frame["coverage_rate"].astype("Float64")]
        frame["tooltip"] = [
            f"<b>{_esc(n)}</b> ({c})<br>{tx['households']} : {_count(h, lang)}<br>"
            f"{tx['coverage']} : {_share(r, lang)}"
            for n, c, h, r in zip(frame["lib_qp"], frame["code_qp"], frame["households"], frame["coverage_rate"],
                                  strict=True)]
        for colour, group in frame.groupby("colour", sort=False):
            data = group[["code_qp", "tooltip", "geometry"]].__geo_interface__
            layers.append(dl.GeoJSON(data=data, id=f"impact-qpv-{colour.lstrip('#')}",
                                     style={"color": "#333", "weight": 1, "fillColor": colour, "fillOpacity": 0.85,
                                            "dashArray": "4 3" if colour == html_map.SECRET_COLOUR else None}))
    sites = report.sites_frame(region)
    if len(sites):
        met = sites["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
        top = max(met.max(), 1.0)
        for row, value in zip(sites.itertuples(), met, strict=True):
            radius = 6.0 if row.secret else 6.0 + 14.0 * float(np.sqrt(value / top))
            text = (f"{row.site_name} — {tx['households']} : {_count(row.households, lang)}, "
                    f"{tx['doors']} : {_count(row.doors_opened, lang)}")
            layers.append(dl.CircleMarker(center=[row.geometry.y, row.geometry.x], radius=radius,
                                          color="#333", weight=1, fillOpacity=0.45,
                                          fillColor=html_map.SECRET_COLOUR if row.secret else html_map.SITE_COLOUR,
                                          children=dl.Tooltip(text)))
    return layers


def _count(value: Any, lang: str) -> str:
    """A count, the secrecy note when missing (``None``, NaN or ``pd.NA``)."""
    return format_number(None if pd.isna(value) else value, lang)


def _share(value: Any, lang: str) -> str:
    """A share (0-1) as a percentage with one decimal, the secrecy note when missing.

    The report keeps shares to 4 decimals (0.0555); the percentage is rounded as a binary float first
    (5.5, as before) so that Babel's decimal rounding does not round that rounding up again (5.6)."""
    return format_percent(None if pd.isna(value) else round(100 * float(value), 1), lang, decimals=1)


def _esc(text: Any) -> str:
    import html as _html

    return _html.escape(str(text))


def _bounds(report: rpt.ImpactReport, region: str | None) -> list[list[float]] | None:
    box = html_map._bounds(report.qpv_frame(region), report.sites_frame(region))
    if box is None:
        return None
    west, south, east, north = box
    return [[south, west], [north, east]]


def _trend(report: rpt.ImpactReport, region: str | None, lang: str) -> dict[str, Any]:
    frame = report.quarters_table(region)
    hh = frame["households"].astype("Float64")
    return {
        "data": [
            {"type": "bar", "x": frame["quarter"].tolist(), "y": [None if pd.isna(v) else int(v) for v in hh],
             "name": t("impact.kpi.households", lang), "marker": {"color": html_map.SHARE_COLOURS[2]}},
            {"type": "scatter", "mode": "lines+markers", "x": frame["quarter"].tolist(),
             "y": [None if pd.isna(v) else int(v) for v in frame["households_cumulative"].astype("Float64")],
             "name": t("impact.cumulative", lang), "yaxis": "y2", "line": {"color": html_map.SITE_COLOUR}},
        ],
        "layout": {"margin": {"l": 50, "r": 50, "t": 10, "b": 40}, "legend": {"orientation": "h"},
                   "yaxis": {"title": t("impact.kpi.households", lang), "rangemode": "tozero"},
                   "yaxis2": {"overlaying": "y", "side": "right", "rangemode": "tozero"},
                   "annotations": [] if not frame["secret"].any() else [
                       {"text": t("impact.secret_note", lang), "xref": "paper", "yref": "paper", "x": 0, "y": 1.05,
                        "showarrow": False}]},
    }


def _table(report: rpt.ImpactReport, name: str, region: str | None, lang: str, table_id: str) -> Any:
    frame = bundle.impact_table(report, name, region=region, lang=lang)
    if frame.empty:
        return html.P("–")
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[col]):
            if shown[col].dropna().between(0, 1).all() and any(k in col for k in ("Taux", "Part", "rate", "Share")):
                shown[col] = [_share(v, lang) for v in shown[col]]
            else:
                shown[col] = [_count(v, lang) for v in shown[col]]
    shown = shown.astype(object).where(shown.notna(), "")
    return dash_table.DataTable(id=table_id, data=shown.to_dict("records"),
                                columns=[{"id": c, "name": c} for c in shown.columns], sort_action="native",
                                page_size=15, style_table={"overflowX": "auto"},
                                style_cell={"textAlign": "left", "fontSize": "0.85rem"},
                                style_header={"fontWeight": "600"})


def _downloads(region: str | None, lang: str) -> list[Any]:
    query = f"?lang={lang}" + (f"&region={region}" if region else "")
    items = [("impact-tableaux.xlsx", t("impact.dl.xlsx", lang)),
             ("impact-regions.csv", t("impact.dl.csv", lang, name=t("impact.regions", lang).lower())),
             ("impact-sites.csv", t("impact.dl.csv", lang, name=t("impact.sites", lang).lower())),
             ("impact-qpv.csv", t("impact.dl.csv", lang, name=t("impact.qpv", lang).lower())),
             ("impact-quarters.csv", t("impact.dl.csv", lang, name=t("impact.trend", lang).lower())),
             ("impact-carte.html", t("impact.dl.html", lang)), ("impact-carte.png", t("impact.dl.png", lang)),
             ("impact-carte.geojson", t("impact.dl.geojson", lang))]
    return [html.Li(html.A(label, href=f"{auth.DOWNLOAD_PREFIX}{name}{query}", id=f"impact-dl-{name.replace('.', '-')}"))
            for name, label in items]


@dash.callback(
    Output("impact-kpis", "children"),
    Output("impact-layers", "children"),
    Output("impact-map", "viewport"),
    Output("impact-trend", "figure"),
    Output("impact-regions-table", "children"),
    Output("impact-sites-table", "children"),
    Output("impact-qpv-table", "children"),
    Output("impact-downloads", "children"),
    Input("impact-region", "value"),
)
def update(region_value: str | None) -> tuple[Any, ...]:
    """Everything of the page for one territory, from the protected report."""
    lang = i18n.current_lang()
    report = current_report()
    region = _region(region_value, report)
    return (
        _kpis(report, region, lang),
        _map_layers(report, region, lang),
        {"bounds": box, "transition": "flyToBounds"} if (box := _bounds(report, region)) else dash.no_update,
        _trend(report, region, lang),
        _table(report, "regions", None, lang, "impact-regions-datatable"),
        _table(report, "sites", region, lang, "impact-sites-datatable"),
        _table(report, "qpv", region, lang, "impact-qpv-datatable"),
        _downloads(region, lang),
    )


# ------------------------------------------------------------------------------------ downloads
def _produce(match: Any, args: dict[str, str]) -> tuple[bytes, str, str]:
    import flask

    name, fmt = match.group(1), match.group(2)
    lang = i18n.normalise_lang(args.get("lang"))
    report = current_report()
    region = _region(args.get("region"), report)
    if name == "carte" and fmt in ("csv", "xlsx"):
        flask.abort(404)
    if name != "carte" and fmt not in ("csv", "xlsx"):
        flask.abort(404)
    if name == "tableaux" and fmt == "csv":
        flask.abort(404)
    table = "all" if name in ("tableaux", "carte") else name
    payload = bundle.impact_bytes(report, fmt, table=table, region=region, lang=lang, data_dir=settings.data_dir())
    suffix = f"-{region}" if region else ""
    return payload, f"voisinmap-impact-{name}{suffix}.{fmt}", tables.MEDIA_TYPES[fmt]


auth.register_download("impact", DOWNLOAD_PATTERN, level=AGGREGATE, producer=_produce)
