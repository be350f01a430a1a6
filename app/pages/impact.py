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
from dash import Input, Output, dcc, html

from app import data, i18n, security, settings
from app.components import impact_views as views
from app.components.figures import kpi_card
from geo import privacy
from geo.auth.policy import AGGREGATE
from geo.export import bundle, html_map, tables
from geo.export import report as rpt
from geo.i18n import t

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
    principal = security.current_principal()
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
            html.Div(views.legend_children(lang), className="legend", id="impact-legend"),
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
        _kpi(views.count_text(figures["households"], lang), t("impact.kpi.households", lang), "impact-kpi-households"),
        _kpi(views.count_text(figures["doors_opened"], lang), t("impact.kpi.doors", lang), "impact-kpi-doors"),
        _kpi(views.count_text(figures["visits"], lang), t("impact.kpi.visits", lang), "impact-kpi-visits"),
        _kpi(views.count_text(qpv, lang), t("impact.kpi.qpv", lang), "impact-kpi-qpv"),
        _kpi(views.share_text(reach, lang) if reach is not None else "–", t("impact.kpi.reach", lang),
             "impact-kpi-reach"),
    ]
    if report.period:
        cards.append(html.Div(t("impact.period", lang, start=report.period[0], end=report.period[1]),
                              style={"alignSelf": "center", "color": "#5b6475"}))
    return cards


def _bounds(report: rpt.ImpactReport, region: str | None) -> list[list[float]] | None:
    box = html_map._bounds(report.qpv_frame(region), report.sites_frame(region))
    if box is None:
        return None
    west, south, east, north = box
    return [[south, west], [north, east]]


def _downloads(region: str | None, lang: str) -> list[Any]:
    query = f"?lang={lang}" + (f"&region={region}" if region else "")
    items = [("impact-tableaux.xlsx", t("impact.dl.xlsx", lang)),
             ("impact-regions.csv", t("impact.dl.csv", lang, name=t("impact.regions", lang).lower())),
             ("impact-sites.csv", t("impact.dl.csv", lang, name=t("impact.sites", lang).lower())),
             ("impact-qpv.csv", t("impact.dl.csv", lang, name=t("impact.qpv", lang).lower())),
             ("impact-quarters.csv", t("impact.dl.csv", lang, name=t("impact.trend", lang).lower())),
             ("impact-carte.html", t("impact.dl.html", lang)), ("impact-carte.png", t("impact.dl.png", lang)),
             ("impact-carte.geojson", t("impact.dl.geojson", lang))]
    return [html.Li(html.A(label, href=f"{security.DOWNLOAD_PREFIX}{name}{query}", id=f"impact-dl-{name.replace('.', '-')}"))
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
        views.map_layers(report, region, lang=lang),
        {"bounds": box, "transition": "flyToBounds"} if (box := _bounds(report, region)) else dash.no_update,
        views.trend_figure(report, region, lang=lang),
        views.report_table(report, "regions", region=None, lang=lang, table_id="impact-regions-datatable"),
        views.report_table(report, "sites", region=region, lang=lang, table_id="impact-sites-datatable"),
        views.report_table(report, "qpv", region=region, lang=lang, table_id="impact-qpv-datatable"),
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


security.register_download("impact", DOWNLOAD_PATTERN, level=AGGREGATE, producer=_produce)
