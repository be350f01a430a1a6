"""Rendering of a two-level plan on the Stratégie page: progress block, ranked table, roadmap chart, markers.

The plan is :class:`geo.siting.plan.Plan` (capacitated model). Each headline figure carries a tooltip
(``title``) with its definition and source; the assumptions (radius, capacity, pace) sit next to the
result with their origin. Robust and fragile picks (:mod:`geo.siting.robustness`) are marked in the
table and on the map when the robustness has been computed.
"""

from __future__ import annotations

import math
from typing import Any

import dash_leaflet as dl
import pandas as pd
import plotly.graph_objects as go
from dash import dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme, Symbol

from app import i18n
from geo.i18n import format_number, format_percent, t

TABLE_COLUMNS: tuple[str, ...] = (
    "rank", "name", "insee_code", "urban_region", "region", "residents_served", "weighted_served",
    "households_served", "qpv_served", "npnru_qpv", "cumulative_presence", "opening_year", "robustness",
)
CURRENT_COLOUR = "#0072b2"
RECOMMENDED_COLOUR = "#d55e00"
#: Selection frequency over the robustness grid: robust at or above, fragile at or below.
ROBUST_AT, FRAGILE_AT = 2 / 3, 1 / 3
#: Recommended markers closer than this (degrees, about one 24-pixel marker at the national zoom 5.5) are
#: fanned out on a ring around their group's first point, wide enough for the group's markers side by side.
OVERLAP_DEG = 0.8
FAN_PX = 15
MARKER_PX = 24

#: Display format (decimals, percentage) of the numeric columns of the ranked table.
NUMBER_FORMATS: dict[str, tuple[int, bool]] = {
    "rank": (0, False), "residents_served": (0, False), "weighted_served": (0, False),
    "households_served": (0, False), "qpv_served": (0, False), "npnru_qpv": (0, False),
    "cumulative_presence": (1, True), "opening_year": (0, False),
}


def table_columns(table: pd.DataFrame) -> list[str]:
    """The columns of :data:`TABLE_COLUMNS` that ``table`` has."""
    return [c for c in TABLE_COLUMNS if c in table.columns]


def column_format(column: str, *, lang: str) -> Format:
    """DataTable format of a numeric column: grouped thousands, fixed decimals, `` %`` (French) or ``%``."""
    decimals, percent = NUMBER_FORMATS[column]
    fmt = Format(precision=decimals, scheme=Scheme.fixed).group(column not in ("rank", "opening_year"))
    if percent:
        fmt = fmt.symbol(Symbol.yes).symbol_suffix("\u202f%" if lang == "fr" else "%")
    return fmt


def robustness_label(frequency: float | None, selected: int | None, total: int | None, *, lang: str) -> str:
    """« robuste (14/18) », « fragile (3/18) », « intermédiaire (8/18) » or an empty text when not computed."""
    if frequency is None or total is None:
        return ""
    kind = "robust" if frequency >= ROBUST_AT else "fragile" if frequency <= FRAGILE_AT else "middle"
    return t(f"res.robust.{kind}", lang, n=int(selected or 0), of=int(total))


def robustness_kind(frequency: float | None) -> str:
    """``"robust"``, ``"fragile"``, ``"middle"`` or ``""`` (not computed)."""
    if frequency is None:
        return ""
    return "robust" if frequency >= ROBUST_AT else "fragile" if frequency <= FRAGILE_AT else "middle"


def frequencies(robust: Any, frame: str = "cities") -> dict[str, tuple[float, int, int]]:
    """Name -> (frequency, selected, scenarios) from a :class:`~geo.siting.robustness.Robustness` (or {})."""
    if robust is None:
        return {}
    table = getattr(robust, frame)
    return {str(r.name): (float(r.frequency), int(r.selected), int(r.scenarios)) for r in table.itertuples(index=False)}


