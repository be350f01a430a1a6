"""Rendering of a recommendation on the Stratégie page: progress bar, ranked table, chart, map markers."""

from __future__ import annotations

import math
from typing import Any

import dash_leaflet as dl
import pandas as pd
import plotly.graph_objects as go
from dash import dash_table, html
from dash.dash_table.Format import Format, Scheme, Symbol

from app import i18n
from geo import siting
from geo.i18n import format_number, format_percent, t

TABLE_COLUMNS: tuple[str, ...] = (
    "rank", "name", "insee_code", "region", "added_population", "added_demand", "added_households", "added_qpv", "npnru_count",
    "poverty_rate", "cumulative_share", "nearest_site", "nearest_site_km", "reason",
)
CURRENT_COLOUR = "#0072b2"
RECOMMENDED_COLOUR = "#d55e00"


def table_columns(table: pd.DataFrame) -> list[str]:
    """The columns of :data:`TABLE_COLUMNS` that ``table`` has (``added_demand`` is absent from older tables)."""
    return [c for c in TABLE_COLUMNS if c in table.columns]


#: Display format (number of decimals, percentage or not) of the numeric columns of the ranked table.
NUMBER_FORMATS: dict[str, tuple[int, bool]] = {
    "rank": (0, False), "added_population": (0, False), "added_demand": (0, False), "added_households": (0, False),
    "added_qpv": (0, False), "npnru_count": (0, False), "poverty_rate": (1, True), "cumulative_share": (1, True),
    "nearest_site_km": (1, False),
}


def column_format(column: str, *, lang: str) -> Format:
    """DataTable format of a numeric column: grouped thousands, fixed decimals, `` %`` (French) or ``%``."""
    decimals, percent = NUMBER_FORMATS[column]
    fmt = Format(precision=decimals, scheme=Scheme.fixed).group(column != "rank")
    if percent:
        fmt = fmt.symbol(Symbol.yes).symbol_suffix("\u202f%" if lang == "fr" else "%")
    return fmt


