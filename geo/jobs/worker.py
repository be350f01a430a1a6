"""Running queued jobs: the loop of ``voisinmap worker`` on the SQL queue, and the embedded background thread.

Embedded default (no Redis): the app process may run :func:`start_background_worker`, one daemon thread that
polls the SQL queue, so that a single-process install imports uploads without a separate worker. With
several app processes each may run one: the atomic claim keeps them from taking the same job. A dedicated
``voisinmap worker`` process is the better choice under gunicorn (the import's CPU work then never competes
with requests for the GIL); ``docs/coverage.md`` (« Tâches de fond ») explains the choice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from geo.jobs.sql_queue import SqlJobQueue
from geo.jobs.tasks import WorkerContext, run_job

logger = logging.getLogger(__name__)

#: Seconds between two looks at an empty queue.
POLL_SECONDS = 1.0
#: Seconds between two attempts to open the queue of a background worker.
RETRY_SECONDS = 5.0


def worker_name() -> str:
    """``host:pid:thread`` of the caller, recorded with the jobs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def work(queue: SqlJobQueue, *, context: WorkerContext, burst: bool = False, max_jobs: int | None = None,
         poll: float = POLL_SECONDS, stop: threading.Event | None = None) -> int:
    """Run jobs of the SQL queue until stopped.

    Parameters
    ----------
    queue : SqlJobQueue
        The queue.
    context : WorkerContext
        Store, layers and address service of this worker.
    burst : bool
        Return as soon as the queue is empty.
    max_jobs : int, optional
        Return after this many jobs.
    poll : float
        Seconds between two looks at an empty queue.
    stop : threading.Event, optional
        Return once set (checked between jobs and while waiting).

    Returns
    -------
    int
        Jobs run.
    """
    if poll <= 0:
        raise ValueError(f"poll: expected seconds > 0, got {poll}")
    stop = stop or threading.Event()
    name = worker_name()
    count = 0
    while not stop.is_set() and (max_jobs is None or count < max_jobs):
        job = queue.run_next(worker=name, run=lambda job, progress: run_job(job, progress, context=context))
        if job is not None:
            count += 1
            logger.info("job %s %s", job.id, job.status)
            continue
        if burst:
            break
        stop.wait(poll)
    return count


def start_background_worker(queue: SqlJobQueue | Callable[[], SqlJobQueue], *, context: WorkerContext,
                            poll: float = POLL_SECONDS) -> tuple[threading.Thread, threading.Event]:
    """Run :func:`work` in a daemon thread of this process; set the returned event to stop it.

    ``queue`` may be a function that opens the queue: it is then called in the thread, again every
    :data:`RETRY_SECONDS` while the database cannot be reached, so that the process that starts the worker
    (a web server's worker) never fails because of it.
    """
    stop = threading.Event()

    def run() -> None:
        opened = queue
        while callable(opened) and not isinstance(opened, SqlJobQueue) and not stop.is_set():
            try:
                opened = opened()
            except Exception as exc:  # noqa: BLE001 - retried; the web process keeps serving
                logger.warning("job worker: queue not reachable (%s), retrying", type(exc).__name__)
                opened = queue
                stop.wait(RETRY_SECONDS)
        if isinstance(opened, SqlJobQueue):
            work(opened, context=context, poll=poll, stop=stop)

    thread = threading.Thread(target=run, name="voisinmap-jobs", daemon=True)
    thread.start()
    logger.info("background job worker started")
    return thread, stop
