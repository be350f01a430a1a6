"""The region view of a two-level plan: urban regions ranked by what the plan adds, and the cities of one.

An urban region (:mod:`geo.siting.regions`) is named after its main city; the table says what the plan
adds there, whether the network is already there, and how often the region comes back across the
robustness grid when it has been computed.
"""

from __future__ import annotations

from typing import Any

from dash import dash_table, html

from app import i18n
from app.components.results import frequencies, robustness_label, robustness_styles
from geo.i18n import format_number, t

#: Regions listed: those of the plan, then the next ones by residents in QPV, up to this many rows.
MAX_ROWS = 15
NUMERIC = ("rank", "added_residents", "qpv_residents", "n_qpv", "npnru_qpv", "cities")


def region_records(plan: Any, *, lang: str, robust: Any = None) -> list[dict[str, Any]]:
    """Rows of the region table: the plan's regions first (by what it adds), then the largest others."""
    reg = plan.regions
    freq = frequencies(robust, "regions")
    shown = reg[reg["in_plan"]]
    others = reg[~reg["in_plan"]].sort_values("qpv_residents", ascending=False)
    rows = []
    yes, no = t("res.yes", lang), t("res.no", lang)
    for r in [*shown.itertuples(index=False), *others.head(max(MAX_ROWS - len(shown), 0)).itertuples(index=False)]:
        rows.append({
            "rank": int(r.rank), "urban_region": str(r.urban_region),
            "added_residents": round(float(r.added_residents)), "qpv_residents": round(float(r.qpv_residents)),
            "n_qpv": int(r.n_qpv), "npnru_qpv": int(r.npnru_qpv),
            "network": t("region.network_there", lang, n=int(r.current_sites)) if r.network_there else no,
            "in_plan": yes if r.in_plan else no,
            "cities": int(r.current_sites) + int(r.new_sites),
            "robustness": robustness_label(*freq.get(str(r.urban_region), (None, None, None)), lang=lang),
        })
    return rows


def region_table(plan: Any, *, lang: str, robust: Any = None, selected: str | None = None) -> dash_table.DataTable:
    """The urban regions ranked, single-row selectable (selecting one zooms the map and lists its cities)."""
    ids = ["rank", "urban_region", "robustness", "added_residents", "network", "in_plan", "cities", "qpv_residents",
           "n_qpv", "npnru_qpv"]
    records = region_records(plan, lang=lang, robust=robust)
    chosen = [i for i, r in enumerate(records) if r["urban_region"] == selected]
    columns = [{"id": c, "name": t(f"region.col.{c}", lang),
                **({"type": "numeric", "format": {"specifier": ",.0f"}} if c in NUMERIC else {})} for c in ids]
    return dash_table.DataTable(
        id="strategie-regions-table",
        data=records, columns=columns, row_selectable="single", selected_rows=chosen,
        locale_format=i18n.table_locale(lang), page_action="none", sort_action="none",
        style_table={"overflowX": "auto", "maxHeight": "380px", "overflowY": "auto"},
        style_cell={"fontSize": "0.8rem", "padding": "3px 6px", "textAlign": "left", "whiteSpace": "normal",
                    "height": "auto", "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "right"} for c in NUMERIC],
        style_data_conditional=[*robustness_styles(lang=lang),
                                {"if": {"filter_query": "{in_plan} = '" + t("res.no", lang) + "'"}, "color": "#777"}],
        style_header={"fontWeight": "600", "backgroundColor": "#f1f4f8", "whiteSpace": "normal"},
    )


def region_cities(plan: Any, name: str | None, *, lang: str) -> html.Div:
    """The cities of one urban region: current sites (with what they serve) and the plan's new ones."""
    if not name:
        return html.Div(t("region.pick", lang), className="help", id="strategie-region-cities")
    net = plan.network
    current = net[net["urban_region"].astype(str) == name] if "urban_region" in net else net.iloc[0:0]
    new = plan.table[plan.table["urban_region"].astype(str) == name]
    items = [html.Li([html.Span(t("region.current", lang), className="tag tag-current"), " ", str(r.name), " — ",
                      t("site.served", lang, pop=format_number(float(getattr(r, "residents_served", 0) or 0), lang))])
             for r in current.itertuples(index=False)]
    items += [html.Li([html.Span(t("region.new", lang, rank=int(r.rank)), className="tag tag-new"), " ", str(r.name), " — ",
                       t("site.served", lang, pop=format_number(float(r.residents_served), lang)), " · ",
                       t("region.opening", lang, y=int(r.opening_year))])
              for r in new.itertuples(index=False)]
    if not items:
        items = [html.Li(t("region.none", lang))]
    return html.Div([html.H4(t("region.cities_of", lang, name=name)), html.Ul(items, className="region-cities")],
                    id="strategie-region-cities")
