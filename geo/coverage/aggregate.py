"""Pure aggregation of door visits: per building, H3 cell, QPV, campaign and period; the "à revoir" layer.

Two steps, both pure (frames and arrays in, frames out, no I/O):

1. :func:`prepare_events` turns visits (a frame such as :func:`geo.coverage.store.load_events` returns)
   into :class:`PreparedEvents`: integer-coded arrays sorted by time, one entry per distinct building
   (placed at the median of its visits' points, with its H3 cells at resolutions 7 to 10 and its QPV, found
   by point in polygon) and per door. Done once
   per data load (the app caches it).
2. :func:`select` builds a boolean mask of events (map viewport, sites, campaigns, dates, outcomes) and the
   ``aggregate_*`` functions count with :func:`numpy.bincount` over that mask, so a viewport over
   1,000,000 events aggregates in tens of milliseconds (``bench/bench_coverage.py``).
   :func:`viewport` runs the whole set the page "Terrain" shows.

Definitions (the same everywhere):

* **visits**: knocks (rows); **ouvert / absent / refus / a_revoir / ne_pas_deranger**: visits per outcome;
* **open_rate** = ``ouvert / (visits - ne_pas_deranger)`` (doors marked "do not disturb" are not knocked);
* **households_reached**: distinct doors with at least one ``ouvert`` visit. A door is a (building, door
  mark) pair; a visit without a door mark counts as its own door;
* **coverage_rate** (per QPV) = households reached / INSEE households of the QPV (``households`` of
  :data:`geo.schema.QPV_COLUMNS`); **remaining_households** = households - households reached (>= 0);
* **à revoir**: doors whose latest visit (in the selection) is ``a_revoir`` (and, optionally, ``absent``),
  never marked ``ne_pas_deranger``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import h3
import h3.api.basic_int as h3i
import numpy as np
import pandas as pd
import shapely

from geo import webgeo
from geo.coverage import schema
from geo.coverage.keys import building_keys, text_column

logger = logging.getLogger(__name__)

OUTCOMES = schema.OUTCOMES
_N_OUT = len(OUTCOMES)
OPENED = OUTCOMES.index("ouvert")
ABSENT = OUTCOMES.index("absent")
REVISIT = OUTCOMES.index("a_revoir")
DO_NOT_DISTURB = OUTCOMES.index("ne_pas_deranger")

#: H3 resolutions kept per building (10: cells about 130 m across; 9: 350 m; 8: 1 km; 7: 2.5 km).
H3_RESOLUTIONS: tuple[int, ...] = (7, 8, 9, 10)
#: Counting columns shared by the aggregate frames.
COUNT_COLUMNS: tuple[str, ...] = ("visits", *OUTCOMES, "open_rate", "households_reached", "doors_knocked")
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class PreparedEvents:
    """Door visits as integer-coded arrays (see :func:`prepare_events`). Treat as read-only.

    Event arrays (one entry per visit, sorted by time): ``building``, ``door``, ``outcome`` (index in
    :data:`geo.coverage.schema.OUTCOMES`), ``campaign``, ``site`` (indices into ``campaigns`` / ``sites``),
    ``day`` (days since 1970-01-01), ``demo``, ``event_id``.
    Building arrays: ``b_lon``, ``b_lat``, ``b_label``, ``b_qpv`` (index into ``qpv_codes``, -1 outside),
    ``b_cell[res]`` (index into ``cells[res]``, H3 cells as strings).
    Door arrays: ``door_building``, ``door_label``.
    """

    building: np.ndarray
    door: np.ndarray
    outcome: np.ndarray
    campaign: np.ndarray
    site: np.ndarray
    day: np.ndarray
    demo: np.ndarray
    event_id: np.ndarray
    b_lon: np.ndarray
    b_lat: np.ndarray
    b_label: np.ndarray
    b_qpv: np.ndarray
    b_cell: dict[int, np.ndarray]
    cells: dict[int, np.ndarray]
    door_building: np.ndarray
    door_label: np.ndarray
    campaigns: tuple[str, ...]
    sites: tuple[str, ...]
    qpv_codes: tuple[str, ...]
    campaign_site: np.ndarray = field(repr=False)
    door_order: np.ndarray = field(repr=False)  # events sorted by door, in time order within a door
    door_sorted: np.ndarray = field(repr=False)  # door[door_order]
    day_sorted: np.ndarray = field(repr=False)  # day[door_order]
    b_key: np.ndarray | None = field(default=None, repr=False)  # building keys (geo.coverage.keys)
    rollup: object | None = field(default=None, repr=False)  # geo.coverage.rollup.RollupSummary, when attached

    @property
    def n_events(self) -> int:
        """Number of visits."""
        return int(self.building.size)

    @property
    def n_buildings(self) -> int:
        """Number of distinct buildings."""
        return int(self.b_lon.size)

    @property
    def n_doors(self) -> int:
        """Number of distinct doors."""
        return int(self.door_building.size)

    def all(self) -> np.ndarray:
        """A mask selecting every event."""
        return np.ones(self.n_events, dtype=bool)


# ------------------------------------------------------------------------------------------ preparing
def assign_qpv(lon: np.ndarray, lat: np.ndarray, qpv: pd.DataFrame) -> np.ndarray:
    """The QPV code of each point (point in polygon), or ``None`` outside every QPV.

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 coordinates (NaN allowed: gives ``None``).
    qpv : geopandas.GeoDataFrame
        QPV polygons in EPSG:4326 with a ``code_qp`` column (:func:`geo.load.load_qpv`).

    Returns
    -------
    numpy.ndarray of object
        Codes, ``None`` where the point lies in no QPV. A point on two overlapping QPV gets the first.
    """
    _check_qpv(qpv, need=("code_qp",))
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError(f"lon, lat: expected arrays of the same shape, got {lon.shape} and {lat.shape}")
    out = np.full(lon.shape, None, dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any() or len(qpv) == 0:
        return out
    points = shapely.points(lon[ok], lat[ok])
    tree = shapely.STRtree(np.asarray(qpv.geometry.values))
    pt_idx, poly_idx = tree.query(points, predicate="within")
    first = np.full(points.size, -1, dtype=np.int64)
    order = np.lexsort((poly_idx, pt_idx))
    pt_sorted, poly_sorted = pt_idx[order], poly_idx[order]
    keep = np.ones(pt_sorted.size, dtype=bool)
    keep[1:] = pt_sorted[1:] != pt_sorted[:-1]
    first[pt_sorted[keep]] = poly_sorted[keep]
    codes = np.asarray(qpv["code_qp"].astype("str").to_numpy(), dtype=object)
    found = np.where(first >= 0, first, 0)
    inside = np.where(first >= 0, codes[found], None)
    out[np.flatnonzero(ok)] = inside
    return out


def group_median(groups: np.ndarray, values: np.ndarray, *, n_groups: int) -> np.ndarray:
    """The median of ``values`` within each group (vectorised: one sort, no Python loop).

    Parameters
    ----------
    groups : numpy.ndarray of int
        Group of each value, in ``[0, n_groups)``.
    values : numpy.ndarray of float
        Values (no NaN).
    n_groups : int
        Number of groups; a group without values gets NaN.

    Returns
    -------
    numpy.ndarray of float
        One median per group (the mean of the two middle values for an even count).
    """
    groups = np.asarray(groups, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    if groups.shape != values.shape:
        raise ValueError(f"groups, values: expected arrays of the same shape, got {groups.shape} and "
                         f"{values.shape}")
    out = np.full(n_groups, np.nan)
    if groups.size == 0:
        return out
    order = np.lexsort((values, groups))
    ordered = values[order]
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    low = starts[has] + (counts[has] - 1) // 2
    high = starts[has] + counts[has] // 2
    out[has] = (ordered[low] + ordered[high]) / 2
    return out


def _check_qpv(qpv: pd.DataFrame, *, need: Sequence[str]) -> None:
    if not isinstance(qpv, pd.DataFrame):
        raise TypeError(f"qpv: expected a GeoDataFrame of QPV (geo.load.load_qpv()), got {type(qpv).__name__}")
    missing = [c for c in need if c not in qpv.columns]
    if missing:
        raise ValueError(f"qpv: expected the columns {list(need)}, missing {missing}")
    if "geometry" in need or "code_qp" in need:
        crs = getattr(qpv, "crs", None)
        if crs is not None and crs.to_epsg() != 4326:
            raise ValueError(f"qpv: expected EPSG:4326 (lon/lat), got {crs}")


def prepare_events(events: pd.DataFrame, *, qpv: pd.DataFrame | None = None) -> PreparedEvents:
    """Code visits as arrays for fast aggregation.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per visit with at least ``visited_at, outcome, lat, lon, campaign, site``; optional
        ``building, door, street_number, street, postcode, city, code_qp, demo, id``. Rows without
        coordinates are left out.
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons; when given, each building's QPV is found by point in polygon, else the events'
        ``code_qp`` column is used.

    Returns
    -------
    PreparedEvents
    """
    need = ("visited_at", "outcome", "lat", "lon", "campaign", "site")
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise ValueError(f"events: expected the columns {list(need)}, missing {missing}")
    frame = events[np.isfinite(events["lat"].to_numpy(dtype=float)) & np.isfinite(events["lon"].to_numpy(dtype=float))]
    frame = frame.iloc[np.argsort(frame["visited_at"].to_numpy(dtype="datetime64[s]"), kind="stable")]
    frame = frame.reset_index(drop=True)
    n = len(frame)
    outcome_text = frame["outcome"].astype("str")
    known = outcome_text.isin(OUTCOMES).to_numpy()
    if not known.all():
        bad = sorted(set(outcome_text[~known]))[:5]
        raise ValueError(f"events: expected outcomes in {list(OUTCOMES)}, got {bad}")
    outcome_codes = pd.Categorical(outcome_text, categories=OUTCOMES).codes
    lat = frame["lat"].to_numpy(dtype=float)
    lon = frame["lon"].to_numpy(dtype=float)
    site_text = text_column(frame, "site")
    key, label = building_keys(frame)
    b_code, b_keys = pd.factorize(key, sort=False)
    nb = len(b_keys)
    b_code = b_code.astype(np.int32)
    # a building's point is the median of its visits' points: one mistyped coordinate does not move it
    b_lon = group_median(b_code, lon, n_groups=nb)
    b_lat = group_median(b_code, lat, n_groups=nb)
    _, first_of_b = np.unique(b_code, return_index=True)
    b_label = np.asarray(label.to_numpy(dtype=object)[first_of_b] if n else np.array([], dtype=object), dtype=object)

    # doors: (building, door mark); a visit without a mark is its own door
    door_text = text_column(frame, "door")
    marked = (door_text != "").to_numpy()
    door = np.empty(n, dtype=np.int32)
    pairs = pd.DataFrame({"b": b_code[marked], "d": door_text[marked].to_numpy()})
    # codes sorted by (building, mark): a building's doors come in the order of their marks
    door_marked = pairs.groupby(["b", "d"], sort=True).ngroup().to_numpy(dtype=np.int64) if len(pairs) else \
        np.array([], dtype=np.int64)
    n_marked = int(door_marked.max()) + 1 if door_marked.size else 0
    door[marked] = door_marked
    door[~marked] = n_marked + np.arange(int((~marked).sum()))
    n_doors = n_marked + int((~marked).sum())
    door_building = np.zeros(n_doors, dtype=np.int32)
    door_building[door] = b_code
    door_label = np.full(n_doors, "", dtype=object)
    door_label[door[marked]] = door_text[marked].to_numpy(dtype=object)

    # QPV of each building
    if qpv is not None:
        b_codes_qp = assign_qpv(b_lon, b_lat, qpv)
    elif "code_qp" in frame.columns:
        codes = frame["code_qp"].to_numpy(dtype=object)
        b_codes_qp = np.asarray(codes[first_of_b] if n else np.array([], dtype=object), dtype=object)
        b_codes_qp = np.where(pd.isna(b_codes_qp) | (b_codes_qp == ""), None, b_codes_qp)
    else:
        b_codes_qp = np.full(nb, None, dtype=object)
    qpv_series = pd.Series(b_codes_qp, dtype=object)
    qpv_idx, qpv_codes = pd.factorize(qpv_series, sort=True, use_na_sentinel=True)

    # H3 cells per building, at each resolution (H3 cells do not nest exactly: no parent shortcut)
    b_cell: dict[int, np.ndarray] = {}
    cells: dict[int, np.ndarray] = {}
    for res in H3_RESOLUTIONS:
        ints = np.array([h3i.latlng_to_cell(y, x, res) for y, x in zip(b_lat.tolist(), b_lon.tolist(), strict=True)],
                        dtype=np.uint64)
        uniq, inverse = np.unique(ints, return_inverse=True)
        cells[res] = np.array([h3.int_to_str(c) for c in uniq.tolist()], dtype=object)
        b_cell[res] = inverse.astype(np.int32).reshape(-1)

    site_code, site_names = pd.factorize(site_text, sort=True)
    # a campaign is a (site, name) pair: two sites may reuse a campaign name
    pair = pd.DataFrame({"site": site_code, "name": text_column(frame, "campaign").to_numpy()})
    camp_code = pair.groupby(["site", "name"], sort=True).ngroup().to_numpy(dtype=np.int64)
    firsts = pair.drop_duplicates().sort_values(["site", "name"], kind="stable")
    camp_names = firsts["name"].to_numpy(dtype=object)
    campaign_site = firsts["site"].to_numpy(dtype=np.int32)
    days = (frame["visited_at"].to_numpy(dtype="datetime64[s]").astype("datetime64[D]") - _EPOCH).astype(np.int32)
    demo = frame["demo"].to_numpy(dtype=bool) if "demo" in frame.columns else np.zeros(n, dtype=bool)
    event_id = frame["id"].to_numpy(dtype=np.int64) if "id" in frame.columns else np.arange(n, dtype=np.int64)
    door_order = np.argsort(door, kind="stable").astype(np.int32)
    logger.info("prepared %d visits: %d buildings, %d doors, %d campaigns", n, nb, n_doors, len(camp_names))
    return PreparedEvents(
        building=b_code, door=door, outcome=outcome_codes.astype(np.int8), campaign=camp_code.astype(np.int16),
        site=site_code.astype(np.int16), day=days, demo=demo, event_id=event_id,
        b_lon=b_lon, b_lat=b_lat, b_label=b_label, b_qpv=qpv_idx.astype(np.int32), b_cell=b_cell, cells=cells,
        door_building=door_building, door_label=door_label,
        campaigns=tuple(str(c) for c in camp_names), sites=tuple(str(s) for s in site_names),
        qpv_codes=tuple(str(c) for c in qpv_codes), campaign_site=campaign_site,
        door_order=door_order, door_sorted=door[door_order], day_sorted=days[door_order],
        b_key=np.asarray(b_keys, dtype=object),
    )


# ------------------------------------------------------------------------------------------ selecting
def lookup(names: Sequence[str], wanted: Iterable[str], what: str) -> np.ndarray:
    """Mask over ``names`` of those in ``wanted`` (a list of names; ``what`` names the argument in errors)."""
    if isinstance(wanted, str):
        raise TypeError(f"{what}: expected a list of names, got the string {wanted!r}")
    wanted = [str(w) for w in wanted]
    if what == "outcomes":
        unknown = [w for w in wanted if w not in OUTCOMES]
        if unknown:
            raise ValueError(f"outcomes: expected values in {list(OUTCOMES)}, got {unknown[0]!r}")
    return np.isin(np.asarray(names, dtype=object), np.asarray(wanted, dtype=object))


def _day(value: dt.date | str | None, what: str) -> int | None:
    if value is None:
        return None
    try:
        day = np.datetime64(pd.Timestamp(value).date(), "D")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: expected a date (YYYY-MM-DD), got {value!r}") from exc
    return int((day - _EPOCH).astype(int))


def building_mask(prep: PreparedEvents, bbox: Sequence[float]) -> np.ndarray:
    """Buildings inside ``bbox = (west, south, east, north)`` in degrees."""
    if len(bbox) != 4:
        raise ValueError(f"bbox: expected (west, south, east, north), got {bbox!r}")
    west, south, east, north = (float(v) for v in bbox)
    if south > north:
        raise ValueError(f"bbox: expected south <= north, got south={south}, north={north}")
    inside_lat = (prep.b_lat >= south) & (prep.b_lat <= north)
    if west <= east:
        return inside_lat & (prep.b_lon >= west) & (prep.b_lon <= east)
    return inside_lat & ((prep.b_lon >= west) | (prep.b_lon <= east))  # crosses the antimeridian


def select(prep: PreparedEvents, *, bbox: Sequence[float] | None = None, sites: Iterable[str] | None = None,
           campaigns: Iterable[str] | None = None, start: dt.date | str | None = None,
           end: dt.date | str | None = None, outcomes: Iterable[str] | None = None,
           qpv: Iterable[str] | None = None) -> np.ndarray:
    """Boolean mask of the events matching every given filter.

    Parameters
    ----------
    prep : PreparedEvents
    bbox : (west, south, east, north), optional
        Map viewport in degrees.
    sites, campaigns : iterable of str, optional
        Keep these (unknown names select nothing).
    start, end : date or ISO string, optional
        Inclusive date range.
    outcomes : iterable of str, optional
        Keep these outcomes.
    qpv : iterable of str, optional
        Keep visits in these QPV.

    Returns
    -------
    numpy.ndarray of bool
    """
    mask = np.ones(prep.n_events, dtype=bool)
    if bbox is not None:
        mask &= building_mask(prep, bbox)[prep.building]
    if sites is not None:
        mask &= lookup(prep.sites, sites, "sites")[prep.site]
    if campaigns is not None:
        mask &= lookup(prep.campaigns, campaigns, "campaigns")[prep.campaign]
    first, last = _day(start, "start"), _day(end, "end")
    if first is not None and last is not None and first > last:
        raise ValueError(f"start, end: expected start <= end, got {start} > {end}")
    if first is not None:
        mask &= prep.day >= first
    if last is not None:
        mask &= prep.day <= last
    if outcomes is not None:
        mask &= lookup(OUTCOMES, outcomes, "outcomes")[prep.outcome]
    if qpv is not None:
        table = np.append(lookup(prep.qpv_codes, qpv, "qpv"), False)  # index -1 -> False
        mask &= table[prep.b_qpv[prep.building]]
    return mask


# ------------------------------------------------------------------------------------------ counting
@dataclass(frozen=True)
class _Selection:
    ev: np.ndarray  # indices of selected events (time order)
    outcome: np.ndarray
    opened: np.ndarray  # indices of selected events with outcome ouvert
    reached: np.ndarray  # sorted distinct doors reached
    knocked: np.ndarray  # sorted distinct doors knocked
    building: np.ndarray  # building of each selected event
    reached_building: np.ndarray  # building of each reached door
    knocked_building: np.ndarray  # building of each knocked door


def _selection(prep: PreparedEvents, mask: np.ndarray | None) -> _Selection:
    if mask is None:
        mask = prep.all()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (prep.n_events,):
        raise ValueError(f"mask: expected a boolean array of {prep.n_events} events, got shape {mask.shape}")
    ev = np.flatnonzero(mask)
    outcome = prep.outcome[ev]
    opened = ev[outcome == OPENED]
    seen = np.zeros(prep.n_doors, dtype=bool)
    seen[prep.door[opened]] = True
    reached = np.flatnonzero(seen)
    seen[:] = False
    seen[prep.door[ev]] = True
    knocked = np.flatnonzero(seen)
    return _Selection(ev=ev, outcome=outcome, opened=opened, reached=reached, knocked=knocked,
                      building=prep.building[ev], reached_building=prep.door_building[reached],
                      knocked_building=prep.door_building[knocked])


def _count_table(group_of_event: np.ndarray, group_of_reached: np.ndarray, group_of_knocked: np.ndarray,
                 outcome: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    by_outcome = np.bincount(group_of_event * _N_OUT + outcome, minlength=n_groups * _N_OUT).reshape(n_groups, _N_OUT)
    return count_columns(by_outcome, np.bincount(group_of_reached, minlength=n_groups),
                         np.bincount(group_of_knocked, minlength=n_groups))


def count_columns(by_outcome: np.ndarray, reached: np.ndarray, knocked: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`COUNT_COLUMNS` of groups from their visits per outcome (shape (groups, outcomes)),
    households reached and doors knocked."""
    by_outcome = np.asarray(by_outcome, dtype=np.int64)
    visits = by_outcome.sum(axis=1)
    knockable = visits - by_outcome[:, DO_NOT_DISTURB]
    with np.errstate(invalid="ignore", divide="ignore"):
        open_rate = np.where(knockable > 0, by_outcome[:, OPENED] / np.maximum(knockable, 1), np.nan)
    out: dict[str, np.ndarray] = {"visits": visits}
    for i, name in enumerate(OUTCOMES):
        out[name] = by_outcome[:, i]
    out["open_rate"] = open_rate
    out["households_reached"] = np.asarray(reached, dtype=np.int64)
    out["doors_knocked"] = np.asarray(knocked, dtype=np.int64)
    return out