def robustness_styles(*, lang: str) -> list[dict[str, Any]]:
    """DataTable row styles: robust picks on green, fragile ones on orange (column ``robustness``)."""
    return [{"if": {"filter_query": "{robustness} contains '" + t(word, lang) + "'"}, "backgroundColor": colour}
            for word, colour in (("res.robust.word_robust", "#e8f5ee"), ("res.robust.word_fragile", "#fdf0e6"))]


def table_records(table: pd.DataFrame, *, robust: Any = None, lang: str = "fr") -> list[dict[str, Any]]:
    """Rows of the ranked table for the DataTable (numbers rounded, presence in %)."""
    freq = frequencies(robust)
    out = table.copy()
    out["robustness"] = [robustness_label(*freq.get(str(n), (None, None, None)), lang=lang) for n in out["name"]]
    out = out[table_columns(out)]
    for c in ("residents_served", "weighted_served", "households_served"):
        out[c] = out[c].round(0)
    out["cumulative_presence"] = (100 * out["cumulative_presence"]).round(2)
    from geo.export.tables import neutralise  # the browser-side CSV export must not carry formulas

    out = neutralise(out)
    return out.astype(object).where(out.notna(), None).to_dict("records")


def ranked_table(plan: Any, *, lang: str, robust: Any = None) -> dash_table.DataTable:
    """The sortable ranked table of the new sites (robust picks in green, fragile ones in orange)."""
    numeric = set(NUMBER_FORMATS)
    columns = []
    shown = table_columns(plan.table)
    shown.insert(shown.index("name") + 1 if "name" in shown else 0, "robustness")  # in view, not past the scroll
    for c in shown:
        col: dict[str, Any] = {"id": c, "name": t(f"col.{c}", lang)}
        if c in numeric:
            col["type"] = "numeric"
            col["format"] = column_format(c, lang=lang)
        columns.append(col)
    return dash_table.DataTable(
        id="strategie-table",
        data=table_records(plan.table, robust=robust, lang=lang),
        columns=columns,
        locale_format=i18n.table_locale(lang),
        sort_action="native",
        page_action="none",
        style_table={"overflowX": "auto", "maxHeight": "420px", "overflowY": "auto"},
        style_cell={"fontSize": "0.8rem", "padding": "3px 6px", "textAlign": "left", "whiteSpace": "normal",
                    "height": "auto", "minWidth": "48px",
                    "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        style_cell_conditional=[
            *({"if": {"column_id": c}, "textAlign": "right"} for c in numeric),
            {"if": {"column_id": "name"}, "minWidth": "120px", "fontWeight": "600"},
        ],
        style_data_conditional=robustness_styles(lang=lang),
        style_header={"fontWeight": "600", "backgroundColor": "#f1f4f8", "whiteSpace": "normal"},
    )


def sites_area(plan: Any, *, lang: str, robust: Any = None) -> html.Div:
    """The new sites table (marked once the robustness is known), the roadmap chart and the time the plan took."""
    return html.Div(
        [
            html.Div([html.H3(t("res.table_title_plan", lang)), ranked_table(plan, lang=lang, robust=robust)],
                     className="results-table"),
            html.Div([html.H3(t("res.road_title", lang)),
                      dcc.Graph(id="strategie-roadmap-chart", figure=roadmap_figure(plan, lang=lang),
                                config={"displayModeBar": False, "responsive": True})],
                     className="results-chart"),
            html.P(t("res.elapsed", lang, ms=format_number(1000 * plan.elapsed_s, lang)), className="help"),
        ],
        className="results-grid",
    )


def progress_scale(target: float, share: float) -> float:
    """Right end of the progress bar: 40 %, or the next multiple of 10 % above the goal and the share."""
    return max(0.4, math.ceil(max(target, share) * 1.05 * 10) / 10)


