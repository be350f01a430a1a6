"""Serving the app: gunicorn by default, waitress where gunicorn cannot run, Flask's server for development.

* :func:`wsgi_app` builds the app, warms it up once and returns the Flask (WSGI) application: gunicorn's
  entry point (``app.server:wsgi_app()``, named by :mod:`app.gunicorn_conf`).
* :func:`run_gunicorn` runs gunicorn in this process with the shipped :mod:`app.gunicorn_conf` and
  overrides (the master builds and warms the app before it forks: ``preload_app``).
* :func:`run_waitress` serves one process with threads (Windows, or no gunicorn installed).
* :func:`run_flask` serves with Flask's development server (``--dev``, with the reloader).
* :func:`start_job_worker` runs the embedded job worker (uploads' imports, geocoding) in a background thread of
  each serving process: in every gunicorn worker once it is set up (:func:`app.gunicorn_conf.post_worker_init`,
  after the worker's own signal handlers, so that it still stops at once on SIGTERM), in the waitress or
  Flask process; :func:`prepare_job_context` loads the jobs' layers during the master's warm-up. The SQL queue's atomic claim lets them share the jobs; with Redis
  (``$VOISINMAP_REDIS_URL``), or with ``$VOISINMAP_EMBEDDED_WORKER=0``, jobs are left to ``voisinmap worker``.

See ``docs/app.md`` section « Serveur ».
"""

from __future__ import annotations

import functools
import gc
import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import flask

logger = logging.getLogger(__name__)

#: Servers ``voisinmap serve --server`` accepts; ``auto`` picks gunicorn where it runs, else waitress.
SERVERS: tuple[str, ...] = ("auto", "gunicorn", "waitress", "flask")
#: ``0`` (or ``false``, ``no``, ``off``): the serving processes run no job worker (separate ``voisinmap worker``).
ENV_EMBEDDED_WORKER = "VOISINMAP_EMBEDDED_WORKER"
_OFF = frozenset({"0", "false", "no", "off"})
#: The job context prepared before the workers fork (:func:`prepare_job_context`), keyed by (data, store).
_JOB_CONTEXTS: dict[tuple[str | None, str | None], Any] = {}


def gunicorn_available() -> bool:
    """Whether gunicorn can run here (a POSIX system with gunicorn installed)."""
    return os.name == "posix" and importlib.util.find_spec("gunicorn") is not None


def choose_server(requested: str) -> str:
    """The server to run for ``--server requested``.

    Raises
    ------
    ValueError
        When ``requested`` is not one of :data:`SERVERS`, or is ``gunicorn`` where it cannot run.
    """
    if requested not in SERVERS:
        raise ValueError(f"server: expected one of {', '.join(SERVERS)}, got {requested!r}")
    if requested == "auto":
        return "gunicorn" if gunicorn_available() else "waitress"
    if requested == "gunicorn" and not gunicorn_available():
        raise ValueError("server: gunicorn needs a POSIX system with gunicorn installed; use --server waitress")
    return requested


def warm_up_once(*, data_dir: str | os.PathLike[str] | None = None,
                 beside: Sequence[Callable[[], Any]] = ()) -> float:
    """Warm the caches (:func:`app.warmup.warm_up`, with ``beside`` in its pool), then mark the process ready
    for ``/healthz``.

    Returns
    -------
    float
        Seconds spent.
    """
    from app import health
    from app.warmup import warm_up

    elapsed = warm_up(data_dir=data_dir, beside=beside)
    health.mark_ready()
    return elapsed


def build_app(*, data_dir: str | os.PathLike[str] | None = None, warm: bool = True) -> flask.Flask:
    """The app's Flask server, warmed up unless ``warm`` is False (then ready at once for ``/healthz``).

    After the warm-up the loaded objects are moved out of the garbage collector's reach
    (:func:`gc.freeze`): forked workers then keep sharing their memory pages instead of copying them
    when the collector walks them.
    """
    from app.main import create_app

    server = create_app(data_dir=data_dir).server
    if warm:
        from app import cache

        jobs = _job_settings(server) if embedded_worker_enabled() else None
        beside = []
        if jobs is not None:  # the job workers' layers (France's territory) are loaded beside the warm-up
            beside.append(functools.partial(load_job_layers, data_dir=jobs[0], store_url=jobs[1]))
        warm_up_once(data_dir=data_dir, beside=beside)
        if jobs is not None:
            with server.app_context():
                prepare_job_context(data_dir=jobs[0], store_url=jobs[1])
        cache.code_digest()  # once, before the workers fork
        finish_dash_setup(server)
        gc.freeze()
    else:  # nothing to wait for: the caches fill on first use
        from app import health

        health.mark_ready()
    return server