def _spatial(prep: PreparedEvents, sel: _Selection, group_of_building: np.ndarray, n_groups: int,
             ) -> dict[str, np.ndarray]:
    return _count_table(group_of_building[sel.building], group_of_building[sel.reached_building],
                        group_of_building[sel.knocked_building], sel.outcome, n_groups)


def _frame(columns: dict[str, np.ndarray], keep: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({name: values[keep] for name, values in columns.items()})


def _last_outcome(prep: PreparedEvents, sel: _Selection, group_of_event: np.ndarray, n_groups: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    last = np.full(n_groups, -1, dtype=np.int64)
    np.maximum.at(last, group_of_event, sel.ev)
    ok = last >= 0
    day = np.full(n_groups, -1, dtype=np.int64)
    out = np.full(n_groups, -1, dtype=np.int64)
    day[ok] = prep.day[last[ok]]
    out[ok] = prep.outcome[last[ok]]
    return day, out


def _dates(days: np.ndarray) -> np.ndarray:
    return (_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[s]")


def aggregate_buildings(prep: PreparedEvents, mask: np.ndarray | None = None) -> pd.DataFrame:
    """Counts per building (door points on the map).

    Returns
    -------
    pandas.DataFrame
        One row per building with visits: ``building`` (id, address or coordinates), ``lon, lat``,
        ``code_qp`` (None outside), the :data:`COUNT_COLUMNS`, ``last_visit`` and ``last_outcome``.
    """
    return _buildings(prep, _selection(prep, mask))


def _buildings(prep: PreparedEvents, sel: _Selection) -> pd.DataFrame:
    nb = prep.n_buildings
    columns = _spatial(prep, sel, np.arange(nb, dtype=np.int64), nb)
    last_day, last_out = _last_outcome(prep, sel, prep.building[sel.ev], nb)
    return buildings_frame(prep, columns, last_day, last_out)


def buildings_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], last_day: np.ndarray,
                    last_out: np.ndarray) -> pd.DataFrame:
    """The frame of :func:`aggregate_buildings` from per-building counts, last visit days and outcomes."""
    keep = columns["visits"] > 0
    frame = _frame(columns, keep)
    frame.insert(0, "building", prep.b_label[keep])
    frame.insert(1, "lon", prep.b_lon[keep])
    frame.insert(2, "lat", prep.b_lat[keep])
    frame.insert(3, "code_qp", _qpv_codes(prep, prep.b_qpv[keep]))
    frame["last_visit"] = _dates(last_day[keep])
    frame["last_outcome"] = np.asarray(OUTCOMES, dtype=object)[last_out[keep]]
    return frame


def _qpv_codes(prep: PreparedEvents, idx: np.ndarray) -> np.ndarray:
    codes = np.asarray(prep.qpv_codes + ("",), dtype=object)
    out = codes[np.where(idx >= 0, idx, len(prep.qpv_codes))]
    return np.where(out == "", None, out)


def resolution_for_zoom(zoom: float) -> int:
    """The H3 resolution shown at a Leaflet zoom level (7 up to zoom 10, then 8, 9 and 10 from zoom 15)."""
    if zoom != zoom:
        raise ValueError(f"zoom: expected a number, got {zoom!r}")
    if zoom <= 10:
        return 7
    if zoom <= 12:
        return 8
    if zoom <= 14:
        return 9
    return 10


def aggregate_cells(prep: PreparedEvents, mask: np.ndarray | None = None, *, resolution: int = 10) -> pd.DataFrame:
    """Counts per H3 cell (the heatmap).

    Parameters
    ----------
    resolution : int
        One of :data:`H3_RESOLUTIONS` (10: cells about 130 m across).

    Returns
    -------
    pandas.DataFrame
        One row per cell with visits: ``cell`` (H3 index), ``lon, lat`` (cell centre) and the
        :data:`COUNT_COLUMNS`.
    """
    return _cells(prep, _selection(prep, mask), resolution)


def _cells(prep: PreparedEvents, sel: _Selection, resolution: int) -> pd.DataFrame:
    if resolution not in prep.b_cell:
        raise ValueError(f"resolution: expected one of {list(H3_RESOLUTIONS)}, got {resolution!r}")
    group = prep.b_cell[resolution].astype(np.int64)
    n = prep.cells[resolution].size
    return cells_frame(prep, _spatial(prep, sel, group, n), resolution)


def cells_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], resolution: int) -> pd.DataFrame:
    """The frame of :func:`aggregate_cells` from per-cell counts (:data:`COUNT_COLUMNS`)."""
    keep = np.flatnonzero(columns["visits"] > 0)
    frame = _frame(columns, keep)
    names = prep.cells[resolution][keep]
    centres = np.array([h3.cell_to_latlng(c) for c in names], dtype=float).reshape(-1, 2)
    frame.insert(0, "cell", names)
    frame.insert(1, "lon", centres[:, 1])
    frame.insert(2, "lat", centres[:, 0])
    return frame