def table_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the ranked table for the DataTable (numbers rounded, shares in %)."""
    out = table[table_columns(table)].copy()
    for c in ("added_population", "added_demand", "added_households"):
        if c in out:
            out[c] = out[c].round(0)
    out["poverty_rate"] = out["poverty_rate"].round(1)
    out["cumulative_share"] = (100 * out["cumulative_share"]).round(2)
    out["nearest_site_km"] = out["nearest_site_km"].round(1)
    from geo.export.tables import neutralise  # the browser-side CSV export must not carry formulas

    out = neutralise(out)
    return out.astype(object).where(out.notna(), None).to_dict("records")


def ranked_table(reco: siting.Recommendation, *, lang: str) -> dash_table.DataTable:
    """The sortable ranked table, with CSV export."""
    numeric = set(NUMBER_FORMATS)
    columns = []
    for c in table_columns(reco.table):
        col: dict[str, Any] = {"id": c, "name": t(f"col.{c}", lang)}
        if c in numeric:
            col["type"] = "numeric"
            col["format"] = column_format(c, lang=lang)
        columns.append(col)
    return dash_table.DataTable(
        id="strategie-table",
        data=table_records(reco.table),
        columns=columns,
        locale_format=i18n.table_locale(lang),
        sort_action="native",
        export_format="csv",
        export_headers="display",
        page_action="none",
        style_table={"overflowX": "auto", "maxHeight": "460px", "overflowY": "auto"},
        style_cell={"fontSize": "0.8rem", "padding": "3px 6px", "textAlign": "left", "whiteSpace": "normal",
                    "height": "auto", "minWidth": "48px",
                    "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        style_cell_conditional=[
            *({"if": {"column_id": c}, "textAlign": "right"} for c in numeric),
            {"if": {"column_id": "reason"}, "minWidth": "460px", "fontSize": "0.74rem"},
            {"if": {"column_id": "name"}, "minWidth": "120px", "fontWeight": "600"},
        ],
        style_header={"fontWeight": "600", "backgroundColor": "#f1f4f8", "whiteSpace": "normal"},
    )


def progress_scale(target: float, share: float) -> float:
    """Right end of the progress bar: 40 %, or the next multiple of 10 % above the goal and the share."""
    return max(0.4, math.ceil(max(target, share) * 1.05 * 10) / 10)


def progress_bar(reco: siting.Recommendation, *, lang: str) -> html.Div:
    """Progress toward the goal: the current network, then with the recommendation."""
    scale = progress_scale(reco.target, reco.share)
    base_w = 100 * reco.baseline_share / scale
    add_w = 100 * max(reco.share - reco.baseline_share, 0) / scale
    goal_x = 100 * reco.target / scale
    pct = lambda x: format_percent(100 * x, lang, decimals=1)  # noqa: E731
    if reco.target_sites is not None:
        target_text = t("res.target_sites", lang, share=pct(reco.target), n=reco.target_sites,
                        method=reco.target_method_label(lang=lang))
    else:
        target_text = t("res.target_unreachable", lang, share=pct(reco.target), note=reco.target_note)
    radius = reco.params.get("radius_km")
    ticks = [html.Div(format_percent(v, lang, decimals=0), className="progress-tick", style={"left": f"{100 * v / (100 * scale):.2f}%"})
             for v in range(0, round(100 * scale) + 1, 10)]
    return html.Div(
        [
            html.Div(t("res.progress_title", lang), className="progress-title"),
            html.Div(
                [
                    html.Div(className="progress-current", style={"width": f"{base_w:.2f}%"},
                             id="strategie-progress-current"),
                    html.Div(className="progress-added", style={"width": f"{add_w:.2f}%"},
                             id="strategie-progress-added"),
                    html.Div(className="progress-goal", style={"left": f"{goal_x:.2f}%"},
                             title=t("res.goal", lang, share=pct(reco.target))),
                    html.Div(t("res.goal", lang, share=pct(reco.target)), className="progress-goal-label",
                             style={"left": f"{goal_x:.2f}%"}),
                    *ticks,
                ],
                className="progress-track", role="progressbar",
                **{"aria-valuemin": "0", "aria-valuemax": f"{100 * scale:.0f}",
                   "aria-valuenow": f"{100 * reco.share:.1f}"},
            ),
            html.Div(
                [
                    html.Span([html.Span(className="key key-current"), t("res.current", lang, share=pct(reco.baseline_share))]),
                    html.Span([html.Span(className="key key-added"),
                               t("res.with_reco", lang, k=reco.k, share=pct(reco.share))], id="strategie-share-text"),
                ],
                className="progress-keys",
            ),
            html.P(target_text, className="progress-note", id="strategie-target-text"),
            html.P(t("res.denominator", lang, n=format_number(reco.denominator, lang),
                     q=format_number(reco.params.get("n_qpv", 0), lang),
                     scope=t(f"res.scope.{reco.params.get('scope', 'metro')}", lang),
                     r=format_number(radius, lang, decimals=1) if radius is not None else "?"),
                   className="progress-note"),
        ],
        className="progress-box",
    )


def gain_figure(reco: siting.Recommendation, *, lang: str) -> go.Figure:
    """Bars: residents each new site adds (greedy path); line: cumulative share; dashed: the goal."""
    curve = reco.curve
    steps = curve.iloc[1:]
    added = curve["population_reached"].diff().iloc[1:]
    chosen = steps["n_new_sites"] <= reco.k
    fig = go.Figure()
    fig.add_bar(x=steps["n_new_sites"], y=added, name=t("res.chart_y_added", lang),
                marker_color=[RECOMMENDED_COLOUR if c else "#c7c7c7" for c in chosen],
                customdata=steps["name"], hovertemplate="%{x} · %{customdata}<br>+%{y:,.0f}<extra></extra>")
    fig.add_scatter(x=curve["n_new_sites"], y=100 * curve["share"], name=t("res.chart_y_share", lang), yaxis="y2",
                    mode="lines", line={"color": CURRENT_COLOUR, "width": 2},
                    hovertemplate="%{x} : %{y:.1f} %<extra></extra>" if lang == "fr" else "%{x}: %{y:.1f}%<extra></extra>")
    fig.add_hline(y=100 * reco.target, yref="y2", line_dash="dash", line_color="#444",
                  annotation_text=f"{t('res.chart_goal', lang)} {format_percent(100 * reco.target, lang, decimals=0)}", annotation_position="top left")
    fig.update_layout(
        margin={"l": 50, "r": 55, "t": 10, "b": 40}, height=320, bargap=0.15, template="plotly_white",
        separators=", " if lang == "fr" else ".,",
        xaxis={"title": t("res.chart_x", lang), "range": [0.5, min(len(curve) - 0.5, max(40, reco.k + 5))]},
        yaxis={"title": t("res.chart_y_added", lang), "tickformat": ",.0f"},
        yaxis2={"title": t("res.chart_y_share", lang), "overlaying": "y", "side": "right", "showgrid": False,
                "range": [0, 100 * max(reco.target * 1.5, float(curve["share"].max()) * 1.05)], "ticksuffix": "\u202f%" if lang == "fr" else "%",
                "dtick": 10},
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return fig


def current_site_layers(network: pd.DataFrame, *, radius_km: float, lang: str) -> list[Any]:
    """Markers and catchment circles of the current sites."""
    out: list[Any] = []
    for row in network.itertuples(index=False):
        if row.lon is None or (isinstance(row.lon, float) and math.isnan(row.lon)):
            continue
        kind = t("site.essaimage", lang) if row.kind == "essaimage" else t("site.current", lang)
        tip = html.Div([html.B(row.name), html.Br(), f"{kind}, {t('site.opened', lang, y=row.opening_year)}", html.Br(),
                        t("site.reached", lang, pop=format_number(row.population_reached, lang), n=row.qpv_reached)])
        out.append(dl.Circle(center=[row.lat, row.lon], radius=radius_km * 1000,
                             pathOptions={"color": CURRENT_COLOUR, "weight": 1.5, "dashArray": "4 4",
                                          "fillOpacity": 0.06, "interactive": False}))
        out.append(dl.CircleMarker(center=[row.lat, row.lon], radius=7,
                                   pathOptions={"color": "#ffffff", "weight": 2, "fillColor": CURRENT_COLOUR,
                                                "fillOpacity": 1},
                                   children=dl.Tooltip(tip), className="current-site-marker"))
    return out


def recommended_layers(table: pd.DataFrame, *, radius_km: float, lang: str) -> list[Any]:
    """Numbered markers (and lighter catchments) of the recommended sites."""
    out: list[Any] = []
    for row in table.itertuples(index=False):
        out.append(dl.Circle(center=[row.lat, row.lon], radius=radius_km * 1000,
                             pathOptions={"color": RECOMMENDED_COLOUR, "weight": 1, "fillOpacity": 0.05,
                                          "interactive": False}))
        out.append(dl.DivMarker(
            position=[row.lat, row.lon],
            iconOptions={"className": "rec-marker", "html": f"<span>{int(row.rank)}</span>", "iconSize": [24, 24],
                         "iconAnchor": [12, 12]},
            children=dl.Tooltip(html.Div([html.B(t("site.recommended", lang, rank=int(row.rank))), html.Br(),
                                          html.Span(row.reason)], className="rec-tip")),
            id={"type": "strategie-rec", "rank": int(row.rank)},
        ))
    return out
