"""Candidate sites: every commune hosting at least one QPV (or every EPCI), with Paris, Lyon and Marseille
split into their arrondissements municipaux.

A QPV lists one or more communes (``insee_com``, ';'-separated): each of them is a "home" candidate of
the QPV (a city team works in its own QPV beyond the radius, up to ``home_radius_km`` from its base,
see :func:`team_bases`). For Paris (75056), Lyon
(69123) and Marseille (13055) the home candidate is the arrondissement whose centroid is nearest to the
QPV's representative point, so a recommendation never sits on the centre of Paris.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import sparse

from geo.siting.catchment import epsg_for_departements, nearest_distance_km, project
from geo.siting.params import PLM_COMMUNES

logger = logging.getLogger(__name__)

LEVELS: tuple[str, ...] = ("commune", "epci")

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "insee_code", "name", "kind", "parent_code", "insee_dep", "insee_reg", "region", "siren_epci",
    "lib_epci", "zone", "population", "lon", "lat",
)

_QPV_REQUIRED = ("code_qp", "insee_com", "insee_dep", "insee_reg", "rep_lon", "rep_lat")
_COMMUNE_REQUIRED = ("insee_com", "name", "insee_dep", "insee_reg", "lib_reg", "lon", "lat")
_ARR_REQUIRED = ("insee_com", "name", "parent_com", "insee_dep", "insee_reg", "lib_reg", "lon", "lat")


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], *, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` when ``frame`` lacks one of ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name}: expected a (Geo)DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: expected columns {list(columns)}, missing {missing}")


def _str(series: pd.Series | np.ndarray | list) -> np.ndarray:
    """Values as an object array of ``str``, missing values (None, NaN, NA) as ``""`` (vectorised)."""
    s = series if isinstance(series, pd.Series) else pd.Series(np.asarray(series, dtype=object))
    if isinstance(s.dtype, pd.StringDtype):
        return s.to_numpy(dtype=object, na_value="")
    return s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)


def _col(frame: pd.DataFrame, key: str) -> np.ndarray:
    """``_str(frame[key])``, or empty strings when the column is absent."""
    return _str(frame[key]) if key in frame.columns else np.full(len(frame), "", dtype=object)


def plm_assignment(qpv: pd.DataFrame, arrondissements: pd.DataFrame) -> dict[tuple[int, str], str]:
    """Nearest arrondissement of each QPV lying in Paris, Lyon or Marseille.

    Parameters
    ----------
    qpv : pandas.DataFrame
        QPV with ``insee_com``, ``insee_dep``, ``rep_lon``, ``rep_lat``.
    arrondissements : pandas.DataFrame
        Arrondissements municipaux with ``insee_com``, ``parent_com``, ``insee_dep``, ``lon``, ``lat``.

    Returns
    -------
    dict
        (row position of the QPV, parent commune code) -> arrondissement INSEE code.
    """
    out: dict[tuple[int, str], str] = {}
    codes = [s.split(";") for s in _str(qpv["insee_com"])]
    q_xy = project(qpv["rep_lon"].to_numpy(float), qpv["rep_lat"].to_numpy(float),
                   epsg_for_departements(_str(qpv["insee_dep"])))
    arr_codes = _str(arrondissements["insee_com"])
    arr_parent = _str(arrondissements["parent_com"])
    a_xy = project(arrondissements["lon"].to_numpy(float), arrondissements["lat"].to_numpy(float),
                   epsg_for_departements(_str(arrondissements["insee_dep"])))
    for parent in PLM_COMMUNES:
        rows = [i for i, cs in enumerate(codes) if parent in cs]
        if not rows:
            continue
        a = np.flatnonzero(arr_parent == parent)
        if not len(a):
            raise ValueError(f"arrondissements: expected the arrondissements of {parent} ({PLM_COMMUNES[parent]}), got none")
        rows_arr = np.array(rows)
        _, which = nearest_distance_km(q_xy[rows_arr], np.zeros(len(rows), dtype=np.int64),
                                       a_xy[a], np.zeros(len(a), dtype=np.int64))
        for r, w in zip(rows, which, strict=True):
            if w >= 0:
                out[(r, parent)] = arr_codes[a[w]]
    return out


def build_candidates(
    qpv: pd.DataFrame,
    communes: pd.DataFrame,
    arrondissements: pd.DataFrame,
    *,
    level: str = "commune",
) -> tuple[pd.DataFrame, sparse.csr_matrix]:
    """Candidate table and the candidate × QPV "home" matrix.

    Parameters
    ----------
    qpv : pandas.DataFrame
        QPV (contract columns, see :data:`geo.schema.QPV_COLUMNS`), in the instance's order.
    communes : pandas.DataFrame
        Communes with centroids (:data:`geo.schema.COMMUNE_COLUMNS`).
    arrondissements : pandas.DataFrame
        Arrondissements municipaux (:data:`geo.schema.ARRONDISSEMENT_COLUMNS`).
    level : {"commune", "epci"}
        ``commune``: communes hosting a QPV (arrondissements for Paris, Lyon, Marseille);
        ``epci``: EPCI hosting a QPV, located at the population-weighted mean of its QPV points (a QPV
        without EPCI falls back to its first commune).

    Returns
    -------
    candidates : pandas.DataFrame
        One row per candidate, sorted by ``insee_code`` (the tie-break order), with
        :data:`CANDIDATE_COLUMNS` and ``n_qpv_home``.
    home : scipy.sparse.csr_matrix of bool
        candidates × QPV, True where the QPV belongs to the candidate.
    """
    if level not in LEVELS:
        raise ValueError(f"level: expected one of {list(LEVELS)}, got {level!r}")
    require_columns(qpv, _QPV_REQUIRED, name="qpv")
    require_columns(communes, _COMMUNE_REQUIRED, name="communes")
    require_columns(arrondissements, _ARR_REQUIRED, name="arrondissements")
    if level == "epci":
        return _epci_candidates(qpv, communes)

    com = communes.copy()
    com["insee_com"] = _str(com["insee_com"])
    com = com.drop_duplicates("insee_com").set_index("insee_com")
    arr = arrondissements.copy()
    arr["insee_com"] = _str(arr["insee_com"])
    arr = arr.drop_duplicates("insee_com").set_index("insee_com")
    plm = plm_assignment(qpv, arrondissements)

    pairs: list[tuple[str, int]] = []
    unknown: set[str] = set()
    for j, codes in enumerate(_str(qpv["insee_com"])):
        for code in [c.strip() for c in codes.split(";") if c.strip()]:
            if code in PLM_COMMUNES:
                target = plm.get((j, code))
                if target is not None:
                    pairs.append((target, j))
            elif code in com.index:
                pairs.append((code, j))
            else:
                unknown.add(code)
    if unknown:
        logger.warning("qpv: %d commune codes absent from the communes table: %s", len(unknown), sorted(unknown)[:10])

    codes = sorted({c for c, _ in pairs})
    in_arr = np.isin(np.asarray(codes, dtype=object), arr.index.to_numpy(dtype=object))
    arr_codes = [c for c, a in zip(codes, in_arr, strict=True) if a]
    com_codes = [c for c, a in zip(codes, in_arr, strict=True) if not a]
    a = arr.reindex(arr_codes)
    parent = _col(a, "parent_com")
    pc = com.reindex(parent)
    a_zone = _col(pc, "zone")
    c = com.reindex(com_codes)
    cols = {"insee_code": "", "name": "name", "insee_dep": "insee_dep", "insee_reg": "insee_reg", "region": "lib_reg"}
    parts = [
        pd.DataFrame({
            **{k: (np.asarray(arr_codes, dtype=object) if not v else _col(a, v)) for k, v in cols.items()},
            "kind": "arrondissement", "parent_code": parent, "siren_epci": _col(pc, "siren_epci"),
            "lib_epci": _col(pc, "lib_epci"), "zone": np.where(a_zone == "", "metro", a_zone),
            "population": _numbers(a, "population"), "lon": a["lon"].to_numpy(float), "lat": a["lat"].to_numpy(float),
        }),
        pd.DataFrame({
            **{k: (np.asarray(com_codes, dtype=object) if not v else _col(c, v)) for k, v in cols.items()},
            "kind": "commune", "parent_code": np.asarray(com_codes, dtype=object), "siren_epci": _col(c, "siren_epci"),
            "lib_epci": _col(c, "lib_epci"), "zone": _col(c, "zone"), "population": _numbers(c, "population"),
            "lon": c["lon"].to_numpy(float), "lat": c["lat"].to_numpy(float),
        }),
    ]
    cand = (pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts)
            else pd.DataFrame(columns=list(CANDIDATE_COLUMNS)))
    cand = cand.sort_values("insee_code", kind="stable").reset_index(drop=True)[list(CANDIDATE_COLUMNS)]
    r = pd.Index(codes).get_indexer([c for c, _ in pairs]).astype(np.int64)
    q = np.array([j for _, j in pairs], dtype=np.int64)
    home = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, q)), shape=(len(codes), len(qpv)), dtype=bool)
    home.sum_duplicates()
    cand["n_qpv_home"] = np.asarray(home.sum(axis=1)).ravel().astype(np.int64)
    return cand, home


def _epci_candidates(qpv: pd.DataFrame, communes: pd.DataFrame) -> tuple[pd.DataFrame, sparse.csr_matrix]:
    epci = _str(qpv["siren_epci"]) if "siren_epci" in qpv else np.array([""] * len(qpv), dtype=object)
    lib_epci = _str(qpv["lib_epci"]) if "lib_epci" in qpv else epci
    main = _str(qpv["insee_com_main"]) if "insee_com_main" in qpv else np.array(
        [s.split(";")[0] for s in _str(qpv["insee_com"])], dtype=object)
    key = np.where(epci != "", epci, main)
    pop = np.nan_to_num(pd.to_numeric(qpv.get("population"), errors="coerce").to_numpy(float), nan=0.0) + 1.0
    com_names = dict(zip(_str(communes["insee_com"]), _str(communes["name"]), strict=True))
    codes = sorted(set(key.tolist()))
    pos = {c: i for i, c in enumerate(codes)}
    rows = []
    for code in codes:
        m = key == code
        j = np.flatnonzero(m)[0]
        w = pop[m]
        is_epci = epci[j] != ""
        rows.append({
            "insee_code": code,
            "name": lib_epci[j] if is_epci else com_names.get(code, code),
            "kind": "epci" if is_epci else "commune", "parent_code": code,
            "insee_dep": str(qpv["insee_dep"].iloc[j]), "insee_reg": str(qpv["insee_reg"].iloc[j]),
            "region": str(qpv["lib_reg"].iloc[j]) if "lib_reg" in qpv else "",
            "siren_epci": epci[j], "lib_epci": lib_epci[j], "zone": str(qpv["zone"].iloc[j]) if "zone" in qpv else "",
            "population": float(np.nansum(pop[m] - 1.0)),
            "lon": float(np.average(qpv["rep_lon"].to_numpy(float)[m], weights=w)),
            "lat": float(np.average(qpv["rep_lat"].to_numpy(float)[m], weights=w)),
        })
    cand = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    r = np.array([pos[k] for k in key], dtype=np.int64)
    home = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, np.arange(len(qpv)))),
                             shape=(len(codes), len(qpv)), dtype=bool)
    cand["n_qpv_home"] = np.asarray(home.sum(axis=1)).ravel().astype(np.int64)
    return cand, home


def _numbers(frame: pd.DataFrame, key: str) -> np.ndarray:
    if key not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=float)


def team_bases(
    cand_xy: np.ndarray,
    cand_epsg: np.ndarray,
    qpv_xy: np.ndarray,
    qpv_epsg: np.ndarray,
    home: sparse.csr_matrix,
    population: np.ndarray,
    *,
    home_radius_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix]:
    """Where each candidate's team is based, and which of its own QPV it reaches.

    A team reaches its own QPV (those of its commune or arrondissement) up to ``home_radius_km`` from
    its base. The base is the candidate's centroid, unless some own QPV lie beyond that distance and
    the representative point of one of its own QPV reaches more of their residents (a very large
    commune whose centroid is far from its town: Arles, Saint-Laurent-du-Maroni, Kourou); then it is
    that QPV's point (ties: the centroid, then the most populous QPV, then the first).

    Parameters
    ----------
    cand_xy, qpv_xy : numpy.ndarray, shape (n, 2)
        Projected points (metres).
    cand_epsg, qpv_epsg : numpy.ndarray of int
        CRS of each point (a pair in different CRS is never within reach).
    home : scipy.sparse matrix of bool, shape (n_candidates, n_qpv)
        Own QPV of each candidate (:func:`build_candidates`).
    population : numpy.ndarray
        Residents per QPV (NaN counts as 0; on equal residents, reaching more QPV wins).
    home_radius_km : float
        Cap on the distance between a team's base and its own QPV.

    Returns
    -------
    base_xy : numpy.ndarray, shape (n_candidates, 2)
    base_epsg : numpy.ndarray of int
    base_qpv : numpy.ndarray of int
        Column of the QPV used as base, -1 where the base is the centroid.
    home_capped : scipy.sparse.csr_matrix of bool
        Own QPV within ``home_radius_km`` of the base.
    """
    from geo.siting.catchment import PointIndex

    if isinstance(home_radius_km, bool) or not isinstance(home_radius_km, int | float) \
            or not np.isfinite(home_radius_km) or home_radius_km < 0:
        raise ValueError(f"home_radius_km: expected a non-negative number of km, got {home_radius_km!r}")
    n = home.shape[0]
    h = sparse.coo_matrix(home)
    row, col = h.row.astype(np.int64), h.col.astype(np.int64)
    cap = float(home_radius_km) * 1000.0
    # residents reached decide; the number of QPV breaks ties (QPV without a population count too)
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0) + 1e-6

    def dist(xy: np.ndarray, epsg: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            d = np.hypot(xy[row, 0] - qpv_xy[col, 0], xy[row, 1] - qpv_xy[col, 1])
        return np.where((epsg[row] == qpv_epsg[col]) & np.isfinite(d), d, np.inf)

    d = dist(cand_xy, cand_epsg)
    base_xy, base_epsg = cand_xy.copy(), np.asarray(cand_epsg).copy()
    base_qpv = np.full(n, -1, dtype=np.int64)
    far_rows = np.unique(row[d > cap])
    if len(far_rows):
        near = d <= cap
        centroid_score = np.bincount(row[near], weights=pop[col[near]], minlength=n)
        m = np.isin(row, far_rows)
        r_m, c_m = row[m], col[m]  # each own QPV of those candidates is a possible base
        options = np.unique(c_m)
        reach = PointIndex(qpv_xy, qpv_epsg).within(qpv_xy[options], qpv_epsg[options], cap).astype(float)
        own_pop = sparse.csr_matrix(home[far_rows], dtype=float).multiply(pop[None, :]).tocsr()
        score = np.asarray((reach @ own_pop.T).todense())  # options × far rows: own residents reached
        s = score[np.searchsorted(options, c_m), np.searchsorted(far_rows, r_m)]
        order = np.lexsort((c_m, -pop[c_m], -s, r_m))
        rr, cc, ss = r_m[order], c_m[order], s[order]
        first = np.r_[True, rr[1:] != rr[:-1]]
        better = ss[first] > centroid_score[rr[first]] * (1 + 1e-12)
        moved_rows, moved_cols = rr[first][better], cc[first][better]
        base_qpv[moved_rows] = moved_cols
        if len(moved_rows):
            base_xy[moved_rows] = qpv_xy[moved_cols]
            base_epsg[moved_rows] = qpv_epsg[moved_cols]
            d = dist(base_xy, base_epsg)
            logger.info("%d candidates based at one of their QPV (more own residents within %g km than from the "
                        "centroid)", len(moved_rows), home_radius_km)
    keep = d <= cap
    capped = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (row[keep], col[keep])), shape=home.shape,
                               dtype=bool)
    return base_xy, base_epsg, base_qpv, capped
