"""Capacity: how many households the network can actually meet per year, and how long a goal takes.

Field figures (VoisinMalin): about 4,500 households met in 2014 by the whole network of 6 branches,
i.e. 750 per site and year (:data:`~geo.siting.params.DEFAULT_HOUSEHOLDS_PER_SITE_YEAR`); 23,500
families in 5 years (4,700 a year) is consistent with that for a network of about six sites. A new
site first builds its team for :data:`~geo.siting.params.DEFAULT_BUILD_YEARS` year(s) and meets no
household meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.siting.params import DEFAULT_BUILD_YEARS, DEFAULT_HOUSEHOLDS_PER_SITE_YEAR

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapacityProjection:
    """Year-by-year projection.

    Attributes
    ----------
    table : pandas.DataFrame
        ``year``, ``sites_open`` (opened so far), ``sites_active`` (meeting households),
        ``households_year``, ``households_cumulative``.
    goal : float
        Households to meet.
    years_to_goal : int or None
        Years (counting the first as 1) until the cumulative count reaches the goal; None beyond
        ``max_years``.
    households_per_site_year : float
    max_years : int
    """

    table: pd.DataFrame
    goal: float
    years_to_goal: int | None
    households_per_site_year: float
    max_years: int


def _nonneg_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
    return int(value)


def capacity_projection(
    *,
    n_current: int,
    n_new: int = 0,
    goal_households: float,
    households_per_site_year: float = DEFAULT_HOUSEHOLDS_PER_SITE_YEAR,
    build_years: int = DEFAULT_BUILD_YEARS,
    openings_per_year: int | None = None,
    start_year: int = 2026,
    max_years: int = 100,
) -> CapacityProjection:
    """Project households met per year by the current sites and ``n_new`` new ones.

    Parameters
    ----------
    n_current : int
        Sites already active (they meet households from the first year).
    n_new : int
        New sites to open.
    goal_households : float
        Households to meet in total (e.g. those within reach of the recommended network).
    households_per_site_year : float
        Households a site meets per year once built.
    build_years : int
        Years a new site takes to build its team (meets no household during them).
    openings_per_year : int, optional
        New sites opened each year (default: all in the first year).
    start_year : int
        Calendar year of the first projected year.
    max_years : int
        Horizon of the projection.

    Returns
    -------
    CapacityProjection
    """
    n_current = _nonneg_int("n_current", n_current)
    n_new = _nonneg_int("n_new", n_new)
    build_years = _nonneg_int("build_years", build_years)
    max_years = _nonneg_int("max_years", max_years)
    if max_years < 1:
        raise ValueError(f"max_years: expected at least 1, got {max_years}")
    if not np.isfinite(households_per_site_year) or households_per_site_year <= 0:
        raise ValueError(f"households_per_site_year: expected a positive number, got {households_per_site_year!r}")
    if not np.isfinite(goal_households) or goal_households < 0:
        raise ValueError(f"goal_households: expected a non-negative number, got {goal_households!r}")
    if openings_per_year is not None:
        openings_per_year = _nonneg_int("openings_per_year", openings_per_year)
        if openings_per_year == 0 and n_new:
            raise ValueError("openings_per_year: expected at least 1 when n_new > 0, got 0")
    per_year = n_new if openings_per_year is None else openings_per_year
    years = np.arange(max_years)
    opened = np.minimum(n_new, (years + 1) * max(per_year, 0)) if n_new else np.zeros(max_years, dtype=np.int64)
    # a site opened in year t (0-based) meets households from year t + build_years
    active_new = np.array([opened[t - build_years] if t - build_years >= 0 else 0 for t in years], dtype=np.int64)
    active = n_current + active_new
    met = active * float(households_per_site_year)
    cum = np.cumsum(met)
    hit = np.flatnonzero(cum >= goal_households)
    years_to_goal = int(hit[0]) + 1 if len(hit) else None
    if goal_households == 0:
        years_to_goal = 0
    table = pd.DataFrame({
        "year": start_year + years, "sites_open": n_current + opened, "sites_active": active,
        "households_year": met, "households_cumulative": cum,
    })
    return CapacityProjection(table, float(goal_households), years_to_goal, float(households_per_site_year), max_years)
