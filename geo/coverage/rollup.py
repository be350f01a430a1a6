"""Door views from the roll-up: national, regional, site, QPV, cell and building figures without a pass over
the visits.

Pure functions (arrays in, frames out, no I/O). :func:`summarise_rollup` turns the roll-up rows of the
store (:func:`geo.coverage.store.load_rollup`) and the prepared visits (:func:`geo.coverage.aggregate.
prepare_events`) into a :class:`RollupSummary`: per-building counts (visits per outcome and households
reached, both read from the roll-up; doors, first and last day, latest outcome), per-door latest visit
(for the "à revoir" layer) and per-(building, week) doors opened. :func:`attach` puts it on the prepared
visits; :func:`geo.coverage.aggregate.viewport` then answers from it whenever the filters keep or drop
whole buildings (map area, site, QPV -- no campaign, date or outcome filter), with the same figures as
from the visits: a national view costs a few ``bincount`` over buildings and doors instead of several
passes over every visit.

:func:`impact_cells` gives the finest cells of the funders' report (:func:`geo.coverage.impact.
cells_from_events`) from the roll-up alone: quarters are exact sums of roll-up weeks, which are cut at
month boundaries (:func:`geo.coverage.keys.week_start`), and ``new_doors`` of the ``ouvert`` rows counts
each household in the row of its first opening.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.coverage import aggregate
from geo.coverage.aggregate import OPENED, OUTCOMES, PreparedEvents

logger = logging.getLogger(__name__)

_N_OUT = len(OUTCOMES)


@dataclass(frozen=True)
class RollupSummary:
    """Roll-up rows coded against :class:`~geo.coverage.aggregate.PreparedEvents`, and the summaries the views
    read. Treat as read-only.

    Roll-up rows (located visits only): ``r_building`` (building index), ``r_week`` (roll-up week, day
    number), ``r_outcome``, ``r_site`` (site index), ``r_campaign`` (campaign index), ``r_visits``,
    ``r_new_doors``.
    Per building: ``b_visits`` (visits per outcome, shape (buildings, outcomes)), ``b_reached``
    (households reached), ``b_doors`` (doors knocked), ``b_first_day``, ``b_last_day``, ``b_last_outcome``,
    ``b_demo``, ``b_site`` (its site, -1 when visited from several).
    Per door: ``door_last_day``, ``door_last_outcome``, ``door_dnd`` (ever marked "ne pas déranger").
    Doors to revisit per building (latest visit ``a_revoir``, resp. ``absent``, never "ne pas déranger"):
    ``b_revisit``, ``b_revisit_day`` (latest such visit, -1 when none), ``b_absent``, ``b_absent_day``.
    Doors opened per (building, Monday week): ``bw_building``, ``bw_week`` (week index, weeks from Monday
    1970-01-05 = 1), ``bw_opened``.
    Per (site, Monday week), for the weekly series of the national and site views: ``sw_group`` (site index
    + 1; 0 for the buildings visited from several sites), ``sw_week``, ``sw_visits`` (per outcome),
    ``sw_opened`` (doors opened within the week), ``sw_new`` (doors opened for the first time).
    """

    r_building: np.ndarray
    r_week: np.ndarray
    r_outcome: np.ndarray
    r_site: np.ndarray
    r_campaign: np.ndarray
    r_visits: np.ndarray
    r_new_doors: np.ndarray
    b_visits: np.ndarray
    b_reached: np.ndarray
    b_doors: np.ndarray
    b_first_day: np.ndarray
    b_last_day: np.ndarray
    b_last_outcome: np.ndarray
    b_demo: np.ndarray
    b_site: np.ndarray
    door_last_day: np.ndarray
    door_last_outcome: np.ndarray
    door_dnd: np.ndarray
    b_revisit: np.ndarray
    b_revisit_day: np.ndarray
    b_absent: np.ndarray
    b_absent_day: np.ndarray
    bw_building: np.ndarray
    bw_week: np.ndarray
    bw_opened: np.ndarray
    sw_group: np.ndarray
    sw_week: np.ndarray
    sw_visits: np.ndarray
    sw_opened: np.ndarray
    sw_new: np.ndarray


#: Names of the arrays of :class:`RollupSummary` (for writing and reading them, :mod:`geo.coverage.prepared`).
ARRAYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RollupSummary))


def _codes(values: pd.Series, names: Sequence[str], what: str) -> np.ndarray:
    index = pd.Index(list(names))
    codes = index.get_indexer(values.astype("str"))
    if (codes < 0).any():  # the values are not shown: building keys hold addresses
        raise ValueError(f"rollup: expected {what} of the prepared visits, got {int((codes < 0).sum())} "
                         "unknown ones (read the roll-up and the visits in one transaction)")
    return codes


def code_rollup(prep: PreparedEvents, rollup: pd.DataFrame) -> dict[str, np.ndarray]:
    """Roll-up rows (all of them, or one chunk) coded against the prepared visits: the ``r_*`` arrays of
    :class:`RollupSummary`. Rows of visits without coordinates are left out."""
    need = ("building_key", "week_start", "outcome", "campaign", "site", "visits", "new_doors")
    missing = [c for c in need if c not in rollup.columns]
    if missing:
        raise ValueError(f"rollup: expected the columns {list(need)}, missing {missing}")
    if prep.b_key is None:
        raise ValueError("prep: expected prepared visits with building keys (aggregate.prepare_events)")
    if "located" in rollup.columns:
        rollup = rollup[rollup["located"].to_numpy(dtype=bool)]
    site = _codes(rollup["site"], prep.sites, "sites")
    pair_names = [f"{prep.sites[s]}\x1f{c}" for s, c in zip(prep.campaign_site.tolist(), prep.campaigns,
                                                             strict=True)]
    pairs = rollup["site"].astype("str") + "\x1f" + rollup["campaign"].astype("str")
    return {
        "r_building": _codes(rollup["building_key"], prep.b_key, "buildings").astype(np.int32),
        "r_week": rollup["week_start"].to_numpy(dtype=np.int32),
        "r_outcome": _codes(rollup["outcome"], OUTCOMES, "outcomes").astype(np.int8),
        "r_site": site.astype(np.int16),
        "r_campaign": _codes(pairs, pair_names, "campaigns").astype(np.int16),
        "r_visits": rollup["visits"].to_numpy(dtype=np.int32),
        "r_new_doors": rollup["new_doors"].to_numpy(dtype=np.int32),
    }


def _door_latest(prep: PreparedEvents) -> dict[str, np.ndarray]:
    # events are in time order: a door's latest visit is its largest event index
    last = np.full(prep.n_doors, -1, dtype=np.int64)
    np.maximum.at(last, prep.door, np.arange(prep.n_events))
    dnd = np.zeros(prep.n_doors, dtype=bool)
    dnd[prep.door[prep.outcome == aggregate.DO_NOT_DISTURB]] = True
    out = {"door_last_day": prep.day[last].astype(np.int32), "door_last_outcome": prep.outcome[last].astype(np.int8),
           "door_dnd": dnd}
    for name, outcome in (("b_revisit", aggregate.REVISIT), ("b_absent", aggregate.ABSENT)):
        doors = np.flatnonzero((out["door_last_outcome"] == outcome) & ~dnd)
        b = prep.door_building[doors]
        out[name] = np.bincount(b, minlength=prep.n_buildings).astype(np.int32)
        day = np.full(prep.n_buildings, -1, dtype=np.int32)
        np.maximum.at(day, b, out["door_last_day"][doors])
        out[f"{name}_day"] = day
    return out


def _building_latest(prep: PreparedEvents) -> dict[str, np.ndarray]:
    nb = prep.n_buildings
    first = np.full(nb, prep.n_events, dtype=np.int64)
    last = np.full(nb, -1, dtype=np.int64)
    index = np.arange(prep.n_events)
    np.minimum.at(first, prep.building, index)  # events are in time order
    np.maximum.at(last, prep.building, index)
    sites = np.full(nb, -1, dtype=np.int64)
    several = np.zeros(nb, dtype=bool)
    sites[prep.building] = prep.site
    several[prep.building[prep.site != sites[prep.building]]] = True
    return {"b_first_day": prep.day[first].astype(np.int32), "b_last_day": prep.day[last].astype(np.int32),
            "b_last_outcome": prep.outcome[last].astype(np.int8),
            "b_demo": np.bincount(prep.building, weights=prep.demo, minlength=nb) > 0,
            "b_site": np.where(several, -1, sites).astype(np.int16),
            "b_doors": np.bincount(prep.door_building, minlength=nb).astype(np.int32)}


def _weekly_openings(prep: PreparedEvents) -> dict[str, np.ndarray]:
    opened = np.flatnonzero(prep.outcome == OPENED)
    week = (prep.day[opened].astype(np.int64) + 3) // 7
    pairs = np.unique(np.stack([prep.door[opened].astype(np.int64), week]), axis=1)  # (door, week), distinct
    bw = np.stack([prep.door_building[pairs[0]].astype(np.int64), pairs[1]])
    keys, counts = np.unique(bw, axis=1, return_counts=True)
    return {"bw_building": keys[0].astype(np.int32), "bw_week": keys[1].astype(np.int32),
            "bw_opened": counts.astype(np.int32)}


def _site_weeks(rows: dict[str, np.ndarray], latest: dict[str, np.ndarray],
                weekly: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    group_of_building = latest["b_site"].astype(np.int64) + 1
    r_key = np.stack([group_of_building[rows["r_building"]], (rows["r_week"].astype(np.int64) + 3) // 7])
    bw_key = np.stack([group_of_building[weekly["bw_building"]], weekly["bw_week"].astype(np.int64)])
    keys, inverse = np.unique(np.concatenate([r_key, bw_key], axis=1), axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    n, nr = keys.shape[1], r_key.shape[1]
    r_at, bw_at = inverse[:nr], inverse[nr:]
    visits = np.bincount(r_at * _N_OUT + rows["r_outcome"], weights=rows["r_visits"], minlength=n * _N_OUT)
    opened = rows["r_outcome"] == OPENED
    return {"sw_group": keys[0].astype(np.int16), "sw_week": keys[1].astype(np.int32),
            "sw_visits": visits.reshape(n, _N_OUT).astype(np.int32),
            "sw_opened": np.bincount(bw_at, weights=weekly["bw_opened"], minlength=n).astype(np.int32),
            "sw_new": np.bincount(r_at[opened], weights=rows["r_new_doors"][opened], minlength=n).astype(np.int32)}


def summarise_rollup(prep: PreparedEvents, rollup: pd.DataFrame) -> RollupSummary:
    """Code the roll-up rows against the prepared visits and compute the summaries the views read.

    Parameters
    ----------
    prep : PreparedEvents
        Visits prepared by :func:`geo.coverage.aggregate.prepare_events`, read in the same transaction as
        ``rollup``.
    rollup : pandas.DataFrame
        Rows of :func:`geo.coverage.store.load_rollup` (located visits).

    Returns
    -------
    RollupSummary
    """
    return summarise_coded(prep, code_rollup(prep, rollup))


def summarise_coded(prep: PreparedEvents, rows: dict[str, np.ndarray]) -> RollupSummary:
    """:func:`summarise_rollup` from roll-up rows already coded (:func:`code_rollup`, chunk by chunk).

    Parameters
    ----------
    prep : PreparedEvents
    rows : dict of numpy.ndarray
        The ``r_*`` arrays of :class:`RollupSummary`, e.g. the chunks of :func:`code_rollup` concatenated.

    Returns
    -------
    RollupSummary
    """
    missing = [name for name in ARRAYS if name.startswith("r_") and name not in rows]
    if missing:
        raise ValueError(f"rows: expected the coded roll-up arrays {missing}, missing")
    nb = prep.n_buildings
    group = rows["r_building"].astype(np.int64) * _N_OUT + rows["r_outcome"]
    b_visits = np.bincount(group, weights=rows["r_visits"], minlength=nb * _N_OUT).reshape(nb, _N_OUT)
    opened = rows["r_outcome"] == OPENED
    b_reached = np.bincount(rows["r_building"][opened], weights=rows["r_new_doors"][opened], minlength=nb)
    latest, weekly = _building_latest(prep), _weekly_openings(prep)
    summary = RollupSummary(**rows, b_visits=b_visits.astype(np.int32), b_reached=b_reached.astype(np.int32),
                            **latest, **_door_latest(prep), **weekly, **_site_weeks(rows, latest, weekly))
    logger.info("roll-up of %d rows for %d visits, %d buildings", rows["r_visits"].size, prep.n_events, nb)
    return summary


def attach(prep: PreparedEvents, summary: RollupSummary) -> PreparedEvents:
    """The prepared visits with the roll-up summary attached (the views then read it where they can)."""
    return dataclasses.replace(prep, rollup=summary)


def whole_buildings(prep: PreparedEvents, sites: Iterable[str] | None) -> bool:
    """Whether a site filter keeps or drops whole buildings (no building was visited from two sites)."""
    if sites is None:
        return True
    return bool((prep.rollup.b_site >= 0).all())


def _building_selection(prep: PreparedEvents, bbox: Sequence[float] | None,
                        sites: Iterable[str] | None) -> np.ndarray:
    chosen = prep.rollup.b_visits.sum(axis=1) > 0
    if bbox is not None:
        chosen &= aggregate.building_mask(prep, bbox)
    if sites is not None:
        wanted = np.append(aggregate.lookup(prep.sites, sites, "sites"), False)  # index -1 -> False
        chosen &= wanted[prep.rollup.b_site]
    return chosen


def _counts(prep: PreparedEvents, chosen: np.ndarray, group: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """:data:`geo.coverage.aggregate.COUNT_COLUMNS` per group of buildings, over the chosen buildings."""
    s = prep.rollup
    g = group[chosen]
    by_outcome = np.stack([np.bincount(g, weights=s.b_visits[chosen, i], minlength=n_groups)
                           for i in range(_N_OUT)], axis=1)
    return aggregate.count_columns(by_outcome, np.bincount(g, weights=s.b_reached[chosen], minlength=n_groups),
                                   np.bincount(g, weights=s.b_doors[chosen], minlength=n_groups))


def cells(prep: PreparedEvents, chosen: np.ndarray, resolution: int) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.aggregate_cells` of the chosen buildings (mask over buildings)."""
    if resolution not in prep.b_cell:
        raise ValueError(f"resolution: expected one of {list(aggregate.H3_RESOLUTIONS)}, got {resolution!r}")
    group = prep.b_cell[resolution].astype(np.int64)
    return aggregate.cells_frame(prep, _counts(prep, chosen, group, prep.cells[resolution].size), resolution)


