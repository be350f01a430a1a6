"""Saved scenarios and the side-by-side comparison of two plans on the Stratégie page.

The comparison shows, for scenarios A and B: their parameters, presence today and with the plan,
cities and regions, households met over five years and the year the goal is met (roadmap), the cities
only in A, only in B or in both (table), and a map of those differences.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import pandas as pd
from dash import dash_table, dcc, html

from app import i18n
from geo.i18n import format_number, format_percent, t

ONLY_A, ONLY_B, BOTH = "#0072b2", "#d55e00", "#6b6b6b"


def saved_controls(*, lang: str) -> html.Details:
    """Save the current scenario under a name; open a saved one."""
    return html.Details(
        [
            html.Summary(t("saved.title", lang)),
            html.Label(t("saved.name", lang), htmlFor="strategie-save-name", className="control-label small"),
            html.Div([dcc.Input(id="strategie-save-name", type="text", maxLength=80, debounce=False,
                                className="text-input", placeholder=t("saved.name_ph", lang)),
                      html.Button(t("saved.save", lang), id="strategie-save", n_clicks=0, className="action-button")],
                     className="save-row"),
            html.Div(id="strategie-save-msg", className="help", role="status"),
            html.Label(t("saved.open", lang), htmlFor="strategie-saved-open", className="control-label small"),
            dcc.Dropdown(id="strategie-saved-open", options=[], placeholder=t("saved.open_ph", lang)),
            dcc.Location(id="strategie-nav", refresh=True),
        ],
        className="control-details", open=True,
    )


def comparison_section(*, lang: str) -> html.Section:
    """Pick two saved scenarios (A, B) and compare them."""
    return html.Section(
        [
            html.H3(t("compare.title", lang)),
            html.Div(
                [
                    dcc.Dropdown(id="strategie-compare-a", options=[], placeholder=t("compare.pick_a", lang),
                                 className="compare-pick"),
                    dcc.Dropdown(id="strategie-compare-b", options=[], placeholder=t("compare.pick_b", lang),
                                 className="compare-pick"),
                ],
                className="compare-picks",
            ),
            html.Div(id="strategie-comparison", className="comparison"),
        ],
        className="strategie-compare", id="strategie-compare-section",
    )


def _goal_year(plan: Any) -> int | None:
    road = plan.roadmap.table
    hit = road[road["presence_share"] >= plan.params.get("target", 0.2) - 1e-9]
    return int(hit["year"].iloc[0]) if len(hit) else None


def summary_rows(a: Any, b: Any, *, lang: str) -> list[dict[str, str]]:
    """Metric rows of the comparison: A, B and B − A."""
    def five(p: Any) -> float:
        road = p.roadmap.table
        return float(road[road["year"] <= int(road["year"].iloc[0]) + 4]["households_met"].sum())

    def row(key: str, va: float | None, vb: float | None, fmt: str) -> dict[str, str]:
        def show(v: float | None) -> str:
            if v is None:
                return "—"
            return format_percent(100 * v, lang, decimals=1) if fmt == "pct" else format_number(v, lang)
        diff = "—" if va is None or vb is None else (
            format_percent(100 * (vb - va), lang, decimals=1) if fmt == "pct" else format_number(vb - va, lang))
        return {"metric": t(f"compare.m.{key}", lang), "a": show(va), "b": show(vb), "diff": diff}

    pa, pb = a.params, b.params
    return [
        row("radius", pa.get("radius_km"), pb.get("radius_km"), "num"),
        row("capacity", pa.get("capacity"), pb.get("capacity"), "num"),
        row("new_sites", len(a.table), len(b.table), "num"),
        row("presence_now", a.baseline_presence, b.baseline_presence, "pct"),
        row("presence_plan", a.presence, b.presence, "pct"),
        row("regions", int(a.regions["in_plan"].sum()), int(b.regions["in_plan"].sum()), "num"),
        row("households5", five(a), five(b), "num"),
        row("goal_year", _goal_year(a), _goal_year(b), "year"),
    ]


def city_differences(a: Any, b: Any, *, lang: str) -> pd.DataFrame:
    """New cities of A and B with where they appear: only in A, only in B, in both."""
    ta = a.table.set_index("insee_code")
    tb = b.table.set_index("insee_code")
    codes = list(dict.fromkeys([*ta.index, *tb.index]))
    rows = []
    for code in codes:
        src = ta.loc[code] if code in ta.index else tb.loc[code]
        where = "both" if code in ta.index and code in tb.index else "a" if code in ta.index else "b"
        rows.append({"insee_code": code, "name": src["name"], "urban_region": src["urban_region"], "where": where,
                     "where_label": t(f"compare.where.{where}", lang),
                     "rank_a": int(ta.loc[code, "rank"]) if code in ta.index else None,
                     "rank_b": int(tb.loc[code, "rank"]) if code in tb.index else None,
                     "lat": float(src["lat"]), "lon": float(src["lon"])})
    return pd.DataFrame(rows)


def comparison_view(name_a: str, a: Any, name_b: str, b: Any, *, lang: str) -> html.Div:
    """Side by side: the figures, the differing cities, and a map of those differences."""
    summary = dash_table.DataTable(
        id="strategie-compare-summary", data=summary_rows(a, b, lang=lang),
        columns=[{"id": "metric", "name": ""}, {"id": "a", "name": f"A · {name_a}"}, {"id": "b", "name": f"B · {name_b}"},
                 {"id": "diff", "name": t("compare.diff", lang)}],
        style_cell={"fontSize": "0.82rem", "padding": "3px 8px", "textAlign": "left"},
        style_header={"fontWeight": "600", "backgroundColor": "#f1f4f8"},
    )
    diff = city_differences(a, b, lang=lang)
    cities = dash_table.DataTable(
        id="strategie-compare-cities",
        data=diff[["name", "urban_region", "where_label", "rank_a", "rank_b"]].astype(object)
        .where(diff[["name", "urban_region", "where_label", "rank_a", "rank_b"]].notna(), None).to_dict("records"),
        columns=[{"id": c, "name": t(f"compare.col.{c}", lang)} for c in ("name", "urban_region", "where_label", "rank_a", "rank_b")],
        sort_action="native", page_action="none", locale_format=i18n.table_locale(lang),
        style_table={"maxHeight": "330px", "overflowY": "auto", "overflowX": "auto"},
        style_cell={"fontSize": "0.8rem", "padding": "3px 6px", "textAlign": "left", "whiteSpace": "normal",
                    "height": "auto"},  # long names wrap, so both ranks stay in view beside the map
        style_cell_conditional=[{"if": {"column_id": c}, "width": "56px", "textAlign": "right"} for c in ("rank_a", "rank_b")],
        style_header={"fontWeight": "600", "backgroundColor": "#f1f4f8"},
        style_data_conditional=[
            {"if": {"filter_query": "{where_label} = '" + t(f"compare.where.{w}", lang) + "'"}, "color": c}
            for w, c in (("a", ONLY_A), ("b", ONLY_B))
        ],
    )
    colours = {"a": ONLY_A, "b": ONLY_B, "both": BOTH}
    markers = [dl.CircleMarker(center=[r.lat, r.lon], radius=8 if r.where != "both" else 6,
                               pathOptions={"color": "#ffffff", "weight": 1.5, "fillColor": colours[r.where], "fillOpacity": 0.95},
                               pane="markerPane",  # above the département fill, which arrives later
                               children=dl.Tooltip(f"{r.name} · {r.where_label}"))
               for r in diff.itertuples(index=False)]
    legend = html.Div([html.Span([html.Span(className="swatch-dot", style={"background": colours[w]}),
                                  t(f"compare.where.{w}", lang)], className="legend-item") for w in ("a", "b", "both")],
                      className="compare-legend", id="strategie-compare-legend")
    cmap = dl.Map([dl.GeoJSON(url=_departements_url(), format="geobuf", style={"color": "#8a8a8a", "weight": 0.5,
                                                                                  "fillColor": "#fbfaf6", "fillOpacity": 0.8}),
                   *markers],
                  center=[46.6, 2.4], zoom=5, style={"height": "380px"}, id="strategie-compare-map", attributionControl=False)
    return html.Div([html.Div(summary, className="compare-summary"),
                     html.Div([html.Div(cities, className="compare-cities"), html.Div([cmap, legend], className="compare-map")],
                              className="compare-grid")])


def _departements_url() -> str:
    from app.layers import layer_url

    return layer_url("departements")
