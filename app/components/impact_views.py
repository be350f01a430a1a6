"""Views of the page Impact drawn from the protected report: map layers, legend, quarterly trend, tables.

Everything here reads :class:`geo.export.report.ImpactReport` only (official QPV polygons, commune
centroids, protected figures); a secret figure shows as « non disponible (secret statistique) ».
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import numpy as np
import pandas as pd
from dash import dash_table, html

from app.components.legends import legend_row
from geo.coverage import themes
from geo.export import bundle, html_map
from geo.export import report as rpt
from geo.i18n import colon, format_number, format_percent, t


def legend_children(lang: str) -> list[Any]:
    """Children of the map legend: share classes of households met, sites, attribution."""
    rows = [legend_row(c, label) for c, label in html_map.share_legend(lang)]
    rows.append(legend_row(html_map.SITE_COLOUR, html_map.TEXT[lang]["site"], swatch_style={"borderRadius": "50%"}))
    return [html.Div(html_map.TEXT[lang]["coverage"], className="legend-title"), *rows,
            html.Div(html_map.ATTRIBUTION[lang], className="legend-source")]


def map_layers(report: rpt.ImpactReport, region: str | None, *, lang: str) -> list[Any]:
    """QPV polygons coloured by the share of households met (one layer per colour) and site circles
    sized by households met, for ``region`` (None: France)."""
    tx = html_map.TEXT[lang]
    layers: list[Any] = []
    qpv = report.qpv_frame(region, lang=lang)
    if len(qpv) and "geometry" in qpv.columns:
        frame = qpv[["code_qp", "lib_qp", "households", "coverage_rate", "secret", "geometry"]].copy()
        frame["geometry"] = frame.geometry.simplify(0.0002, preserve_topology=True)
        frame["colour"] = [html_map.share_colour(v) for v in frame["coverage_rate"].astype("Float64")]
        frame["tooltip"] = [
            f"<b>{_esc(n)}</b> ({c})<br>{colon(tx['households'], lang)} {count_text(h, lang)}<br>"
            f"{colon(tx['coverage'], lang)} {share_text(r, lang)}"
            for n, c, h, r in zip(frame["lib_qp"], frame["code_qp"], frame["households"], frame["coverage_rate"],
                                  strict=True)]
        for colour, group in frame.groupby("colour", sort=False):
            collection = group[["code_qp", "tooltip", "geometry"]].__geo_interface__
            layers.append(dl.GeoJSON(data=collection, id=f"impact-qpv-{colour.lstrip('#')}",
                                     style={"color": "#333", "weight": 1, "fillColor": colour, "fillOpacity": 0.85,
                                            "dashArray": "4 3" if colour == html_map.SECRET_COLOUR else None}))
    sites = report.sites_frame(region)
    if len(sites):
        met = sites["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
        top = max(met.max(), 1.0)
        for row, value in zip(sites.itertuples(), met, strict=True):
            radius = 6.0 if row.secret else 6.0 + 14.0 * float(np.sqrt(value / top))
            text = (f"{row.site_name} — {colon(tx['households'], lang)} {count_text(row.households, lang)}, "
                    f"{colon(tx['doors'], lang)} {count_text(row.doors_opened, lang)}")
            layers.append(dl.CircleMarker(center=[row.geometry.y, row.geometry.x], radius=radius,
                                          color="#333", weight=1, fillOpacity=0.45,
                                          fillColor=html_map.SECRET_COLOUR if row.secret else html_map.SITE_COLOUR,
                                          children=dl.Tooltip(text)))
    return layers


def count_text(value: Any, lang: str) -> str:
    """A count, the secrecy note when missing (``None``, NaN or ``pd.NA``)."""
    return format_number(None if pd.isna(value) else value, lang)


def share_text(value: Any, lang: str) -> str:
    """A share (0-1) as a percentage with one decimal, the secrecy note when missing.

    The report keeps shares to 4 decimals (0.0555); the percentage is rounded as a binary float first
    (5.5, as before) so that Babel's decimal rounding does not round that rounding up again (5.6)."""
    return format_percent(None if pd.isna(value) else round(100 * float(value), 1), lang, decimals=1)


def _esc(text: Any) -> str:
    import html as _html

    return _html.escape(str(text))