def finish_dash_setup(server: flask.Flask) -> None:
    """Run Dash's set-up of the first request now, in this process, before any worker serves.

    Dash moves the callbacks registered by the pages into the app on its first request and marks that
    done *before* doing it: a fresh worker answering several first requests at once could send a
    browser a partial ``/_dash-dependencies`` (a page without its callbacks). Done once in the master,
    every forked worker starts complete. One internal request to ``/_dash-dependencies`` triggers it.
    """
    with server.test_client() as client:
        status = client.get("/_dash-dependencies").status_code
    if status != 200:
        raise RuntimeError(f"Dash set-up: expected 200 from /_dash-dependencies, got {status}")


def embedded_worker_enabled() -> bool:
    """Whether the serving processes run the embedded job worker: not with Redis (RQ workers run the jobs),
    not when ``$VOISINMAP_EMBEDDED_WORKER`` is off.

    Raises
    ------
    geo.auth.environment.ConfigurationError
        When ``$VOISINMAP_EMBEDDED_WORKER`` is neither a yes nor a no (``voisinmap serve`` stops with it).
    """
    from geo.auth.environment import ConfigurationError
    from geo.jobs import redis_url

    raw = os.environ.get(ENV_EMBEDDED_WORKER, "").strip().lower()
    if raw and raw not in _OFF and raw not in ("1", "true", "yes", "on"):
        raise ConfigurationError(f"${ENV_EMBEDDED_WORKER}: expected 1 or 0, got {raw!r}")
    return raw not in _OFF and redis_url() is None


def prepare_job_context(*, data_dir: str | os.PathLike[str] | None = None, store_url: str | None = None) -> Any:
    """The job workers' context with its layers (QPV, France's territory) loaded, once per process.

    Called during the warm-up, before gunicorn forks: the workers' job threads inherit the loaded layers
    (shared memory) instead of loading them on their first job, inside that job's time budget; and the store
    is migrated, with its job table, before several workers open it at once. The layers may be loaded
    before, beside the rest of the warm-up (:func:`load_job_layers`).
    """
    from geo.coverage.store import open_store
    from geo.jobs.sql_queue import SqlJobQueue

    context = load_job_layers(data_dir=data_dir, store_url=store_url)
    engine = open_store(store_url)  # migrated and with its job table before the workers start
    SqlJobQueue(engine)
    engine.dispose()
    return context


def load_job_layers(*, data_dir: str | os.PathLike[str] | None = None, store_url: str | None = None) -> Any:
    """The job workers' context with its layers loaded, once per process; no database is touched, so it
    runs in a thread beside the warm-up. Inside an app context the loaded context comes from the shared
    cache (:mod:`app.cache`, keyed on the processed data): a restart on the same data skips building
    France's territory (about 0.4 s)."""
    from app import cache

    key = (str(data_dir) if data_dir is not None else None, store_url)
    if key not in _JOB_CONTEXTS:
        _JOB_CONTEXTS[key] = cache.cached_call("jobs.context", _loaded_context, key, by_lang=False, doors=False)
    return _JOB_CONTEXTS[key]


def _loaded_context(data_dir: str | None, store_url: str | None) -> Any:
    """A job worker context with its layers (QPV, France's territory) loaded; no connection open."""
    from geo.jobs.tasks import WorkerContext

    context = WorkerContext(store_url=store_url, data_dir=data_dir)
    context.layers()
    return context


