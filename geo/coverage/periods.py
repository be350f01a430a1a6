"""Door visits over time: counts per week, month or quarter, households reached and first met.

Pure functions (arrays in, frames out, no I/O).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.coverage.counting import count_table
from geo.coverage.events import COUNT_COLUMNS, EPOCH, PreparedEvents, dates
from geo.coverage.selection import Selection, selection

_FREQS = {"week": 7, "month": None, "quarter": None}


def _period_index(days: np.ndarray, freq: str) -> np.ndarray:
    if freq == "week":
        return (days.astype(np.int64) + 3) // 7  # weeks start on Monday (1970-01-05 is in week 1)
    months = (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    return months if freq == "month" else months // 3


def _period_start(index: np.ndarray, freq: str) -> np.ndarray:
    if freq == "week":
        return dates(index * 7 - 3)
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
    sel = selection(prep, mask)
    return periods_of(prep, sel, freq)


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


def periods_of(prep: PreparedEvents, sel: Selection, freq: str) -> pd.DataFrame:
    """:func:`aggregate_periods` of a selection."""
    if sel.ev.size == 0:
        return periods_frame(None, np.zeros(0, dtype=np.int64), 0, freq)
    group = _period_index(prep.day[sel.ev], freq)
    p0 = int(group[0])
    group = group - p0
    n = int(group[-1]) + 1
    out = count_table(group, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), sel.outcome, n)
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