#: Message ids of the key figures: (label, one-line definition).
KPI_MESSAGES: dict[str, tuple[str, str]] = {
    "households": ("impact.kpi.households", "impact.def.households"),
    "doors": ("impact.kpi.doors", "impact.def.doors"),
    "qpv": ("impact.kpi.qpv", "impact.def.qpv"),
    "reach": ("impact.kpi.reach", "impact.def.reach"),
    "own_share": ("impact.kpi.own_share", "impact.def.own_share"),
}
#: Plotly number separators per language: decimal mark then thousands separator.
SEPARATORS = {"fr": ",\u202f", "en": ".,"}


def trend_figure(trend: pd.DataFrame, *, lang: str) -> dict[str, Any]:
    """Households met per published time bin (bars) and their cumulative (line), which ends at the headline.

    ``trend`` is :attr:`app.components.impact_summary.Summary.trend`: every bin is published (no blank
    bar); numbers and axes follow the language (``14 346`` in French, ``14,346`` in English)."""
    labels = trend["label"].astype(str).tolist()
    bars = [int(v) for v in trend["households"]]
    cumulative = [int(v) for v in trend["cumulative"]]
    per, cum = t("impact.chart.per_period", lang), t("impact.cumulative", lang)
    return {
        "data": [
            {"type": "bar", "x": labels, "y": bars, "name": per, "marker": {"color": html_map.SHARE_COLOURS[2]},
             "hovertemplate": f"%{{x}}<br>{colon(per, lang)} %{{y:,d}}<extra></extra>"},
            {"type": "scatter", "mode": "lines+markers", "x": labels, "y": cumulative, "name": cum, "yaxis": "y2",
             "line": {"color": html_map.SITE_COLOUR}, "hovertemplate": f"%{{x}}<br>{colon(cum, lang)} %{{y:,d}}"
             "<extra></extra>"},
        ],
        # legend above the plot and margins that grow with the labels: on a phone the period labels turn
        # and would otherwise run under the legend
        "layout": {"separators": SEPARATORS.get(lang, SEPARATORS["fr"]),
                   "margin": {"l": 50, "r": 50, "t": 30, "b": 10},
                   "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
                   "xaxis": {"type": "category", "automargin": True},
                   "yaxis": {"title": {"text": per}, "rangemode": "tozero", "tickformat": ",d", "automargin": True},
                   "yaxis2": {"title": {"text": cum}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                              "tickformat": ",d", "showgrid": False, "automargin": True, "nticks": 6,
                              "tickmode": "auto"}},
    }


def kpi_cards(summary: Any, *, lang: str) -> list[Any]:
    """Key figures, each with its one-line definition (doors opened only where the source has them: a
    release made before doors were published has none; a manager's share is their own coverage, not the
    national reach)."""
    share = share_text(summary.reach_share, lang) if summary.reach_share is not None else "–"
    if summary.source == "release" and summary.version is None:  # nothing published yet: no figure, no secret
        return [_kpi(key, "–", lang) for key in ("households", "qpv", "reach")]
    no_doors = summary.source == "release" and summary.doors_opened is None
    items = [("households", count_text(summary.households, lang)),
             ("doors", None if no_doors else count_text(summary.doors_opened, lang)),
             ("qpv", count_text(summary.qpv_active, lang)),
             ("own_share" if summary.source == "own" else "reach", share)]
    return [_kpi(key, value, lang) for key, value in items if value is not None]


def _kpi(key: str, value: str, lang: str) -> Any:
    return html.Div([html.Div(value, className="kpi-value"),
                     html.Div(t(KPI_MESSAGES[key][0], lang), className="kpi-label"),
                     html.Div(t(KPI_MESSAGES[key][1], lang), className="kpi-def")],
                    id=f"impact-kpi-{key}", className="kpi impact-kpi")


def region_cards(summary: Any, *, lang: str) -> list[Any]:
    """One small card per région: households met, QPV, share within reach."""
    cards = []
    for row in summary.regions.itertuples(index=False):
        lines = [html.Div(row.region_name, className="region-card-title"),
                 html.Div(t("impact.card.households", lang, n=count_text(row.households, lang))),
                 html.Div(t("impact.card.qpv", lang, n=count_text(row.qpv_active, lang)))]
        if row.reach_share is not None and not pd.isna(row.reach_share):
            msgid = "impact.card.own_share" if summary.source == "own" else "impact.card.reach"
            lines.append(html.Div(t(msgid, lang, share=share_text(row.reach_share, lang))))
        cards.append(html.Div(lines, className="region-card", id=f"impact-region-card-{row.region}"))
    return cards


