"""Pre-compute the cached heavy objects (encoded layers, the default siting instance, the first plan, the
prepared door visits, the Impact figures) before the first request.

The layers are encoded in threads beside the rest, from the geometry the national build simplified
(:mod:`geo.web_geometry`; a folder built by an earlier version is simplified here, in GEOS, outside the
interpreter lock). The robustness of the default plan is not computed here: the Stratégie page asks for it after the
plan, shows « Robustesse en cours de calcul… » meanwhile, and the first answer goes to the shared cache.

The work runs inside the app's context when an app exists, so the results also go to the shared cache
(:mod:`app.cache`): the other workers, and a restarted server on the same data, read them instead of
computing them again (cold start).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)


def _app_context() -> Any:
    """The context of the app being served (the last Dash app created), or a no-op when there is none."""
    import dash
    import flask

    if flask.has_app_context():
        return contextlib.nullcontext()
    try:
        server = dash.get_app().server
    except Exception:  # noqa: BLE001 - no app yet (scripts): warm the process caches only
        return contextlib.nullcontext()
    return server.app_context()


def _door_visits() -> None:
    """Prepare the door visits of the page Terrain once per data version (:mod:`geo.coverage.prepared`) and map
    them, before the workers fork: they then share the mapped arrays and never prepare them in a request."""
    from app import data, settings
    from geo.coverage import prepared

    try:
        if data.store_version(settings.store_url())[0]:
            prepared.prepare_for_app(db=settings.store_url(), data_dir=settings.data_dir(), qpv=data.qpv())
            data.current_data()
    except Exception:  # noqa: BLE001 - the page prepares them on first use instead
        logger.exception("door visits not prepared during the warm-up")


def _in_app_context(task: Callable[[], Any]) -> Any:
    with _app_context():
        return task()


def warm_up(*, data_dir: str | os.PathLike[str] | None = None, beside: Sequence[Callable[[], Any]] = ()) -> float:
    """Fill the server-side caches; returns the seconds spent.

    Parameters
    ----------
    data_dir : path-like, optional
        Processed data folder (default: the app's).
    beside : sequence of callables
        More preparation run in the pool beside the layers (e.g. the job workers' territory), each inside
        the app's context; their errors are raised here.
    """
    from app import layers, scenario
    from app.components import impact_refresh
    from app.scenario_params import Scenario
    from geo import siting

    start = time.perf_counter()
    # The layers are encoded, and a folder built by an earlier version simplified (GEOS, outside the
    # interpreter lock), in threads beside the siting work below, with the ``beside`` tasks.
    tasks = [functools.partial(layers.encoded_layer, name, data_dir=data_dir) for name in layers.BUILDERS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, _app_context():
        built = [pool.submit(_in_app_context, task) for task in [*tasks, *beside]]
        scenario.instance(radius_km=siting.DEFAULT_RADIUS_KM, weights=siting.DEFAULT_WEIGHTS, data_dir=data_dir)
        scenario.plan_for(Scenario(), data_dir=data_dir)  # the Stratégie page's first plan
        impact_refresh.warm_up()  # Impact: stored figures, funders' view, map outlines, public pages
        _door_visits()
        for future in built:
            future.result()
    elapsed = time.perf_counter() - start
    logger.info("warm-up done in %.2f s", elapsed)
    return elapsed
