"""``recommend``: from an instance and the current network to a ranked, explained list of new sites."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo.siting.capacity import CapacityProjection, capacity_projection
from geo.siting.catchment import nearest_distance_km, pairwise_within
from geo.siting.explain import check_lang, method_label, site_reason, target_method_label
from geo.siting.instance import Instance
from geo.siting.network import Network, resolve_network
from geo.siting.params import DEFAULT_CURVE_MAX_SITES, DEFAULT_EPCI_REACH, DEFAULT_TARGET
from geo.siting.quotas import Quotas
from geo.siting.solver import (
    InfeasibleError,
    Problem,
    Solution,
    SolverTimeoutError,
    coverage_upper_bound,
    greedy,
    order_by_gain,
    solve_exact,
    solve_exact_target,
    solve_heuristic,
    target_heuristic,
    target_lower_bound,
    target_lp_bound,
)

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("heuristic", "exact")

#: Columns of :attr:`Recommendation.table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "rank", "insee_code", "name", "kind", "region", "insee_reg", "insee_dep", "lib_epci",
    "added_population", "added_population_radius", "added_population_own", "own_max_km", "added_households",
    "added_qpv", "added_demand", "cumulative_population", "cumulative_share", "npnru_count", "poverty_rate", "poverty_missing", "missing_indicators",
    "nearest_site", "nearest_site_km", "lon", "lat", "added_qpv_codes", "reason",
)


@dataclass(frozen=True, eq=False)
class Recommendation:
    """A recommendation of new sites.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per new site in rank order (:data:`TABLE_COLUMNS`). The rank follows the gain in the
        optimised quantity: ``added_demand`` (residents weighted by need) in k mode, so it never
        increases down the table while ``added_population`` may; ``added_population`` in target mode. ``added_population`` = ``added_population_radius`` (QPV within ``radius_km`` of the site)
        + ``added_population_own`` (the site's own QPV farther away, at most ``own_max_km`` km, never
        beyond ``home_radius_km``). ``cumulative_share`` includes the current network.
    network : pandas.DataFrame
        The current sites with what each reaches alone.
    curve : pandas.DataFrame
        ``n_new_sites`` (0 = current network), ``share``, ``population_reached``, ``demand_reached``,
        ``insee_code`` and ``name`` of the site added at that step. Its first rows are the table's
        sites in rank order (same shares), then it continues greedily on the same quantity (caps and
        spacing respected, minimum quotas not imposed): nested by construction.
    baseline_share, share : float
        Share of QPV residents within reach of the current network, and with the new sites.
    baseline_population, population_reached : float
    objective : float
        Demand covered (current + new), the quantity maximised in k mode.
    k : int
        Number of new sites recommended.
    target : float
    target_sites : int or None
        New sites needed for the target share (None: unreachable).
    target_lower_bound : int or None
    target_proven_minimal : bool
    target_method : str
    method : str
        ``heuristic``, ``exact-highs`` / ``exact-cbc`` (with the status when not proven optimal), or
        ``heuristic (fallback: ...)`` when the exact solver found no solution within ``time_limit_s``.
    denominator : float
        Residents of the QPV in scope (see ``params["scope"]``), the base of every share.
    denominator_qpv : int
        QPV in scope with a known population.
    params : dict
    capacity : CapacityProjection or None
    target_note : str
        Why the target is unreachable (k mode), else "".
    fallback : str
        Why the exact solver was replaced by the heuristic (no solution within ``time_limit_s``), else "".
    objective_upper_bound : float or None
        With a fallback in k mode: the linear-relaxation bound on ``objective`` (a certified gap).
    lang : str
        Language of ``table["reason"]`` and ``target_method`` ("fr" or "en").
    elapsed_s : float
    """

    table: pd.DataFrame
    network: pd.DataFrame
    curve: pd.DataFrame
    baseline_share: float
    share: float
    baseline_population: float
    population_reached: float
    objective: float
    k: int
    target: float
    target_sites: int | None
    target_lower_bound: int | None
    target_proven_minimal: bool
    target_method: str
    method: str
    denominator: float
    params: dict[str, Any] = field(default_factory=dict)
    capacity: CapacityProjection | None = None
    target_note: str = ""
    elapsed_s: float = 0.0
    fallback: str = ""
    objective_upper_bound: float | None = None
    denominator_qpv: int = 0
    lang: str = "fr"

    def to_geodataframe(self):  # noqa: ANN201
        """The table as a GeoDataFrame of points (EPSG:4326), for GeoJSON export and maps."""
        import geopandas as gpd

        return gpd.GeoDataFrame(self.table.copy(), geometry=gpd.points_from_xy(self.table["lon"], self.table["lat"]),
                                crs="EPSG:4326")

    def reasons(self, *, lang: str = "fr") -> list[str]:
        """The one-sentence reason of each recommended site, in rank order, in ``lang`` ("fr" or "en")."""
        return [site_reason(r, radius_km=float(self.params["radius_km"]), lang=lang,
                            level=str(self.params.get("level", "commune")))
                for r in self.table.to_dict("records")]

    def method_label(self, *, lang: str = "fr") -> str:
        """How the sites were chosen, in words (``lang`` "fr" or "en")."""
        return method_label(self.method, lang=lang, fallback=self.fallback)

    def target_method_label(self, *, lang: str = "fr") -> str:
        """How the number of sites for the target was found, in words (``lang`` "fr" or "en")."""
        if self.target_sites is None:
            return ""
        return target_method_label(str(self.params.get("target_solver", "")), proven=self.target_proven_minimal,
                                   fallback=bool(self.params.get("target_fallback")), lang=lang)


def _check_options(k: object, target: object, min_spacing_km: object, method: object, lang: object) -> None:
    check_lang(lang)
    if k is not None and (isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1):
        raise ValueError(f"k: expected a positive integer or None (target mode), got {k!r}")
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target <= 1:
        raise ValueError(f"target: expected a share in (0, 1], e.g. 0.20, got {target!r}")
    if min_spacing_km is not None and (isinstance(min_spacing_km, bool) or not isinstance(min_spacing_km, int | float)
                                       or not np.isfinite(min_spacing_km) or min_spacing_km <= 0):
        raise ValueError(f"min_spacing_km: expected a positive number of km or None, got {min_spacing_km!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {list(METHODS)}, got {method!r}")


def _as_quotas(quotas: Quotas | Iterable[str] | None) -> Quotas | None:
    if quotas is None or isinstance(quotas, Quotas):
        return quotas
    if isinstance(quotas, str):
        return Quotas.parse([quotas])
    return Quotas.parse(list(quotas))


def _solve_target(p_pop: Problem, need: float, q: Quotas | None, *, exact: bool, time_limit_s: float, solver: str,
                  fallbacks: list[str]) -> tuple[Solution, int]:
    """Fewest sites reaching ``need``, and a lower bound on that number (``fallbacks`` notes a time-out)."""
    if not exact:
        return target_heuristic(p_pop, need, quotas=q)
    try:
        sol = solve_exact_target(p_pop, need, quotas=q, time_limit_s=time_limit_s, solver=solver)
    except SolverTimeoutError as exc:
        logger.warning("target: %s; heuristic used instead", exc)
        fallbacks.append(f"target: {exc}")
        return target_heuristic(p_pop, need, quotas=q)
    if sol.optimal:
        return sol, len(sol.selected)
    # a solution, not proven minimal: say how far it may be
    return sol, max(target_lower_bound(p_pop, need, quotas=q), target_lp_bound(p_pop, need, quotas=q))


def _solve_k(p_dem: Problem, k: int, q: Quotas | None, *, exact: bool, time_limit_s: float, solver: str,
             fallbacks: list[str]) -> tuple[Solution, float | None]:
    """The best ``k`` new sites, and the LP upper bound when the exact solver ran out of time."""
    if exact:
        try:
            return solve_exact(p_dem, k, quotas=q, time_limit_s=time_limit_s, solver=solver), None
        except SolverTimeoutError as exc:
            logger.warning("k mode: %s; heuristic used instead", exc)
            fallbacks.append(str(exc))
            return solve_heuristic(p_dem, k, quotas=q), coverage_upper_bound(p_dem, k, quotas=q)
    return solve_heuristic(p_dem, k, quotas=q), None


def recommend(
    instance: Instance,
    sites: pd.DataFrame | Network | None = None,
    *,
    k: int | None = None,
    target: float = DEFAULT_TARGET,
    quotas: Quotas | Iterable[str] | None = None,
    min_spacing_km: float | None = None,
    method: str = "heuristic",
    target_method: str | None = None,
    solver: str = "highs",
    time_limit_s: float = 120.0,
    with_target: bool = True,
    curve_max_sites: int = DEFAULT_CURVE_MAX_SITES,
    openings_per_year: int | None = None,
    epci_reach: str = DEFAULT_EPCI_REACH,
    lang: str = "fr",
) -> Recommendation:
    """Recommend new sites, with the current network locked in.

    Parameters
    ----------
    instance : Instance
        From :func:`geo.siting.build_instance` (cache it: it does not depend on the options below).
    sites : pandas.DataFrame, Network or None
        Current sites (:func:`geo.siting.read_sites` / :func:`~geo.siting.validate_sites`), or an
        already resolved :class:`~geo.siting.network.Network`; None for no current site.
    k : int, optional
        Number of new sites (maximal covering of demand). ``None``: target mode, the fewest new
        sites reaching ``target``.
    target : float
        Share of QPV residents to reach (default 0.20); always reported (sites needed), and the
        stopping rule in target mode.
    quotas : Quotas or list of "REG=MIN:MAX" strings, optional
        Regional minimums (network) and caps (new sites).
    min_spacing_km : float, optional
        Minimum distance between a new site and any other site (new or current).
    method : {"heuristic", "exact"}
        Greedy + swaps (fast, for interactive use) or MILP via PuLP (``solver`` "highs" or "cbc").
    target_method : {"heuristic", "exact"}, optional
        How the number of sites for the target is found (default: ``method``). The heuristic gives
        an upper bound and a lower bound; "exact" proves minimality with a MILP (about 0.3 s
        nationally).
    time_limit_s : float
        Time limit of the exact solver. A solution not proven optimal says so in ``method``; when
        the solver finds no solution at all in time, the heuristic is used instead and the result
        says so (``fallback``, ``method``, ``objective_upper_bound`` from the linear relaxation, or
        the target's lower bound): k mode still gives exactly ``k`` sites.
    with_target : bool
        Compute the number of sites the target needs in k mode (skip it for the fastest call).
    curve_max_sites : int
        Length of the curve sites → share.
    openings_per_year : int, optional
        Pace of openings for the capacity projection (default: all the first year).
    epci_reach : {"epci", "radius"}
        What a current site given by an EPCI SIREN reaches (see :func:`resolve_network`; ignored
        when ``sites`` is already a Network).
    lang : {"fr", "en"}
        Language of the reasons (``table["reason"]``) and of ``target_method``.

    Returns
    -------
    Recommendation

    Raises
    ------
    ValueError
        On a bad option (named in the message).
    InfeasibleError
        When the constraints cannot be met (or the target cannot be reached in target mode).
    geo.siting.sites.SitesError
        When a current site cannot be placed.
    """
    t0 = time.perf_counter()
    _check_options(k, target, min_spacing_km, method, lang)
    target_method = method if target_method is None else target_method
    if target_method not in METHODS:
        raise ValueError(f"target_method: expected one of {list(METHODS)} or None, got {target_method!r}")
    if isinstance(time_limit_s, bool) or not isinstance(time_limit_s, int | float) or not np.isfinite(time_limit_s) \
            or time_limit_s <= 0:
        raise ValueError(f"time_limit_s: expected a positive number of seconds, got {time_limit_s!r}")
    q = _as_quotas(quotas)
    network = sites if isinstance(sites, Network) else resolve_network(instance, sites, epci_reach=epci_reach)

    p_pop, p_dem = build_problems(instance, network, min_spacing_km=min_spacing_km)

    need = float(target) * instance.denominator
    target_sol: Solution | None = None
    bound: int | None = None
    note = ""
    fallbacks: list[str] = []
    if with_target or k is None:
        try:
            target_sol, bound = _solve_target(p_pop, need, q, exact=target_method == "exact",
                                              time_limit_s=time_limit_s, solver=solver, fallbacks=fallbacks)
        except InfeasibleError as exc:
            if k is None:
                raise
            note = str(exc)

    upper: float | None = None
    if k is None:
        assert target_sol is not None
        sol = target_sol
        ranking_problem = p_pop
    else:
        ranking_problem = p_dem
        sol, upper = _solve_k(p_dem, int(k), q, exact=method == "exact", time_limit_s=time_limit_s,
                              solver=solver, fallbacks=fallbacks)
    order = order_by_gain(ranking_problem, sol.selected)
    table = _site_table(instance, network, order, lang=lang)

    caps = Quotas(max_new=dict(q.max_new), max_new_per_region=q.max_new_per_region) if q is not None else None
    n_curve = max(int(curve_max_sites), len(target_sol.selected) if target_sol is not None else 0, len(order))
    curve = _curve(instance, ranking_problem, order, n_curve, caps)

    covered = network.covered.copy()
    for i in order:
        covered[p_pop.row(i)] = True
    pop_reached = float(instance.population[covered].sum())
    base_pop = float(instance.population[network.covered].sum())
    denom = instance.denominator if instance.denominator > 0 else 1.0
    hh_goal = float(instance.households[covered].sum())
    capacity = capacity_projection(n_current=len(network.sites), n_new=len(order), goal_households=hh_goal,
                                   openings_per_year=openings_per_year)
    fallback = "; ".join(fallbacks)
    target_fallback = any(f.startswith("target: ") for f in fallbacks)
    target_label = "" if target_sol is None else target_method_label(
        target_sol.method, proven=target_sol.optimal, fallback=target_fallback, lang=lang)
    if sol.method == "heuristic" and method == "exact" and fallbacks:
        method_code = f"heuristic (fallback: {fallbacks[-1]})"
    else:
        method_code = sol.method + ("" if sol.method == "heuristic" or sol.optimal else f" ({sol.status}, not proven optimal)")
    reco = Recommendation(
        table=table, network=network.sites.copy(), curve=curve,
        baseline_share=base_pop / denom, share=pop_reached / denom, baseline_population=base_pop,
        population_reached=pop_reached, objective=float(instance.demand[covered].sum()), k=len(order),
        target=float(target), target_sites=len(target_sol.selected) if target_sol is not None else None,
        target_lower_bound=bound, target_proven_minimal=bool(target_sol is not None and target_sol.optimal),
        target_method=target_label, method=method_code, denominator=instance.denominator,
        params={**instance.params, "k": k, "target": float(target), "min_spacing_km": min_spacing_km,
                "quotas": q, "method": method, "target_method": target_method, "solver": solver,
                "time_limit_s": float(time_limit_s), "epci_reach": epci_reach, "n_qpv": instance.n_qpv,
                "target_solver": target_sol.method if target_sol is not None else "",
                "target_fallback": target_fallback},
        capacity=capacity, target_note=note, elapsed_s=time.perf_counter() - t0, fallback=fallback,
        objective_upper_bound=upper,
        denominator_qpv=int(np.isfinite(instance.qpv["population"].to_numpy(float)).sum()), lang=lang,
    )
    logger.info("recommendation: %d sites, share %.3f -> %.3f in %.3f s", reco.k, reco.baseline_share, reco.share,
                reco.elapsed_s)
    return reco


def build_problems(
    instance: Instance, network: Network, *, min_spacing_km: float | None = None
) -> tuple[Problem, Problem]:
    """The covering problems of an instance with a network locked in: (population, demand) weights.

    Candidates of the network are ineligible; with ``min_spacing_km``, so are candidates closer than
    that to a current site, and pairs of candidates closer than that conflict.
    """
    eligible = ~network.excluded
    conflicts = None
    if min_spacing_km is not None:
        conflicts = pairwise_within(instance.cand_xy, instance.cand_epsg, radius_km=float(min_spacing_km))
        if len(network.points_xy):
            d, _ = nearest_distance_km(instance.cand_xy, instance.cand_epsg, network.points_xy, network.points_epsg)
            eligible = eligible & ~(d < min_spacing_km)
    region = instance.candidates["insee_reg"].to_numpy(dtype=str)
    base = dict(coverage=instance.coverage, covered0=network.covered, eligible=eligible, region=region,
                locked_regions=network.region_counts(), conflicts=conflicts)
    p_pop = Problem(weight=instance.population, **base)
    p_dem = Problem(weight=instance.demand, **base)
    p_dem.__dict__["cov"] = p_pop.cov  # share the float matrix
    return p_pop, p_dem


def _curve(instance: Instance, problem: Problem, start: list[int], n: int, caps: Quotas | None) -> pd.DataFrame:
    """The table's sites in rank order, then greedy steps on the same weights (population shares)."""
    sel, trace = greedy(problem, max(len(start), min(n, int(problem.eligible.sum()))), quotas=caps,
                        stop_without_gain=True, start=start)
    denom = instance.denominator if instance.denominator > 0 else 1.0
    covered = problem.covered0.copy()
    pop = [float(instance.population[covered].sum())]
    for i in sel:
        covered[problem.row(i)] = True
        pop.append(float(instance.population[covered].sum()))
    cand = instance.candidates
    return pd.DataFrame({
        "n_new_sites": np.arange(len(sel) + 1),
        "population_reached": pop,
        "share": np.array(pop) / denom,
        "demand_reached": [float(np.asarray(problem.weight)[problem.covered0].sum()), *trace],
        "insee_code": ["", *cand["insee_code"].to_numpy(dtype=str)[sel]],
        "name": ["", *cand["name"].to_numpy(dtype=str)[sel]],
    })


def _site_table(instance: Instance, network: Network, order: list[int], *, lang: str) -> pd.DataFrame:
    cand = instance.candidates
    qpv = instance.qpv
    covered = network.covered.copy()
    pop = instance.population
    cov = instance.coverage
    within = instance.within
    poverty = qpv["poverty_rate"].to_numpy(float)
    npnru = qpv["npnru"].to_numpy(bool)
    missing = qpv["need_missing"].to_numpy(object)
    codes = qpv["code_qp"].to_numpy(object)
    denom = instance.denominator if instance.denominator > 0 else 1.0
    idx = np.array(order, dtype=np.int64)
    if len(idx) and len(network.points_xy):
        dist, which = nearest_distance_km(instance.cand_xy[idx], instance.cand_epsg[idx], network.points_xy,
                                          network.points_epsg)
        names = network.sites["name"].to_numpy(dtype=str)
        nearest = [names[network.point_site[w]] if w >= 0 else "" for w in which]
    else:
        dist, nearest = np.full(len(idx), np.nan), [""] * len(idx)
    rows = []
    cum = float(pop[covered].sum())
    for rank, i in enumerate(order, start=1):
        cols = cov.indices[cov.indptr[i]:cov.indptr[i + 1]]
        new = cols[~covered[cols]]
        covered[new] = True
        in_radius = np.isin(new, within.indices[within.indptr[i]:within.indptr[i + 1]])
        own = new[~in_radius]
        own_km = np.hypot(*(instance.qpv_xy[own] - instance.cand_xy[i]).T) / 1000.0 if len(own) else np.zeros(0)
        add_pop = float(pop[new].sum())
        cum += add_pop
        known = new[~np.isnan(poverty[new]) & (pop[new] > 0)]
        pov = float(np.average(poverty[known], weights=pop[known])) if len(known) else float("nan")
        miss = sorted({m for s in missing[new] for m in str(s).split(";") if m})
        c = cand.iloc[i]
        rows.append({
            "rank": rank, "insee_code": c["insee_code"], "name": c["name"], "kind": c["kind"], "region": c["region"],
            "insee_reg": c["insee_reg"], "insee_dep": c["insee_dep"], "lib_epci": c["lib_epci"],
            "added_population": add_pop, "added_population_radius": float(pop[new[in_radius]].sum()),
            "added_population_own": float(pop[own].sum()),
            "own_max_km": float(own_km.max()) if len(own_km) else float("nan"),
            "added_households": round(float(instance.households[new].sum()), 1),
            "added_qpv": int(len(new)), "added_demand": float(instance.demand[new].sum()),
            "cumulative_population": cum, "cumulative_share": cum / denom,
            "npnru_count": int(npnru[new].sum()), "poverty_rate": pov,
            "poverty_missing": int(len(new) - len(known)), "missing_indicators": ";".join(miss),
            "nearest_site": nearest[rank - 1], "nearest_site_km": float(dist[rank - 1]),
            "lon": float(c["lon"]), "lat": float(c["lat"]), "added_qpv_codes": ";".join(codes[new]),
        })
    table = pd.DataFrame(rows, columns=[c for c in TABLE_COLUMNS if c != "reason"])
    level = str(instance.params.get("level", "commune"))
    table["reason"] = [site_reason(r, radius_km=instance.radius_km, lang=lang, level=level)
                       for r in table.to_dict("records")]
    return table[list(TABLE_COLUMNS)]
