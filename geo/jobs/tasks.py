"""The work a job does: import a stored door-visit file, or geocode the pending addresses.

Both run in a worker process (``voisinmap worker``, an RQ worker, or the embedded thread) with a
:class:`WorkerContext` that opens the store and loads the QPV and département layers once per process.
An import is the importer's own (:func:`geo.coverage.importer.import_table`): all-or-nothing in one
transaction, idempotent by content key. A refused file is a *finished* job whose report says why (French,
and English when the refusal is a read limit); a job *fails* only on an unexpected error (store unreachable...),
and its message never quotes data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geo.jobs.model import KIND_GEOCODE, KIND_IMPORT, Job

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
ENV_GEOCODE_BUDGET = "VOISINMAP_GEOCODE_BUDGET"
#: Seconds a job may spend on the address service (requests, retries, waits) by default.
GEOCODE_BUDGET = 300.0


@dataclass
class WorkerContext:
    """What a worker process needs to run jobs, opened once and reused.

    Parameters
    ----------
    store_url : str, optional
        The coverage store (default: :func:`geo.config.database_url`).
    data_dir : path-like, optional
        Processed national data (QPV and département layers); jobs run without them when not built.
    geocoder_url : str, optional
        Address service (default: :func:`geo.coverage.geocode.geocoder_url`).
    geocode_budget : float
        Total seconds one job may spend on the address service (``$VOISINMAP_GEOCODE_BUDGET``).
    geocode_timeout : (float, float)
        Connect and read timeouts of one request.
    """

    store_url: str | None = None
    data_dir: str | os.PathLike[str] | None = None
    geocoder_url: str | None = None
    geocode_budget: float = field(default_factory=lambda: float(os.environ.get(ENV_GEOCODE_BUDGET, GEOCODE_BUDGET)))
    geocode_timeout: tuple[float, float] = (5.0, 30.0)
    _engine: Any = field(default=None, init=False, repr=False)
    _layers: tuple[Any, Any] | None = field(default=None, init=False, repr=False)

    def engine(self) -> Any:
        """The store's engine (migrated on first use)."""
        if self._engine is None:
            from geo.coverage.store import open_store

            self._engine = open_store(self.store_url)
        return self._engine

    def layers(self) -> tuple[Any, Any]:
        """(QPV polygons, France's territory), each None when the national data is not built."""
        if self._layers is None:
            from geo.coverage.territory import france_territory
            from geo.load import DataNotBuiltError, load_departements, load_qpv

            try:
                qpv = load_qpv(data_dir=self.data_dir)
            except DataNotBuiltError:
                qpv = None
            try:
                territory = france_territory(load_departements(data_dir=self.data_dir))
            except DataNotBuiltError:
                territory = None
            self._layers = (qpv, territory)
        return self._layers

    def geocoder(self) -> Any:
        """An address-service client bounded by the context's timeouts and budget, caching in the store."""
        from geo.coverage.geocode import Geocoder, geocoder_url
        from geo.coverage.store import SqlGeocodeCache

        return Geocoder(url=geocoder_url(self.geocoder_url), timeout=self.geocode_timeout, retries=2,
                        budget=self.geocode_budget, cache=SqlGeocodeCache(self.engine()))

    def close(self) -> None:
        """Release the store's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def import_key(sha256: str, allowed_sites: list[str] | None) -> str:
    """Identity of an import job: the file's hash and the sites it may write (one job per pair)."""
    scope = ",".join(sorted(allowed_sites)) if allowed_sites is not None else "*"
    return f"import:{sha256}:{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


def run_job(job: Job, progress: Progress, *, context: WorkerContext) -> dict[str, Any]:
    """Run one job; return its report.

    Parameters
    ----------
    job : Job
        A claimed job.
    progress : callable
        ``progress(step, done, total)``.
    context : WorkerContext
        The worker's store, layers and address service.

    Returns
    -------
    dict
        The report (JSON-ready).
    """
    if job.kind == KIND_IMPORT:
        return run_import(job.payload, context=context, progress=progress)
    if job.kind == KIND_GEOCODE:
        return run_geocode(job.payload, context=context, progress=progress)
    raise ValueError(f"job.kind: expected {KIND_IMPORT!r} or {KIND_GEOCODE!r}, got {job.kind!r}")


def _refusal(exc: Exception) -> dict[str, Any]:
    from geo.coverage.limits import LimitExceededError

    report = {"status": "refused", "code": exc.code, "message": exc.message}
    if isinstance(exc, LimitExceededError):
        report["message_en"] = exc.text("en")
    return report


