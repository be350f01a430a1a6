"""The siting instance: candidates, QPV demand and the candidate × QPV coverage matrix, computed once.

Building an instance (projections, one k-d tree query, need scores, all vectorised) takes about 70 ms
nationally; :func:`geo.siting.recommend` then solves on it in tens of milliseconds, so an interactive
caller caches the instance per (radius, EPCI option, weights) and calls ``recommend`` freely.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from geo.siting.candidates import _col, _str, build_candidates, require_columns, team_bases
from geo.siting.catchment import PointIndex, coverage_matrix, epsg_for_departements, project
from geo.siting.demand import check_weights, demand_vector, need_score
from geo.siting.params import (
    DEFAULT_HOME_RADIUS_KM,
    DEFAULT_NEED_STRENGTH,
    DEFAULT_RADIUS_KM,
    DEFAULT_SCOPE,
    DEFAULT_WEIGHTS,
    SCOPES,
)

logger = logging.getLogger(__name__)

_USE_DEFAULT: Any = object()


@dataclass(frozen=True, eq=False)
class Instance:
    """A precomputed siting problem (treat as read-only).

    Attributes
    ----------
    qpv : pandas.DataFrame
        One row per QPV in scope, sorted by ``code_qp`` (position = column of ``coverage``): ``code_qp``, ``lib_qp``,
        ``insee_com``, ``insee_dep``, ``insee_reg``, ``region``, ``siren_epci``, ``zone``,
        ``population`` (NaN when unknown), ``households``, ``poverty_rate``, ``npnru`` (bool),
        ``need``, ``need_missing``, ``demand``, ``rep_lon``, ``rep_lat``, ``reachable`` (some candidate
        reaches it).
    candidates : pandas.DataFrame
        One row per candidate (position = row of ``coverage``), sorted by ``insee_code``:
        see :data:`geo.siting.candidates.CANDIDATE_COLUMNS`, plus ``n_qpv_home`` and ``base_qpv`` (code
        of the QPV where the team is based when the centroid is too far from all its QPV, else "";
        ``lon``/``lat`` are then that QPV's point, see :func:`geo.siting.candidates.team_bases`).
    coverage : scipy.sparse.csr_matrix of bool
        candidates × QPV: ``within`` or ``home``.
    home : scipy.sparse.csr_matrix of bool
        candidates × QPV: own QPV of the candidate within ``home_radius_km`` of its base.
    within : scipy.sparse.csr_matrix of bool
        candidates × QPV: QPV whose point lies within ``radius_km`` of the candidate's base (inside
        its EPCI with ``same_epci``).
    demand : numpy.ndarray
        Objective weight of each QPV (population, or population × (1 + need_strength × need)).
    population, households : numpy.ndarray
        Residents and households per QPV (0 when unknown).
    denominator : float
        Residents of the QPV in scope with a known population: the base of every "share".
    places : pandas.DataFrame
        Communes and arrondissements (code, name, département, région, EPCI, lon, lat), to place
        current sites that are not candidates (a commune without QPV).
    params : dict
        radius_km, home_radius_km, same_epci, weights, need_strength, scope, level.
    """

    qpv: pd.DataFrame
    candidates: pd.DataFrame
    coverage: sparse.csr_matrix
    home: sparse.csr_matrix
    demand: np.ndarray
    population: np.ndarray
    households: np.ndarray
    denominator: float
    places: pd.DataFrame
    params: dict[str, Any]
    qpv_xy: np.ndarray = field(repr=False)
    qpv_epsg: np.ndarray = field(repr=False)
    cand_xy: np.ndarray = field(repr=False)
    cand_epsg: np.ndarray = field(repr=False)
    qpv_index: PointIndex = field(repr=False)
    within: sparse.csr_matrix = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def radius_km(self) -> float:
        """Travel radius of the catchments, km."""
        return float(self.params["radius_km"])

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return len(self.candidates)

    @property
    def n_qpv(self) -> int:
        """Number of QPV in scope."""
        return len(self.qpv)

    def __repr__(self) -> str:
        return (f"Instance({self.n_candidates} candidates, {self.n_qpv} QPV, {self.coverage.nnz} pairs, "
                f"radius {self.radius_km:g} km, denominator {self.denominator:,.0f})")


def build_instance(
    qpv: pd.DataFrame,
    communes: pd.DataFrame,
    arrondissements: pd.DataFrame,
    *,
    radius_km: float = DEFAULT_RADIUS_KM,
    same_epci: bool = False,
    weights: Mapping[str, float] | None = _USE_DEFAULT,
    need_strength: float = DEFAULT_NEED_STRENGTH,
    scope: str = DEFAULT_SCOPE,
    level: str = "commune",
    home_radius_km: float = DEFAULT_HOME_RADIUS_KM,
) -> Instance:
    """Precompute candidates, catchments and demand for the solver.

    Parameters
    ----------
    qpv : pandas.DataFrame or geopandas.GeoDataFrame
        QPV with the contract's columns (:data:`geo.schema.QPV_COLUMNS`; geometry is not used).
    communes : pandas.DataFrame
        Communes with centroids (:data:`geo.schema.COMMUNE_COLUMNS`).
    arrondissements : pandas.DataFrame
        Arrondissements municipaux of Paris, Lyon and Marseille (centroids).
    radius_km : float
        Travel radius of a site (default :data:`~geo.siting.params.DEFAULT_RADIUS_KM`).
    same_epci : bool
        Keep only catchment pairs inside the same EPCI (home QPV are always kept).
    weights : mapping or None
        Need-score weights (default :data:`~geo.siting.params.DEFAULT_WEIGHTS`); ``None`` makes the
        demand the plain QPV population.
    need_strength : float
        Demand = population × (1 + need_strength × need).
    scope : {"all", "metro"}
        QPV counted (and denominator of shares), see :data:`~geo.siting.params.DEFAULT_SCOPE`.
    level : {"commune", "epci"}
        Candidate level (see :func:`geo.siting.candidates.build_candidates`).
    home_radius_km : float
        A team reaches its own commune's QPV beyond ``radius_km`` but only up to this distance from
        its base (default :data:`~geo.siting.params.DEFAULT_HOME_RADIUS_KM`; commune level only).

    Returns
    -------
    Instance

    Raises
    ------
    ValueError
        On a bad option or a frame lacking a required column.
    """
    if isinstance(radius_km, bool) or not isinstance(radius_km, int | float) or not np.isfinite(radius_km) or radius_km <= 0:
        raise ValueError(f"radius_km: expected a positive number of km, got {radius_km!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {list(SCOPES)}, got {scope!r}")
    if weights is _USE_DEFAULT:
        weights = DEFAULT_WEIGHTS
    w = check_weights(weights)
    require_columns(qpv, ("code_qp", "insee_com", "insee_dep", "insee_reg", "population", "rep_lon", "rep_lat"),
                    name="qpv")
    frame = pd.DataFrame(qpv.drop(columns=[c for c in ("geometry",) if c in qpv.columns]))
    if scope == "metro":
        if "zone" not in frame:
            raise ValueError("qpv: expected a 'zone' column for scope='metro', missing ['zone']")
        frame = frame[_str(frame["zone"]) == "metro"]
    # one order whatever the input order: the matrices and every tie-break follow the codes
    frame = frame.iloc[np.argsort(_str(frame["code_qp"]), kind="stable")].reset_index(drop=True)
    if frame.empty:
        raise ValueError(f"qpv: expected at least one QPV in scope {scope!r}, got none")

    cand, home_all = build_candidates(frame, communes, arrondissements, level=level)
    population = pd.to_numeric(frame["population"], errors="coerce").to_numpy(float)
    q_epsg = epsg_for_departements(_str(frame["insee_dep"]))
    q_xy = project(frame["rep_lon"].to_numpy(float), frame["rep_lat"].to_numpy(float), q_epsg)
    c_epsg = epsg_for_departements(_str(cand["insee_dep"]))
    c_xy = project(cand["lon"].to_numpy(float), cand["lat"].to_numpy(float), c_epsg)
    q_epci = _col(frame, "siren_epci")
    index = PointIndex(q_xy, q_epsg)
    codes = _str(frame["code_qp"])
    if level == "epci":
        home = home_all.copy()  # an EPCI-level partner works across its EPCI's QPV
        within = sparse.csr_matrix(home.shape, dtype=bool)
        cand["base_qpv"] = ""
    else:
        c_xy, c_epsg, base_qpv, home = team_bases(c_xy, c_epsg, q_xy, q_epsg, home_all, population,
                                                  home_radius_km=home_radius_km)
        moved = base_qpv >= 0
        cand["base_qpv"] = np.where(moved, codes[np.maximum(base_qpv, 0)], "")
        if moved.any():
            cand.loc[moved, "lon"] = frame["rep_lon"].to_numpy(float)[base_qpv[moved]]
            cand.loc[moved, "lat"] = frame["rep_lat"].to_numpy(float)[base_qpv[moved]]
        within = coverage_matrix(c_xy, c_epsg, q_xy, q_epsg, radius_km=float(radius_km), index=index,
                                 cand_epci=cand["siren_epci"].to_numpy(object) if same_epci else None,
                                 qpv_epci=q_epci if same_epci else None)
    cov = (within + home).astype(bool).tocsr()
    cov.sort_indices()

    households = pd.to_numeric(frame["households"], errors="coerce").to_numpy(float) if "households" in frame \
        else np.full(len(frame), np.nan)
    if w is not None:
        need = need_score(frame, weights=w)
    else:
        need = pd.DataFrame({"need": np.full(len(frame), np.nan), "need_missing": [""] * len(frame),
                             "need_known_weight": np.zeros(len(frame))})
    demand = demand_vector(population, None if w is None else need["need"].to_numpy(float), strength=need_strength)

    empty = np.full(len(frame), "", dtype=object)
    out_q = pd.DataFrame({
        "code_qp": codes,
        "lib_qp": _str(frame["lib_qp"]) if "lib_qp" in frame else codes,
        "insee_com": _str(frame["insee_com"]),
        "insee_dep": _str(frame["insee_dep"]),
        "insee_reg": _str(frame["insee_reg"]),
        "region": _str(frame["lib_reg"]) if "lib_reg" in frame else _str(frame["insee_reg"]),
        "siren_epci": q_epci,
        "zone": _col(frame, "zone") if "zone" in frame else empty,
        "population": population,
        "households": households,
        "poverty_rate": pd.to_numeric(frame["poverty_rate"], errors="coerce").to_numpy(float)
        if "poverty_rate" in frame else np.full(len(frame), np.nan),
        "npnru": frame["npnru"].astype(object).where(frame["npnru"].notna(), False).astype(bool).to_numpy()
        if "npnru" in frame else np.zeros(len(frame), dtype=bool),
        "need": need["need"].to_numpy(float),
        "need_missing": need["need_missing"].to_numpy(object),
        "demand": demand,
        "rep_lon": frame["rep_lon"].to_numpy(float),
        "rep_lat": frame["rep_lat"].to_numpy(float),
        "reachable": np.diff(cov.tocsc().indptr) > 0,
    })
    unreachable = ~out_q["reachable"].to_numpy()
    if unreachable.any():
        logger.warning("%d QPV (%.0f residents) are within reach of no candidate", int(unreachable.sum()),
                       float(np.nansum(population[unreachable])))
    places = _places(communes, arrondissements)
    pop0 = np.nan_to_num(population, nan=0.0)
    inst = Instance(
        qpv=out_q, candidates=cand, coverage=cov, home=home, demand=demand, population=pop0,
        households=np.nan_to_num(households, nan=0.0), denominator=float(pop0.sum()), places=places,
        params={"radius_km": float(radius_km), "home_radius_km": float(home_radius_km), "same_epci": bool(same_epci),
                "weights": w, "need_strength": float(need_strength), "scope": scope, "level": level},
        qpv_xy=q_xy, qpv_epsg=q_epsg, cand_xy=c_xy, cand_epsg=c_epsg, qpv_index=index, within=within,
    )
    logger.info("%r", inst)
    return inst


def _places(communes: pd.DataFrame, arrondissements: pd.DataFrame) -> pd.DataFrame:
    """Communes and arrondissements by INSEE code (vectorised; arrondissements inherit their commune's EPCI)."""
    text = ("insee_com", "name", "insee_dep", "insee_reg", "lib_reg", "siren_epci")
    parts = []
    for frame, kind in ((communes, "commune"), (arrondissements, "arrondissement")):
        part = pd.DataFrame({c: (frame[c].astype("str") if c in frame else "") for c in text}, index=range(len(frame)))
        part = part.fillna("")
        for c in ("lon", "lat"):
            part[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy(float) if c in frame else np.nan
        part["kind"] = kind
        if kind == "arrondissement" and "parent_com" in frame:
            epci = pd.Series(_col(communes, "siren_epci"), index=_str(communes["insee_com"]))
            epci = epci[~epci.index.duplicated()]
            part["siren_epci"] = epci.reindex(_str(frame["parent_com"])).fillna("").to_numpy(dtype=object)
        parts.append(part)
    places = pd.concat(parts, ignore_index=True)
    return places.drop_duplicates("insee_com").set_index("insee_com", drop=False)


def coverage_of_points(instance: Instance, lon: np.ndarray, lat: np.ndarray, insee_dep: np.ndarray) -> sparse.csr_matrix:
    """Coverage rows (points × QPV) of arbitrary points with the instance's radius (no home QPV)."""
    epsg = epsg_for_departements(insee_dep)
    xy = project(np.asarray(lon, float), np.asarray(lat, float), epsg)
    return instance.qpv_index.within(xy, epsg, instance.radius_km * 1000.0)
