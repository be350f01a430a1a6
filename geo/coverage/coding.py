"""Coding door visits as compact arrays, one chunk at a time: :class:`EventCoder` and :func:`prepare_events`.

Visits come in time order, a chunk after another (a frame of :func:`geo.coverage.store.load_events`, or the
chunks of :func:`geo.coverage.store.stream.iter_events`). Each chunk is coded at once into fixed-width arrays
of the final length (int32 buildings, doors and day numbers, int16 sites and campaigns, int8 outcomes, bool
demo flags, int64 visit ids) which the caller allocates -- in memory, or as memory-mapped ``.npy`` files
(:mod:`geo.coverage.prepared`) -- so no table of strings for every visit is ever held: only the distinct
building keys, door marks, sites and campaigns, in dictionaries. Codes that depend on every visit (sites and
campaigns in name order, doors in (building, mark) order, building points at the median of their visits) are
finished by :meth:`EventCoder.finish`, in place over the arrays. The result does not depend on the chunk size:
coding in one chunk and in many gives the same arrays (``tests/coverage/test_coverage_prepared_chunks.py``).

pandas categoricals do not fit here: their categories are fixed per chunk, and the codes must follow the
order of first appearance over all chunks (buildings) or the sorted names over all chunks (sites, campaigns,
door marks); plain dictionaries of the few distinct names do both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from geo.coverage.events import EPOCH, OUTCOMES, PreparedEvents
from geo.coverage.keys import building_keys, text_column
from geo.coverage.placing import assign_qpv, building_cells, group_median

logger = logging.getLogger(__name__)

#: Columns every chunk of visits must have.
NEEDED_COLUMNS: tuple[str, ...] = ("visited_at", "outcome", "lat", "lon", "campaign", "site")
#: Arrays with one entry per visit, and their dtypes (the provisional codes fit the final dtypes).
EVENT_DTYPES: dict[str, type] = {"building": np.int32, "door": np.int32, "outcome": np.int8,
                                 "campaign": np.int16, "site": np.int16, "day": np.int32, "demo": np.bool_,
                                 "event_id": np.int64}
#: Arrays in door order, computed when the coding is finished.
DOOR_ORDER_DTYPES: dict[str, type] = {"door_order": np.int32, "door_sorted": np.int32, "day_sorted": np.int32}

#: ``allocate(name, length, dtype)``: a new writable array (memory or a memory-mapped file).
Allocate = Callable[[str, int, type], np.ndarray]


def _in_memory(name: str, length: int, dtype: type) -> np.ndarray:  # noqa: ARG001 - the name is for files
    return np.empty(length, dtype=dtype)


def _codes_of(uniques: np.ndarray, table: dict[str, int]) -> np.ndarray:
    """Codes of ``uniques`` in ``table``; new names get the next codes, in order."""
    out = np.empty(len(uniques), dtype=np.int64)
    for i, name in enumerate(uniques.tolist()):
        code = table.get(name)
        if code is None:
            code = table[name] = len(table)
        out[i] = code
    return out


def _rank(names: list, key: Callable | None = None) -> np.ndarray:
    """Rank of each name in sorted order (``rank[provisional code] = final code``)."""
    order = sorted(range(len(names)), key=lambda i: names[i] if key is None else key(names[i]))
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(names))
    return rank


class EventCoder:
    """Codes visits chunk by chunk into arrays of ``n_events`` entries (see the module docstring).

    Parameters
    ----------
    n_events : int
        Number of located visits that will be added (every chunk together).
    allocate : callable, optional
        ``allocate(name, length, dtype)`` returns a writable array for the event arrays
        (:data:`EVENT_DTYPES`, :data:`DOOR_ORDER_DTYPES`); in memory by default.
    """

    def __init__(self, n_events: int, *, allocate: Allocate | None = None) -> None:
        if n_events < 0:
            raise ValueError(f"n_events: expected a number >= 0, got {n_events}")
        self.n_events = int(n_events)
        self._allocate = allocate or _in_memory
        self.arrays = {name: self._allocate(name, self.n_events, dtype) for name, dtype in EVENT_DTYPES.items()}
        self._lon = np.empty(self.n_events, dtype=float)
        self._lat = np.empty(self.n_events, dtype=float)
        self._mark = np.empty(self.n_events, dtype=np.int32)  # door mark code, -1 without a mark
        self._buildings: dict[str, int] = {}
        self._labels: list[object] = []
        self._first_qpv: list[object] = []
        self._has_qpv = False
        self._marks: dict[str, int] = {}
        self._sites: dict[str, int] = {}
        self._campaigns: dict[str, int] = {}  # "site\x1fname" -> provisional code
        self._campaign_names: list[tuple[int, str]] = []  # (provisional site, name) per provisional code
        self._last_time = np.datetime64("NaT", "s")
        self.added = 0

    def add(self, chunk: pd.DataFrame) -> None:
        """Code the next visits (later than or as late as every visit added before); rows without coordinates
        are left out."""
        missing = [c for c in NEEDED_COLUMNS if c not in chunk.columns]
        if missing:
            raise ValueError(f"events: expected the columns {list(NEEDED_COLUMNS)}, missing {missing}")
        frame = chunk[np.isfinite(chunk["lat"].to_numpy(dtype=float)) & np.isfinite(chunk["lon"].to_numpy(dtype=float))]
        m = len(frame)
        if not m:
            return
        lo, hi = self.added, self.added + m
        if hi > self.n_events:
            raise ValueError(f"events: expected {self.n_events} located visits in all, got more ({hi})")
        times = frame["visited_at"].to_numpy(dtype="datetime64[s]")
        if (times[1:] < times[:-1]).any() or times[0] < self._last_time:
            raise ValueError("events: expected visits in time order (chunks of visits sorted by visited_at)")
        outcome_text = frame["outcome"].astype("str")
        known = outcome_text.isin(OUTCOMES).to_numpy()
        if not known.all():
            bad = sorted(set(outcome_text[~known]))[:5]
            raise ValueError(f"events: expected outcomes in {list(OUTCOMES)}, got {bad}")
        a = self.arrays
        a["outcome"][lo:hi] = pd.Categorical(outcome_text, categories=OUTCOMES).codes
        a["building"][lo:hi] = self._add_buildings(frame)
        self._mark[lo:hi] = self._add_marks(text_column(frame, "door"))
        a["site"][lo:hi], a["campaign"][lo:hi] = self._add_campaigns(frame)
        a["day"][lo:hi] = (times.astype("datetime64[D]") - EPOCH).astype(np.int32)
        a["demo"][lo:hi] = frame["demo"].to_numpy(dtype=bool) if "demo" in frame.columns else False
        a["event_id"][lo:hi] = (frame["id"].to_numpy(dtype=np.int64) if "id" in frame.columns
                                else np.arange(lo, hi, dtype=np.int64))
        self._lon[lo:hi] = frame["lon"].to_numpy(dtype=float)
        self._lat[lo:hi] = frame["lat"].to_numpy(dtype=float)
        self._last_time = times[-1]
        self.added = hi

    def _add_buildings(self, frame: pd.DataFrame) -> np.ndarray:
        """Building codes in order of first visit; the label and recorded QPV of a building's first visit."""
        key, label = building_keys(frame)
        codes, uniques = pd.factorize(key, sort=False)
        first = np.unique(codes, return_index=True)[1]  # first row of each new key, in code order
        before = len(self._buildings)
        found = _codes_of(np.asarray(uniques, dtype=object), self._buildings)
        new = first[found >= before]  # codes are given in order: the new keys' first rows, in order
        self._labels.extend(label.to_numpy(dtype=object)[new].tolist())
        if "code_qp" in frame.columns:
            self._has_qpv = True
            self._first_qpv.extend(frame["code_qp"].to_numpy(dtype=object)[new].tolist())
        return found[codes]

    def _add_marks(self, door_text: pd.Series) -> np.ndarray:
        marked = (door_text != "").to_numpy()
        out = np.full(len(door_text), -1, dtype=np.int32)
        if marked.any():
            codes, uniques = pd.factorize(door_text[marked], sort=False)
            out[marked] = _codes_of(np.asarray(uniques, dtype=object), self._marks)[codes]
        return out

    def _add_campaigns(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Provisional site and campaign codes (a campaign is a (site, name) pair: two sites may share a name)."""
        site = text_column(frame, "site")
        name = text_column(frame, "campaign")
        codes, uniques = pd.factorize(site + "\x1f" + name, sort=False)
        first = np.unique(codes, return_index=True)[1]
        before = len(self._campaigns)
        found = _codes_of(np.asarray(uniques, dtype=object), self._campaigns)
        for row in first[found >= before].tolist():
            site_code = _codes_of(np.asarray([site.iat[row]], dtype=object), self._sites)[0]
            self._campaign_names.append((int(site_code), name.iat[row]))
        site_of = np.asarray([s for s, _ in self._campaign_names], dtype=np.int64)
        return site_of[found[codes]], found[codes]

    def finish(self, *, qpv: pd.DataFrame | None = None) -> PreparedEvents:
        """The prepared visits, once every visit was added (the event arrays are finished in place).

        Parameters
        ----------
        qpv : geopandas.GeoDataFrame, optional
            QPV polygons; when given, each building's QPV is found by point in polygon, else the QPV recorded
            with its first visit (``code_qp``) is used.

        Returns
        -------
        PreparedEvents
        """
        if self.added != self.n_events:
            raise ValueError(f"events: expected {self.n_events} located visits, got {self.added}")
        a = self.arrays
        nb = len(self._buildings)
        b_lon = group_median(a["building"], self._lon, n_groups=nb)
        b_lat = group_median(a["building"], self._lat, n_groups=nb)
        self._lon = self._lat = np.empty(0)
        door_building, door_label = self._finish_doors()
        site_names, campaign_names, campaign_site = self._finish_campaigns()
        if qpv is not None:
            b_codes_qp = assign_qpv(b_lon, b_lat, qpv)
        elif self._has_qpv:
            b_codes_qp = np.asarray(self._first_qpv, dtype=object)
            b_codes_qp = np.where(pd.isna(b_codes_qp) | (b_codes_qp == ""), None, b_codes_qp)
        else:
            b_codes_qp = np.full(nb, None, dtype=object)
        qpv_idx, qpv_codes = pd.factorize(pd.Series(b_codes_qp, dtype=object), sort=True, use_na_sentinel=True)
        b_cell, cells = building_cells(b_lon, b_lat)
        order = self._door_order()
        logger.info("prepared %d visits: %d buildings, %d doors, %d campaigns", self.n_events, nb,
                    door_building.size, len(campaign_names))
        return PreparedEvents(
            **a, b_lon=b_lon, b_lat=b_lat, b_label=np.asarray(self._labels, dtype=object),
            b_qpv=qpv_idx.astype(np.int32), b_cell=b_cell, cells=cells, door_building=door_building,
            door_label=door_label, campaigns=campaign_names, sites=site_names,
            qpv_codes=tuple(str(c) for c in qpv_codes), campaign_site=campaign_site, **order,
            b_key=np.asarray(list(self._buildings), dtype=object),
        )

    def _finish_doors(self) -> tuple[np.ndarray, np.ndarray]:
        """Door codes: (building, mark) pairs sorted by building then mark, then each unmarked visit its own door."""
        building, door = self.arrays["building"], self.arrays["door"]
        names = list(self._marks)
        sorted_names = np.asarray(sorted(names), dtype=object)
        rank = _rank(names)
        marked = self._mark >= 0
        n_names = max(len(names), 1)
        pairs = building[marked].astype(np.int64) * n_names + rank[self._mark[marked]]
        uniq, inverse = np.unique(pairs, return_inverse=True)
        del pairs
        n_marked = uniq.size
        door[marked] = inverse.reshape(-1)
        del inverse
        n_unmarked = int(self.n_events - np.count_nonzero(marked))
        door[~marked] = n_marked + np.arange(n_unmarked, dtype=np.int32)
        self._mark = np.empty(0, dtype=np.int32)
        door_building = np.zeros(n_marked + n_unmarked, dtype=np.int32)
        door_building[door] = building
        door_label = np.full(n_marked + n_unmarked, "", dtype=object)
        door_label[:n_marked] = sorted_names[uniq % n_names] if n_marked else door_label[:0]
        return door_building, door_label

    def _finish_campaigns(self) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
        """Sites in name order, campaigns in (site, name) order; the event codes are renumbered in place."""
        site_rank = _rank(list(self._sites))
        campaign_rank = _rank(self._campaign_names, key=lambda pair: (site_rank[pair[0]], pair[1]))
        site, campaign = self.arrays["site"], self.arrays["campaign"]
        if self.n_events:
            site[:] = site_rank[site]
            campaign[:] = campaign_rank[campaign]
        site_names = [""] * len(site_rank)
        for name, code in self._sites.items():
            site_names[site_rank[code]] = name
        names = [""] * len(campaign_rank)
        campaign_site = np.zeros(len(campaign_rank), dtype=np.int32)
        for code, (site_code, name) in enumerate(self._campaign_names):
            names[campaign_rank[code]] = name
            campaign_site[campaign_rank[code]] = site_rank[site_code]
        return tuple(site_names), tuple(names), campaign_site

    def _door_order(self) -> dict[str, np.ndarray]:
        door, day = self.arrays["door"], self.arrays["day"]
        out = {name: self._allocate(name, self.n_events, dtype) for name, dtype in DOOR_ORDER_DTYPES.items()}
        out["door_order"][:] = np.argsort(door, kind="stable")
        out["door_sorted"][:] = door[out["door_order"]]
        out["day_sorted"][:] = day[out["door_order"]]
        return out


def prepare_events(events: pd.DataFrame, *, qpv: pd.DataFrame | None = None,
                   chunk_size: int | None = None) -> PreparedEvents:
    """Code visits as arrays for fast aggregation (in memory).

    Parameters
    ----------
    events : pandas.DataFrame
        One row per visit with at least ``visited_at, outcome, lat, lon, campaign, site``; optional
        ``building, door, street_number, street, postcode, city, code_qp, demo, id``. Rows without
        coordinates are left out.
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons; when given, each building's QPV is found by point in polygon, else the events'
        ``code_qp`` column is used.
    chunk_size : int, optional
        Code this many visits at a time (all at once by default); the arrays are the same either way.

    Returns
    -------
    PreparedEvents
    """
    missing = [c for c in NEEDED_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events: expected the columns {list(NEEDED_COLUMNS)}, missing {missing}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size: expected a number >= 1, got {chunk_size}")
    frame = events[np.isfinite(events["lat"].to_numpy(dtype=float)) & np.isfinite(events["lon"].to_numpy(dtype=float))]
    frame = frame.iloc[np.argsort(frame["visited_at"].to_numpy(dtype="datetime64[s]"), kind="stable")]
    coder = EventCoder(len(frame))
    step = chunk_size or max(len(frame), 1)
    for start in range(0, len(frame), step):
        coder.add(frame.iloc[start:start + step])
    return coder.finish(qpv=qpv)