def aggregate_qpv(prep: PreparedEvents, mask: np.ndarray | None = None, *, qpv: pd.DataFrame | None = None,
                  include: Iterable[str] = ()) -> pd.DataFrame:
    """Counts and coverage per QPV.

    Parameters
    ----------
    qpv : pandas.DataFrame, optional
        QPV attributes with ``code_qp``, ``lib_qp`` and ``households`` (INSEE); gives ``coverage_rate``.
    include : iterable of str
        QPV codes to list even without visits (e.g. the QPV of a site).

    Returns
    -------
    pandas.DataFrame
        One row per QPV, sorted by ``remaining_households`` (descending): ``code_qp``, ``lib_qp``,
        ``households``, the :data:`COUNT_COLUMNS`, ``coverage_rate`` and ``remaining_households``.
    """
    return _qpv(prep, _selection(prep, mask), qpv, include)


def _qpv(prep: PreparedEvents, sel: _Selection, qpv: pd.DataFrame | None, include: Iterable[str]) -> pd.DataFrame:
    return qpv_frame(prep, _spatial(prep, sel, qpv_groups(prep), len(prep.qpv_codes) + 1), qpv, include)


def qpv_groups(prep: PreparedEvents) -> np.ndarray:
    """Group of each building by QPV: its QPV index, or ``len(qpv_codes)`` outside every QPV."""
    nq = len(prep.qpv_codes)
    return np.where(prep.b_qpv >= 0, prep.b_qpv, nq).astype(np.int64)


