"""The walk list of the page Terrain: doors « à revoir », grouped by building, in walking order.

Buildings with an address in the logs come street by street (streets in alphabetical order, house numbers
ascending); buildings without one follow, each the nearest to the previous (a greedy walk from the last
addressed building, or from the westernmost one). The list is exported for the team's next round as
French CSV (``;``, UTF-8 with BOM) and as a PDF with one page per building, drawn with matplotlib's PDF
backend (already a dependency of the project): a header, the doors to knock again and boxes to tick.
"""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

import numpy as np
import pandas as pd

from app.components.addresses import number_key, street_key
from geo.i18n import format_date, t

logger = logging.getLogger(__name__)

#: Columns of the walk list (id, message id of its header), in the CSV's order.
WALK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("order", "walk.col.order"), ("address", "walk.col.address"), ("building", "walk.col.building"),
    ("code_qp", "walk.col.qpv"), ("doors_to_revisit", "walk.col.count"), ("doors", "walk.col.doors"),
    ("last_visit", "walk.col.last_visit"),
)
#: Outcomes a Voisin ticks on the printed sheet.
SHEET_OUTCOMES: tuple[str, ...] = ("ouvert", "absent", "refus", "a_revoir", "ne_pas_deranger")
_METRES_PER_DEGREE = 111_320.0


def _greedy_walk(lon: np.ndarray, lat: np.ndarray, start: tuple[float, float] | None) -> list[int]:
    """Indices of the points, each the nearest unvisited one to the previous (metres, equirectangular)."""
    n = lon.size
    if n == 0:
        return []
    x = lon * np.cos(np.radians(np.nanmean(lat))) * _METRES_PER_DEGREE
    y = lat * _METRES_PER_DEGREE
    left = np.ones(n, dtype=bool)
    if start is None:
        current = int(np.argmin(x))
    else:
        sx = start[0] * np.cos(np.radians(np.nanmean(lat))) * _METRES_PER_DEGREE
        current = int(np.argmin(np.hypot(x - sx, y - start[1] * _METRES_PER_DEGREE)))
    order = [current]
    left[current] = False
    for _ in range(n - 1):
        d = np.where(left, np.hypot(x - x[current], y - y[current]), np.inf)
        current = int(np.argmin(d))
        order.append(current)
        left[current] = False
    return order


