"""The « Géocoder » button of the page Terrain: a geocoding job on the project's queue, and its progress.

:func:`start` enqueues a job (:func:`geo.jobs.enqueue_geocode`) limited to the requesting user's sites and
returns its id at once; :func:`follow` reads the job from the queue (any server process may answer the poll)
and draws its progress, then its outcome. The work runs in a job worker (:mod:`geo.jobs.tasks`,
:func:`geo.jobs.tasks.run_geocode`): :func:`geo.coverage.importer.locate` with the project's bounded
:class:`geo.coverage.geocode.Geocoder` (connect and read timeouts, a total budget; addresses left unanswered
stay pending). Only the addresses of the user's sites are sent; no address is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from app.components import jobs
from geo.jobs import KIND_GEOCODE, enqueue_geocode

logger = logging.getLogger(__name__)


def start(store_url: str, *, sites: tuple[str, ...] | None) -> str:
    """Queue the geocoding of the pending visits of ``sites`` (None: every site, for an administrator).

    Returns
    -------
    str
        The job's id, for :func:`follow`.
    """
    return enqueue_geocode(jobs.queue(store_url), sites=sites).id


def follow(store_url: str, job_id: Any, *, sites: tuple[str, ...] | None, lang: str) -> tuple[Any, bool, Any]:
    """The state of a geocoding job for the page: ``(job id to keep, poll disabled, status children)``.

    A job the user may not read (unknown, or of other sites) gives ``(None, True, the "unknown job" notice)``.
    """
    job = jobs.readable_job(store_url, job_id, kind=KIND_GEOCODE, scope=sites)
    if job is None:
        return None, True, jobs.unknown_view(lang)
    if not job.finished:
        return job.id, False, jobs.progress_view(job, lang, queued_key="terrain.geocode_queued",
                                                  running_key="terrain.geocode_running")
    return job.id, True, jobs.geocode_outcome(job, lang)
