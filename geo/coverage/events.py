"""Door visits as integer-coded arrays (:class:`PreparedEvents`), and the codes every door view shares.

The outcome codes are the indices of :data:`geo.coverage.schema.OUTCOMES`; day numbers count days since
1970-01-01 (:func:`dates` turns them back into dates). :mod:`geo.coverage.coding` builds the arrays,
:mod:`geo.coverage.prepared` writes them to memory-mapped files, the other modules of the door views read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geo.coverage import schema

OUTCOMES = schema.OUTCOMES
N_OUTCOMES = len(OUTCOMES)
OPENED = OUTCOMES.index("ouvert")
ABSENT = OUTCOMES.index("absent")
REVISIT = OUTCOMES.index("a_revoir")
DO_NOT_DISTURB = OUTCOMES.index("ne_pas_deranger")

#: H3 resolutions kept per building (10: cells about 130 m across; 9: 350 m; 8: 1 km; 7: 2.5 km).
H3_RESOLUTIONS: tuple[int, ...] = (7, 8, 9, 10)
#: Counting columns shared by the aggregate frames.
COUNT_COLUMNS: tuple[str, ...] = ("visits", *OUTCOMES, "open_rate", "households_reached", "doors_knocked")
EPOCH = np.datetime64("1970-01-01", "D")


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



def dates(days: np.ndarray) -> np.ndarray:
    """Day numbers (days since 1970-01-01) as ``datetime64[s]`` dates."""
    return (EPOCH + np.asarray(days).astype("timedelta64[D]")).astype("datetime64[s]")
