"""Catchments: which QPV lie within a travel radius of a point, in the zone's metric CRS.

Points are projected per metric CRS (:func:`geo.crs.metric_epsg`: Lambert-93 for the métropole, the
local UTM zone overseas) and matched with a k-d tree (:class:`scipy.spatial.cKDTree`), one per CRS,
so points of different territories never cover each other and no pair is compared in a Python loop.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy import sparse
from scipy.spatial import cKDTree as KDTree

from geo.crs import metric_epsg

logger = logging.getLogger(__name__)


def epsg_for_departements(insee_dep: Iterable[str]) -> np.ndarray:
    """Metric EPSG code of each département code (vectorised :func:`geo.crs.metric_epsg`).

    Parameters
    ----------
    insee_dep : iterable of str
        Département codes.

    Returns
    -------
    numpy.ndarray of int64
    """
    deps = np.asarray(list(insee_dep) if not isinstance(insee_dep, np.ndarray) else insee_dep, dtype=object)
    if not len(deps):
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(deps.astype(str), return_inverse=True)
    codes = np.array([metric_epsg(str(d)) for d in uniq], dtype=np.int64)
    return codes[inverse.ravel()]


@lru_cache(maxsize=64)
def _transformer(epsg: int) -> Transformer:
    """WGS84 -> ``epsg`` transformer, created once per process (creating one costs ~10 ms)."""
    return Transformer.from_crs(4326, epsg, always_xy=True)


def project(lon: np.ndarray, lat: np.ndarray, epsg: np.ndarray) -> np.ndarray:
    """Project lon/lat points to metres, each in its own metric CRS.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        WGS84 coordinates in degrees.
    epsg : numpy.ndarray of int
        Target EPSG code per point.

    Returns
    -------
    numpy.ndarray, shape (n, 2)
        x, y in metres (NaN where lon/lat are missing).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    epsg = np.asarray(epsg, dtype=np.int64)
    if not (lon.shape == lat.shape == epsg.shape):
        raise ValueError(f"lon, lat, epsg: expected arrays of the same length, got {lon.shape}, {lat.shape}, {epsg.shape}")
    out = np.full((len(lon), 2), np.nan)
    for code in np.unique(epsg):
        m = epsg == code
        x, y = _transformer(int(code)).transform(lon[m], lat[m])
        out[m, 0], out[m, 1] = x, y
    return out


class PointIndex:
    """A k-d tree per metric CRS over a set of projected points (e.g. the QPV representative points).

    Parameters
    ----------
    xy : numpy.ndarray, shape (n, 2)
        Projected coordinates in metres.
    epsg : numpy.ndarray of int, shape (n,)
        CRS of each point; only points of the same CRS can be neighbours.
    """

    def __init__(self, xy: np.ndarray, epsg: np.ndarray) -> None:
        self.n = len(xy)
        self._groups: dict[int, tuple[np.ndarray, KDTree]] = {}
        ok = np.isfinite(xy).all(axis=1)
        for code in np.unique(epsg[ok]):
            idx = np.flatnonzero(ok & (epsg == code))
            self._groups[int(code)] = (idx, KDTree(xy[idx]))

    def within(self, xy: np.ndarray, epsg: np.ndarray, radius_m: float) -> sparse.csr_matrix:
        """Boolean sparse matrix (queries × indexed points): True where the distance is <= radius_m."""
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for code in np.unique(epsg):
            if int(code) not in self._groups:
                continue
            q = np.flatnonzero((epsg == code) & np.isfinite(xy).all(axis=1))
            if not len(q):
                continue
            idx, tree = self._groups[int(code)]
            hits = tree.query_ball_point(xy[q], r=radius_m)
            lens = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
            rows.append(np.repeat(q, lens))
            found = np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64, count=int(lens.sum()))
            cols.append(idx[found])
        r = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
        c = np.concatenate(cols) if cols else np.empty(0, dtype=np.int64)
        data = np.ones(len(r), dtype=bool)
        return sparse.csr_matrix((data, (r, c)), shape=(len(xy), self.n), dtype=bool)


