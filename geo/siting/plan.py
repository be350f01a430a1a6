"""The expansion plan: which urban regions, then which cities, with team capacity and split quartiers.

:func:`plan` places the current network on an instance, builds the capacitated problem
(:mod:`geo.siting.capacitated`), solves it exactly (HiGHS) or with the certified heuristic, and returns
the new sites ranked, the assignment of residents to sites (``assignments.csv``), the urban regions
ranked (``regions.csv``) and the roadmap (``roadmap.csv``). :func:`what_it_takes` answers "is the target
reachable with N cities in R regions, and if not what would it take"; :func:`robustness` reruns the plan
over a grid of assumptions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from geo.siting.capacitated import (
    CapacitatedProblem,
    CapacitatedSolution,
    assign,
    solve_capacitated_exact,
    solve_capacitated_heuristic,
)
from geo.siting.instance import Instance
from geo.siting.network import Network, resolve_network
from geo.siting.params import (
    DEFAULT_CAPACITY,
    DEFAULT_EPCI_REACH,
    DEFAULT_MAX_CITIES,
    DEFAULT_MAX_REGIONS,
    DEFAULT_PACE,
    DEFAULT_START_YEAR,
    DEFAULT_TARGET,
)
from geo.siting.quotas import Quotas
from geo.siting.recommendation import build_problems
from geo.siting.regions import UrbanRegions, dominant_region, urban_regions
from geo.siting.roadmap import Roadmap, roadmap
from geo.siting.solver import SolverTimeoutError

logger = logging.getLogger(__name__)

PLAN_METHODS: tuple[str, ...] = ("exact", "heuristic")

#: Columns of :attr:`Plan.table` (new sites in rank order).
PLAN_COLUMNS: tuple[str, ...] = (
    "rank", "insee_code", "name", "urban_region", "region", "residents_served", "weighted_served", "qpv_served",
    "households_served", "npnru_qpv", "cumulative_presence", "opening_year", "lon", "lat", "qpv_codes",
)
#: Columns of :attr:`Plan.assignments`.
ASSIGNMENT_COLUMNS: tuple[str, ...] = ("site_code", "site_name", "status", "code_qp", "lib_qp", "residents",
                                       "qpv_population", "distance_km")
#: Columns of :attr:`Plan.regions`.
REGIONS_COLUMNS: tuple[str, ...] = ("rank", "urban_region", "added_residents", "added_weighted", "qpv_residents",
                                    "n_qpv", "npnru_qpv", "network_there", "in_plan", "current_sites", "new_sites",
                                    "current_cities", "new_cities")


@dataclass(frozen=True, eq=False)
class Plan:
    """A capacitated expansion plan.

    Attributes
    ----------
    table : pandas.DataFrame
        New sites in rank order (:data:`PLAN_COLUMNS`): residents each serves (split counts, nobody
        twice), ``cumulative_presence`` (share of QPV residents in quartiers where a team works,
        network included), planned ``opening_year``.
    assignments : pandas.DataFrame
        Residents of each QPV assigned to each site (current and new), :data:`ASSIGNMENT_COLUMNS`.
    regions : pandas.DataFrame
        Urban regions ranked by what the plan adds there (:data:`REGIONS_COLUMNS`).
    network : pandas.DataFrame
        Current sites with ``residents_served`` (capacitated) and ``urban_region``.
    roadmap : Roadmap
    baseline_presence, presence : float
        Presence share with the current network alone (capacitated), and with the plan.
    objective, bound : float
        Weighted residents served, and the upper bound (LP relaxation or MILP bound).
    method : str
        ``exact-highs`` or ``heuristic``.
    optimal : bool
    denominator : float
    params : dict
    elapsed_s : float
    """

    table: pd.DataFrame
    assignments: pd.DataFrame
    regions: pd.DataFrame
    network: pd.DataFrame
    roadmap: Roadmap
    baseline_presence: float
    presence: float
    objective: float
    bound: float | None
    method: str
    optimal: bool
    denominator: float
    params: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def ratio(self) -> float | None:
        """objective / bound (1.0 when proven optimal)."""
        if self.bound is None or self.bound <= 0:
            return None
        return min(1.0, self.objective / self.bound)


def check_capacity(capacity: object) -> float | None:
    """Return the capacity as a float (None: uncapacitated), else raise ``ValueError`` naming it."""
    if capacity is None:
        return None
    if isinstance(capacity, bool) or not isinstance(capacity, int | float) or not np.isfinite(capacity) or capacity <= 0:
        raise ValueError(f"capacity: expected a positive number of residents per site or None, got {capacity!r}")
    return float(capacity)


def _check_count(name: str, value: object, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}: expected a positive integer{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def capacitated_problem(instance: Instance, network: Network, *, capacity: float | None = DEFAULT_CAPACITY,
                        weighted: bool = True, min_spacing_km: float | None = None,
                        regions: UrbanRegions | None = None) -> CapacitatedProblem:
    """The capacitated problem of an instance with the network locked in (rows: current sites, then candidates)."""
    cap = check_capacity(capacity)
    p_pop, p_dem = build_problems(instance, network, min_spacing_km=min_spacing_km)
    site_rows = sparse.csr_matrix(network.site_covered if network.site_covered is not None
                                  else np.zeros((0, instance.n_qpv), dtype=bool))
    reach = sparse.vstack([site_rows, instance.coverage]).tocsr().astype(bool)
    pop = instance.population
    unit = np.where(pop > 0, instance.demand / np.where(pop > 0, pop, 1.0), 0.0) if weighted else np.ones_like(pop)
    caps = np.full(reach.shape[0], np.inf if cap is None else cap)
    group, locked = None, frozenset()
    if regions is not None:
        group = regions.candidate_region
        site_region = dominant_region(site_rows, regions.qpv_region, pop)
        locked = frozenset(int(g) for g in site_region if g >= 0)
    return CapacitatedProblem(reach, pop, unit, caps, int(site_rows.shape[0]), p_dem if weighted else p_pop,
                              group=group, locked_groups=locked)


def _solve(problem: CapacitatedProblem, *, k: int | None, max_new: int | None, method: str, quotas: Quotas | None,
           max_regions: int | None, time_limit_s: float, need: float | None = None) -> CapacitatedSolution:
    if need is not None:  # fewest new sites reaching the need (residents served)
        if method == "exact":
            try:
                return solve_capacitated_exact(problem, k=None, quotas=quotas, max_regions=max_regions, need=need,
                                               time_limit_s=time_limit_s)
            except SolverTimeoutError as exc:
                logger.warning("plan: %s; heuristic used instead", exc)
        return solve_capacitated_heuristic(problem, k=None, quotas=quotas, max_regions=max_regions, need=need)
    if method == "exact":
        try:
            if k is not None:
                return solve_capacitated_exact(problem, k=k, quotas=quotas, max_regions=max_regions,
                                               time_limit_s=time_limit_s)
            return _best_upto(problem, max_new, quotas, max_regions, time_limit_s)
        except SolverTimeoutError as exc:
            logger.warning("plan: %s; heuristic used instead", exc)
    if k is None:
        k = min(int(max_new or 0), int(problem.base.eligible.sum()))
    return solve_capacitated_heuristic(problem, k=k, quotas=quotas, max_regions=max_regions)


def _best_upto(problem: CapacitatedProblem, max_new: int | None, quotas: Quotas | None, max_regions: int | None,
               time_limit_s: float) -> CapacitatedSolution:
    """At most ``max_new`` new sites (every site adds something, so the MILP uses them all when it can)."""
    n = min(int(max_new or 0), int(problem.base.eligible.sum()))
    return solve_capacitated_exact(problem, k=n, quotas=quotas, max_regions=max_regions, time_limit_s=time_limit_s)


def plan(
    instance: Instance,
    sites: pd.DataFrame | Network | None,
    *,
    capacity: float | None = DEFAULT_CAPACITY,
    k: int | None = None,
    max_regions: int | None = DEFAULT_MAX_REGIONS,
    max_cities: int | None = DEFAULT_MAX_CITIES,
    method: str = "exact",
    quotas: Quotas | None = None,
    min_spacing_km: float | None = None,
    regions: UrbanRegions | None = None,
    weighted: bool = True,
    target: float = DEFAULT_TARGET,
    pace: float = DEFAULT_PACE,
    start_year: int = DEFAULT_START_YEAR,
    time_limit_s: float = 120.0,
    epci_reach: str = DEFAULT_EPCI_REACH,
    commune_names: dict[str, str] | None = None,
    commune_population: dict[str, float] | None = None,
    fewest_for: float | None = None,
    chosen: list[str] | None = None,
) -> Plan:
    """The two-level capacitated plan: at most ``max_regions`` urban regions and ``max_cities`` cities.

    Parameters
    ----------
    instance : Instance
    sites : pandas.DataFrame, Network or None
        The current network (locked in; its regions count among ``max_regions``, its cities among
        ``max_cities``).
    capacity : float or None
        Residents a site serves (default :data:`~geo.siting.params.DEFAULT_CAPACITY`); None: uncapacitated.
    k : int, optional
        Exactly ``k`` new sites (then ``max_cities`` is ignored).
    max_regions : int or None
        At most this many urban regions with a site, the network's included (None: no limit).
    max_cities : int or None
        At most this many sites in all, the network's included (used when ``k`` is None).
    method : {"exact", "heuristic"}
        HiGHS MILP (default; the heuristic takes over if it finds nothing in ``time_limit_s``) or the
        greedy + swaps heuristic with its certified gap.
    quotas, min_spacing_km : as in :func:`geo.siting.recommend`.
    regions : UrbanRegions, optional
        Default: :func:`geo.siting.regions.urban_regions` of the instance.
    weighted : bool
        Need-weighted objective (default) or plain residents.
    target : float
        Presence goal of the roadmap (0.20).
    pace : float
        Openings per year in the roadmap.
    start_year : int
    time_limit_s : float
    epci_reach : {"epci", "radius"}
    fewest_for : float, optional
        Target mode: the fewest new sites whose presence (plain residents) reaches this share, within
        ``max_regions`` (``k`` and ``max_cities`` are then ignored).
    chosen : list of str, optional
        INSEE codes of new sites already chosen (e.g. by :func:`geo.siting.recommend`): no search, only
        the best assignment of residents to the network and these sites.
    commune_names, commune_population : dict, optional
        INSEE code → name / population, to name the urban regions after their main city.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        On a bad option (named in the message).
    InfeasibleError
        When the constraints cannot be met.
    """
    t0 = time.perf_counter()
    cap = check_capacity(capacity)
    k = _check_count("k", k)
    max_regions = _check_count("max_regions", max_regions)
    max_cities = _check_count("max_cities", max_cities)
    if method not in PLAN_METHODS:
        raise ValueError(f"method: expected one of {list(PLAN_METHODS)}, got {method!r}")
    network = sites if isinstance(sites, Network) else resolve_network(instance, sites, epci_reach=epci_reach)
    if regions is None:
        regions = urban_regions(instance.qpv, instance.qpv_xy, instance.qpv_epsg, instance.coverage,
                                commune_names=commune_names, commune_population=commune_population)
    problem = capacitated_problem(instance, network, capacity=cap, weighted=weighted, min_spacing_km=min_spacing_km,
                                  regions=regions)
    n_current = len(network.sites)
    max_new = None
    need = None
    if fewest_for is not None:
        if isinstance(fewest_for, bool) or not isinstance(fewest_for, int | float) or not 0 < fewest_for <= 1:
            raise ValueError(f"fewest_for: expected a share in (0, 1], e.g. 0.20, got {fewest_for!r}")
        need = float(fewest_for) * instance.denominator
    elif k is None:
        if max_cities is None:
            raise ValueError("max_cities: expected a number of cities when k is None, got None")
        max_new = max(max_cities - n_current, 0)
    if chosen is not None:
        pos = {c: i for i, c in enumerate(instance.candidates["insee_code"])}
        unknown = [c for c in chosen if c not in pos]
        if unknown:
            raise ValueError(f"chosen: expected candidate INSEE codes, got unknown {unknown}")
        sol = assign(problem, [pos[c] for c in chosen])
    else:
        sol = _solve(problem, k=k, max_new=max_new, method=method, quotas=quotas, max_regions=max_regions,
                     time_limit_s=time_limit_s, need=need)
    return _assemble(instance, network, problem, regions, sol, target=target, pace=pace, start_year=start_year,
                     params={"capacity": cap, "k": k, "max_regions": max_regions, "max_cities": max_cities,
                             "method": method, "weighted": weighted, "pace": pace, "radius_km": instance.radius_km,
                             "regions_method": regions.method, "target": target, "fewest_for": fewest_for,
                             "n_qpv": instance.n_qpv, "scope": instance.params.get("scope", "metro")},
                     t0=t0)


def _served_by_row(sol: CapacitatedSolution, n_rows: int, values: np.ndarray | None = None) -> np.ndarray:
    w = sol.residents if values is None else sol.residents * values[sol.qpv]
    return np.bincount(sol.rows, weights=w, minlength=n_rows)


def _site_points(instance: Instance, network: Network) -> np.ndarray:
    """Projected point of each current site (its first team location)."""
    pts = np.full((len(network.sites), 2), np.nan)
    for s in range(len(network.sites)):
        idx = np.flatnonzero(network.point_site == s)
        if len(idx):
            pts[s] = network.points_xy[idx[0]]
    return pts


def _assemble(instance: Instance, network: Network, problem: CapacitatedProblem, regions: UrbanRegions,
              sol: CapacitatedSolution, *, target: float, pace: float, start_year: int, params: dict,
              t0: float) -> Plan:
    nl = problem.n_locked
    n_rows = problem.reach.shape[0]
    served = _served_by_row(sol, n_rows)
    weighted = _served_by_row(sol, n_rows, problem.unit_weight)
    order = sorted(sol.selected, key=lambda i: (-weighted[nl + i], i))
    denom = instance.denominator if instance.denominator > 0 else 1.0
    base = float(served[:nl].sum())
    cand = instance.candidates
    names = regions.names()
    qcodes = instance.qpv["code_qp"].to_numpy(str)
    rows_new = []
    cum = base
    opening = start_year + np.floor(np.arange(len(order)) / float(pace)).astype(int)
    for rank, i in enumerate(order, start=1):
        row = nl + i
        mine = sol.rows == row
        q_idx = sol.qpv[mine]
        cum += served[row]
        g = int(regions.candidate_region[i])
        c = cand.iloc[i]
        rows_new.append({
            "rank": rank, "insee_code": str(c["insee_code"]), "name": str(c["name"]),
            "urban_region": names[g] if g >= 0 else "", "region": str(c["region"]),
            "residents_served": float(served[row]), "weighted_served": float(weighted[row]),
            "qpv_served": int(len(q_idx)),
            "households_served": float((sol.residents[mine] / np.maximum(instance.population[q_idx], 1.0)
                                        * instance.households[q_idx]).sum()),
            "npnru_qpv": int(instance.qpv["npnru"].to_numpy()[q_idx].sum()),
            "cumulative_presence": cum / denom, "opening_year": int(opening[rank - 1]),
            "lon": float(c["lon"]), "lat": float(c["lat"]), "qpv_codes": ";".join(qcodes[q_idx]),
        })
    table = pd.DataFrame(rows_new, columns=list(PLAN_COLUMNS))
    net = network.sites.copy()
    site_region = dominant_region(problem.reach[:nl], regions.qpv_region, instance.population)
    net["residents_served"] = served[:nl]
    net["urban_region"] = [names[g] if g >= 0 else "" for g in site_region]
    assignments = _assignments(instance, network, problem, sol, order)
    region_table = _regions_table(instance, regions, problem, sol, weighted, served, site_region, table, net)
    road = roadmap(current_years=np.minimum(net["opening_year"].to_numpy(int), start_year - 1),
                   current_served=served[:nl], new_served=[served[nl + i] for i in order], denominator=denom,
                   target=target, pace=pace, start_year=start_year)
    return Plan(table, assignments, region_table, net, road, base / denom, float(served.sum()) / denom,
                sol.objective, sol.bound, sol.method, sol.optimal, denom, params, time.perf_counter() - t0)


def _assignments(instance: Instance, network: Network, problem: CapacitatedProblem, sol: CapacitatedSolution,
                 order: list[int]) -> pd.DataFrame:
    nl = problem.n_locked
    cand = instance.candidates
    pts = np.vstack([_site_points(instance, network), instance.cand_xy]) if nl else instance.cand_xy
    codes = np.r_[network.sites["code"].to_numpy(str), cand["insee_code"].to_numpy(str)]
    names = np.r_[network.sites["name"].to_numpy(str), cand["name"].to_numpy(str)]
    rank = {nl + i: r for r, i in enumerate(order, start=1)}
    dist = np.hypot(*(pts[sol.rows] - instance.qpv_xy[sol.qpv]).T) / 1000.0
    out = pd.DataFrame({
        "site_code": codes[sol.rows], "site_name": names[sol.rows],
        "status": np.where(sol.rows < nl, "current", "new"),
        "code_qp": instance.qpv["code_qp"].to_numpy(str)[sol.qpv], "lib_qp": instance.qpv["lib_qp"].to_numpy(str)[sol.qpv],
        "residents": np.round(sol.residents, 1), "qpv_population": instance.population[sol.qpv],
        "distance_km": np.round(dist, 2),
    })
    out["_order"] = [0 if r < nl else rank.get(int(r), 0) for r in sol.rows]
    out["_row"] = sol.rows
    out = out.sort_values(["_order", "_row", "residents"], ascending=[True, True, False])
    return out.drop(columns=["_order", "_row"]).reset_index(drop=True)[list(ASSIGNMENT_COLUMNS)]


def _regions_table(instance: Instance, regions: UrbanRegions, problem: CapacitatedProblem, sol: CapacitatedSolution,
                   weighted: np.ndarray, served: np.ndarray, site_region: np.ndarray, table: pd.DataFrame,
                   net: pd.DataFrame) -> pd.DataFrame:
    nl = problem.n_locked
    names = regions.names()
    n_reg = len(names)
    new_rows = np.array([nl + i for i in sol.selected], dtype=np.int64)
    new_reg = regions.candidate_region[np.array(sol.selected, dtype=np.int64)] if len(new_rows) else np.zeros(0, int)
    added = np.bincount(new_reg[new_reg >= 0], weights=served[new_rows][new_reg >= 0], minlength=n_reg)
    added_w = np.bincount(new_reg[new_reg >= 0], weights=weighted[new_rows][new_reg >= 0], minlength=n_reg)
    cur_count = np.bincount(site_region[site_region >= 0], minlength=n_reg)
    new_count = np.bincount(new_reg[new_reg >= 0], minlength=n_reg)
    current: dict[int, list[str]] = {r: [] for r in range(n_reg)}
    new: dict[int, list[str]] = {r: [] for r in range(n_reg)}
    for r, nm in zip(site_region, net["name"], strict=True):
        if r >= 0:
            current[int(r)].append(str(nm))
    for nm, ur in zip(table["name"], table["urban_region"], strict=True):
        if ur:
            new[names.index(ur)].append(str(nm))
    out = regions.table.rename(columns={"name": "urban_region", "population": "qpv_residents"}).copy()
    out["added_residents"] = np.round(added, 1)
    out["added_weighted"] = np.round(added_w, 1)
    out["network_there"] = cur_count > 0
    out["current_sites"] = cur_count
    out["new_sites"] = new_count
    out["in_plan"] = (cur_count + new_count) > 0
    out["current_cities"] = [" | ".join(current[r]) for r in range(n_reg)]
    out["new_cities"] = [" | ".join(new[r]) for r in range(n_reg)]
    out = out.sort_values(["added_weighted", "in_plan", "qpv_residents"], ascending=False).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out[list(REGIONS_COLUMNS)]


@dataclass(frozen=True)
class Reachability:
    """Is the target reachable with ``max_cities`` cities in ``max_regions`` urban regions, and if not, what it takes.

    Attributes
    ----------
    reachable : bool
        The plan's presence (plain residents, best choice of sites) reaches the target.
    presence : float
        Best presence share with ``max_cities`` cities in ``max_regions`` regions at ``capacity``.
    cities_needed : int or None
        Fewest cities (current included) for the target at ``capacity`` within ``max_regions`` regions.
    cities_needed_any_region : int or None
        The same without the region limit, and ``regions_used`` the regions that choice spans.
    capacity_needed : float or None
        Smallest capacity (to ``capacity_step``) for the target with ``max_cities`` in ``max_regions``.
    """

    reachable: bool
    presence: float
    cities_needed: int | None
    cities_needed_any_region: int | None
    regions_used: int | None
    capacity_needed: float | None
    n_current: int = 0
    params: dict[str, Any] = field(default_factory=dict)


def _fewest_cities(problem: CapacitatedProblem, need: float, max_regions: int | None, n_current: int,
                   time_limit_s: float) -> tuple[int | None, CapacitatedSolution | None]:
    from geo.siting.solver import InfeasibleError

    try:
        sol = solve_capacitated_exact(problem, k=None, max_regions=max_regions, need=need, time_limit_s=time_limit_s)
    except (InfeasibleError, SolverTimeoutError):
        return None, None
    return n_current + len(sol.selected), sol


def what_it_takes(
    instance: Instance, sites: pd.DataFrame | Network | None, *, capacity: float | None = DEFAULT_CAPACITY,
    max_regions: int | None = DEFAULT_MAX_REGIONS, max_cities: int = DEFAULT_MAX_CITIES, target: float = DEFAULT_TARGET,
    regions: UrbanRegions | None = None, capacity_step: float = 5_000.0, capacity_max: float = 500_000.0,
    time_limit_s: float = 60.0, epci_reach: str = DEFAULT_EPCI_REACH,
) -> Reachability:
    """Answer "is ``target`` reachable with ``max_cities`` cities in ``max_regions`` regions, else what would it take".

    Presence counts plain residents (the goal is 20 % of QPV residents, whatever the need weights).
    Cities: the fewest-sites MILP (exact). Capacity: bisection on the capacity, each step the exact
    plan with ``max_cities`` cities.

    Returns
    -------
    Reachability
    """
    cap = check_capacity(capacity)
    network = sites if isinstance(sites, Network) else resolve_network(instance, sites, epci_reach=epci_reach)
    if regions is None:
        regions = urban_regions(instance.qpv, instance.qpv_xy, instance.qpv_epsg, instance.coverage)
    need = float(target) * instance.denominator
    n_current = len(network.sites)
    n_new = max(int(max_cities) - n_current, 0)

    def best_presence(c: float | None) -> float:
        prob = capacitated_problem(instance, network, capacity=c, weighted=False, regions=regions)
        n = min(n_new, int(prob.base.eligible.sum()))
        sol = solve_capacitated_exact(prob, k=n, max_regions=max_regions, time_limit_s=time_limit_s)
        return float(sol.residents.sum())

    served = best_presence(cap)
    problem = capacitated_problem(instance, network, capacity=cap, weighted=False, regions=regions)
    cities, _ = _fewest_cities(problem, need, max_regions, n_current, time_limit_s)
    cities_any, sol_any = _fewest_cities(problem, need, None, n_current, time_limit_s)
    used = None
    if sol_any is not None:
        rows = np.unique(sol_any.rows)
        groups = {int(regions.candidate_region[r - problem.n_locked]) for r in rows if r >= problem.n_locked}
        used = len((groups | set(problem.locked_groups)) - {-1})
    cap_needed: float | None = None
    if served < need and cap is not None:
        lo, hi = cap, capacity_max
        if best_presence(hi) >= need:
            while hi - lo > capacity_step:
                mid = (lo + hi) / 2.0
                lo, hi = (lo, mid) if best_presence(mid) >= need else (mid, hi)
            cap_needed = float(np.ceil(hi / capacity_step) * capacity_step)
    elif served >= need:
        cap_needed = cap
    return Reachability(served >= need, served / instance.denominator, cities, cities_any, used, cap_needed, n_current,
                        {"capacity": cap, "max_regions": max_regions, "max_cities": max_cities, "target": target})
