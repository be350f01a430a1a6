"""Choosing door visits: masks by map area, site, campaign, dates, outcome and QPV, and the selection the counts
read (selected visits, doors reached and knocked).

Pure functions over :class:`~geo.coverage.events.PreparedEvents` (no I/O).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.coverage.events import EPOCH, OPENED, OUTCOMES, PreparedEvents


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
    return int((day - EPOCH).astype(int))


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



@dataclass(frozen=True)
class Selection:
    """The selected visits of a mask and what the counts read from them (:func:`selection`)."""

    ev: np.ndarray  # indices of selected events (time order)
    outcome: np.ndarray
    opened: np.ndarray  # indices of selected events with outcome ouvert
    reached: np.ndarray  # sorted distinct doors reached
    knocked: np.ndarray  # sorted distinct doors knocked
    building: np.ndarray  # building of each selected event
    reached_building: np.ndarray  # building of each reached door
    knocked_building: np.ndarray  # building of each knocked door


def selection(prep: PreparedEvents, mask: np.ndarray | None) -> Selection:
    """The :class:`Selection` of a mask over the visits (None: every visit)."""
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
    return Selection(ev=ev, outcome=outcome, opened=opened, reached=reached, knocked=knocked,
                     building=prep.building[ev], reached_building=prep.door_building[reached],
                     knocked_building=prep.door_building[knocked])

