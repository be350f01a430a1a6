"""Impact figures computed once per data version, ahead of the first view.

The live report (:func:`app.data.current_report`, ~5 s on the demo network), the topics and languages
and the funders' view of the latest release (:func:`app.public.funder_view.latest_view`) are kept per
data version in the process's
caches. :func:`start` runs one daemon thread per process that checks the store's data version every
:data:`INTERVAL` seconds and, when it changed (an import, a release, a start), builds both before anyone
asks: the first view after an import then reads a warm cache. The page shows a loading indicator for
the few seconds a view may still wait.

Set ``VOISINMAP_IMPACT_PRECOMPUTE=0`` to build lazily at the first view instead (the "before" of
``bench/bench_impact.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable

import flask

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


def _build() -> None:
    from app import data
    from app.pages import impact
    from app.public import funder_view

    funder_view.latest_view()  # first: what funders read
    impact.themes_for(None)
    data.current_report(scope=None)


def refresh_once(last: Hashable, *, build: Callable[[], None] = _build) -> Hashable:
    """Build the figures when the data version differs from ``last``; returns the version seen."""
    version = _version()
    if version != last:
        started = time.perf_counter()
        build()
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
