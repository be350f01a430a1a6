"""Impact figures read once per data version, ahead of the first view.

An import stores the figures of every site at import time, in the process that imported
(:mod:`geo.coverage.impact_store`). :func:`start` runs one daemon thread per process that checks the
store's data version every :data:`INTERVAL` seconds and, when it changed (an import, a release, a
start), reads the stored figures and the funders' view of the latest release
(:func:`app.public.funder_view.latest_view`) before anyone asks. When no process stored them (an import
by the field-entry sync of this process, a store filled before this version), it computes and stores
them itself (:func:`app.components.impact_stored.compute_here`), unless another process is computing
them; only when storing fails does it build them in memory as before (:func:`app.data.current_report`).
The page shows a loading indicator for the few seconds a view may still wait.

Set ``VOISINMAP_IMPACT_PRECOMPUTE=0`` to build lazily at the first view instead (the "before" of
``bench/bench_impact.py``).

:func:`warm_up` does the same once, synchronously, before the first request (the server's warm-up,
:mod:`app.warmup`), and also loads the map's région outlines and renders the public page: the first
view after a server start then reads everything from memory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable

import flask

from geo.coverage import impact_store

logger = logging.getLogger(__name__)

ENV_PRECOMPUTE = "VOISINMAP_IMPACT_PRECOMPUTE"
#: Seconds between two looks at the store's data version.
INTERVAL = 2.0
_STARTED: set[int] = set()
_LOCK = threading.Lock()


def enabled() -> bool:
    """Whether figures are computed ahead of the first view (``$VOISINMAP_IMPACT_PRECOMPUTE`` not ``0``)."""
    return os.environ.get(ENV_PRECOMPUTE, "1").strip() not in ("0", "false", "no", "off")


def _version() -> Hashable:
    from app import data, settings
    from app.public import funder_view

    url = settings.store_url()
    return url, data.store_version(url), funder_view.latest_version(url)


def _build() -> bool:
    from app import data
    from app.components import impact_stored
    from app.pages import impact
    from app.public import funder_view

    funder_view.latest_view()  # first: what funders read
    if impact_stored.stored_figures() is not None:
        return True
    if impact_store.pending(impact_stored.current_folder()):
        return False  # another process (an import) is storing them: look again at the next turn
    impact_stored.compute_here()
    if impact_stored.stored_figures() is None:
        impact.themes_for(None)
        data.current_report(scope=None)
    return True


def warm_up() -> float:
    """Load or compute what the page Impact and ``/public/impact`` read, in the app's context, before the
    first request (inherited by the workers of a preloading server); returns the seconds spent.

    Does nothing (0.0) when ``$VOISINMAP_IMPACT_PRECOMPUTE`` is ``0``. A failure is logged, never raised:
    the page then builds what it needs at the first view."""
    if not enabled():
        return 0.0
    from app import cache, public, settings
    from app.pages import impact

    started = time.perf_counter()
    try:
        cache.current_data_version()  # opens this process's connection to the store
        _build()
        impact.base_layers_data(settings.data_dir())
        for lang in ("fr", "en"):
            public.rendered(lang)
    except Exception:  # noqa: BLE001 - the first view builds what is missing
        logger.exception("impact figures could not be loaded ahead of the first request")
    elapsed = time.perf_counter() - started
    logger.info("impact figures ready before the first request, in %.2f s", elapsed)
    return elapsed


def refresh_once(last: Hashable, *, build: Callable[[], bool | None] = _build) -> Hashable:
    """Build the figures when the data version differs from ``last``; returns the version seen (``last``
    again when ``build`` returns False: it is tried again at the next look)."""
    version = _version()
    if version != last:
        started = time.perf_counter()
        if build() is False:
            return last
        logger.info("impact figures computed ahead for data version %s in %.1f s", version[1:],
                    time.perf_counter() - started)
    return version


def _loop(server: flask.Flask) -> None:
    last: Hashable = None
    while True:
        try:
            with server.app_context():
                last = refresh_once(last)
        except Exception:  # noqa: BLE001 - a failed build is retried at the next look
            logger.exception("impact figures could not be computed ahead")
            last = None
        time.sleep(INTERVAL)


def start(server: flask.Flask) -> bool:
    """Start the refresher of ``server`` once per process (no-op when disabled); True when running."""
    if not enabled():
        return False
    with _LOCK:
        if id(server) in _STARTED:
            return True
        _STARTED.add(id(server))
    threading.Thread(target=_loop, args=(server,), name="impact-refresh", daemon=True).start()
    logger.info("impact figures will be computed ahead of the first view (every %.0f s check)", INTERVAL)
    return True