def _figure(label: str, value: str, tip: str, *, id_: str | None = None) -> html.Div:
    """A headline figure with its definition and source in a tooltip (``title``, also read by screen readers)."""
    return html.Div([html.Div(value, className="kpi-value", **({"id": id_} if id_ else {})),
                     html.Div([label, html.Span("i", className="kpi-info", **{"aria-hidden": "true"})],
                              className="kpi-label")],
                    className="kpi", title=tip, tabIndex="0", **{"aria-label": f"{label} : {value}. {tip}"})


def _goal_year(plan: Any) -> int | None:
    road = plan.roadmap.table
    hit = road[road["presence_share"] >= plan.params.get("target", 0.2) - 1e-9]
    return int(hit["year"].iloc[0]) if len(hit) else None


def headline(plan: Any, *, lang: str) -> html.Div:
    """Headline figures: presence today and with the plan, cities and regions, households met in 5 years."""
    pct = lambda x: format_percent(100 * x, lang, decimals=1)  # noqa: E731
    road = plan.roadmap.table
    five = road[road["year"] <= int(road["year"].iloc[0]) + 4]
    n_regions = int(plan.regions["in_plan"].sum())
    return html.Div(
        [
            _figure(t("res.kpi.presence_now", lang), pct(plan.baseline_presence), t("res.tip.presence", lang),
                    id_="strategie-presence-now"),
            _figure(t("res.kpi.presence_plan", lang, k=len(plan.table)), pct(plan.presence),
                    t("res.tip.presence", lang), id_="strategie-share-text"),
            _figure(t("res.kpi.cities", lang), format_number(len(plan.network) + len(plan.table), lang),
                    t("res.tip.cities", lang)),
            _figure(t("res.kpi.regions", lang), format_number(n_regions, lang), t("res.tip.regions", lang)),
            _figure(t("res.kpi.households5", lang), format_number(float(five["households_met"].sum()), lang),
                    t("res.tip.households", lang), id_="strategie-households5"),
        ],
        className="kpi-row",
    )


def assumptions(plan: Any, *, lang: str) -> html.Div:
    """The assumptions of the result, each with its origin."""
    p = plan.params
    cap = p.get("capacity")
    items = [
        t("res.assume.radius", lang, r=format_number(p.get("radius_km", 0), lang, decimals=1)),
        t("res.assume.capacity", lang, c=format_number(cap, lang)) if cap else t("res.assume.uncapacitated", lang),
        t("res.assume.pace", lang, p=format_number(p.get("pace", 0), lang, decimals=1)),
        t("res.assume.households", lang),
        (t("res.assume.method_exact", lang) if plan.optimal else
         t("res.assume.method", lang, gap=format_percent(100 * max(1 - float(plan.ratio or 1), 0), lang, decimals=1))),
    ]
    return html.Div([html.Div(t("res.assume.title", lang), className="assume-title"),
                     html.Ul([html.Li(x) for x in items])], className="assumptions", id="strategie-assumptions")


