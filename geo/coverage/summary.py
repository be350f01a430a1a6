"""Headline figures of a selection of door visits: visits per outcome, open rate, households reached, doors,
buildings, QPV touched and dates.

Pure functions (arrays in, a dict out, no I/O).
"""

from __future__ import annotations

import numpy as np

from geo.coverage.events import DO_NOT_DISTURB, N_OUTCOMES, OPENED, OUTCOMES, PreparedEvents, dates
from geo.coverage.selection import Selection, selection


def summarise(prep: PreparedEvents, mask: np.ndarray | None = None) -> dict[str, object]:
    """Headline figures of a selection.

    Returns
    -------
    dict
        ``visits``, one count per outcome, ``open_rate``, ``households_reached``, ``doors_knocked``,
        ``buildings``, ``qpv`` (QPV touched), ``outside_qpv_visits``, ``first_visit``, ``last_visit``
        (ISO dates or None), ``demo`` (True when any selected visit is fictitious demo data).
    """
    return summary_of(prep, selection(prep, mask))


def summary_of(prep: PreparedEvents, sel: Selection) -> dict[str, object]:
    """:func:`summarise` of a selection."""
    days = prep.day[sel.ev]
    return summary_dict(prep, by_outcome=np.bincount(sel.outcome, minlength=N_OUTCOMES),
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
    as_day = (lambda d: str(dates(np.array([d]))[0].astype("datetime64[D]")))  # noqa: E731
    out["first_visit"] = as_day(days[0]) if days else None
    out["last_visit"] = as_day(days[1]) if days else None
    out["demo"] = demo
    return out
