"""Geocoding of a site's pending visits in the background, with its progress, for the « Géocoder » button.

:func:`start` is the one entry point: today it runs the work in a server-side daemon thread and keeps the
progress in this process's memory (:func:`status`); it can move to the project's job queue without its
callers changing. The work itself is :func:`geo.coverage.importer.locate` with the project's
:class:`geo.coverage.geocode.Geocoder` (its batching, retries and back-off respect the service's rate
limits) and :func:`geo.coverage.store.set_locations`, as ``voisinmap coverage geocode`` does. Only the
addresses of the requesting user's sites are sent; no address is logged.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_TASKS: dict[str, Task] = {}
_LOCK = threading.Lock()
#: Finished tasks kept for their last status.
MAX_TASKS = 64


@dataclass
class Task:
    """Progress of one geocoding run."""

    scope: tuple[str, ...] | None
    state: str = "running"  # running, done, failed
    done: int = 0
    total: int = 0
    result: dict[str, int] = field(default_factory=dict)


def _pending(engine: Any, sites: tuple[str, ...] | None) -> Any:
    from geo.coverage import store

    visits = store.load_events(engine, sites=list(sites) if sites is not None else None, located_only=False)
    pending = visits[visits["location_status"] == store.LOCATION_PENDING]
    columns = ["street_number", "street", "postcode", "city"]
    counts = pending.groupby(columns, dropna=False).size().rename("n_visits").reset_index()
    return counts.fillna("")


def _run(task: Task, url: str, qpv: Any, geocoder_url: str | None) -> None:
    import numpy as np

    from geo.coverage import store
    from geo.coverage.geocode import Geocoder
    from geo.coverage.importer import locate

    engine = store.open_store(url)
    try:
        pending = _pending(engine, task.scope)
        task.total = len(pending)
        if len(pending):
            kwargs = {"url": geocoder_url} if geocoder_url else {}
            geocoder = Geocoder(cache=store.SqlGeocodeCache(engine), **kwargs)

            def progress(_step: str, done: int, total: int) -> None:
                task.done, task.total = done, total

            frame = pending[["street_number", "street", "postcode", "city"]].assign(lat=np.nan, lon=np.nan)
            located, _notes = locate(frame, geocoder=geocoder, qpv=qpv, progress=progress)
            store.set_locations(engine, located[located["location_status"] != store.LOCATION_PENDING])
            weights = pending["n_visits"].to_numpy()
            status = located["location_status"].to_numpy()
            task.result = {key: int(weights[status == value].sum()) for key, value in (
                ("geocoded", store.LOCATION_GEOCODED), ("failed", store.LOCATION_FAILED),
                ("pending", store.LOCATION_PENDING))}
        task.done = task.total
        task.state = "done"
    except Exception:  # noqa: BLE001 - the page shows the failure, the log has the trace
        logger.exception("background geocoding failed")
        task.state = "failed"
    finally:
        engine.dispose()


def start(url: str, *, sites: tuple[str, ...] | None, qpv: Any, geocoder_url: str | None = None) -> str:
    """Start geocoding the pending visits of ``sites`` in the background; returns the task's id.

    Parameters
    ----------
    url : str
        The door-visit store.
    sites : tuple of str or None
        Sites whose pending visits are geocoded (None: every site, for an administrator).
    qpv : geopandas.GeoDataFrame or None
        QPV polygons, to attach each located visit to its QPV.
    geocoder_url : str, optional
        The geocoding service (default :func:`geo.coverage.geocode.geocoder_url`).
    """
    task = Task(scope=sites)
    task_id = uuid.uuid4().hex
    with _LOCK:
        if len(_TASKS) >= MAX_TASKS:
            for old in [k for k, v in _TASKS.items() if v.state != "running"][: len(_TASKS) - MAX_TASKS + 1]:
                _TASKS.pop(old)
        _TASKS[task_id] = task
    threading.Thread(target=_run, args=(task, url, qpv, geocoder_url), name="voisinmap-geocode",
                     daemon=True).start()
    return task_id


def status(task_id: str | None, *, sites: tuple[str, ...] | None) -> dict[str, Any] | None:
    """Progress of a task started for the same ``sites`` (None for an unknown task or another scope).

    Returns
    -------
    dict or None
        ``state`` (running, done, failed), ``done``, ``total`` (distinct addresses) and, once done,
        ``geocoded``, ``failed``, ``pending`` (visits).
    """
    with _LOCK:
        task = _TASKS.get(task_id or "")
    if task is None or task.scope != sites:
        return None
    return {"state": task.state, "done": task.done, "total": task.total, **task.result}