def start_job_worker(*, data_dir: str | os.PathLike[str] | None = None, store_url: str | None = None) -> Any:
    """Run the embedded job worker in a daemon thread of this process (see :func:`embedded_worker_enabled`).

    Parameters
    ----------
    data_dir : path-like, optional
        Processed national data (QPV and département layers of the imports).
    store_url : str, optional
        The door-visit store and home of the SQL queue (default :func:`geo.config.database_url`).

    Returns
    -------
    threading.Event or None
        Set it to stop the worker; None when no worker was started.
    """
    from geo.coverage.store import open_store
    from geo.jobs.sql_queue import SqlJobQueue
    from geo.jobs.tasks import WorkerContext
    from geo.jobs.worker import start_background_worker

    if not embedded_worker_enabled():
        logger.info("jobs: no embedded worker in process %d (voisinmap worker runs them)", os.getpid())
        return None
    key = (str(data_dir) if data_dir is not None else None, store_url)
    context = _JOB_CONTEXTS.get(key) or WorkerContext(store_url=store_url, data_dir=data_dir)
    _thread, stop = start_background_worker(lambda: SqlJobQueue(open_store(store_url)), context=context)
    logger.info("jobs: embedded worker in process %d", os.getpid())
    return stop


def start_worker_of(server: flask.Flask | None) -> Any:
    """:func:`start_job_worker` on the data folder and store of a built app (the environment's without one)."""
    data_dir, store_url = _job_settings(server)
    return start_job_worker(data_dir=data_dir, store_url=store_url)


def _job_settings(server: flask.Flask | None) -> tuple[str | None, str | None]:
    """(data folder, store URL) of the jobs of a built app (the environment's without one)."""
    from app.settings import DATA_DIR_KEY, STORE_URL_KEY

    config = server.config if server is not None else {}
    return config.get(DATA_DIR_KEY) or os.environ.get("VOISINMAP_DATA_DIR") or None, config.get(STORE_URL_KEY)


def wsgi_app() -> flask.Flask:
    """Gunicorn's entry point: the warmed app on ``$VOISINMAP_DATA_DIR`` (or the default data folder)."""
    return build_app(data_dir=os.environ.get("VOISINMAP_DATA_DIR") or None)


def gunicorn_settings(*, host: str, port: int, workers: int | None = None,
                      threads: int | None = None) -> dict[str, Any]:
    """The shipped :mod:`app.gunicorn_conf` settings with the command line's overrides."""
    from app import gunicorn_conf

    settings = {name: getattr(gunicorn_conf, name) for name in (
        "workers", "threads", "worker_class", "preload_app", "timeout", "graceful_timeout", "keepalive",
        "accesslog", "errorlog", "loglevel", "proc_name", "control_socket_disable", "post_fork",
        "post_worker_init")}
    settings["bind"] = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    if workers is not None:
        settings["workers"] = workers
    if threads is not None:
        settings["threads"] = threads
    return settings


def run_gunicorn(*, host: str, port: int, data_dir: str | os.PathLike[str] | None = None,
                 workers: int | None = None, threads: int | None = None) -> None:
    """Run gunicorn in this process (it becomes the master) until it is stopped."""
    from gunicorn.app.base import BaseApplication

    settings = gunicorn_settings(host=host, port=port, workers=workers, threads=threads)
    logger.info("jobs: %s", "one embedded job thread in each worker" if embedded_worker_enabled()
                else "run by separate voisinmap worker processes")

    class VoisinmapGunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in settings.items():
                if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                    self.cfg.set(key, value)

        def load(self) -> flask.Flask:
            return build_app(data_dir=data_dir)

    logger.info("gunicorn: %d workers × %d threads on %s", settings["workers"], settings["threads"],
                settings["bind"][0])
    VoisinmapGunicorn().run()


def run_waitress(*, host: str, port: int, data_dir: str | os.PathLike[str] | None = None,
                 threads: int | None = None) -> None:
    """Serve one warmed process with waitress's threads until it is stopped."""
    import waitress

    from app import gunicorn_conf

    embedded_worker_enabled()  # a wrong setting stops the start, before the warm-up
    server = build_app(data_dir=data_dir)
    start_worker_of(server)
    waitress.serve(server, host=host, port=port, threads=threads or gunicorn_conf.threads * 2,
                   ident="voisinmap")


def run_flask(*, host: str, port: int, data_dir: str | os.PathLike[str] | None = None, dev: bool) -> None:
    """Flask's development server: with ``dev``, the reloader and Dash's developer tools (no warm-up)."""
    server = build_app(data_dir=data_dir, warm=not dev)
    if not dev or os.environ.get("WERKZEUG_RUN_MAIN") == "true":  # with the reloader: in the serving child only
        start_worker_of(server)
    if dev:
        dash_app = server.extensions["voisinmap_dash"]
        dash_app.run(host=host, port=port, debug=True)
    else:
        server.run(host=host, port=port, threaded=True)
