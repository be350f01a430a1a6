"""Paths and environment settings, in one place.

Every path the project reads or writes is resolved here, from environment variables first and from
sensible defaults next. Nothing is created at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the source checkout (the folder holding ``pyproject.toml``).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

ENV_MIRROR = "VOISINMAP_DATA_MIRROR"
ENV_CACHE = "VOISINMAP_CACHE_DIR"
ENV_DATA_DIR = "VOISINMAP_DATA_DIR"
ENV_DATABASE_URL = "DATABASE_URL"


def mirror_dir() -> Path | None:
    """Folder holding offline copies of the official files, or ``None``.

    Order: ``$VOISINMAP_DATA_MIRROR``, then a ``shared/data`` folder beside the project
    (``../shared/data`` seen from the checkout).

    Returns
    -------
    pathlib.Path or None
        The mirror folder when one exists.
    """
    env = os.environ.get(ENV_MIRROR)
    if env:
        return Path(env).expanduser()
    beside = PROJECT_ROOT.parent / "shared" / "data"
    return beside if beside.is_dir() else None


def cache_dir() -> Path:
    """User cache for downloaded official files (``$VOISINMAP_CACHE_DIR`` or ``~/.cache/voisinmap``)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voisinmap"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the processed national data (GeoParquet files and ``manifest.json``).

    Parameters
    ----------
    override : path-like, optional
        Explicit folder (the CLI's ``--data-dir``); wins over ``$VOISINMAP_DATA_DIR``.

    Returns
    -------
    pathlib.Path
        ``override``, else ``$VOISINMAP_DATA_DIR``, else ``data/processed`` in the checkout.
    """
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return PROJECT_ROOT / "data" / "processed"


def database_url(override: str | None = None) -> str:
    """URL of the door-visit store: ``override``, ``$DATABASE_URL`` or a SQLite file in ``data/``."""
    if override:
        return override
    env = os.environ.get(ENV_DATABASE_URL)
    if env:
        return env
    return f"sqlite:///{PROJECT_ROOT / 'data' / 'voisinmap.db'}"