def qpv_frame(prep: PreparedEvents, columns: dict[str, np.ndarray], qpv: pd.DataFrame | None,
              include: Iterable[str]) -> pd.DataFrame:
    """The frame of :func:`aggregate_qpv` from per-QPV counts (groups of :func:`qpv_groups`)."""
    nq = len(prep.qpv_codes)
    frame = pd.DataFrame({name: values[:nq] for name, values in columns.items()})
    frame.insert(0, "code_qp", np.asarray(prep.qpv_codes, dtype=object))
    include = set(include)
    frame = frame[(frame["visits"].to_numpy() > 0) | frame["code_qp"].isin(include).to_numpy()]
    extra = sorted(include - set(frame["code_qp"]))
    if extra:
        zeros = {name: np.zeros(len(extra), dtype=frame[name].dtype) for name in columns}
        zeros["open_rate"] = np.full(len(extra), np.nan)
        frame = pd.concat([frame, pd.DataFrame({"code_qp": extra, **zeros})], ignore_index=True)
    if qpv is not None:
        _check_qpv(qpv, need=("code_qp", "households"))
        attrs = pd.DataFrame({"code_qp": qpv["code_qp"].astype("str").to_numpy(),
                              "lib_qp": (qpv["lib_qp"].astype("str").to_numpy() if "lib_qp" in qpv.columns
                                         else np.full(len(qpv), "", dtype=object)),
                              "households": pd.to_numeric(qpv["households"], errors="coerce").to_numpy(float)})
        frame = frame.merge(attrs, on="code_qp", how="left")
    else:
        frame["lib_qp"] = ""
        frame["households"] = np.nan
    households = frame["households"].to_numpy(dtype=float)
    reached = frame["households_reached"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["coverage_rate"] = np.where(households > 0, reached / households, np.nan)
    frame["remaining_households"] = np.clip(households - reached, 0, None)
    order = ["code_qp", "lib_qp", "households", *COUNT_COLUMNS, "coverage_rate", "remaining_households"]
    frame = frame[order].sort_values(["remaining_households", "code_qp"], ascending=[False, True],
                                     na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def outside_qpv(prep: PreparedEvents, mask: np.ndarray | None = None) -> dict[str, int]:
    """Visits and households reached outside every QPV (flagged, still counted in totals)."""
    sel = _selection(prep, mask)
    b_out = prep.b_qpv < 0
    return {"visits": int(b_out[prep.building[sel.ev]].sum()),
            "households_reached": int(b_out[prep.door_building[sel.reached]].sum())}


def _pair_counts(group_of_opened: np.ndarray, door_of_opened: np.ndarray, n_doors: int, n_groups: int) -> np.ndarray:
    if group_of_opened.size == 0:
        return np.zeros(n_groups, dtype=np.int64)
    pairs = np.unique(group_of_opened.astype(np.int64) * n_doors + door_of_opened)
    return np.bincount(pairs // n_doors, minlength=n_groups)


def aggregate_campaigns(prep: PreparedEvents, mask: np.ndarray | None = None) -> pd.DataFrame:
    """Counts per campaign.

    Returns
    -------
    pandas.DataFrame
        ``campaign``, ``site``, ``first_visit``, ``last_visit``, the :data:`COUNT_COLUMNS`, ``buildings``.
    """
    sel = _selection(prep, mask)
    nc = len(prep.campaigns)
    group = prep.campaign[sel.ev].astype(np.int64)
    columns = _count_table(group, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), sel.outcome, nc)
    columns["households_reached"] = _pair_counts(prep.campaign[sel.opened], prep.door[sel.opened], prep.n_doors, nc)
    columns["doors_knocked"] = _pair_counts(group, prep.door[sel.ev], prep.n_doors, nc)
    columns["buildings"] = _pair_counts(group, prep.building[sel.ev], prep.n_buildings, nc)
    first = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(nc, -1, dtype=np.int64)
    if sel.ev.size:
        np.minimum.at(first, group, prep.day[sel.ev])
        np.maximum.at(last, group, prep.day[sel.ev])
    keep = columns["visits"] > 0
    frame = _frame(columns, keep)
    frame.insert(0, "campaign", np.asarray(prep.campaigns, dtype=object)[keep])
    frame.insert(1, "site", np.asarray(prep.sites, dtype=object)[prep.campaign_site[keep]])
    frame.insert(2, "first_visit", _dates(first[keep]))
    frame.insert(3, "last_visit", _dates(last[keep]))
    return frame.sort_values(["site", "first_visit", "campaign"], kind="stable").reset_index(drop=True)


_FREQS = {"week": 7, "month": None, "quarter": None}


def _period_index(days: np.ndarray, freq: str) -> np.ndarray:
    if freq == "week":
        return (days.astype(np.int64) + 3) // 7  # weeks start on Monday (1970-01-05 is in week 1)
    months = (_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    return months if freq == "month" else months // 3


def _period_start(index: np.ndarray, freq: str) -> np.ndarray:
    if freq == "week":
        return _dates(index * 7 - 3)
    months = index if freq == "month" else index * 3
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("datetime64[s]")


def aggregate_periods(prep: PreparedEvents, mask: np.ndarray | None = None, *, freq: str = "week") -> pd.DataFrame:
    """Progress over time.

    Parameters
    ----------
    freq : {"week", "month", "quarter"}
        Period length; weeks start on Monday.

    Returns
    -------
    pandas.DataFrame
        One row per period from the first to the last with visits (empty periods included):
        ``period_start``, the :data:`COUNT_COLUMNS` but ``doors_knocked`` (households reached count
        the doors opened within the period), ``new_households_reached`` (doors opened for the first time in
        the selection) and ``cumulative_households_reached``.
    """
    if freq not in _FREQS:
        raise ValueError(f"freq: expected one of {list(_FREQS)}, got {freq!r}")
    sel = _selection(prep, mask)
    return _periods(prep, sel, freq)


def _door_runs(prep: PreparedEvents, events: np.ndarray, freq: str, p0: int) -> tuple[np.ndarray, np.ndarray]:
    """Periods (from ``p0``) of the given events' first visit of their door within the period, and ever.

    No sort: the door order (time order within a door) is precomputed in :class:`PreparedEvents`.
    """
    chosen = np.zeros(prep.n_events, dtype=bool)
    chosen[events] = True
    keep = chosen[prep.door_order]
    d = prep.door_sorted[keep]
    if d.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    p = _period_index(prep.day_sorted[keep], freq) - p0
    new_door = np.empty(d.size, dtype=bool)
    new_door[0] = True
    np.not_equal(d[1:], d[:-1], out=new_door[1:])
    new_in_period = new_door.copy()
    new_in_period[1:] |= p[1:] != p[:-1]
    return p[new_in_period], p[new_door]


#: Columns of :func:`aggregate_periods`.
PERIOD_COLUMNS: tuple[str, ...] = ("period_start", *[c for c in COUNT_COLUMNS if c != "doors_knocked"],
                                   "new_households_reached", "cumulative_households_reached")


def _periods(prep: PreparedEvents, sel: _Selection, freq: str) -> pd.DataFrame:
    if sel.ev.size == 0:
        return periods_frame(None, np.zeros(0, dtype=np.int64), 0, freq)
    group = _period_index(prep.day[sel.ev], freq)
    p0 = int(group[0])
    group = group - p0
    n = int(group[-1]) + 1
    out = _count_table(group, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), sel.outcome, n)
    in_period, ever = _door_runs(prep, sel.opened, freq, p0)
    out["households_reached"] = np.bincount(in_period, minlength=n)
    return periods_frame(out, np.bincount(ever, minlength=n), p0, freq)


def periods_frame(out: dict[str, np.ndarray] | None, new: np.ndarray, p0: int, freq: str) -> pd.DataFrame:
    """The frame of :func:`aggregate_periods` from per-period counts (periods ``p0`` on) and new households.

    ``out=None`` gives the empty frame.
    """
    if out is None:
        return pd.DataFrame({c: pd.Series([], dtype="datetime64[s]" if c == "period_start" else
                                          float if c == "open_rate" else np.int64) for c in PERIOD_COLUMNS})
    out = {k: v for k, v in out.items() if k != "doors_knocked"}
    frame = pd.DataFrame(out)
    frame.insert(0, "period_start", _period_start(np.arange(len(new)) + p0, freq))
    frame["new_households_reached"] = new
    frame["cumulative_households_reached"] = np.cumsum(new)
    return frame[list(PERIOD_COLUMNS)]


def revisit_layer(prep: PreparedEvents, mask: np.ndarray | None = None, *, include_absent: bool = False,
                  limit: int | None = None) -> pd.DataFrame:
    """The "à revoir" layer: buildings with doors to go back to.

    Parameters
    ----------
    include_absent : bool
        Also count doors whose latest visit found nobody (``absent``).
    limit : int, optional
        Keep only the first ``limit`` buildings (most doors to revisit first).

    Returns
    -------
    pandas.DataFrame
        One row per building with at least one door to revisit, most doors first (then oldest last visit):
        ``building``, ``lon``, ``lat``, ``code_qp``, ``doors_to_revisit``, ``last_visit`` (latest such
        visit), ``doors`` (door marks, comma-separated, when the file gave them).
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit: expected a number >= 0, got {limit}")
    return _revisit(prep, _selection(prep, mask), include_absent, limit)


def _revisit(prep: PreparedEvents, sel: _Selection, include_absent: bool, limit: int | None = None,
             ) -> pd.DataFrame:
    columns = ["building", "lon", "lat", "code_qp", "doors_to_revisit", "last_visit", "doors"]
    if sel.ev.size == 0:
        return pd.DataFrame({c: [] for c in columns})
    # latest selected visit of each door: events are in time order, so the largest index
    last = np.full(prep.n_doors, -1, dtype=np.int64)
    np.maximum.at(last, prep.door[sel.ev], sel.ev)
    doors = np.flatnonzero(last >= 0)
    last_ev = last[doors]
    latest = prep.outcome[last_ev]
    wanted = latest == REVISIT
    if include_absent:
        wanted |= latest == ABSENT
    dnd = np.zeros(prep.n_doors, dtype=bool)
    dnd[prep.door[sel.ev[sel.outcome == DO_NOT_DISTURB]]] = True
    wanted &= ~dnd[doors]
    doors, last_ev = doors[wanted], last_ev[wanted]
    return revisit_frame(prep, doors, prep.day[last_ev], limit)


def revisit_frame(prep: PreparedEvents, doors: np.ndarray, last_days: np.ndarray, limit: int | None,
                  ) -> pd.DataFrame:
    """The frame of :func:`revisit_layer` from the doors to revisit (sorted) and their latest visit's day."""
    columns = ["building", "lon", "lat", "code_qp", "doors_to_revisit", "last_visit", "doors"]
    if doors.size == 0:
        return pd.DataFrame({c: [] for c in columns})
    b = prep.door_building[doors].astype(np.int64)
    order = np.argsort(b, kind="stable")
    b, labels, days = b[order], prep.door_label[doors][order], last_days[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], b.size]
    count = ends - starts
    last_day = np.maximum.reduceat(days, starts)
    rank = np.lexsort((b[starts], last_day, -count))  # most doors first, then the oldest last visit
    if limit is not None:
        rank = rank[:limit]
    idx = b[starts[rank]]
    # door codes are sorted by mark within a building, so the marks come sorted
    joined = np.array([", ".join(filter(None, labels[starts[g]:ends[g]])) for g in rank.tolist()], dtype=object)
    return pd.DataFrame({
        "building": prep.b_label[idx], "lon": prep.b_lon[idx], "lat": prep.b_lat[idx],
        "code_qp": _qpv_codes(prep, prep.b_qpv[idx]), "doors_to_revisit": count[rank].astype(np.int64),
        "last_visit": _dates(last_day[rank].astype(np.int64)), "doors": joined,
    })


def summarise(prep: PreparedEvents, mask: np.ndarray | None = None) -> dict[str, object]:
    """Headline figures of a selection.

    Returns
    -------
    dict
        ``visits``, one count per outcome, ``open_rate``, ``households_reached``, ``doors_knocked``,
        ``buildings``, ``qpv`` (QPV touched), ``outside_qpv_visits``, ``first_visit``, ``last_visit``
        (ISO dates or None), ``demo`` (True when any selected visit is fictitious demo data).
    """
    return _summary(prep, _selection(prep, mask))


def _summary(prep: PreparedEvents, sel: _Selection) -> dict[str, object]:
    days = prep.day[sel.ev]
    return summary_dict(prep, by_outcome=np.bincount(sel.outcome, minlength=_N_OUT),
                        households_reached=int(sel.reached.size), doors_knocked=int(sel.knocked.size),
                        seen=np.bincount(sel.building, minlength=prep.n_buildings) > 0,
                        outside_qpv_visits=int((prep.b_qpv[sel.building] < 0).sum()),
                        days=(int(days[0]), int(days[-1])) if days.size else None,
                        demo=bool(prep.demo[sel.ev].any()))


def summary_dict(prep: PreparedEvents, *, by_outcome: np.ndarray, households_reached: int, doors_knocked: int,
                 seen: np.ndarray, outside_qpv_visits: int, days: tuple[int, int] | None,
                 demo: bool) -> dict[str, object]:
    """The dict of :func:`summarise` from its counts (``seen``: mask of the buildings with visits;
    ``days``: first and last day of the selection)."""
    visits = int(by_outcome.sum())
    out: dict[str, object] = {"visits": visits}
    out.update({name: int(by_outcome[i]) for i, name in enumerate(OUTCOMES)})
    knockable = int(visits - by_outcome[DO_NOT_DISTURB])
    out["open_rate"] = float(by_outcome[OPENED] / knockable) if knockable else None
    out["households_reached"] = households_reached
    out["doors_knocked"] = doors_knocked
    qpv_idx = prep.b_qpv[seen]
    out["buildings"] = int(seen.sum())
    out["qpv"] = int((np.bincount(qpv_idx[qpv_idx >= 0], minlength=len(prep.qpv_codes)) > 0).sum())
    out["outside_qpv_visits"] = outside_qpv_visits
    as_day = (lambda d: str(_dates(np.array([d]))[0].astype("datetime64[D]")))  # noqa: E731
    out["first_visit"] = as_day(days[0]) if days else None
    out["last_visit"] = as_day(days[1]) if days else None
    out["demo"] = demo
    return out


@dataclass(frozen=True)
class Viewport:
    """Everything the page "Terrain" maps for one view (see :func:`viewport`)."""

    resolution: int
    cells: pd.DataFrame
    buildings: pd.DataFrame | None
    revisit: pd.DataFrame
    qpv: pd.DataFrame
    periods: pd.DataFrame
    summary: dict[str, object]


#: From this zoom level on, door points (buildings) are returned too.
POINTS_ZOOM = 16


def viewport(prep: PreparedEvents, *, bbox: Sequence[float], zoom: float, qpv: pd.DataFrame | None = None,
             sites: Iterable[str] | None = None, campaigns: Iterable[str] | None = None,
             start: dt.date | str | None = None, end: dt.date | str | None = None,
             outcomes: Iterable[str] | None = None, include_absent: bool = False,
             qpv_include: Iterable[str] = (), revisit_limit: int | None = 2000) -> Viewport:
    """Aggregate one map view: cells, door points (at high zoom), "à revoir", QPV, weeks and totals.

    Parameters
    ----------
    bbox : (west, south, east, north)
        The visible map area; cells and points are limited to it. QPV, weeks and totals cover the whole
        filtered selection (site, campaigns, dates), so they do not change when the map pans.
    zoom : float
        Leaflet zoom level; chooses the H3 resolution (:func:`resolution_for_zoom`).
    qpv : pandas.DataFrame, optional
        QPV attributes (``code_qp``, ``lib_qp``, ``households``) for coverage rates.
    sites, campaigns, start, end : optional
        Filters, as in :func:`select`.
    outcomes : iterable of str, optional
        Outcomes counted in the heat layer (cells and points); the other figures keep every outcome.
    include_absent : bool
        Count ``absent`` doors in the "à revoir" layer.
    qpv_include : iterable of str
        QPV codes listed even without visits.
    revisit_limit : int, optional
        Buildings kept in the "à revoir" layer (most doors first); None keeps all.

    Returns
    -------
    Viewport
        Read from the roll-up summaries (:mod:`geo.coverage.rollup`) when ``prep`` carries them and the
        filters keep or drop whole buildings (no campaign, date or outcome filter); the same figures.
    """
    if prep.rollup is not None and campaigns is None and start is None and end is None and outcomes is None:
        from geo.coverage import rollup

        if rollup.whole_buildings(prep, sites):
            return rollup.viewport(prep, bbox=bbox, zoom=zoom, qpv=qpv, sites=sites, include_absent=include_absent,
                                   qpv_include=qpv_include, revisit_limit=revisit_limit)
    base = select(prep, sites=sites, campaigns=campaigns, start=start, end=end)
    in_view = base & building_mask(prep, bbox)[prep.building]
    heat = in_view if outcomes is None else in_view & select(prep, outcomes=outcomes)
    resolution = resolution_for_zoom(zoom)
    sel_base = _selection(prep, base)
    sel_view = sel_base if np.array_equal(in_view, base) else _selection(prep, in_view)
    sel_heat = sel_view if outcomes is None else _selection(prep, heat)
    return Viewport(
        resolution=resolution,
        cells=_cells(prep, sel_heat, resolution),
        buildings=_buildings(prep, sel_heat) if zoom >= POINTS_ZOOM else None,
        revisit=_revisit(prep, sel_view, include_absent, revisit_limit),
        qpv=_qpv(prep, sel_base, qpv, qpv_include),
        periods=_periods(prep, sel_base, "week"),
        summary=_summary(prep, sel_base),
    )


# --------------------------------------------------------------------------------------- map features
def cells_geojson(cells: pd.DataFrame, *, properties: Sequence[str] = ("visits", "ouvert", "open_rate",
                                                                        "households_reached")) -> dict:
    """H3 cells as a GeoJSON FeatureCollection of hexagons (lon/lat), with ``cell`` and the chosen properties.

    Written by the project's one encoder, :func:`geo.webgeo.feature_collection` (missing values ``null``).
    """
    if "cell" not in cells.columns:
        raise ValueError(f"cells: expected a 'cell' column (aggregate_cells), got {list(cells.columns)}")
    hexagons = [{"type": "Polygon", "coordinates": [_ring(cell)]} for cell in cells["cell"].to_numpy()]
    return webgeo.feature_collection(cells, properties=["cell", *properties], geometry=hexagons, decimals=None,
                                     missing="null")


def _ring(cell: str) -> list[list[float]]:
    """Closed lon/lat ring of an H3 cell, to 6 decimals (10 cm)."""
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return ring


def points_geojson(frame: pd.DataFrame, *, properties: Sequence[str]) -> dict:
    """Rows with ``lon, lat`` as a GeoJSON FeatureCollection of points with the chosen properties.

    Dates are written to the day (``2025-03-04``); written by :func:`geo.webgeo.feature_collection`
    (missing values ``null``).
    """
    missing = [c for c in ("lon", "lat", *properties) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected the columns lon, lat and {list(properties)}, missing {missing}")
    days = {p: frame[p].dt.strftime("%Y-%m-%d") for p in properties
            if pd.api.types.is_datetime64_any_dtype(frame[p])}
    points = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return webgeo.feature_collection(frame.assign(**days), properties=list(properties), geometry=points,
                                     decimals=None, coordinate_decimals=6, missing="null")
