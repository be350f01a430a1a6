"""One map view of the page « Terrain »: cells, door points, « à revoir », QPV, weeks and totals at once.

:func:`viewport` answers from the roll-up summaries (:mod:`geo.coverage.rollup`) when the filters keep or drop
whole buildings, else from the visits; the same figures either way. Pure (arrays in, frames out, no I/O).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.coverage.counting import buildings_of, cells_of, qpv_of, resolution_for_zoom
from geo.coverage.events import PreparedEvents
from geo.coverage.periods import periods_of
from geo.coverage.revisit import revisit_of
from geo.coverage.selection import building_mask, select, selection
from geo.coverage.summary import summary_of


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
    sel_base = selection(prep, base)
    sel_view = sel_base if np.array_equal(in_view, base) else selection(prep, in_view)
    sel_heat = sel_view if outcomes is None else selection(prep, heat)
    return Viewport(
        resolution=resolution,
        cells=cells_of(prep, sel_heat, resolution),
        buildings=buildings_of(prep, sel_heat) if zoom >= POINTS_ZOOM else None,
        revisit=revisit_of(prep, sel_view, include_absent, revisit_limit),
        qpv=qpv_of(prep, sel_base, qpv, qpv_include),
        periods=periods_of(prep, sel_base, "week"),
        summary=summary_of(prep, sel_base),
    )

