"""Counting door visits per building, H3 cell, QPV and campaign: the frames of the map, the tables and the
roll-up views.

Pure functions (arrays in, frames out, no I/O). Counts are :func:`numpy.bincount` over the groups of a
:class:`~geo.coverage.selection.Selection`; the ``*_frame`` functions turn counts into the frames the page
« Terrain » shows, whether the counts come from the visits or from the roll-up (:mod:`geo.coverage.rollup`).
"""

from __future__ import annotations

from collections.abc import Iterable

import h3
import numpy as np
import pandas as pd

from geo.coverage.events import (
    COUNT_COLUMNS,
    DO_NOT_DISTURB,
    H3_RESOLUTIONS,
    N_OUTCOMES,
    OPENED,
    OUTCOMES,
    PreparedEvents,
    dates,
)
from geo.coverage.placing import check_qpv
from geo.coverage.selection import Selection, selection


def count_table(group_of_event: np.ndarray, group_of_reached: np.ndarray, group_of_knocked: np.ndarray,
                 outcome: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """The :data:`~geo.coverage.events.COUNT_COLUMNS` per group, from the group of each selected visit, reached
    door and knocked door."""
    by_outcome = np.bincount(group_of_event * N_OUTCOMES + outcome, minlength=n_groups * N_OUTCOMES).reshape(n_groups, N_OUTCOMES)
    return count_columns(by_outcome, np.bincount(group_of_reached, minlength=n_groups),
                         np.bincount(group_of_knocked, minlength=n_groups))


def count_columns(by_outcome: np.ndarray, reached: np.ndarray, knocked: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`COUNT_COLUMNS` of groups from their visits per outcome (shape (groups, outcomes)),
    households reached and doors knocked."""
    by_outcome = np.asarray(by_outcome, dtype=np.int64)
    visits = by_outcome.sum(axis=1)
    knockable = visits - by_outcome[:, DO_NOT_DISTURB]
    with np.errstate(invalid="ignore", divide="ignore"):
        open_rate = np.where(knockable > 0, by_outcome[:, OPENED] / np.maximum(knockable, 1), np.nan)
    out: dict[str, np.ndarray] = {"visits": visits}
    for i, name in enumerate(OUTCOMES):
        out[name] = by_outcome[:, i]
    out["open_rate"] = open_rate
    out["households_reached"] = np.asarray(reached, dtype=np.int64)
    out["doors_knocked"] = np.asarray(knocked, dtype=np.int64)
    return out


def spatial_counts(prep: PreparedEvents, sel: Selection, group_of_building: np.ndarray, n_groups: int,
                   ) -> dict[str, np.ndarray]:
    """The count columns per group of buildings (``group_of_building``) over a selection."""
    return count_table(group_of_building[sel.building], group_of_building[sel.reached_building],
                        group_of_building[sel.knocked_building], sel.outcome, n_groups)


def columns_frame(columns: dict[str, np.ndarray], keep: np.ndarray) -> pd.DataFrame:
    """A frame of the rows ``keep`` of count columns."""
    return pd.DataFrame({name: values[keep] for name, values in columns.items()})


def _last_outcome(prep: PreparedEvents, sel: Selection, group_of_event: np.ndarray, n_groups: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    last = np.full(n_groups, -1, dtype=np.int64)
    np.maximum.at(last, group_of_event, sel.ev)
    ok = last >= 0
    day = np.full(n_groups, -1, dtype=np.int64)
    out = np.full(n_groups, -1, dtype=np.int64)
    day[ok] = prep.day[last[ok]]
    out[ok] = prep.outcome[last[ok]]
    return day, out


def aggregate_buildings(prep: PreparedEvents, mask: np.ndarray | None = None) -> pd.DataFrame:
    """Counts per building (door points on the map).

    Returns
    -------
    pandas.DataFrame
        One row per building with visits: ``building`` (id, address or coordinates), ``lon, lat``,
        ``code_qp`` (None outside), the :data:`COUNT_COLUMNS`, ``last_visit`` and ``last_outcome``.
    """
    return buildings_of(prep, selection(prep, mask))


def buildings_of(prep: PreparedEvents, sel: Selection) -> pd.DataFrame:
    """:func:`aggregate_buildings` of a selection."""
    nb = prep.n_buildings
    columns = spatial_counts(prep, sel, np.arange(nb, dtype=np.int64), nb)
    last_day, last_out = _last_outcome(prep, sel, prep.building[sel.ev], nb)
    return buildings_frame(prep, columns, last_day, last_out)


def buildings_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], last_day: np.ndarray,
                    last_out: np.ndarray) -> pd.DataFrame:
    """The frame of :func:`aggregate_buildings` from per-building counts, last visit days and outcomes."""
    keep = columns["visits"] > 0
    frame = columns_frame(columns, keep)
    frame.insert(0, "building", prep.b_label[keep])
    frame.insert(1, "lon", prep.b_lon[keep])
    frame.insert(2, "lat", prep.b_lat[keep])
    frame.insert(3, "code_qp", qpv_code_labels(prep, prep.b_qpv[keep]))
    frame["last_visit"] = dates(last_day[keep])
    frame["last_outcome"] = np.asarray(OUTCOMES, dtype=object)[last_out[keep]]
    return frame


def qpv_code_labels(prep: PreparedEvents, idx: np.ndarray) -> np.ndarray:
    """QPV codes of QPV indices (None for -1, outside every QPV)."""
    codes = np.asarray(prep.qpv_codes + ("",), dtype=object)
    out = codes[np.where(idx >= 0, idx, len(prep.qpv_codes))]
    return np.where(out == "", None, out)


def resolution_for_zoom(zoom: float) -> int:
    """The H3 resolution shown at a Leaflet zoom level (7 up to zoom 10, then 8, 9 and 10 from zoom 15)."""
    if zoom != zoom:
        raise ValueError(f"zoom: expected a number, got {zoom!r}")
    if zoom <= 10:
        return 7
    if zoom <= 12:
        return 8
    if zoom <= 14:
        return 9
    return 10


def aggregate_cells(prep: PreparedEvents, mask: np.ndarray | None = None, *, resolution: int = 10) -> pd.DataFrame:
    """Counts per H3 cell (the heatmap).

    Parameters
    ----------
    resolution : int
        One of :data:`H3_RESOLUTIONS` (10: cells about 130 m across).

    Returns
    -------
    pandas.DataFrame
        One row per cell with visits: ``cell`` (H3 index), ``lon, lat`` (cell centre) and the
        :data:`COUNT_COLUMNS`.
    """
    return cells_of(prep, selection(prep, mask), resolution)


def cells_of(prep: PreparedEvents, sel: Selection, resolution: int) -> pd.DataFrame:
    """:func:`aggregate_cells` of a selection."""
    if resolution not in prep.b_cell:
        raise ValueError(f"resolution: expected one of {list(H3_RESOLUTIONS)}, got {resolution!r}")
    group = prep.b_cell[resolution].astype(np.int64)
    n = prep.cells[resolution].size
    return cells_frame(prep, spatial_counts(prep, sel, group, n), resolution)


def cells_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], resolution: int) -> pd.DataFrame:
    """The frame of :func:`aggregate_cells` from per-cell counts (:data:`COUNT_COLUMNS`)."""
    keep = np.flatnonzero(columns["visits"] > 0)
    frame = columns_frame(columns, keep)
    names = prep.cells[resolution][keep]
    centres = np.array([h3.cell_to_latlng(c) for c in names], dtype=float).reshape(-1, 2)
    frame.insert(0, "cell", names)
    frame.insert(1, "lon", centres[:, 1])
    frame.insert(2, "lat", centres[:, 0])
    return frame


def aggregate_qpv(prep: PreparedEvents, mask: np.ndarray | None = None, *, qpv: pd.DataFrame | None = None,
                  include: Iterable[str] = ()) -> pd.DataFrame:
    """Counts and coverage per QPV.

    Parameters
    ----------
    qpv : pandas.DataFrame, optional
        QPV attributes with ``code_qp``, ``lib_qp`` and ``households`` (INSEE); gives ``coverage_rate``.
    include : iterable of str
        QPV codes to list even without visits (e.g. the QPV of a site).

    Returns
    -------
    pandas.DataFrame
        One row per QPV, sorted by ``remaining_households`` (descending): ``code_qp``, ``lib_qp``,
        ``households``, the :data:`COUNT_COLUMNS`, ``coverage_rate`` and ``remaining_households``.
    """
    return qpv_of(prep, selection(prep, mask), qpv, include)


def qpv_of(prep: PreparedEvents, sel: Selection, qpv: pd.DataFrame | None, include: Iterable[str]) -> pd.DataFrame:
    """:func:`aggregate_qpv` of a selection."""
    return qpv_frame(prep, spatial_counts(prep, sel, qpv_groups(prep), len(prep.qpv_codes) + 1), qpv, include)


def qpv_groups(prep: PreparedEvents) -> np.ndarray:
    """Group of each building by QPV: its QPV index, or ``len(qpv_codes)`` outside every QPV."""
    nq = len(prep.qpv_codes)
    return np.where(prep.b_qpv >= 0, prep.b_qpv, nq).astype(np.int64)


def qpv_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], qpv: pd.DataFrame | None,
              include: Iterable[str]) -> pd.DataFrame:
    """The frame of :func:`aggregate_qpv` from per-QPV counts (groups of :func:`qpv_groups`)."""
    nq = len(prep.qpv_codes)
    frame = pd.DataFrame({name: values[:nq] for name, values in columns.items()})
    frame.insert(0, "code_qp", np.asarray(prep.qpv_codes, dtype=object))
    include = set(include)
    frame = frame[(frame["visits"].to_numpy() > 0) | frame["code_qp"].isin(include).to_numpy()]
    extra = sorted(include - set(frame["code_qp"]))
    if extra:
        zeros = {name: np.zeros(len(extra), dtype=frame[name].dtype) for name in columns}
        zeros["open_rate"] = np.full(len(extra), np.nan)
        frame = pd.concat([frame, pd.DataFrame({"code_qp": extra, **zeros})], ignore_index=True)
    if qpv is not None:
        check_qpv(qpv, need=("code_qp", "households"))
        attrs = pd.DataFrame({"code_qp": qpv["code_qp"].astype("str").to_numpy(),
                              "lib_qp": (qpv["lib_qp"].astype("str").to_numpy() if "lib_qp" in qpv.columns
                                         else np.full(len(qpv), "", dtype=object)),
                              "households": pd.to_numeric(qpv["households"], errors="coerce").to_numpy(float)})
        frame = frame.merge(attrs, on="code_qp", how="left")
    else:
        frame["lib_qp"] = ""
        frame["households"] = np.nan
    households = frame["households"].to_numpy(dtype=float)
    reached = frame["households_reached"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["coverage_rate"] = np.where(households > 0, reached / households, np.nan)
    frame["remaining_households"] = np.clip(households - reached, 0, None)
    order = ["code_qp", "lib_qp", "households", *COUNT_COLUMNS, "coverage_rate", "remaining_households"]
    frame = frame[order].sort_values(["remaining_households", "code_qp"], ascending=[False, True],
                                     na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def outside_qpv(prep: PreparedEvents, mask: np.ndarray | None = None) -> dict[str, int]:
    """Visits and households reached outside every QPV (flagged, still counted in totals)."""
    sel = selection(prep, mask)
    b_out = prep.b_qpv < 0
    return {"visits": int(b_out[prep.building[sel.ev]].sum()),
            "households_reached": int(b_out[prep.door_building[sel.reached]].sum())}


def _pair_counts(group_of_opened: np.ndarray, door_of_opened: np.ndarray, n_doors: int, n_groups: int) -> np.ndarray:
    if group_of_opened.size == 0:
        return np.zeros(n_groups, dtype=np.int64)
    pairs = np.unique(group_of_opened.astype(np.int64) * n_doors + door_of_opened)
    return np.bincount(pairs // n_doors, minlength=n_groups)


def aggregate_campaigns(prep: PreparedEvents, mask: np.ndarray | None = None) -> pd.DataFrame:
    """Counts per campaign.

    Returns
    -------
    pandas.DataFrame
        ``campaign``, ``site``, ``first_visit``, ``last_visit``, the :data:`COUNT_COLUMNS`, ``buildings``.
    """
    sel = selection(prep, mask)
    nc = len(prep.campaigns)
    group = prep.campaign[sel.ev].astype(np.int64)
    columns = count_table(group, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), sel.outcome, nc)
    columns["households_reached"] = _pair_counts(prep.campaign[sel.opened], prep.door[sel.opened], prep.n_doors, nc)
    columns["doors_knocked"] = _pair_counts(group, prep.door[sel.ev], prep.n_doors, nc)
    columns["buildings"] = _pair_counts(group, prep.building[sel.ev], prep.n_buildings, nc)
    first = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(nc, -1, dtype=np.int64)
    if sel.ev.size:
        np.minimum.at(first, group, prep.day[sel.ev])
        np.maximum.at(last, group, prep.day[sel.ev])
    keep = columns["visits"] > 0
    frame = columns_frame(columns, keep)
    frame.insert(0, "campaign", np.asarray(prep.campaigns, dtype=object)[keep])
    frame.insert(1, "site", np.asarray(prep.sites, dtype=object)[prep.campaign_site[keep]])
    frame.insert(2, "first_visit", dates(first[keep]))
    frame.insert(3, "last_visit", dates(last[keep]))
    return frame.sort_values(["site", "first_visit", "campaign"], kind="stable").reset_index(drop=True)

