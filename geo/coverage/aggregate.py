"""Pure aggregation of door visits: per building, H3 cell, QPV, campaign and period; the "à revoir" layer.

Every public name of the modules below is importable from here (``aggregate.viewport``,
``from geo.coverage.aggregate import prepare_events``); one module per concept:

* :mod:`geo.coverage.events` -- :class:`PreparedEvents` and the outcome codes;
* :mod:`geo.coverage.coding` -- :func:`prepare_events`, visits coded chunk by chunk (:class:`EventCoder`);
* :mod:`geo.coverage.placing` -- a building's point, QPV (:func:`assign_qpv`) and H3 cells;
* :mod:`geo.coverage.selection` -- :func:`select` and the masks of the filters;
* :mod:`geo.coverage.counting` -- counts per building, H3 cell, QPV and campaign;
* :mod:`geo.coverage.periods` -- counts per week, month or quarter;
* :mod:`geo.coverage.revisit` -- the "à revoir" layer;
* :mod:`geo.coverage.summary` -- the headline figures;
* :mod:`geo.coverage.viewport` -- one map view of the page "Terrain" (:func:`viewport`);
* :mod:`geo.coverage.map_features` -- cells and points as GeoJSON.

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

from geo.coverage.coding import EventCoder, prepare_events
from geo.coverage.counting import (
    aggregate_buildings,
    aggregate_campaigns,
    aggregate_cells,
    aggregate_qpv,
    buildings_frame,
    cells_frame,
    count_columns,
    outside_qpv,
    qpv_frame,
    qpv_groups,
    resolution_for_zoom,
)
from geo.coverage.events import (
    ABSENT,
    COUNT_COLUMNS,
    DO_NOT_DISTURB,
    H3_RESOLUTIONS,
    OPENED,
    OUTCOMES,
    REVISIT,
    PreparedEvents,
)
from geo.coverage.map_features import cells_geojson, points_geojson
from geo.coverage.periods import PERIOD_COLUMNS, aggregate_periods, periods_frame
from geo.coverage.placing import assign_qpv, group_median
from geo.coverage.revisit import revisit_frame, revisit_layer
from geo.coverage.selection import building_mask, lookup, select
from geo.coverage.summary import summarise, summary_dict
from geo.coverage.viewport import POINTS_ZOOM, Viewport, viewport

__all__ = [
    "ABSENT", "COUNT_COLUMNS", "DO_NOT_DISTURB", "H3_RESOLUTIONS", "OPENED", "OUTCOMES", "PERIOD_COLUMNS",
    "POINTS_ZOOM", "REVISIT", "EventCoder", "PreparedEvents", "Viewport", "aggregate_buildings",
    "aggregate_campaigns", "aggregate_cells", "aggregate_periods", "aggregate_qpv", "assign_qpv", "building_mask",
    "buildings_frame", "cells_frame", "cells_geojson", "count_columns", "group_median", "lookup", "outside_qpv",
    "periods_frame", "points_geojson", "prepare_events", "qpv_frame", "qpv_groups", "resolution_for_zoom",
    "revisit_frame", "revisit_layer", "select", "summarise", "summary_dict", "viewport",
]