def buildings(prep: PreparedEvents, chosen: np.ndarray) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.aggregate_buildings` of the chosen buildings."""
    s = prep.rollup
    nb = prep.n_buildings
    columns = _counts(prep, chosen, np.arange(nb, dtype=np.int64), nb)
    return aggregate.buildings_frame(prep, columns, np.where(chosen, s.b_last_day, -1),
                                     np.where(chosen, s.b_last_outcome, -1))


def qpv_table(prep: PreparedEvents, chosen: np.ndarray, *, qpv: pd.DataFrame | None = None,
              include: Iterable[str] = ()) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.aggregate_qpv` of the chosen buildings."""
    columns = _counts(prep, chosen, aggregate.qpv_groups(prep), len(prep.qpv_codes) + 1)
    return aggregate.qpv_frame(prep, columns, qpv, include)


def revisit(prep: PreparedEvents, chosen: np.ndarray, *, include_absent: bool = False,
            limit: int | None = None) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.revisit_layer` of the chosen buildings.

    The buildings are ranked from their per-building counts; only the doors of the ``limit`` first ones are
    listed.
    """
    s = prep.rollup
    count = s.b_revisit + s.b_absent if include_absent else s.b_revisit
    day = np.maximum(s.b_revisit_day, s.b_absent_day) if include_absent else s.b_revisit_day
    candidates = np.flatnonzero(chosen & (count > 0))
    rank = np.lexsort((candidates, day[candidates], -count[candidates].astype(np.int64)))
    top = np.zeros(prep.n_buildings, dtype=bool)
    top[candidates[rank[:limit] if limit is not None else rank]] = True
    wanted = s.door_last_outcome == aggregate.REVISIT
    if include_absent:
        wanted |= s.door_last_outcome == aggregate.ABSENT
    wanted &= ~s.door_dnd & top[prep.door_building]
    doors = np.flatnonzero(wanted)
    return aggregate.revisit_frame(prep, doors, s.door_last_day[doors], limit)


