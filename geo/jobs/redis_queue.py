"""The job queue on Redis, through RQ, when ``$VOISINMAP_REDIS_URL`` is set.

RQ hands each job to one worker (``voisinmap worker`` runs an RQ worker, which forks a work horse per job, so a
crash in one import leaves the worker alive). Progress and a data-free error message travel in the job's
``meta``; the report is the job's return value, kept :data:`RESULT_TTL` seconds. One job per ``dedupe_key`` is
kept with Redis ``SET NX``: enqueuing the same file again returns the job already there (re-queued if it failed).
Stored uploads must be on storage the workers share (the payload carries their path).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from geo._errors import VoisinmapError
from geo.jobs.model import DONE, FAILED, QUEUED, RUNNING, Job, check_kind

logger = logging.getLogger(__name__)

ENV_REDIS_URL = "VOISINMAP_REDIS_URL"
QUEUE_NAME = "voisinmap"
#: Seconds a finished job's report (and its dedupe key) is kept.
RESULT_TTL = 30 * 24 * 3600
#: Seconds one job may run before RQ stops it.
JOB_TIMEOUT = 3600
PROGRESS_INTERVAL = 0.5
_STATUS = {"queued": QUEUED, "deferred": QUEUED, "scheduled": QUEUED, "created": QUEUED, "started": RUNNING,
           "finished": DONE, "failed": FAILED, "stopped": FAILED, "canceled": FAILED}


class JobFailedError(VoisinmapError, RuntimeError):
    """Raised in the work horse instead of the original error, so that RQ keeps no data in its record."""


class RedisJobQueue:
    """A job queue on Redis (RQ).

    Parameters
    ----------
    url : str
        Redis URL, e.g. ``redis://127.0.0.1:6379/6``.
    name : str
        RQ queue name.
    """

    def __init__(self, url: str, *, name: str = QUEUE_NAME) -> None:
        from redis import Redis
        from rq import Queue

        self.url = url
        self.connection = Redis.from_url(url)
        self.queue = Queue(name, connection=self.connection)

    def _dedupe_redis_key(self, dedupe_key: str) -> str:
        return f"voisinmap:jobs:key:{self.queue.name}:{dedupe_key}"

    def enqueue(self, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None) -> Job:
        """Add a job; with a ``dedupe_key`` already known, return that job (re-queued if it failed)."""
        check_kind(kind)
        job_id = uuid.uuid4().hex
        if dedupe_key is not None:
            key = self._dedupe_redis_key(dedupe_key)
            if not self.connection.set(key, job_id, nx=True, ex=RESULT_TTL):
                existing = self._existing(key)
                if existing is not None:
                    return existing
                self.connection.set(key, job_id, ex=RESULT_TTL)  # the old job expired: this one replaces it
        self.queue.enqueue_call("geo.jobs.redis_queue.rq_entry", args=(kind, payload), job_id=job_id,
                                timeout=JOB_TIMEOUT, result_ttl=RESULT_TTL, failure_ttl=RESULT_TTL,
                                meta={"kind": kind, "dedupe_key": dedupe_key, "step": "", "done": 0, "total": 0})
        logger.info("job %s (%s) queued on Redis", job_id, kind)
        return self.get(job_id)

    def _existing(self, key: str) -> Job | None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job as RqJob

        job_id = self.connection.get(key)
        if job_id is None:
            return None
        try:
            rq_job = RqJob.fetch(job_id.decode(), connection=self.connection)
        except NoSuchJobError:
            return None
        if rq_job.get_status(refresh=True) in ("failed", "stopped", "canceled"):
            rq_job.meta.update(step="", done=0, total=0, error=None)
            rq_job.save_meta()
            rq_job.requeue()
        return self.get(rq_job.id)

    def get(self, job_id: str) -> Job | None:
        """The job of that id, or None (unknown or expired)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job as RqJob

        try:
            rq_job = RqJob.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        status = _STATUS.get(str(getattr(rq_job.get_status(refresh=True), "value", "queued")), QUEUED)
        meta = rq_job.get_meta(refresh=True)
        args = rq_job.args or ("", {})
        return Job(id=rq_job.id, kind=meta.get("kind", args[0]), status=status, payload=dict(args[1]),
                   step=meta.get("step", ""), done=int(meta.get("done", 0)), total=int(meta.get("total", 0)),
                   report=rq_job.return_value() if status == DONE else None,
                   error=(meta.get("error") or "JobFailedError") if status == FAILED else None,
                   dedupe_key=meta.get("dedupe_key"), created_at=rq_job.created_at, started_at=rq_job.started_at,
                   finished_at=rq_job.ended_at)

    def work(self, *, burst: bool = False, max_jobs: int | None = None, name: str | None = None) -> bool:
        """Run an RQ worker on this queue (``burst``: stop when the queue is empty)."""
        from rq import Worker

        worker = Worker([self.queue], connection=self.connection, name=name or f"voisinmap-{uuid.uuid4().hex[:8]}")
        return worker.work(burst=burst, max_jobs=max_jobs, logging_level="WARNING")


_CONTEXTS: dict[str, Any] = {}


def set_worker_context(context: Any) -> None:
    """The :class:`~geo.jobs.tasks.WorkerContext` the work horses of this process use (they inherit it)."""
    _CONTEXTS["default"] = context


def rq_entry(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What an RQ work horse runs: the task of ``kind``, progress into the job's ``meta``."""
    from rq import get_current_job

    from geo.jobs.tasks import WorkerContext, failure_message, run_job

    rq_job = get_current_job()
    context = _CONTEXTS.setdefault("default", WorkerContext())
    last = [0.0]

    def progress(step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if rq_job is not None and (now - last[0] >= PROGRESS_INTERVAL or done >= total):
            last[0] = now
            rq_job.meta.update(step=step, done=int(done), total=int(total))
            rq_job.save_meta()

    job = Job(id=rq_job.id if rq_job else "", kind=kind, status=RUNNING, payload=payload)
    try:
        return run_job(job, progress, context=context)
    except Exception as exc:
        message = failure_message(exc)
        if rq_job is not None:
            rq_job.meta["error"] = message
            rq_job.save_meta()
        raise JobFailedError(message) from None
