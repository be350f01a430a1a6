"""Where a building is: its point (the median of its visits' points), its QPV and its H3 cells.

Pure functions over arrays (no I/O), used when door visits are prepared (:mod:`geo.coverage.coding`) and by
the import (:func:`assign_qpv`).
"""

from __future__ import annotations

from collections.abc import Sequence

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import shapely

from geo.coverage.events import H3_RESOLUTIONS


def assign_qpv(lon: np.ndarray, lat: np.ndarray, qpv: pd.DataFrame) -> np.ndarray:
    """The QPV code of each point (point in polygon), or ``None`` outside every QPV.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 coordinates (NaN allowed: gives ``None``).
    qpv : geopandas.GeoDataFrame
        QPV polygons in EPSG:4326 with a ``code_qp`` column (:func:`geo.load.load_qpv`).

    Returns
    -------
    numpy.ndarray of object
        Codes, ``None`` where the point lies in no QPV. A point on two overlapping QPV gets the first.
    """
    check_qpv(qpv, need=("code_qp",))
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError(f"lon, lat: expected arrays of the same shape, got {lon.shape} and {lat.shape}")
    out = np.full(lon.shape, None, dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any() or len(qpv) == 0:
        return out
    points = shapely.points(lon[ok], lat[ok])
    tree = shapely.STRtree(np.asarray(qpv.geometry.values))
    pt_idx, poly_idx = tree.query(points, predicate="within")
    first = np.full(points.size, -1, dtype=np.int64)
    order = np.lexsort((poly_idx, pt_idx))
    pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
    keep = np.ones(pt_sorted.size, dtype=bool)
    keep[1:] = pt_sorted[1:] != pt_sorted[:-1]
    first[pt_sorted[keep]] = poly_sorted[keep]
    codes = np.asarray(qpv["code_qp"].astype("str").to_numpy(), dtype=object)
    found = np.where(first >= 0, first, 0)
    inside = np.where(first >= 0, codes[found], None)
    out[np.flatnonzero(ok)] = inside
    return out


def group_median(groups: np.ndarray, values: np.ndarray, *, n_groups: int) -> np.ndarray:
    """The median of ``values`` within each group (vectorised: one sort, no Python loop).

    Parameters
    ----------
    groups : numpy.ndarray of int
        Group of each value, in ``[0, n_groups)``.
    values : numpy.ndarray of float
        Values (no NaN).
    n_groups : int
        Number of groups; a group without values gets NaN.

    Returns
    -------
    numpy.ndarray of float
        One median per group (the mean of the two middle values for an even count).
    """
    groups = np.asarray(groups, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if groups.shape != values.shape:
        raise ValueError(f"groups, values: expected arrays of the same shape, got {groups.shape} and "
                         f"{values.shape}")
    out = np.full(n_groups, np.nan)
    if groups.size == 0:
        return out
    order = np.lexsort((values, groups))
    ordered = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    out[has] = (ordered[low] + ordered[high]) / 2
    return out


def check_qpv(qpv: pd.DataFrame, *, need: Sequence[str]) -> None:
    """Raise unless ``qpv`` is a frame with the columns ``need`` (in EPSG:4326 when geometry or codes are needed)."""
    if not isinstance(qpv, pd.DataFrame):
        raise TypeError(f"qpv: expected a GeoDataFrame of QPV (geo.load.load_qpv()), got {type(qpv).__name__}")
    missing = [c for c in need if c not in qpv.columns]
    if missing:
        raise ValueError(f"qpv: expected the columns {list(need)}, missing {missing}")
    if "geometry" in need or "code_qp" in need:
        crs = getattr(qpv, "crs", None)
        if crs is not None and crs.to_epsg() != 4326:
            raise ValueError(f"qpv: expected EPSG:4326 (lon/lat), got {crs}")



def building_cells(lon: np.ndarray, lat: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The H3 cell of each building at every resolution of :data:`geo.coverage.events.H3_RESOLUTIONS`.

    Parameters
    ----------
    lon, lat : numpy.ndarray of float
        Building points (WGS84).

    Returns
    -------
    (dict, dict)
        Per resolution: the index of each building's cell (int32) into the table of cells, and that table
        (H3 cells as strings, sorted by their integer form). H3 cells do not nest exactly: no parent shortcut.
    """
    b_cell: dict[int, np.ndarray] = {}
    cells: dict[int, np.ndarray] = {}
    for res in H3_RESOLUTIONS:
        ints = np.array([h3i.latlng_to_cell(y, x, res) for y, x in zip(lat.tolist(), lon.tolist(), strict=True)],
                        dtype=np.uint64)
        uniq, inverse = np.unique(ints, return_inverse=True)
        cells[res] = np.array([h3.int_to_str(c) for c in uniq.tolist()], dtype=object)
        b_cell[res] = inverse.astype(np.int32).reshape(-1)
    return b_cell, cells
