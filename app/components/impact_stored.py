"""The Impact figures stored at import time (:mod:`geo.coverage.impact_store`), read by the web process.

:func:`stored_figures` returns the figures of every site for the store's current data version, read once
per version (a few tens of milliseconds) and kept; None while they are not stored yet (the page then
builds them itself, :func:`app.data.current_report`). A manager's scope is never stored: their report
covers their own sites and is built on demand.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app import data, settings
from geo.coverage import impact_store

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_LOADED: dict[Path, impact_store.Figures] = {}


def current_folder() -> Path:
    """Folder of the figures of the app's store at its current data version."""
    url = settings.store_url()
    return impact_store.version_folder(impact_store.figures_root(), store_url=url, version=data.store_version(url),
                                       data_dir=settings.data_dir())


def stored_figures() -> impact_store.Figures | None:
    """The stored figures of the current data version, or None when they are not stored (yet)."""
    folder = current_folder()
    with _LOCK:
        if folder in _LOADED:
            return _LOADED[folder]
        figures = impact_store.load_figures(folder)
        if figures is not None:
            _LOADED.clear()  # one version at a time
            _LOADED[folder] = figures
            logger.info("impact figures read from %s", folder.name)
        return figures


def compute_here() -> None:
    """Compute and store the figures of the current version in this process, unless stored or under way
    in another process (an import's CLI or worker)."""
    folder = current_folder()
    if (folder / "meta.json").is_file() or impact_store.pending(folder):
        return
    impact_store.compute_and_store(db=settings.store_url(), data_dir=settings.data_dir())