def coverage_matrix(
    cand_xy: np.ndarray,
    cand_epsg: np.ndarray,
    qpv_xy: np.ndarray,
    qpv_epsg: np.ndarray,
    *,
    radius_km: float,
    home: sparse.csr_matrix | None = None,
    cand_epci: np.ndarray | None = None,
    qpv_epci: np.ndarray | None = None,
    index: PointIndex | None = None,
) -> sparse.csr_matrix:
    """Candidate × QPV coverage: a QPV is in a candidate's catchment when its point is within the radius.

    Parameters
    ----------
    cand_xy, qpv_xy : numpy.ndarray, shape (n, 2)
        Projected points (metres), see :func:`project`.
    cand_epsg, qpv_epsg : numpy.ndarray of int
        CRS of each point.
    radius_km : float
        Travel radius in km (> 0).
    home : scipy.sparse matrix, optional
        Candidate × QPV pairs covered whatever the radius (a city team's own QPV within the home
        radius, see :func:`geo.siting.candidates.team_bases`), added to the radius pairs.
    cand_epci, qpv_epci : numpy.ndarray of str, optional
        When both are given, radius pairs are kept only inside the same EPCI (home pairs are kept).
    index : PointIndex, optional
        A prebuilt index of ``qpv_xy`` (built here otherwise).

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n_candidates, n_qpv)
    """
    if not isinstance(radius_km, int | float) or not np.isfinite(radius_km) or radius_km <= 0:
        raise ValueError(f"radius_km: expected a positive number of km, got {radius_km!r}")
    if index is None:
        index = PointIndex(qpv_xy, qpv_epsg)
    cov = index.within(cand_xy, cand_epsg, radius_km * 1000.0)
    if cand_epci is not None and qpv_epci is not None:
        cov = same_epci_pairs(cov, cand_epci, qpv_epci)
    out = cov.tocsr()
    if home is not None:
        if home.shape != out.shape:
            raise ValueError(f"home: expected shape {out.shape}, got {home.shape}")
        out = (out + home.astype(bool)).astype(bool).tocsr()
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    logger.debug("coverage matrix %s, %d pairs, radius %.1f km", out.shape, out.nnz, radius_km)
    return out


def same_epci_pairs(cov: sparse.spmatrix, cand_epci: np.ndarray, qpv_epci: np.ndarray) -> sparse.csr_matrix:
    """Keep the pairs of ``cov`` (candidates × QPV) whose candidate and QPV share a non-empty EPCI code."""
    c = cov.tocoo()
    ce = pd.Series(np.asarray(cand_epci, dtype=object)).fillna("").astype(str).to_numpy(dtype=object)[c.row]
    qe = pd.Series(np.asarray(qpv_epci, dtype=object)).fillna("").astype(str).to_numpy(dtype=object)[c.col]
    keep = (ce == qe) & (ce != "")
    return sparse.csr_matrix((c.data[keep], (c.row[keep], c.col[keep])), shape=c.shape, dtype=bool)


def pairwise_within(xy: np.ndarray, epsg: np.ndarray, *, radius_km: float) -> sparse.csr_matrix:
    """Symmetric boolean matrix of point pairs (i != j) closer than ``radius_km``, same CRS only."""
    m = PointIndex(xy, epsg).within(xy, epsg, radius_km * 1000.0).tolil()
    m.setdiag(False)
    out = m.tocsr()
    out.eliminate_zeros()
    return out


def nearest_distance_km(
    xy: np.ndarray, epsg: np.ndarray, ref_xy: np.ndarray, ref_epsg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (km) from each point to the nearest reference point of the same CRS, and its index.

    Returns NaN / -1 where no reference point shares the CRS.
    """
    dist = np.full(len(xy), np.nan)
    which = np.full(len(xy), -1, dtype=np.int64)
    ok_ref = np.isfinite(ref_xy).all(axis=1) if len(ref_xy) else np.zeros(0, dtype=bool)
    for code in np.unique(epsg):
        r = np.flatnonzero(ok_ref & (ref_epsg == code))
        q = np.flatnonzero((epsg == code) & np.isfinite(xy).all(axis=1))
        if not len(r) or not len(q):
            continue
        d, i = KDTree(ref_xy[r]).query(xy[q], k=1)
        dist[q] = d / 1000.0
        which[q] = r[i]
    return dist, which
