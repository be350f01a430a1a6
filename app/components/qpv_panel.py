"""The side panel of one QPV: key figures with their sources and a link to its official page."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from dash import html

from geo.i18n import format_number, format_percent, t

OFFICIAL_URL = "https://sig.ville.gouv.fr/territoire/{code}"


def official_url(code_qp: str) -> str:
    """The QPV's page on SIG Ville (ANCT)."""
    return OFFICIAL_URL.format(code=code_qp)


def _value(row: pd.Series, column: str) -> Any:
    value = row.get(column)
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def panel_rows(row: pd.Series, *, lang: str) -> list[tuple[str, str]]:
    """(label, formatted value) pairs shown in the panel."""
    def num(column: str) -> str:
        return format_number(_value(row, column), lang)

    def pct(column: str) -> str:
        return format_percent(_value(row, column), lang, decimals=1)

    area = _value(row, "area_m2")
    rows = [
        (t("panel.commune", lang), str(row.get("lib_com") or "")),
        (t("panel.departement", lang), f"{row.get('lib_dep') or ''} ({row.get('insee_dep') or ''})"),
        (t("panel.region", lang), str(row.get("lib_reg") or "")),
        (t("panel.epci", lang), str(_value(row, "lib_epci") or "—")),
        (t("ind.population", lang), num("population")),
        (t("ind.households", lang), num("households")),
        (t("ind.poverty_rate", lang), pct("poverty_rate")),
        (t("ind.employment_rate", lang), pct("employment_rate")),
        (t("panel.social_housing", lang), num("social_housing")),
        (t("panel.caf", lang), num("caf_recipients")),
        (t("panel.rsa", lang), num("rsa_recipients")),
        (t("panel.area", lang), f"{format_number(area / 10_000, lang, decimals=1)} ha" if area else "—"),
        (t("panel.npnru", lang), t("common.yes", lang) if bool(row.get("npnru")) else t("common.no", lang)),
    ]
    return rows


def qpv_panel(qpv: pd.DataFrame, code_qp: str, *, lang: str) -> list[Any]:
    """Children of the panel for ``code_qp`` (a short notice when the code is unknown)."""
    match = qpv[qpv["code_qp"] == code_qp]
    close = html.Button("×", id="strategie-panel-close", n_clicks=0, className="panel-close",
                        title=t("panel.close", lang), **{"aria-label": t("panel.close", lang)})
    if match.empty:
        return [close, html.P(f"{code_qp} ?")]
    row = match.iloc[0]
    codes = _value(row, "npnru_codes_2015")
    return [
        close,
        html.Div(t("panel.title", lang), className="panel-kicker"),
        html.H3(str(row["lib_qp"]), id="strategie-panel-name"),
        html.Div(code_qp, className="panel-code"),
        html.A(t("panel.official", lang) + " ↗", href=official_url(code_qp), target="_blank", rel="noopener",
               id="strategie-panel-link", className="panel-link"),
        html.Table(html.Tbody([html.Tr([html.Th(label), html.Td(value)]) for label, value in panel_rows(row, lang=lang)]),
                   className="panel-table"),
        html.P(t("panel.npnru_codes", lang, codes=codes.replace(";", ", ")), className="panel-note") if codes else None,
        html.P(t("panel.sources", lang), className="panel-sources"),
    ]