def run_import(payload: dict[str, Any], *, context: WorkerContext, progress: Progress) -> dict[str, Any]:
    """Import the stored file of ``payload`` (``path``, ``sha256``, ``allowed_sites``, ``geocode``, ``today``).

    Returns the import's counts (:meth:`geo.coverage.importer.ImportSummary.as_dict`, whose ``file`` is the
    stored hashed name), with ``report_file`` when rows were rejected, or a ``refused`` report.
    """
    from geo.coverage import impact_store, importer, prepared, reader
    from geo.coverage.errors import FileRefusedError

    path = Path(payload["path"])
    if not path.is_file():
        raise FileNotFoundError("the stored upload is gone")
    try:  # the file is streamed: hashed and sniffed here, its rows read chunk by chunk by the importer
        source = reader.open_file(path)
    except FileRefusedError as exc:
        return _refusal(exc)
    if source.sha256 != payload["sha256"]:
        raise ValueError("payload.sha256: the stored upload no longer matches its hash")
    qpv, territory = context.layers()
    today = dt.date.fromisoformat(payload["today"]) if payload.get("today") else None
    try:
        summary = importer.import_stream(source, engine=context.engine(),
                                         geocoder=context.geocoder() if payload.get("geocode") else None, qpv=qpv,
                                         territory=territory, today=today,
                                         allowed_sites=payload.get("allowed_sites"), progress=progress)
    except FileRefusedError as exc:  # found halfway (a limit, a malformed record): nothing was stored
        return _refusal(exc)
    if summary.imported:
        impact_store.compute_and_store(db=context.store_url, data_dir=context.data_dir)
        prepared.prepare_for_app(db=context.store_url, data_dir=context.data_dir, qpv=qpv)
    report = summary.as_dict()
    if summary.rejected:
        written = importer.write_report(summary, path.with_name(f"{path.stem}.rejets.csv"))
        os.chmod(written, 0o600)
        report["report_file"] = written.name
    return report


def pending_of(engine: Any, *, sites: list[str] | None, limit: int | None) -> Any:
    """Distinct pending addresses (``street_number, street, postcode, city, n_visits``), of ``sites`` only when
    given: :func:`geo.coverage.store.pending_addresses`, restricted in SQL to the visits of those sites."""
    import pandas as pd
    import sqlalchemy as sa

    from geo.coverage import store
    from geo.coverage.store.models import VISITS

    if sites is None:
        return store.pending_addresses(engine, limit=limit)
    v = VISITS.c
    address = (v.street_number, v.street, v.postcode, v.city)
    query = (sa.select(*address, sa.func.count().label("n_visits"))
             .where(v.location_status == store.LOCATION_PENDING, v.site.in_(list(sites)))
             .group_by(*address).order_by(v.postcode, v.street, v.street_number).limit(limit))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def run_geocode(payload: dict[str, Any], *, context: WorkerContext, progress: Progress) -> dict[str, Any]:
    """Geocode the store's pending addresses (at most ``payload["limit"]``, of ``payload["sites"]`` when set)
    within the context's budget.

    Addresses the service does not answer in time stay pending. Returns counts of distinct addresses
    (``geocoded``, ``geocoding_failed``, ``pending_geocoding``) and of the visits at them (``visits_…``).
    """
    from geo.coverage import store
    from geo.coverage.importer import locate

    engine = context.engine()
    pending = pending_of(engine, sites=payload.get("sites"), limit=payload.get("limit"))
    visits = int(pending["n_visits"].sum()) if len(pending) else 0
    counts = {"addresses": len(pending), "geocoded": 0, "geocoding_failed": 0, "pending_geocoding": len(pending),
              "visits": visits, "visits_geocoded": 0, "visits_failed": 0, "visits_pending": visits}
    if not len(pending):
        return counts
    frame = pending[["street_number", "street", "postcode", "city"]].assign(lat=np.nan, lon=np.nan)
    located, notes = locate(frame, geocoder=context.geocoder(), qpv=context.layers()[0], progress=progress)
    store.set_locations(engine, located[located["location_status"] != store.LOCATION_PENDING])
    status = located["location_status"].to_numpy()
    weights = pending["n_visits"].to_numpy()
    for name, value, key in (("geocoded", store.LOCATION_GEOCODED, "visits_geocoded"),
                             ("geocoding_failed", store.LOCATION_FAILED, "visits_failed"),
                             ("pending_geocoding", store.LOCATION_PENDING, "visits_pending")):
        counts[name] = int((status == value).sum())
        counts[key] = int(weights[status == value].sum())
    counts["notes"] = notes
    return counts


def failure_message(exc: BaseException) -> str:
    """What a failed job says: a coverage error's own (data-free) text, else the exception's type only."""
    from geo.coverage.errors import CoverageError

    return exc.message if isinstance(exc, CoverageError) else type(exc).__name__
