"""The weekly progress chart of the page Terrain: doors knocked (bars) and households met (cumulative line)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from babel.dates import get_month_names

from geo.i18n import LOCALES, format_date, t

PROGRESS_HEIGHT = 320
#: Short French month names of the date axis (CLDR's abbreviations, as :func:`geo.i18n.format_date` writes them).
FRENCH_MONTHS: tuple[str, ...] = tuple(get_month_names("abbreviated", locale=LOCALES["fr"]).values())
#: Babel pattern of a week label: « 3 févr. 2025 » in French, ``Feb 3, 2025`` in English.
WEEK_PATTERNS: dict[str, str] = {"fr": "d MMM y", "en": "MMM d, y"}


def week_label(day: str, lang: str) -> str:
    """Label of a week start ``YYYY-MM-DD`` on the date axis: « 3 févr. 2025 » in French, ``Feb 3, 2025`` in English."""
    return format_date(day, lang, format=WEEK_PATTERNS.get(lang, WEEK_PATTERNS["fr"]))


def separators(lang: str) -> str:
    """Plotly's decimal and thousands separators for ``lang``."""
    return ", " if lang == "fr" else ".,"


def progress_figure(periods: pd.DataFrame, *, lang: str) -> dict[str, Any]:
    """Weekly knocks (bars) and cumulative households met (line) as a plotly figure dict.

    Fixed height, legend above the plot, margins that fit both axis titles; numbers and dates in ``lang``
    (French: decimal comma, space between thousands, French month names on the date axis).
    """
    x = [str(d)[:10] for d in periods["period_start"].to_numpy(dtype="datetime64[D]")]
    step = max(1, -(-len(x) // 8))  # at most about 8 labelled weeks
    ticks = x[::step]
    return {
        "data": [
            {"type": "bar", "x": x, "y": periods["visits"].tolist(), "name": t("terrain.progress.visits", lang),
             "marker": {"color": "#9e9ac8"}, "hovertemplate": "%{y:,d}"},
            {"type": "scatter", "mode": "lines", "x": x, "y": periods["cumulative_households_reached"].tolist(),
             "name": t("terrain.progress.cumulative", lang), "yaxis": "y2", "line": {"color": "#cc4c02", "width": 2},
             "hovertemplate": "%{y:,d}"},
        ],
        "layout": {"height": PROGRESS_HEIGHT, "autosize": True,
                   "margin": {"l": 70, "r": 70, "t": 40, "b": 50},
                   "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
                   "hovermode": "x unified",
                   "xaxis": {"type": "date", "tickmode": "array", "tickvals": ticks,
                             "ticktext": [week_label(d, lang) for d in ticks], "automargin": True,
                             "hoverformat": "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"},
                   "yaxis": {"title": {"text": t("terrain.progress.visits", lang)}, "rangemode": "tozero",
                             "tickformat": ",d", "automargin": True},
                   "yaxis2": {"title": {"text": t("terrain.progress.cumulative", lang)}, "overlaying": "y",
                              "side": "right", "rangemode": "tozero", "tickformat": ",d", "automargin": True},
                   "separators": separators(lang)},
    }


def empty_progress_figure(lang: str) -> dict[str, Any]:
    """The chart before any data (same height, so the page does not jump)."""
    return {"data": [], "layout": {"height": PROGRESS_HEIGHT, "separators": separators(lang),
                                   "xaxis": {"visible": False}, "yaxis": {"visible": False}}}