def progress_bar(plan: Any, *, lang: str) -> html.Div:
    """Presence in quartiers (capacity-limited) toward the goal, today and with the plan; the year it is met."""
    target = float(plan.params.get("target", 0.2))
    scale = progress_scale(target, plan.presence)
    base_w = 100 * plan.baseline_presence / scale
    add_w = 100 * max(plan.presence - plan.baseline_presence, 0) / scale
    goal_x = 100 * target / scale
    pct = lambda x: format_percent(100 * x, lang, decimals=1)  # noqa: E731
    ticks = [html.Div(format_percent(v, lang, decimals=0), className="progress-tick", style={"left": f"{v / scale:.2f}%"})
             for v in range(0, round(100 * scale) + 1, 10)]
    year = _goal_year(plan)
    goal_text = (t("res.goal_year", lang, share=pct(target), y=year, pace=format_number(plan.params.get("pace", 2), lang))
                 if year else t("res.goal_not_by", lang, share=pct(target), y=int(plan.roadmap.table["year"].iloc[-1])))
    return html.Div(
        [
            html.Div(t("res.progress_title", lang), className="progress-title", title=t("res.tip.presence", lang)),
            html.Div(
                [
                    html.Div(className="progress-current", style={"width": f"{base_w:.2f}%"},
                             id="strategie-progress-current"),
                    html.Div(className="progress-added", style={"width": f"{add_w:.2f}%"},
                             id="strategie-progress-added"),
                    html.Div(className="progress-goal", style={"left": f"{goal_x:.2f}%"},
                             title=t("res.goal", lang, share=pct(target))),
                    html.Div(t("res.goal", lang, share=pct(target)), className="progress-goal-label",
                             style={"left": f"{goal_x:.2f}%"}),
                    *ticks,
                ],
                className="progress-track", role="progressbar",
                **{"aria-valuemin": "0", "aria-valuemax": f"{100 * scale:.0f}",
                   "aria-valuenow": f"{100 * plan.presence:.1f}"},
            ),
            html.Div(
                [
                    html.Span([html.Span(className="key key-current"), t("res.current", lang, share=pct(plan.baseline_presence))]),
                    html.Span([html.Span(className="key key-added"),
                               t("res.with_plan", lang, k=len(plan.table), share=pct(plan.presence))]),
                ],
                className="progress-keys",
            ),
            html.P(goal_text, className="progress-note", id="strategie-target-text"),
            html.P(t("res.denominator", lang, n=format_number(plan.denominator, lang),
                     q=format_number(plan.params.get("n_qpv", 0), lang),
                     scope=t(f"res.scope.{plan.params.get('scope', 'metro')}", lang),
                     r=format_number(plan.params.get("radius_km", 0), lang, decimals=1)),
                   className="progress-note"),
        ],
        className="progress-box",
    )


def roadmap_figure(plan: Any, *, lang: str) -> go.Figure:
    """Bars: households met each year; line: presence share of the sites built; dashed: the goal."""
    road = plan.roadmap.table
    target = float(plan.params.get("target", 0.2))
    fig = go.Figure()
    fig.add_bar(x=road["year"], y=road["households_met"], name=t("res.road_households", lang), marker_color=RECOMMENDED_COLOUR,
                hovertemplate="%{x} : %{y:,.0f}<extra></extra>")
    fig.add_scatter(x=road["year"], y=100 * road["presence_share"], name=t("res.road_presence", lang), yaxis="y2",
                    mode="lines+markers", line={"color": CURRENT_COLOUR, "width": 2},
                    hovertemplate="%{x} : %{y:.1f} %<extra></extra>" if lang == "fr" else "%{x}: %{y:.1f}%<extra></extra>")
    fig.add_hline(y=100 * target, yref="y2", line_dash="dash", line_color="#444",
                  annotation_text=f"{t('res.chart_goal', lang)} {format_percent(100 * target, lang, decimals=0)}",
                  annotation_position="top left")
    fig.update_layout(
        margin={"l": 55, "r": 55, "t": 34, "b": 40}, height=300, bargap=0.2, template="plotly_white",
        separators=", " if lang == "fr" else ".,",
        xaxis={"title": t("res.road_year", lang), "dtick": 1},
        yaxis={"title": t("res.road_households", lang), "tickformat": ",.0f"},
        yaxis2={"title": t("res.road_presence", lang), "overlaying": "y", "side": "right", "showgrid": False,
                "range": [0, 100 * max(target * 1.5, float(road["presence_share"].max()) * 1.05)],
                "ticksuffix": "\u202f%" if lang == "fr" else "%", "tickformat": ".0f"},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},  # above the plot: inside its box
    )
    return fig


