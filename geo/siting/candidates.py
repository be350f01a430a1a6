"""Candidate sites: every commune hosting at least one QPV (or every EPCI), with Paris, Lyon and Marseille
split into their arrondissements municipaux.

A QPV lists one or more communes (``insee_com``, ';'-separated): each of them is a "home" candidate of
the QPV (a city team always works in its own QPV, however large the commune). For Paris (75056), Lyon
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


def _str(series: pd.Series) -> np.ndarray:
    return np.array(["" if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))) else str(v)
                     for v in series], dtype=object)


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
    rows = []
    for code in codes:
        if code in arr.index:
            a = arr.loc[code]
            parent = str(a["parent_com"])
            pc = com.loc[parent] if parent in com.index else None
            rows.append({
                "insee_code": code, "name": str(a["name"]), "kind": "arrondissement", "parent_code": parent,
                "insee_dep": str(a["insee_dep"]), "insee_reg": str(a["insee_reg"]), "region": str(a["lib_reg"]),
                "siren_epci": _get(pc, "siren_epci"), "lib_epci": _get(pc, "lib_epci"), "zone": _get(pc, "zone") or "metro",
                "population": _num(a.get("population")), "lon": float(a["lon"]), "lat": float(a["lat"]),
            })
        else:
            c = com.loc[code]
            rows.append({
                "insee_code": code, "name": str(c["name"]), "kind": "commune", "parent_code": code,
                "insee_dep": str(c["insee_dep"]), "insee_reg": str(c["insee_reg"]), "region": str(c["lib_reg"]),
                "siren_epci": _get(c, "siren_epci"), "lib_epci": _get(c, "lib_epci"), "zone": _get(c, "zone"),
                "population": _num(c.get("population")), "lon": float(c["lon"]), "lat": float(c["lat"]),
            })
    cand = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    pos = {c: i for i, c in enumerate(codes)}
    r = np.array([pos[c] for c, _ in pairs], dtype=np.int64)
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


def _get(row: pd.Series | None, key: str) -> str:
    if row is None or key not in row.index:
        return ""
    v = row[key]
    return "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)


def _num(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