def sites_list(summary: Any, *, lang: str) -> Any:
    """A short table of the sites: name and households met, largest first."""
    frame = summary.sites.copy()
    if frame.empty:
        return html.P("–")
    frame["order"] = frame["households"].astype("Float64").fillna(-1)
    frame = frame.sort_values("order", ascending=False)
    head = html.Tr([html.Th(t("impact.col.site", lang)), html.Th(t("impact.kpi.households", lang))])
    rows = [html.Tr([html.Td(r.site_name), html.Td(count_text(r.households, lang), className="num")])
            for r in frame.itertuples(index=False)]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="impact-short-table",
                      id="impact-sites-short")


def themes_block(shares: pd.DataFrame, *, kind: str, lang: str) -> Any:
    """Shares of households met per topic or language (:func:`geo.coverage.themes.theme_shares`), each
    value named in ``lang`` (:func:`geo.coverage.themes.value_label`)."""
    if shares.empty:
        return html.P(t("impact.themes.none", lang), className="impact-note")
    rows = []
    for row in shares.itertuples(index=False):
        rows.append(html.Div([
            html.Span(themes.value_label(str(row.value), kind=kind, lang=lang), className="theme-name"),
            html.Span(html.Span(style={"width": f"{min(int(row.share_points), 100)}%"}), className="theme-bar"),
            html.Span(format_percent(int(row.share_points), lang, decimals=0), className="theme-share"),
        ], className="theme-row"))
    return html.Div(rows, id=f"impact-themes-{kind}")


def release_layers(summary: Any, qpv: pd.DataFrame, *, lang: str) -> list[Any]:
    """Map layers of a release: published QPV (circles sized by households met) and sites."""
    tx = html_map.TEXT[lang]
    layers: list[Any] = []
    top = float(qpv["households"].astype(float).max()) if len(qpv) else 1.0
    for row in qpv.dropna(subset=["lon", "lat"]).itertuples(index=False):
        radius = 4.0 + 12.0 * float(np.sqrt(float(row.households) / max(top, 1.0)))
        layers.append(dl.CircleMarker(center=[row.lat, row.lon], radius=radius, color="#333", weight=1,
                                      fillColor=html_map.SHARE_COLOURS[2], fillOpacity=0.7,
                                      children=dl.Tooltip(f"{row.lib_qp} — {colon(tx['households'], lang)} "
                                                          f"{count_text(row.households, lang)}")))
    for row in summary.sites.dropna(subset=["lon", "lat"]).itertuples(index=False):
        layers.append(dl.CircleMarker(center=[row.lat, row.lon], radius=5, color="#333", weight=1,
                                      fillColor=html_map.SITE_COLOUR, fillOpacity=0.9,
                                      children=dl.Tooltip(f"{row.site_name} — {colon(tx['households'], lang)} "
                                                          f"{count_text(row.households, lang)}")))
    return layers


def report_table(report: rpt.ImpactReport, name: str, *, region: str | None, lang: str, table_id: str) -> Any:
    """The protected table ``name`` (:func:`geo.export.bundle.impact_table`) as a DataTable."""
    return frame_table(bundle.impact_table(report, name, region=region, lang=lang), lang=lang, table_id=table_id)


def frame_table(frame: pd.DataFrame, *, lang: str, table_id: str) -> Any:
    """A labelled table as a DataTable of formatted figures, or a dash when it is empty."""
    if frame.empty:
        return html.P("–")
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[col]) and not pd.api.types.is_bool_dtype(shown[col]):
            if shown[col].dropna().between(0, 1).all() and any(k in col for k in ("Taux", "Part", "rate", "Share")):
                shown[col] = [share_text(v, lang) for v in shown[col]]
            else:
                shown[col] = [count_text(v, lang) for v in shown[col]]
    shown = shown.astype(object).where(shown.notna(), "")
    shown = shown.map(lambda v: v if isinstance(v, str | int | float) else str(v))
    return dash_table.DataTable(id=table_id, data=shown.to_dict("records"),
                                columns=[{"id": c, "name": c} for c in shown.columns], sort_action="native",
                                page_size=10, style_table={"overflowX": "auto"},
                                style_cell={"textAlign": "left", "fontSize": "0.85rem"},
                                style_header={"fontWeight": "600"})


def release_legend(lang: str) -> list[Any]:
    """Legend of the release map: published QPV and sites."""
    return [html.Div(t("impact.legend.title", lang), className="legend-title"),
            legend_row(html_map.SHARE_COLOURS[2], t("impact.legend.qpv", lang), swatch_style={"borderRadius": "50%"}),
            legend_row(html_map.SITE_COLOUR, html_map.TEXT[lang]["site"], swatch_style={"borderRadius": "50%"}),
            html.Div(html_map.ATTRIBUTION[lang], className="legend-source")]
