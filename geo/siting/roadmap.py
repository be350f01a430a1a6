"""A roadmap in years: when each site opens, presence in quartiers, and households actually met.

Two different figures, never to be confused:

* **presence** — share of QPV residents living in the quartiers (or the parts of quartiers) a team works
  in, counted with the capacitated assignment (nobody twice). A site is present once its team is built.
* **households met** — doors actually opened: each built site meets up to
  :data:`~geo.siting.params.DEFAULT_HOUSEHOLDS_PER_SITE_YEAR` households a year once mature, ramping up
  linearly after its build year until :data:`~geo.siting.params.DEFAULT_MATURITY_YEARS` after opening.

Pure arithmetic over the sites' opening years (no solver).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.siting.params import (
    DEFAULT_BUILD_YEARS,
    DEFAULT_HOUSEHOLDS_PER_SITE_YEAR,
    DEFAULT_MATURITY_YEARS,
    DEFAULT_PACE,
    DEFAULT_ROADMAP_END,
    DEFAULT_START_YEAR,
    DOOR_GOALS,
)

#: Columns of :attr:`Roadmap.table`.
ROADMAP_COLUMNS: tuple[str, ...] = ("year", "sites_open", "sites_built", "presence_residents", "presence_share",
                                    "households_met", "households_met_cumulative")


@dataclass(frozen=True)
class Roadmap:
    """Year-by-year projection and the years the goals are reached (None: not by the end year).

    Attributes
    ----------
    table : pandas.DataFrame
        :data:`ROADMAP_COLUMNS`, one row per year from ``start_year`` to ``end_year``.
    opening_year : numpy.ndarray
        Planned opening year of each new site (rank order).
    presence_goal_year : int or None
        First year the presence share reaches the target.
    door_goal_years : dict
        ``(households, within_years)`` → first year the cumulative households met since
        ``start_year`` reach ``households`` (None when not by ``end_year``).
    """

    table: pd.DataFrame
    opening_year: np.ndarray
    presence_goal_year: int | None
    door_goal_years: dict[tuple[int, int], int | None]


def site_households(age: np.ndarray, *, households_per_year: float = DEFAULT_HOUSEHOLDS_PER_SITE_YEAR,
                    build_years: int = DEFAULT_BUILD_YEARS, maturity_years: int = DEFAULT_MATURITY_YEARS) -> np.ndarray:
    """Households a site meets in the year when it is ``age`` years old (0 = its opening year).

    0 while building (``age < build_years``), then a linear ramp reaching ``households_per_year`` in
    year ``maturity_years - 1`` (its ``maturity_years``-th year), then flat.
    """
    age = np.asarray(age, dtype=float)
    ramp_years = max(int(maturity_years) - int(build_years), 1)
    factor = np.clip((age - build_years + 1) / ramp_years, 0.0, 1.0)
    return np.where(age >= build_years, households_per_year * factor, 0.0)


def roadmap(*, current_years: np.ndarray, current_served: np.ndarray, new_served: np.ndarray, denominator: float,
            target: float, pace: float = DEFAULT_PACE, start_year: int = DEFAULT_START_YEAR,
            end_year: int = DEFAULT_ROADMAP_END, households_per_year: float = DEFAULT_HOUSEHOLDS_PER_SITE_YEAR,
            build_years: int = DEFAULT_BUILD_YEARS, maturity_years: int = DEFAULT_MATURITY_YEARS,
            door_goals: tuple[tuple[int, int], ...] = DOOR_GOALS) -> Roadmap:
    """Project presence and households met year by year.

    Parameters
    ----------
    current_years : numpy.ndarray
        Opening year of each current site.
    current_served, new_served : numpy.ndarray
        Residents each current / new site serves (capacitated assignment), new sites in rank order.
    denominator : float
        QPV residents the shares refer to.
    target : float
        Presence share goal (0.20).
    pace : float
        New sites opened per year (the first ones in ``start_year``).
    start_year, end_year : int
    households_per_year, build_years, maturity_years : see :func:`site_households`.
    door_goals : tuple of (households, within_years)
        Cumulative households met since ``start_year`` (e.g. 150,000 in 5 years).

    Returns
    -------
    Roadmap
    """
    if isinstance(pace, bool) or not isinstance(pace, int | float) or not pace > 0:
        raise ValueError(f"pace: expected a positive number of openings per year, got {pace!r}")
    if end_year < start_year:
        raise ValueError(f"end_year: expected a year >= start_year={start_year}, got {end_year!r}")
    n_new = len(new_served)
    opening = start_year + np.floor(np.arange(n_new) / float(pace)).astype(int)
    years_open = np.r_[np.asarray(current_years, dtype=int), opening]
    served = np.r_[np.asarray(current_served, float), np.asarray(new_served, float)]
    rows = []
    cum = 0.0
    for year in range(int(start_year), int(end_year) + 1):
        age = year - years_open
        open_ = age >= 0
        built = age >= build_years
        met = float(site_households(np.where(open_, age, -1), households_per_year=households_per_year,
                                    build_years=build_years, maturity_years=maturity_years).sum())
        cum += met
        presence = float(served[built].sum())
        rows.append((year, int(open_.sum()), int(built.sum()), presence, presence / denominator if denominator else 0.0,
                     met, cum))
    table = pd.DataFrame(rows, columns=list(ROADMAP_COLUMNS))
    hit = table.loc[table["presence_share"] >= target - 1e-12, "year"]
    goals = {}
    for households, _within in door_goals:
        reached = table.loc[table["households_met_cumulative"] >= households, "year"]
        goals[(int(households), int(_within))] = int(reached.iloc[0]) if len(reached) else None
    return Roadmap(table, opening, int(hit.iloc[0]) if len(hit) else None, goals)
