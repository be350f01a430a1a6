"""Robustness: the plan rerun over a documented grid of assumptions, and how often each choice comes back.

The grid (:data:`DEFAULT_GRID`): radius 2, 3 and 5 km (a walk, the default, a bus ride); capacity at
-40 %, 0 and +40 % of :data:`~geo.siting.params.DEFAULT_CAPACITY`; need weights none or default: 18
scenarios. A city or urban region "retenue dans 8 scénarios sur 9" is robust; one chosen in few is
fragile. The instances are built by the caller (one per radius and weights; I/O-free here).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from geo.siting.instance import Instance
from geo.siting.params import DEFAULT_CAPACITY, DEFAULT_RADIUS_KM

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
        (``;``-list of new cities), ``regions`` (``;``-list of urban regions in the plan).
    cities, regions : pandas.DataFrame
        ``name``, ``selected`` (scenarios choosing it), ``scenarios`` (total), ``frequency``, sorted
        by frequency then name.
    """

    scenarios: pd.DataFrame
    cities: pd.DataFrame
    regions: pd.DataFrame


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
        ``(instance, *, capacity, weighted) -> Plan`` (e.g. ``functools.partial(plan, sites=...)``).
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
        result = run(inst, capacity=float(capacity) * float(factor), weighted=weights != "none")
        in_plan = result.regions.loc[result.regions["in_plan"], "urban_region"]
        rows.append({"radius_km": float(radius), "capacity": float(capacity) * float(factor), "weights": str(weights),
                     "presence": float(result.presence), "cities": ";".join(result.table["name"]),
                     "regions": ";".join(in_plan)})
        logger.info("robustness: radius %.1f, capacity %.0f, weights %s -> %.1f %%", radius,
                    float(capacity) * float(factor), weights, 100 * result.presence)
    scenarios = pd.DataFrame(rows)
    n = len(scenarios)
    return Robustness(scenarios, _frequency(scenarios["cities"], n), _frequency(scenarios["regions"], n))
