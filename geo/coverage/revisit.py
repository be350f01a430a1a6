"""The « à revoir » layer: buildings with doors to go back to (latest visit ``a_revoir``, or ``absent`` on
request, never marked ``ne_pas_deranger``).

Pure functions (arrays in, frames out, no I/O).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.coverage.counting import qpv_code_labels
from geo.coverage.events import ABSENT, DO_NOT_DISTURB, REVISIT, PreparedEvents, dates
from geo.coverage.selection import Selection, selection


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
    return revisit_of(prep, selection(prep, mask), include_absent, limit)


def revisit_of(prep: PreparedEvents, sel: Selection, include_absent: bool, limit: int | None = None,
               ) -> pd.DataFrame:
    """:func:`revisit_layer` of a selection."""
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
        "code_qp": qpv_code_labels(prep, prep.b_qpv[idx]), "doors_to_revisit": count[rank].astype(np.int64),
        "last_visit": dates(last_day[rank].astype(np.int64)), "doors": joined,
    })

