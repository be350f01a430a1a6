"""Locating valid door visits: coordinates as given, geocoding of address-only rows, QPV of each point.

Used by the import (:mod:`geo.coverage.importer`, in the importing process or in the worker process of
:mod:`geo.coverage.checking`), by field entry and by the geocoding job.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from geo.coverage import store
from geo.coverage.errors import CoverageError
from geo.coverage.geocode import Geocoder
from geo.coverage.placing import assign_qpv

#: ``progress(step, done, total)`` as the geocoding advances (distinct addresses).
Progress = Callable[[str, int, int], None]


def locate(valid: pd.DataFrame, *, geocoder: Geocoder | None, qpv: pd.DataFrame | None,
           progress: Progress | None = None, lang: str = "fr") -> tuple[pd.DataFrame, list[str]]:
    """Add location and QPV columns to valid rows (geocoding address-only rows when possible).

    ``progress(step, done, total)``, when given, follows the geocoding (distinct addresses); the notes are
    written in ``lang``.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The rows with ``location_status, geocode_score, code_qp, qpv_status`` (and ``lat, lon`` filled for
        geocoded rows), and notes for the user.
    """
    notes: list[str] = []
    rows = valid.copy()
    has_coords = rows["lat"].notna().to_numpy()
    status = np.where(has_coords, store.LOCATION_PROVIDED, store.LOCATION_PENDING).astype(object)
    score = np.full(len(rows), np.nan)
    lat = rows["lat"].to_numpy(dtype=float).copy()
    lon = rows["lon"].to_numpy(dtype=float).copy()
    if geocoder is not None and (~has_coords).any():
        idx = np.flatnonzero(~has_coords)
        addresses = rows.iloc[idx][["street_number", "street", "postcode", "city"]]
        try:
            found = geocoder.geocode(addresses, progress=progress)
        except CoverageError as exc:  # the service answered with an error: keep the rows pending
            notes.append(exc.text(lang))
        else:
            lat[idx] = found["lat"].to_numpy(dtype=float)
            lon[idx] = found["lon"].to_numpy(dtype=float)
            score[idx] = found["geocode_score"].to_numpy(dtype=float)
            status[idx] = found["location_status"].to_numpy(dtype=object)
            still = int((found["location_status"] == store.LOCATION_PENDING).sum())
            if still:
                from geo.coverage.geocode import GeocoderUnavailableError

                notes.append(GeocoderUnavailableError(geocoder.url, still).text(lang))
    rows["lat"], rows["lon"] = lat, lon
    rows["location_status"] = pd.Series(status, index=rows.index, dtype="str")
    rows["geocode_score"] = score
    located = np.isfinite(lat) & np.isfinite(lon)
    codes = np.full(len(rows), None, dtype=object)
    qpv_status = np.full(len(rows), store.QPV_UNKNOWN, dtype=object)
    if qpv is not None and located.any():
        codes[located] = assign_qpv(lon[located], lat[located], qpv)
        qpv_status[located] = np.where(pd.isna(codes[located]), store.QPV_OUTSIDE, store.QPV_INSIDE)
    rows["code_qp"] = codes
    rows["qpv_status"] = pd.Series(qpv_status, index=rows.index, dtype="str")
    return rows, notes