def walk_list(revisit: pd.DataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """Buildings with doors to revisit, in walking order.

    Parameters
    ----------
    revisit : pandas.DataFrame
        :func:`geo.coverage.aggregate.revisit_layer` (``building, lon, lat, code_qp, doors_to_revisit,
        last_visit, doors``).
    addresses : pandas.DataFrame
        :func:`app.components.addresses.building_addresses` (indexed by building label).

    Returns
    -------
    pandas.DataFrame
        The rows of ``revisit`` with ``address`` (empty when unknown), ``street`` and ``order`` (1, 2, …),
        sorted by ``order``.
    """
    need = ("building", "lon", "lat", "doors_to_revisit", "doors", "last_visit")
    missing = [c for c in need if c not in revisit.columns]
    if missing:
        raise ValueError(f"revisit: expected the columns {list(need)}, missing {missing}")
    frame = revisit.reset_index(drop=True).copy()
    known = addresses.reindex(frame["building"].astype(str))
    frame["address"] = known["address"].fillna("").to_numpy(dtype=object)
    frame["street"] = known["street"].fillna("").to_numpy(dtype=object)
    numbers = known["street_number"].fillna("").to_numpy(dtype=object)
    places = known["postcode"].fillna("").to_numpy(dtype=object)
    addressed = np.flatnonzero(frame["street"].to_numpy(dtype=object) != "")
    keyed = sorted(addressed.tolist(), key=lambda i: (places[i], street_key(frame.at[i, "street"]),
                                                      number_key(numbers[i])))
    rest = np.flatnonzero(frame["street"].to_numpy(dtype=object) == "")
    start = (float(frame.at[keyed[-1], "lon"]), float(frame.at[keyed[-1], "lat"])) if keyed else None
    walked = _greedy_walk(frame["lon"].to_numpy(float)[rest], frame["lat"].to_numpy(float)[rest], start)
    order = keyed + rest[walked].tolist()
    out = frame.iloc[order].reset_index(drop=True)
    out.insert(0, "order", np.arange(1, len(out) + 1))
    out["last_visit"] = out["last_visit"].astype(str).str[:10]
    return out


def _cells(row: Any, lang: str) -> list[str]:
    values = {"order": str(row.order), "address": row.address, "building": str(row.building),
              "code_qp": row.code_qp if isinstance(row.code_qp, str) else "",
              "doors_to_revisit": str(int(row.doors_to_revisit)), "doors": row.doors or "",
              "last_visit": format_date(row.last_visit, lang) if row.last_visit else ""}
    return [values[c] for c, _ in WALK_COLUMNS]


def walk_csv(walk: pd.DataFrame, *, lang: str) -> bytes:
    """The walk list as CSV for French spreadsheets: ``;`` separator, UTF-8 with BOM, headers in ``lang``.

    Texts that a spreadsheet would read as a formula are neutralised (:func:`geo.export.tables.neutralise`).
    """
    from geo.export.tables import neutralise

    rows = pd.DataFrame([_cells(r, lang) for r in walk.itertuples(index=False)],
                        columns=[t(key, lang) for _, key in WALK_COLUMNS])
    buffer = io.StringIO()
    neutralise(rows).to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet(pdf: Any, row: Any, *, lang: str, heading: str) -> None:
    """One A4 page: the building, its doors to revisit and a box per outcome to tick."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig = plt.figure(figsize=(8.27, 11.69))
    fig.text(0.07, 0.95, heading, fontsize=10, color="#555555")
    fig.text(0.07, 0.91, f"{row.order}. {row.address or row.building}", fontsize=16, weight="bold")
    sub = [t("walk.col.building", lang) + " : " + str(row.building)]
    if isinstance(row.code_qp, str) and row.code_qp:
        sub.append(t("walk.col.qpv", lang) + " : " + row.code_qp)
    sub.append(t("walk.col.last_visit", lang) + " : " + format_date(row.last_visit, lang))
    fig.text(0.07, 0.885, " · ".join(sub), fontsize=10)
    doors = [d.strip() for d in (row.doors or "").split(",") if d.strip()]
    doors += [t("walk.unmarked_door", lang)] * (int(row.doors_to_revisit) - len(doors))
    fig.text(0.07, 0.85, t("walk.doors_title", lang, n=int(row.doors_to_revisit)), fontsize=12, weight="bold")
    outcomes = [t(f"outcome.{o}", lang) for o in SHEET_OUTCOMES]
    y, step = 0.815, min(0.035, 0.75 / max(1, len(doors) + 1))
    for i, name in enumerate(outcomes):
        fig.text(0.40 + i * 0.11, y, name, fontsize=8, rotation=0, ha="center")
    for door in doors:
        y -= step
        fig.text(0.07, y, door, fontsize=10)
        for i in range(len(outcomes)):
            fig.add_artist(Rectangle((0.39 + i * 0.11, y - 0.002), 0.02, 0.014, transform=fig.transFigure,
                                     fill=False, linewidth=0.8))
    fig.text(0.07, 0.04, t("walk.footer", lang), fontsize=8, color="#555555")
    pdf.savefig(fig)
    plt.close(fig)


def walk_pdf(walk: pd.DataFrame, *, lang: str, heading: str) -> bytes:
    """The walk list as a PDF, one A4 page per building (a single page saying so when it is empty).

    Parameters
    ----------
    walk : pandas.DataFrame
        :func:`walk_list`.
    lang : {"fr", "en"}
    heading : str
        First line of every page (site, campaigns).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": heading, "Creator": "voisinmap"}) as pdf:
        for row in walk.itertuples(index=False):
            _sheet(pdf, row, lang=lang, heading=heading)
        if walk.empty:
            import matplotlib.pyplot as plt

            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.07, 0.9, t("walk.empty", lang), fontsize=14)
            pdf.savefig(fig)
            plt.close(fig)
    logger.info("walk list PDF: %d page(s)", max(1, len(walk)))
    return buffer.getvalue()


def walk_rows(walk: pd.DataFrame, *, lang: str, limit: int = 200) -> list[dict[str, Any]]:
    """Rows of the walk-list table of the page (the first ``limit`` buildings)."""
    return [dict(zip([c for c, _ in WALK_COLUMNS], _cells(r, lang), strict=True))
            for r in walk.head(limit).itertuples(index=False)]
