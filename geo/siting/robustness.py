"""Robustness: the plan rerun over a documented grid of assumptions, and how often each choice comes back.

The grid (:data:`DEFAULT_GRID`): radius 2, 3 and 5 km (a walk, the default, a bus ride); capacity at
-40 %, 0 and +40 % of :data:`~geo.siting.params.DEFAULT_CAPACITY`; need weights none or default: 18
scenarios. A city or urban region "retenue dans 8 scénarios sur 9" is robust; one chosen in few is
fragile. The instances are built by the caller (one per radius and weights; I/O-free here).

Each grid point needs only *which* cities and urban regions the plan picks, not the plan's tables:
:func:`plan_choice` solves the same capacitated problem with the same method as
:func:`geo.siting.plan.plan` (so the central point gives the page's own choice) and skips the assembly of
the assignment, region and roadmap tables; with the network resolved once per instance and the
heuristic's transport LP restricted to the open sites (:func:`geo.siting.capacitated.assign`), the
national grid costs about 60 % of what 18 full plans cost (``bench/bench_siting.py``, section 6,
measures both). Fewer grid points would be faster still but would change what "robuste (14/18)"
means; dropping the heuristic's LP-guided start is 10 times faster but picks differently at one grid
point in ten (method noise read as fragility); starting each solve from the central plan's choice
(a warm start) was not kept either: a local search started there stays near it and overstates
robustness.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from geo.siting.instance import Instance
from geo.siting.network import Network
from geo.siting.params import DEFAULT_CAPACITY, DEFAULT_MAX_CITIES, DEFAULT_MAX_REGIONS, DEFAULT_RADIUS_KM
from geo.siting.regions import UrbanRegions

logger = logging.getLogger(__name__)

#: The grid of assumptions: radius (km), capacity factor, need weights ("default" or "none").
DEFAULT_GRID: dict[str, tuple] = {
    "radius_km": (2.0, DEFAULT_RADIUS_KM, 5.0),
    "capacity_factor": (0.6, 1.0, 1.4),
    "weights": ("none", "default"),
}


@dataclass(frozen=True)
class Robustness:
    """Scenarios and selection frequencies.

    Attributes
    ----------
    scenarios : pandas.DataFrame
        One row per scenario: ``radius_km``, ``capacity``, ``weights``, ``presence``, ``cities``
        (``;``-list of new cities), ``regions`` (``;``-list of urban regions in the plan), both sorted by name.
    cities, regions : pandas.DataFrame
        ``name``, ``selected`` (scenarios choosing it), ``scenarios`` (total), ``frequency``, sorted
        by frequency then name.
    """

    scenarios: pd.DataFrame
    cities: pd.DataFrame
    regions: pd.DataFrame


@dataclass(frozen=True)
class PlanChoice:
    """What a plan picks: new cities (rank-free), urban regions with a site (network included), presence.

    Attributes
    ----------
    cities : tuple of str
        Names of the new sites' cities.
    regions : tuple of str
        Urban regions holding a site, the network's included.
    presence : float
        Share of QPV residents served (capacity-limited), network included.
    """

    cities: tuple[str, ...]
    regions: tuple[str, ...]
    presence: float


def plan_choice(instance: Instance, network: Network, *, regions: UrbanRegions, capacity: float | None,
                weighted: bool = True, k: int | None = None, max_cities: int | None = DEFAULT_MAX_CITIES,
                max_regions: int | None = DEFAULT_MAX_REGIONS, method: str = "heuristic",
                time_limit_s: float = 20.0) -> PlanChoice:
    """The choice of :func:`geo.siting.plan.plan` without its tables (the robustness grid's unit of work).

    Parameters
    ----------
    instance : Instance
    network : Network
        The current sites resolved on ``instance`` (:func:`geo.siting.resolve_network`).
    regions : UrbanRegions
        Urban regions of ``instance``.
    capacity : float or None
        Residents a site serves (None: uncapacitated).
    weighted : bool
        Need-weighted objective.
    k : int, optional
        Exactly ``k`` new sites; else at most ``max_cities`` cities in all.
    max_cities, max_regions : int or None
        As in :func:`geo.siting.plan.plan`.
    method : {"heuristic", "exact"}
    time_limit_s : float

    Returns
    -------
    PlanChoice

    Raises
    ------
    ValueError
        When ``k`` and ``max_cities`` are both None.
    InfeasibleError
        When the constraints cannot be met.
    """
    from geo.siting.plan import _solve, capacitated_problem

    if k is None and max_cities is None:
        raise ValueError("max_cities: expected a number of cities when k is None, got None")
    problem = capacitated_problem(instance, network, capacity=capacity, weighted=weighted, regions=regions)
    max_new = None if k is not None else max(int(max_cities) - len(network.sites), 0)
    sol = _solve(problem, k=k, max_new=max_new, method=method, quotas=None, max_regions=max_regions,
                 time_limit_s=time_limit_s)
    names = regions.names()
    cities = tuple(str(instance.candidates["name"].iat[i]) for i in sol.selected)
    groups = {int(regions.candidate_region[i]) for i in sol.selected} | set(problem.locked_groups)
    denominator = instance.denominator if instance.denominator > 0 else 1.0
    return PlanChoice(cities, tuple(names[g] for g in sorted(groups) if g >= 0),
                      float(sol.residents.sum()) / denominator)


def _choice_of(result: object) -> PlanChoice:
    """A :class:`PlanChoice` from what ``run`` returned (a PlanChoice, or a full :class:`~geo.siting.plan.Plan`)."""
    if isinstance(result, PlanChoice):
        return result
    table, regions = getattr(result, "table", None), getattr(result, "regions", None)
    if table is None or regions is None:
        raise TypeError(f"run: expected a PlanChoice or a Plan, got {type(result).__name__}")
    in_plan = regions.loc[regions["in_plan"], "urban_region"]
    return PlanChoice(tuple(map(str, table["name"])), tuple(map(str, in_plan)), float(result.presence))


def _frequency(lists: pd.Series, n: int) -> pd.DataFrame:
    counts = lists.str.split(";").explode().replace("", pd.NA).dropna().value_counts()
    out = pd.DataFrame({"name": counts.index.astype(str), "selected": counts.to_numpy(int)})
    out["scenarios"] = n
    out["frequency"] = out["selected"] / n if n else 0.0
    return out.sort_values(["selected", "name"], ascending=[False, True]).reset_index(drop=True)


def robustness(instance_for: Callable[[float, str], Instance], run: Callable[..., object], *,
               grid: Mapping[str, tuple] | None = None, capacity: float = DEFAULT_CAPACITY) -> Robustness:
    """Rerun a plan over the grid.

    Parameters
    ----------
    instance_for : callable
        ``(radius_km, weights) -> Instance`` (the caller caches instances).
    run : callable
        ``(instance, *, capacity, weighted) -> PlanChoice`` (:func:`plan_choice`, the fast way) or a full
        :class:`~geo.siting.plan.Plan` (e.g. ``functools.partial(plan, sites=...)``).
    grid : mapping, optional
        Keys of :data:`DEFAULT_GRID`.
    capacity : float
        The central capacity the factors multiply.

    Returns
    -------
    Robustness
    """
    grid = dict(DEFAULT_GRID if grid is None else grid)
    for key in DEFAULT_GRID:
        if key not in grid or not len(grid[key]):
            raise ValueError(f"grid: expected non-empty values for {key!r}, got {grid.get(key)!r}")
    rows = []
    for radius, factor, weights in itertools.product(grid["radius_km"], grid["capacity_factor"], grid["weights"]):
        inst = instance_for(float(radius), str(weights))
        result = _choice_of(run(inst, capacity=float(capacity) * float(factor), weighted=weights != "none"))
        rows.append({"radius_km": float(radius), "capacity": float(capacity) * float(factor), "weights": str(weights),
                     "presence": result.presence, "cities": ";".join(sorted(result.cities)),
                     "regions": ";".join(sorted(result.regions))})
        logger.info("robustness: radius %.1f, capacity %.0f, weights %s -> %.1f %%", radius,
                    float(capacity) * float(factor), weights, 100 * result.presence)
    scenarios = pd.DataFrame(rows)
    n = len(scenarios)
    return Robustness(scenarios, _frequency(scenarios["cities"], n), _frequency(scenarios["regions"], n))
