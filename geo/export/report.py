"""Export labels of the funders' report tables (column names in French and English).

The impact calculation itself (:func:`build_report`, :func:`cells_from_events`, :func:`attach_home_sites`,
:class:`ImpactReport`…) lives in :mod:`geo.coverage.impact`; its public names are importable from here
too, for callers written before it moved.

>>> labelled(report.table("regions"), "en")                   # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from geo.coverage.impact import (
    DEPTHS,
    GEO,
    MEASURES,
    OUTSIDE,
    TABLES,
    TIME,
    UNKNOWN_REGION,
    ImpactReport,
    attach_home_sites,
    build_report,
    cells_from_events,
    quarter_label,
    reach_table,
    site_places,
)
from geo.i18n import LanguageView, t

__all__ = [
    "DEPTHS", "GEO", "LABELS", "MEASURES", "OUTSIDE", "TABLES", "TIME", "UNKNOWN_REGION", "ImpactReport",
    "attach_home_sites", "build_report", "cells_from_events", "labelled", "quarter_label", "reach_table",
    "site_places",
]

#: Export labels of the report's columns, ``LABELS[column][lang]`` (messages ``report.col.<column>``).
LABELS: dict[str, LanguageView] = {column: LanguageView(f"report.col.{column}") for column in (
    "households", "doors_opened", "visits", "open_rate", "coverage_rate", "qpv_active", "reach_share", "region",
    "region_name", "site", "site_name", "code_qp", "lib_qp", "quarter", "insee_households", "secret")}


def labelled(frame: pd.DataFrame, lang: str = "fr") -> pd.DataFrame:
    """Rename the columns of a report table to their labels in ``lang`` (for exports)."""
    lang = lang if lang in ("fr", "en") else "fr"
    out = frame.rename(columns={c: LABELS[c][lang] for c in frame.columns if c in LABELS})
    if "secret" in frame.columns:
        yes, no = t("common.yes", lang), t("common.no", lang)
        out[LABELS["secret"][lang]] = frame["secret"].map({True: yes, False: no})
    return out
