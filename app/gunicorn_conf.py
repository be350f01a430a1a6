"""Gunicorn settings shipped with the app, used by ``voisinmap serve`` and by hand::

    gunicorn -c python:app.gunicorn_conf          # the app, warmed up once, on $VOISINMAP_HOST:$VOISINMAP_PORT

Sizing (each overridable by the environment or by ``voisinmap serve --workers/--threads``):

* ``workers = $VOISINMAP_WORKERS`` or ``clamp(cores, 2, 8)``: the callbacks are CPU work under
  Python's global lock, so one process per core; at least 2 so that one long request never holds the
  whole site, at most 8 to bound memory;
* ``threads = $VOISINMAP_THREADS`` or ``4`` (gthread workers): the threads of a worker overlap the waits
  (database, cache, the network to slow clients) and share its memory;
* ``cores`` is the CPUs this process may run on (``os.sched_getaffinity``, else ``os.cpu_count``).

``preload_app``: the master process builds the app, reads the processed data and warms the caches
(:func:`app.server.wsgi_app`) *before* it opens the socket and forks, so the warm-up happens once, the
first request finds it done, and the workers share the loaded data (copy-on-write memory).
No access log: it would record client addresses.

Background jobs (uploads' imports, geocoding): each worker runs one job thread on the SQL queue once it is
set up (:func:`post_worker_init`); the queue's atomic claim shares the jobs between them (``docs/app.md``,
« Serveur »).
"""

from __future__ import annotations

import os

#: Fewest and most workers of the automatic sizing.
MIN_WORKERS = 2
MAX_WORKERS = 8
DEFAULT_THREADS = 4


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"${name}: expected a whole number >= 1, got {raw!r}")
    return int(raw)


def default_workers(n_cores: int) -> int:
    """Workers for ``n_cores`` CPUs: one per core, between :data:`MIN_WORKERS` and :data:`MAX_WORKERS`."""
    return max(MIN_WORKERS, min(n_cores, MAX_WORKERS))


wsgi_app = "app.server:wsgi_app()"
bind = [f"{os.environ.get('VOISINMAP_HOST', '127.0.0.1')}:{_positive('VOISINMAP_PORT', 8050)}"]
workers = _positive("VOISINMAP_WORKERS", default_workers(cores()))
threads = _positive("VOISINMAP_THREADS", DEFAULT_THREADS)
worker_class = "gthread"
preload_app = True
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("VOISINMAP_LOG_LEVEL", "info").lower()
proc_name = "voisinmap"
#: No control socket (gunicorn >= 25): several servers on one machine would share its default path.
control_socket_disable = True


def post_fork(server, worker) -> None:  # noqa: ANN001, ARG001 - gunicorn's hook signature
    """In each new worker: drop the database connections inherited from the master."""
    from app import cache
    from app.components import jobs

    cache.after_fork()
    jobs.after_fork()


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """In each worker, once it has set its own signal handlers: start the embedded job worker thread
    (:func:`app.server.start_job_worker`; none with Redis or ``$VOISINMAP_EMBEDDED_WORKER=0``)."""
    from app import server as serving

    serving.start_worker_of(getattr(worker.app, "callable", None))
