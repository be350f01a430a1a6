"""Key figures and tables of the page Terrain: the figures strip, the site's QPV and the buildings to revisit."""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dash_table, html

from app.components.figures import kpi_card
from geo.i18n import format_number, format_percent, t

MAX_TABLE_ROWS = 200
#: Columns (id, message id) of the QPV table and of the buildings-to-revisit table.
QPV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("qpv", "terrain.col.qpv"), ("code", "terrain.col.code"), ("households", "terrain.col.households"),
    ("reached", "terrain.col.reached"), ("coverage", "terrain.col.coverage"), ("remaining", "terrain.col.remaining"),
    ("visits", "terrain.col.visits"), ("open_rate", "terrain.col.open_rate"),
)
REVISIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("building", "terrain.col.building"), ("qpv", "terrain.col.qpv"),
    ("doors_to_revisit", "terrain.col.doors_to_revisit"), ("last_visit", "terrain.col.last_visit"),
    ("doors", "terrain.col.doors"),
)


def _known(value: float) -> bool:
    return value == value  # not NaN


def _rate(value: float | None, lang: str, *, decimals: int, missing: str) -> str:
    return format_percent(100 * value, lang, decimals=decimals) if value is not None and _known(value) else missing


def qpv_rows(frame: pd.DataFrame, *, lang: str) -> list[dict[str, Any]]:
    """Rows of the QPV table (sorted by remaining households), numbers formatted for ``lang``."""
    na = t("common.not_available", lang)
    return [{
        "qpv": r.lib_qp or r.code_qp, "code": r.code_qp,
        "households": format_number(r.households, lang),
        "reached": format_number(r.households_reached, lang),
        "coverage": _rate(r.coverage_rate, lang, decimals=1, missing=na),
        "remaining": format_number(r.remaining_households, lang),
        "remaining_sort": float(r.remaining_households) if _known(r.remaining_households) else -1.0,
        "visits": format_number(r.visits, lang),
        "open_rate": _rate(r.open_rate, lang, decimals=0, missing="–"),
    } for r in frame.head(MAX_TABLE_ROWS).itertuples(index=False)]


def revisit_rows(frame: pd.DataFrame, *, lang: str) -> list[dict[str, Any]]:
    """Rows of the buildings-to-revisit table (most doors first)."""
    return [{"building": r.building, "qpv": r.code_qp if isinstance(r.code_qp, str) else "–",
             "doors_to_revisit": int(r.doors_to_revisit), "last_visit": str(r.last_visit)[:10],
             "doors": r.doors or ""} for r in frame.head(MAX_TABLE_ROWS).itertuples(index=False)]


def kpis(summary: dict[str, Any], revisit: pd.DataFrame, *, lang: str) -> list[html.Div]:
    """The key figures strip."""
    doors_to_revisit = int(revisit["doors_to_revisit"].sum()) if len(revisit) else 0
    items = [
        (format_number(summary["visits"], lang), "terrain.kpi.visits"),
        (format_number(summary["ouvert"], lang), "terrain.kpi.opened"),
        (_rate(summary.get("open_rate"), lang, decimals=0, missing="–"), "terrain.kpi.open_rate"),
        (format_number(summary["households_reached"], lang), "terrain.kpi.households"),
        (format_number(summary["buildings"], lang), "terrain.kpi.buildings"),
        (format_number(summary["qpv"], lang), "terrain.kpi.qpv"),
        (format_number(doors_to_revisit, lang), "terrain.kpi.revisit"),
        (format_number(summary["outside_qpv_visits"], lang), "terrain.kpi.outside"),
    ]
    return [kpi_card(value, t(key, lang), card_id=f"terrain-{key.split('.')[-1]}") for value, key in items]


def table(table_id: str, columns: tuple[tuple[str, str], ...], *, lang: str) -> dash_table.DataTable:
    """An empty sortable table with the ``columns`` (id, message id), filled by the callbacks."""
    return dash_table.DataTable(
        id=table_id, data=[], columns=[{"id": cid, "name": t(key, lang)} for cid, key in columns],
        sort_action="native", sort_by=[], page_size=15,
        style_cell={"textAlign": "left", "fontSize": "0.85rem", "whiteSpace": "normal", "height": "auto"},
        style_header={"fontWeight": "600", "whiteSpace": "normal", "height": "auto"},
        style_table={"overflowX": "auto", "minWidth": "100%"},
    )
