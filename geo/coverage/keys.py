"""How door visits are keyed: the building a visit belongs to, and the roll-up week it falls in.

Both the store (which writes them beside each visit and rolls visits up by them,
:mod:`geo.coverage.store.rollup`) and the aggregation (:func:`geo.coverage.aggregate.prepare_events`)
use these two functions, so a building of the roll-up is a building of the prepared events.

* **building key**: ``b|<site>|<building id>`` when the file gave a building id, else
  ``a|<address, lower case>`` when it gave a street, else ``p|<lat>, <lon>`` (5 decimals, about 1 m);
* **roll-up week** (:func:`week_start`): the day (days since 1970-01-01) of the Monday of the visit's week,
  or of the first of the month when the week began in the previous month. Weeks are cut at month
  boundaries so that months and quarters are exact sums of roll-up weeks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPOCH = np.datetime64("1970-01-01", "D")


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as strings (missing values and a missing column give empty strings)."""
    if name not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[name].fillna("").astype("str")


def building_keys(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The building key and the display label of each visit.

    Parameters
    ----------
    frame : pandas.DataFrame
        Visits with ``lat, lon`` and, when known, ``site, building, street_number, street, postcode, city``.

    Returns
    -------
    (pandas.Series, pandas.Series)
        Keys (see the module docstring) and labels (the building id, else the address, else the point),
        both of strings, on the frame's index.
    """
    missing = [c for c in ("lat", "lon") if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected the columns lat and lon, missing {missing}")
    lat = frame["lat"].to_numpy(dtype=float)
    lon = frame["lon"].to_numpy(dtype=float)
    building = text_column(frame, "building")
    street = text_column(frame, "street")
    address = (text_column(frame, "street_number") + " " + street + ", " + text_column(frame, "postcode") + " "
               + text_column(frame, "city")).str.strip(" ,")
    point = (pd.Series(np.round(lat, 5).astype("str"), index=frame.index, dtype="str") + ", "
             + pd.Series(np.round(lon, 5).astype("str"), index=frame.index, dtype="str"))
    has_b = building != ""
    has_a = ~has_b & (street != "")
    key = ("p|" + point).where(~(has_b | has_a), "")
    key = key.where(~has_b, "b|" + text_column(frame, "site") + "|" + building)
    key = key.where(~has_a, "a|" + address.str.lower())
    label = point.where(~has_a, address).where(~has_b, building)
    return key, label


def day_numbers(visited_at: np.ndarray | pd.Series) -> np.ndarray:
    """Days since 1970-01-01 (int32) of date-times."""
    stamps = np.asarray(visited_at, dtype="datetime64[s]")
    return (stamps.astype("datetime64[D]") - _EPOCH).astype(np.int32)


def week_start(days: np.ndarray) -> np.ndarray:
    """Roll-up week of each day: its Monday, or the first of its month when later (int32 day numbers).

    Parameters
    ----------
    days : numpy.ndarray of int
        Days since 1970-01-01.

    Returns
    -------
    numpy.ndarray of int32
    """
    days = np.asarray(days, dtype=np.int64)
    monday = days - (days + 3) % 7  # 1970-01-05 was a Monday
    first_of_month = (_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]").astype("datetime64[D]")
    first = (first_of_month - _EPOCH).astype(np.int64)
    return np.maximum(monday, first).astype(np.int32)
