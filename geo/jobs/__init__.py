"""Background jobs: door-visit imports and geocoding off the request path.

A request only stores the uploaded file (:func:`store_upload`, under its hash) and enqueues its import
(:func:`enqueue_import`); a worker runs it and the page polls :meth:`JobQueue.get` for the progress
(rows done / total of the current step) and then the report.

Two queues, one API (:func:`open_queue` picks):

* **Redis** (:class:`~geo.jobs.redis_queue.RedisJobQueue`, RQ) when ``$VOISINMAP_REDIS_URL`` is set;
* **SQL** (:class:`~geo.jobs.sql_queue.SqlJobQueue`), the embedded default: a table in the coverage store's
  database (SQLite or PostgreSQL), each job claimed by one atomic UPDATE.

Workers: ``voisinmap worker`` (either queue), or for the embedded default a background thread of the app
process (:func:`geo.jobs.worker.start_background_worker`).

>>> queue = open_queue(store_url="sqlite:///data/voisinmap.db")            # doctest: +SKIP
>>> job = enqueue_import(queue, store_upload(data, extension="csv"))      # doctest: +SKIP
>>> queue.get(job.id).status                                              # doctest: +SKIP
'queued'
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Collection

from geo.jobs.model import DONE, FAILED, KIND_GEOCODE, KIND_IMPORT, QUEUED, RUNNING, Job, JobQueue
from geo.jobs.redis_queue import ENV_REDIS_URL
from geo.jobs.tasks import import_key
from geo.jobs.uploads import StoredFile, extension_of, store_upload

logger = logging.getLogger(__name__)

__all__ = ["DONE", "FAILED", "KIND_GEOCODE", "KIND_IMPORT", "QUEUED", "RUNNING", "Job", "JobQueue", "StoredFile",
           "enqueue_geocode", "enqueue_import", "extension_of", "open_queue", "redis_url", "store_upload"]


def redis_url(override: str | None = None) -> str | None:
    """The Redis URL of the queue: ``override``, else ``$VOISINMAP_REDIS_URL``, else None (SQL queue)."""
    return override or os.environ.get(ENV_REDIS_URL) or None


def open_queue(*, store_url: str | None = None, redis: str | None = None) -> JobQueue:
    """The job queue of this install.

    Parameters
    ----------
    store_url : str, optional
        The coverage store, home of the SQL queue (default :func:`geo.config.database_url`).
    redis : str, optional
        A Redis URL; default ``$VOISINMAP_REDIS_URL``. When neither is set, the SQL queue.

    Returns
    -------
    JobQueue
        A :class:`~geo.jobs.redis_queue.RedisJobQueue` or a :class:`~geo.jobs.sql_queue.SqlJobQueue`.
    """
    url = redis_url(redis)
    if url:
        from geo.jobs.redis_queue import RedisJobQueue

        return RedisJobQueue(url)
    from geo.coverage.store import open_store
    from geo.jobs.sql_queue import SqlJobQueue

    return SqlJobQueue(open_store(store_url))


def enqueue_import(queue: JobQueue, stored: StoredFile, *, allowed_sites: Collection[str] | None = None,
                   geocode: bool = True, today: dt.date | None = None) -> Job:
    """Queue the import of a stored upload; the same file (for the same sites) is queued once.

    Parameters
    ----------
    queue : JobQueue
        From :func:`open_queue`.
    stored : StoredFile
        From :func:`store_upload`.
    allowed_sites : collection of str, optional
        Sites whose rows may be imported (a manager's upload); None for every site.
    geocode : bool
        Locate address-only rows with the address service (within the worker's time budget).
    today : datetime.date, optional
        Latest accepted visit date (default: the day the job runs).

    Returns
    -------
    Job
        The new job, or the one already queued, running or done for this file.
    """
    if not isinstance(stored, StoredFile):
        raise TypeError(f"stored: expected a StoredFile from store_upload, got {type(stored).__name__}")
    sites = sorted(allowed_sites) if allowed_sites is not None else None
    payload = {"path": str(stored.path), "sha256": stored.sha256, "allowed_sites": sites, "geocode": geocode,
               "today": today.isoformat() if today else None}
    return queue.enqueue(KIND_IMPORT, payload, dedupe_key=import_key(stored.sha256, sites))


def enqueue_geocode(queue: JobQueue, *, limit: int | None = None, sites: Collection[str] | None = None) -> Job:
    """Queue the geocoding of the store's pending addresses.

    Parameters
    ----------
    queue : JobQueue
        From :func:`open_queue`.
    limit : int, optional
        At most this many distinct addresses.
    sites : collection of str, optional
        Only the pending visits of these sites (a manager's button); None for every site.

    Returns
    -------
    Job
        The new job.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit: expected a positive number or None, got {limit}")
    if isinstance(sites, str):
        raise TypeError(f"sites: expected a collection of site codes, got the string {sites!r}")
    return queue.enqueue(KIND_GEOCODE, {"limit": limit, "sites": sorted(sites) if sites is not None else None})
