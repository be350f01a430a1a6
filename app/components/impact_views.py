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


def trend_figure(report: rpt.ImpactReport, region: str | None, *, lang: str) -> dict[str, Any]:
    """Households met for the first time per quarter (bars) and their cumulative total (line)."""
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


def report_table(report: rpt.ImpactReport, name: str, *, region: str | None, lang: str, table_id: str) -> Any:
    """The protected table ``name`` (:func:`geo.export.bundle.impact_table`) as a DataTable of formatted
    figures, or a dash when it is empty."""
    frame = bundle.impact_table(report, name, region=region, lang=lang)
    if frame.empty:
        return html.P("–")
    shown = frame.copy()
    for col in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[col]):
            if shown[col].dropna().between(0, 1).all() and any(k in col for k in ("Taux", "Part", "rate", "Share")):
                shown[col] = [share_text(v, lang) for v in shown[col]]
            else:
                shown[col] = [count_text(v, lang) for v in shown[col]]
    shown = shown.astype(object).where(shown.notna(), "")
    return dash_table.DataTable(id=table_id, data=shown.to_dict("records"),
                                columns=[{"id": c, "name": c} for c in shown.columns], sort_action="native",
                                page_size=15, style_table={"overflowX": "auto"},
                                style_cell={"textAlign": "left", "fontSize": "0.85rem"},
                                style_header={"fontWeight": "600"})
