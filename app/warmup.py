"""Pre-compute the cached heavy objects (encoded layers, the default siting instance) before the first request."""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger(__name__)


def warm_up(*, data_dir: str | os.PathLike[str] | None = None) -> float:
    """Fill the server-side caches; returns the seconds spent."""
    from app import layers, scenario
    from geo import siting

    start = time.perf_counter()
    for name in layers.BUILDERS:
        layers.encoded_layer(name, data_dir=data_dir)
    scenario.instance(radius_km=siting.DEFAULT_RADIUS_KM, weights=siting.DEFAULT_WEIGHTS, data_dir=data_dir)
    from app.scenario_params import Scenario

    scenario.plan_for(Scenario(), data_dir=data_dir)  # the Stratégie page's first plan
    elapsed = time.perf_counter() - start
    logger.info("warm-up done in %.2f s", elapsed)
    return elapsed
