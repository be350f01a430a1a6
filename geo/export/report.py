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

__all__ = [
    "DEPTHS", "GEO", "LABELS", "MEASURES", "OUTSIDE", "TABLES", "TIME", "UNKNOWN_REGION", "ImpactReport",
    "attach_home_sites", "build_report", "cells_from_events", "labelled", "quarter_label", "reach_table",
    "site_places",
]

LABELS: dict[str, dict[str, str]] = {
    "households": {"fr": "Ménages rencontrés", "en": "Households met"},
    "doors_opened": {"fr": "Portes ouvertes", "en": "Doors opened"},
    "visits": {"fr": "Portes frappées", "en": "Doors knocked"},
    "open_rate": {"fr": "Taux d'ouverture", "en": "Open rate"},
    "coverage_rate": {"fr": "Part des ménages du QPV rencontrés", "en": "Share of the QPV's households met"},
    "qpv_active": {"fr": "QPV où l'association intervient", "en": "QPV where the association works"},
    "reach_share": {"fr": "Part des habitants des QPV à portée d'un site",
                    "en": "Share of QPV residents within reach of a site"},
    "region": {"fr": "Code région", "en": "Region code"},
    "region_name": {"fr": "Région", "en": "Region"},
    "site": {"fr": "Code site", "en": "Site code"},
    "site_name": {"fr": "Site", "en": "Site"},
    "code_qp": {"fr": "Code QPV", "en": "QPV code"},
    "lib_qp": {"fr": "QPV", "en": "QPV"},
    "quarter": {"fr": "Trimestre", "en": "Quarter"},
    "insee_households": {"fr": "Ménages (INSEE)", "en": "Households (INSEE)"},
    "secret": {"fr": "Secret statistique", "en": "Statistical secrecy"},
}


def labelled(frame: pd.DataFrame, lang: str = "fr") -> pd.DataFrame:
    """Rename the columns of a report table to their labels in ``lang`` (for exports)."""
    lang = lang if lang in ("fr", "en") else "fr"
    out = frame.rename(columns={c: LABELS[c][lang] for c in frame.columns if c in LABELS})
    if "secret" in frame.columns:
        yes, no = ("oui", "non") if lang == "fr" else ("yes", "no")
        out[LABELS["secret"][lang]] = frame["secret"].map({True: yes, False: no})
    return out
