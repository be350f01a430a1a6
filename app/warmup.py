"""Pre-compute the cached heavy objects (encoded layers, search index) before the first request."""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger(__name__)


def warm_up(*, data_dir: str | os.PathLike[str] | None = None) -> float:
    """Fill the server-side caches; returns the seconds spent."""
    from app import layers

    start = time.perf_counter()
    for name in layers.BUILDERS:
        layers.encoded_layer(name, data_dir=data_dir)
    elapsed = time.perf_counter() - start
    logger.info("warm-up done in %.2f s", elapsed)
    return elapsed