def weeks(prep: PreparedEvents, chosen: np.ndarray) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.aggregate_periods` (weeks) of the chosen buildings."""
    s = prep.rollup
    rows = chosen[s.r_building]
    if not rows.any():
        return aggregate.periods_frame(None, np.zeros(0, dtype=np.int64), 0, "week")
    week = (s.r_week[rows].astype(np.int64) + 3) // 7  # roll-up weeks (cut at months) -> Monday weeks
    p0 = int(week.min())
    week -= p0
    n = int(week.max()) + 1
    by_outcome = np.bincount(week * _N_OUT + s.r_outcome[rows], weights=s.r_visits[rows],
                             minlength=n * _N_OUT).reshape(n, _N_OUT)
    bw = chosen[s.bw_building]
    reached = np.bincount(s.bw_week[bw].astype(np.int64) - p0, weights=s.bw_opened[bw], minlength=n)
    out = aggregate.count_columns(by_outcome, reached, np.zeros(n, dtype=np.int64))
    first = rows & (s.r_outcome == OPENED)
    new = np.bincount((s.r_week[first].astype(np.int64) + 3) // 7 - p0, weights=s.r_new_doors[first],
                      minlength=n).astype(np.int64)
    return aggregate.periods_frame(out, new, p0, "week")


def site_weeks(prep: PreparedEvents, sites: Iterable[str] | None = None) -> pd.DataFrame:
    """:func:`geo.coverage.aggregate.aggregate_periods` (weeks) of whole sites (all of them by default), from
    the per-(site, week) summary: a few hundred rows, whatever the number of visits."""
    s = prep.rollup
    groups = np.ones(len(prep.sites) + 1, dtype=bool)
    if sites is not None:
        if not whole_buildings(prep, sites):
            raise ValueError("sites: expected a filter on whole buildings, but some building is visited from "
                             "two sites")
        groups[1:] = aggregate.lookup(prep.sites, sites, "sites")
        groups[0] = False
    rows = groups[s.sw_group]  # every (site, week) of the summary has visits
    if not rows.any():
        return aggregate.periods_frame(None, np.zeros(0, dtype=np.int64), 0, "week")
    p0 = int(s.sw_week[rows].min())
    week = s.sw_week[rows].astype(np.int64) - p0
    n = int(week.max()) + 1
    by_outcome = np.stack([np.bincount(week, weights=s.sw_visits[rows, i], minlength=n) for i in range(_N_OUT)],
                          axis=1)
    reached = np.bincount(week, weights=s.sw_opened[rows], minlength=n)
    out = aggregate.count_columns(by_outcome, reached, np.zeros(n, dtype=np.int64))
    new = np.bincount(week, weights=s.sw_new[rows], minlength=n).astype(np.int64)
    return aggregate.periods_frame(out, new, p0, "week")


def summary(prep: PreparedEvents, chosen: np.ndarray) -> dict[str, object]:
    """:func:`geo.coverage.aggregate.summarise` of the chosen buildings."""
    s = prep.rollup
    by_outcome = s.b_visits[chosen].sum(axis=0).astype(np.int64)
    outside = chosen & (prep.b_qpv < 0)
    days = (int(s.b_first_day[chosen].min()), int(s.b_last_day[chosen].max())) if chosen.any() else None
    return aggregate.summary_dict(prep, by_outcome=by_outcome, households_reached=int(s.b_reached[chosen].sum()),
                                  doors_knocked=int(s.b_doors[chosen].sum()), seen=chosen,
                                  outside_qpv_visits=int(s.b_visits[outside].sum()), days=days,
                                  demo=bool(s.b_demo[chosen].any()))


def viewport(prep: PreparedEvents, *, bbox: Sequence[float], zoom: float, qpv: pd.DataFrame | None = None,
             sites: Iterable[str] | None = None, include_absent: bool = False, qpv_include: Iterable[str] = (),
             revisit_limit: int | None = 2000) -> aggregate.Viewport:
    """:func:`geo.coverage.aggregate.viewport` from the roll-up summary (filters on whole buildings only).

    Parameters are those of :func:`geo.coverage.aggregate.viewport`; ``prep`` must carry a roll-up summary
    (:func:`attach`) and ``sites`` must keep whole buildings (:func:`whole_buildings`).
    """
    if prep.rollup is None:
        raise ValueError("prep: expected prepared visits with a roll-up summary (rollup.attach)")
    if not whole_buildings(prep, sites):
        raise ValueError("sites: expected a filter on whole buildings, but some building is visited from two sites")
    base = _building_selection(prep, None, sites)
    in_view = base & aggregate.building_mask(prep, bbox)
    resolution = aggregate.resolution_for_zoom(zoom)
    return aggregate.Viewport(
        resolution=resolution,
        cells=cells(prep, in_view, resolution),
        buildings=buildings(prep, in_view) if zoom >= aggregate.POINTS_ZOOM else None,
        revisit=revisit(prep, in_view, include_absent=include_absent, limit=revisit_limit),
        qpv=qpv_table(prep, base, qpv=qpv, include=qpv_include),
        periods=site_weeks(prep, sites),
        summary=summary(prep, base),
    )


def impact_cells(prep: PreparedEvents) -> pd.DataFrame:
    """:func:`geo.coverage.impact.cells_from_events` from the roll-up rows alone (no pass over the visits).

    Returns
    -------
    pandas.DataFrame
        One row per (site, QPV or ``hors_qpv``, quarter) with visits: ``site``, ``code_qp``, ``quarter``,
        ``households`` (first met there), ``doors_opened``, ``visits``.
    """
    from geo.coverage import impact

    s = prep.rollup
    if s is None:
        raise ValueError("prep: expected prepared visits with a roll-up summary (rollup.attach)")
    qpv_codes = np.append(np.asarray(prep.qpv_codes, dtype=object), impact.OUTSIDE)  # index -1 -> OUTSIDE
    opened = s.r_outcome == OPENED
    frame = pd.DataFrame({
        "site": np.asarray(prep.sites, dtype=object)[s.r_site],
        "code_qp": qpv_codes[prep.b_qpv[s.r_building]],
        "quarter": impact.quarter_label(s.r_week),
        "households": np.where(opened, s.r_new_doors, 0).astype(np.int64),
        "doors_opened": np.where(opened, s.r_visits, 0).astype(np.int64),
        "visits": s.r_visits.astype(np.int64),
    })
    keys = ["site", "code_qp", "quarter"]
    out = frame.groupby(keys, sort=True)[list(impact.MEASURES)].sum().reset_index()
    for key in keys:
        out[key] = out[key].astype(str)
    return out[[*keys, *impact.MEASURES]]
