"""Client of the national address API's CSV endpoint (``POST /search/csv/``, api-adresse.data.gouv.fr).

Addresses are sent in batches as a CSV file (columns ``id, adresse, code_postal, commune``); the API answers
the same rows with ``latitude, longitude, result_score, result_type, result_citycode, result_label...``
appended. Requests use connect and read timeouts and retries with exponential backoff (connection errors,
timeouts, 429 and 5xx answers), all within a total time budget: no request starts, and no wait or read lasts,
beyond it. Only successful answers are cached, under a hash of the normalised address. When the service
cannot be reached or the budget is spent, the addresses that got no answer come back with the status
``en_attente`` (pending), to be geocoded later by ``voisinmap coverage geocode`` or a geocoding job.

The base URL is ``$VOISINMAP_GEOCODER_URL`` when set (a local address server, or the IGN Géoplateforme
which serves the same API), else :data:`DEFAULT_URL`. Only building addresses are sent, never a name.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import requests

from geo import __version__
from geo.coverage import schema
from geo.coverage.errors import CoverageError
from geo.coverage.validate import in_france

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://api-adresse.data.gouv.fr"
ENV_GEOCODER_URL = "VOISINMAP_GEOCODER_URL"
#: Lowest ``result_score`` accepted as a location.
MIN_SCORE = 0.5
#: Result types accepted as a location (a building's position, or at worst its street).
ACCEPTED_TYPES = ("housenumber", "street", "locality")
#: Default total time of one :meth:`Geocoder.geocode` call, in seconds.
DEFAULT_BUDGET = 600.0
RESULT_COLUMNS = ("latitude", "longitude", "result_score", "result_type", "result_citycode", "result_label")


class GeocoderUnavailableError(CoverageError):
    """The address service could not be reached (after retries)."""

    def __init__(self, url: str, count: int) -> None:
        super().__init__("geocoder_unavailable", fields={"url": url, "count": count})
        self.count = count


class GeocoderError(CoverageError):
    """The address service answered with an error that retrying will not fix."""

    def __init__(self, url: str, status: int | str, detail: str) -> None:
        super().__init__("geocoder_error", fields={"url": url, "status": status, "detail": detail})


class GeocodeCache(Protocol):
    """Where answers are cached: :class:`MemoryGeocodeCache` or :class:`geo.coverage.store.SqlGeocodeCache`."""

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        """Cached answers of the keys that have one."""

    def put_many(self, answers: dict[str, dict]) -> None:
        """Store answers."""


@dataclass
class MemoryGeocodeCache:
    """A cache in a dict (for one process)."""

    data: dict[str, dict] = field(default_factory=dict)

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        """Cached answers of the keys that have one."""
        return {k: self.data[k] for k in keys if k in self.data}

    def put_many(self, answers: dict[str, dict]) -> None:
        """Store answers."""
        self.data.update(answers)


def geocoder_url(override: str | None = None) -> str:
    """Base URL of the address API: ``override``, ``$VOISINMAP_GEOCODER_URL`` or :data:`DEFAULT_URL`."""
    return (override or os.environ.get(ENV_GEOCODER_URL) or DEFAULT_URL).rstrip("/")


def address_line(number: str, street: str) -> str:
    """``"12 bis avenue des Tuileries"`` from its parts."""
    return f"{number} {street}".strip()


def query_keys(addresses: pd.DataFrame) -> pd.Series:
    """Cache key of each address: a hash of its normalised parts (number, street, postcode, city)."""
    text = (addresses["street_number"].astype("str") + "|" + addresses["street"].astype("str") + "|"
            + addresses["postcode"].astype("str") + "|" + addresses["city"].astype("str"))
    return text.map(lambda s: hashlib.sha256(schema.normalise_header(s).encode()).hexdigest()[:32])


@dataclass
class Geocoder:
    """Batch geocoder over the CSV endpoint.

    Parameters
    ----------
    url : str
        Base URL (default: :func:`geocoder_url`).
    timeout : (float, float)
        Connect and read timeouts in seconds (each also cut to the time left in the budget).
    budget : float or None
        Total seconds one :meth:`geocode` call may spend on the service (requests, retries and waits);
        addresses not answered by then stay pending. None: no total bound.
    retries : int
        Extra attempts after a connection error, timeout, 429 or 5xx answer.
    backoff : float
        First wait between attempts, in seconds; doubled each time.
    chunk_size : int
        Addresses per request.
    min_score : float
        Lowest score accepted as a location.
    cache : GeocodeCache, optional
        Where answers are cached.
    session : requests.Session, optional
        HTTP session (one is made when absent).
    """

    url: str = field(default_factory=geocoder_url)
    timeout: tuple[float, float] = (5.0, 60.0)
    budget: float | None = DEFAULT_BUDGET
    retries: int = 3
    backoff: float = 0.5
    chunk_size: int = 2_000
    min_score: float = MIN_SCORE
    cache: GeocodeCache | None = None
    session: requests.Session | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError(f"retries: expected a number >= 0, got {self.retries}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size: expected a positive number, got {self.chunk_size}")
        if not 0 <= self.min_score <= 1:
            raise ValueError(f"min_score: expected a number between 0 and 1, got {self.min_score}")
        if len(self.timeout) != 2 or min(self.timeout) <= 0:
            raise ValueError(f"timeout: expected (connect, read) seconds > 0, got {self.timeout!r}")
        if self.budget is not None and self.budget <= 0:
            raise ValueError(f"budget: expected a number of seconds > 0 or None, got {self.budget}")

    @property
    def endpoint(self) -> str:
        """URL of the CSV endpoint."""
        return f"{self.url.rstrip('/')}/search/csv/"

    def geocode(self, addresses: pd.DataFrame, *,
                progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:
        """Locate addresses.

        Parameters
        ----------
        addresses : pandas.DataFrame
            Columns ``street_number, street, postcode, city`` (strings).
        progress : callable, optional
            ``progress("geocode", done, total)`` after each batch (distinct addresses, cached ones done).

        Returns
        -------
        pandas.DataFrame
            The input with ``lat, lon, geocode_score, result_type, citycode`` and ``location_status``:
            ``geocode`` (found), ``echec`` (the API found no reliable match) or ``en_attente`` (the service
            could not be reached for this address).
        """
        from geo.coverage.store import LOCATION_FAILED, LOCATION_GEOCODED, LOCATION_PENDING

        missing = [c for c in ("street_number", "street", "postcode", "city") if c not in addresses.columns]
        if missing:
            raise ValueError(f"addresses: expected columns street_number, street, postcode, city; missing {missing}")
        out = addresses.reset_index(drop=True).copy()
        keys = query_keys(out) if len(out) else pd.Series([], dtype="str")
        unique_keys = list(dict.fromkeys(keys))
        answers: dict[str, dict] = self.cache.get_many(unique_keys) if self.cache is not None else {}
        todo = [k for k in unique_keys if k not in answers]
        logger.info("geocoding %d addresses: %d cached, %d to ask", len(unique_keys), len(answers), len(todo))
        first_row = {k: i for i, k in reversed(list(enumerate(keys)))}
        unreached = 0
        deadline = None if self.budget is None else time.monotonic() + self.budget
        if progress is not None:
            progress("geocode", len(unique_keys) - len(todo), len(unique_keys))
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start:start + self.chunk_size]
            rows = out.iloc[[first_row[k] for k in chunk]]
            try:
                fresh = self._ask(chunk, rows, deadline=deadline)
            except GeocoderUnavailableError:
                unreached += len(todo) - start
                break
            answers.update(fresh)
            if self.cache is not None:
                self.cache.put_many(fresh)
            if progress is not None:
                progress("geocode", len(unique_keys) - len(todo) + start + len(chunk), len(unique_keys))
        lat = np.full(len(out), np.nan)
        lon = np.full(len(out), np.nan)
        score = np.full(len(out), np.nan)
        rtype = np.full(len(out), "", dtype=object)
        city = np.full(len(out), "", dtype=object)
        status = np.full(len(out), LOCATION_PENDING, dtype=object)
        for i, key in enumerate(keys):
            answer = answers.get(key)
            if answer is None:
                continue
            ok = (answer.get("lat") is not None and answer.get("score") is not None
                  and answer["score"] >= self.min_score and answer.get("result_type") in ACCEPTED_TYPES)
            if ok:
                lat[i], lon[i], score[i] = answer["lat"], answer["lon"], answer["score"]
                status[i] = LOCATION_GEOCODED
            else:
                score[i] = answer["score"] if answer.get("score") is not None else np.nan
                status[i] = LOCATION_FAILED
            rtype[i] = answer.get("result_type") or ""
            city[i] = answer.get("citycode") or ""
        out["lat"], out["lon"], out["geocode_score"] = lat, lon, score
        out["result_type"] = pd.Series(rtype, dtype="str")
        out["citycode"] = pd.Series(city, dtype="str")
        out["location_status"] = pd.Series(status, dtype="str")
        if unreached:
            logger.warning("address service unreachable: %d addresses stay pending", unreached)
        return out

    def _timeouts(self, deadline: float | None) -> tuple[float, float] | None:
        """The (connect, read) timeouts of the next attempt, cut to the budget; None when it is spent."""
        if deadline is None:
            return self.timeout
        left = deadline - time.monotonic()
        if left <= 0.05:
            return None
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _ask(self, keys: list[str], rows: pd.DataFrame, *, deadline: float | None = None) -> dict[str, dict]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "adresse", "code_postal", "commune"])
        for key, row in zip(keys, rows.itertuples(index=False), strict=True):
            writer.writerow([key, address_line(row.street_number, row.street), row.postcode, row.city])
        payload = buffer.getvalue().encode("utf-8")
        form = [("columns", "adresse"), ("columns", "code_postal"), ("columns", "commune")]
        form += [("result_columns", c) for c in RESULT_COLUMNS]
        session = self.session or requests.Session()
        wait = self.backoff
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())) if deadline is not None else wait)
                wait *= 2
            timeout = self._timeouts(deadline)
            if timeout is None:
                last = "time budget spent"
                break
            try:
                response = session.post(self.endpoint, files={"data": ("adresses.csv", payload, "text/csv")},
                                        data=form, timeout=timeout, stream=True,
                                        headers={"User-Agent": f"voisinmap/{__version__}"})
                body = _body(response, deadline)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = type(exc).__name__
                logger.info("address service attempt %d failed: %s", attempt + 1, last)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), 10.0))
                logger.info("address service attempt %d: %s", attempt + 1, last)
                continue
            if response.status_code != 200:
                raise GeocoderError(self.url, response.status_code,
                                    body[:200].decode("utf-8", "replace").strip() or "réponse vide")
            try:
                return _parse_answer(body, keys)
            except ValueError as exc:
                last = str(exc)
                logger.info("address service attempt %d: unreadable answer", attempt + 1)
                continue
        logger.warning("address service unreachable after %d attempts (%s)", self.retries + 1, last)
        raise GeocoderUnavailableError(self.url, len(keys))


def _body(response: requests.Response, deadline: float | None) -> bytes:
    """The answer's body, read in chunks so that a server trickling bytes cannot outlast the budget."""
    chunks = []
    with response:
        for chunk in response.iter_content(chunk_size=65_536):
            chunks.append(chunk)
            if deadline is not None and time.monotonic() > deadline:
                raise requests.Timeout("time budget spent while reading the answer")
    return b"".join(chunks)


def _float(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None


def _parse_answer(content: bytes, keys: list[str]) -> dict[str, dict]:
    text = content.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    needed = {"id", "latitude", "longitude", "result_score"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise ValueError(f"answer: expected the columns {sorted(needed)}, got {reader.fieldnames}")
    wanted = set(keys)
    out: dict[str, dict] = {}
    for row in reader:
        key = row.get("id")
        if key not in wanted:
            continue
        lat, lon = _float(row.get("latitude")), _float(row.get("longitude"))
        if lat is not None and lon is not None and not in_france(np.array([lon]), np.array([lat]))[0]:
            lat = lon = None
        out[key] = {"lat": lat, "lon": lon, "score": _float(row.get("result_score")),
                    "result_type": (row.get("result_type") or "").strip(),
                    "citycode": (row.get("result_citycode") or "").strip()[:5]}
    if len(out) != len(wanted):
        raise ValueError(f"answer: expected {len(wanted)} rows, got {len(out)}")
    return out
