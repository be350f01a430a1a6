"""Choropleth styling of the QPV layer: indicators, colour scales, ``hideout`` and legend.

The browser styles the QPV polygons with ``voisinmap.qpvStyle`` (``app/assets/map.js``), which reads the
``hideout`` built here: a property name, class limits and colours. Changing the indicator changes only
``hideout``; the geometry stays in the browser.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
from dash import html

from app.components.legends import class_labels, legend_row
from geo import webgeo
from geo.i18n import colon, format_number, format_percent, t

logger = logging.getLogger(__name__)

#: Viridis (colour-blind safe, prints in grey), light to dark: low values light, high values dark.
VIRIDIS_6: tuple[str, ...] = ("#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154")
#: Okabe-Ito blue / orange for yes-no indicators.
BINARY: tuple[str, ...] = ("#56b4e9", "#e69f00")
MISSING_COLOUR = "#b0b0b0"
SELECTED_COLOUR = "#d7191c"


@dataclass(frozen=True)
class Indicator:
    """An indicator of the QPV layer that the map can show."""

    key: str
    column: str
    unit: str  # "count", "pct" or "binary"


INDICATORS: dict[str, Indicator] = {
    "population": Indicator("population", "population", "count"),
    "households": Indicator("households", "households", "count"),
    "poverty_rate": Indicator("poverty_rate", "poverty_rate", "pct"),
    "employment_rate": Indicator("employment_rate", "employment_rate", "pct"),
    "npnru": Indicator("npnru", "npnru", "binary"),
}

def _check(indicator: str) -> Indicator:
    if indicator not in INDICATORS:
        raise ValueError(f"indicator: expected one of {sorted(INDICATORS)}, got {indicator!r}")
    return INDICATORS[indicator]


@lru_cache(maxsize=64)
def _breaks_cached(indicator: str, values: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(webgeo.class_breaks(values, n_classes=len(VIRIDIS_6)))


def breaks_for(indicator: str, qpv: pd.DataFrame) -> list[float]:
    """Class limits of ``indicator`` over the QPV layer ([] for a yes-no indicator)."""
    spec = _check(indicator)
    if spec.unit == "binary":
        return []
    values = tuple(qpv[spec.column].astype(float).dropna().round(3).tolist())
    return list(_breaks_cached(indicator, values))


def figure_labels(lang: str) -> dict[str, str]:
    """Texts of a tooltip whose figures come on demand (``voisinmap.bindFigures``): while they load, when
    they cannot come, and the colon after a label in ``lang`` (« Population : », « Population: »)."""
    return {"loading": t("map.loading", lang), "unavailable": t("map.figures_unavailable", lang),
            "colon": colon("", lang)}


def hideout_for(indicator: str, qpv: pd.DataFrame, *, lang: str, selected: str | None = None) -> dict[str, Any]:
    """The ``hideout`` of the QPV layer for ``indicator``.

    Parameters
    ----------
    indicator : str
        A key of :data:`INDICATORS`.
    qpv : pandas.DataFrame
        The QPV layer (to compute class limits).
    lang : {"fr", "en"}
        Language of the tooltip labels.
    selected : str, optional
        ``code_qp`` of the QPV to outline (the one shown in the side panel).

    Returns
    -------
    dict
        ``prop``, ``breaks``, ``colors``, ``binary``, ``missing``, ``selected``, ``selectedColor``,
        ``lang`` and ``labels`` (tooltip labels, with :func:`figure_labels`).
    """
    spec = _check(indicator)
    breaks = breaks_for(indicator, qpv)
    colours = list(BINARY) if spec.unit == "binary" else list(VIRIDIS_6[: len(breaks) + 1])
    return {
        "prop": spec.column,
        "unit": spec.unit,
        "binary": spec.unit == "binary",
        "breaks": breaks,
        "colors": colours,
        "missing": MISSING_COLOUR,
        "selected": selected,
        "selectedColor": SELECTED_COLOUR,
        "lang": lang,
        "labels": {
            "population": t("ind.population", lang),
            "households": t("ind.households", lang),
            "poverty_rate": t("ind.poverty_rate", lang),
            "employment_rate": t("ind.employment_rate", lang),
            "npnru": t("legend.npnru_yes", lang),
            "missing": t("common.not_available", lang),
            "source": t("legend.source", lang, s="ANCT, INSEE, ANRU"),
            **figure_labels(lang),
        },
    }


def _fmt(value: float, unit: str, lang: str) -> str:
    return format_percent(value, lang, decimals=0) if unit == "pct" else format_number(value, lang)


def legend_items(indicator: str, qpv: pd.DataFrame, *, lang: str) -> list[tuple[str, str]]:
    """(colour, label) pairs of the legend, the missing-value class last."""
    spec = _check(indicator)
    if spec.unit == "binary":
        items = [(BINARY[1], t("legend.npnru_yes", lang)), (BINARY[0], t("legend.npnru_no", lang))]
    else:
        breaks = breaks_for(indicator, qpv)
        labels = class_labels(breaks, lambda v: _fmt(v, spec.unit, lang), lang=lang)
        items = list(zip(VIRIDIS_6[: len(breaks) + 1], labels, strict=True))
    n_missing = int(qpv[spec.column].isna().sum()) if spec.unit != "binary" else 0
    if n_missing:
        items.append((MISSING_COLOUR, f"{t('legend.missing', lang)} ({n_missing} QPV)"))
    return items


def legend(indicator: str, qpv: pd.DataFrame, *, lang: str) -> html.Div:
    """The legend box drawn over the map."""
    spec = _check(indicator)
    rows = [legend_row(colour, label) for colour, label in legend_items(indicator, qpv, lang=lang)]
    rows.append(html.Div([html.Span(className="legend-swatch legend-outline"),
                          html.Span(t("legend.npnru_outline", lang))], className="legend-row"))
    return html.Div(
        [html.Div(t(f"ind.{indicator}", lang), className="legend-title"), *rows,
         html.Div(t("legend.source", lang, s=t(f"src.{spec.key}", lang)), className="legend-source")],
        className="legend", id="strategie-legend-box",
    )