def current_site_layers(network: pd.DataFrame, *, radius_km: float, lang: str) -> list[Any]:
    """Markers and catchment circles of the current sites."""
    out: list[Any] = []
    for row in network.itertuples(index=False):
        if row.lon is None or (isinstance(row.lon, float) and math.isnan(row.lon)):
            continue
        kind = t("site.essaimage", lang) if row.kind == "essaimage" else t("site.current", lang)
        served = getattr(row, "residents_served", row.population_reached)
        tip = html.Div([html.B(row.name), html.Br(), f"{kind}, {t('site.opened', lang, y=row.opening_year)}", html.Br(),
                        t("site.served", lang, pop=format_number(served, lang))])
        out.append(dl.Circle(center=[row.lat, row.lon], radius=radius_km * 1000,
                             pathOptions={"color": CURRENT_COLOUR, "weight": 1.5, "dashArray": "4 4",
                                          "fillOpacity": 0.06, "interactive": False}))
        out.append(dl.CircleMarker(center=[row.lat, row.lon], radius=7,
                                   pathOptions={"color": "#ffffff", "weight": 2, "fillColor": CURRENT_COLOUR,
                                                "fillOpacity": 1},
                                   children=dl.Tooltip(tip), className="current-site-marker"))
    return out


def fan_offsets(lat: list[float], lon: list[float], *, threshold_deg: float = OVERLAP_DEG,
                radius_px: int = FAN_PX) -> list[tuple[int, int]]:
    """Pixel offsets that fan out markers closer than ``threshold_deg`` to an earlier one (none hides another).

    Markers are grouped greedily in rank order; a group of n > 1 markers is spread on a ring around its
    first member's point, of radius ``radius_px`` or more so that n markers of :data:`MARKER_PX` fit.

    >>> fan_offsets([48.9, 48.9001, 45.0], [2.3, 2.3001, 5.0])
    [(0, -15), (0, 15), (0, 0)]
    """
    groups: list[list[int]] = []
    for i in range(len(lat)):
        for g in groups:
            j = g[0]
            if abs(lat[i] - lat[j]) < threshold_deg and abs(lon[i] - lon[j]) < threshold_deg * 1.4:
                g.append(i)
                break
        else:
            groups.append([i])
    out = [(0, 0)] * len(lat)
    for g in groups:
        if len(g) < 2:
            continue
        ring = max(radius_px, math.ceil((MARKER_PX + 2) / (2 * math.sin(math.pi / len(g)))))
        for pos, i in enumerate(g):
            angle = 2 * math.pi * pos / len(g) - math.pi / 2
            out[i] = (round(ring * math.cos(angle)), round(ring * math.sin(angle)))
    return out


def recommended_layers(table: pd.DataFrame, *, radius_km: float, lang: str, robust: Any = None) -> list[Any]:
    """Numbered markers (fanned out when they overlap, marked robust/fragile) and catchments of the new sites."""
    out: list[Any] = []
    freq = frequencies(robust)
    offsets = fan_offsets(table["lat"].astype(float).tolist(), table["lon"].astype(float).tolist())
    for row, (dx, dy) in zip(table.itertuples(index=False), offsets, strict=True):
        f = freq.get(str(row.name), (None, None, None))
        kind = robustness_kind(f[0])
        out.append(dl.Circle(center=[row.lat, row.lon], radius=radius_km * 1000,
                             pathOptions={"color": RECOMMENDED_COLOUR, "weight": 1, "fillOpacity": 0.05,
                                          "interactive": False}))
        label = robustness_label(*f, lang=lang)
        out.append(dl.DivMarker(
            position=[row.lat, row.lon],
            iconOptions={"className": f"rec-marker{' rec-' + kind if kind else ''}", "html": f"<span>{int(row.rank)}</span>",
                         "iconSize": [24, 24], "iconAnchor": [12 - dx, 12 - dy]},
            children=dl.Tooltip(html.Div([html.B(t("site.recommended", lang, rank=int(row.rank))), " · ", row.name, html.Br(),
                                          t("site.served", lang, pop=format_number(row.residents_served, lang)),
                                          *([html.Br(), label] if label else [])], className="rec-tip")),
            id={"type": "strategie-rec", "rank": int(row.rank)},
        ))
    return out
