"""The app's settings, read in one place: processed data folder, door-visit store URL, background tiles,
the association's sites file.

The Flask config of the running app holds the folder and the store URL given to
:func:`app.main.create_app` (or set by the access layer); outside a request or when unset, the library
defaults apply (:func:`geo.config.data_dir`, :func:`geo.config.database_url`). The background tiles come
from the environment (``VOISINMAP_TILES_URL``, ``VOISINMAP_TILES_ATTRIBUTION``).

>>> tiles(default_url=None) is None or isinstance(tiles(default_url=None), Tiles)
True
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from geo import config

logger = logging.getLogger(__name__)

#: Flask config key: the processed data folder the app reads (None: :func:`geo.config.data_dir`).
DATA_DIR_KEY = "VOISINMAP_DATA_DIR"
#: Flask config key: URL of the door-visit store (None: :func:`geo.config.database_url`).
STORE_URL_KEY = "VOISINMAP_DATABASE_URL"
#: Environment variables of the background tiles: an XYZ template ("none" for no tiles) and its credit.
TILES_ENV = "VOISINMAP_TILES_URL"
TILES_ATTRIBUTION_ENV = "VOISINMAP_TILES_ATTRIBUTION"
DEFAULT_TILES_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_TILES_ATTRIBUTION = "© contributeurs OpenStreetMap"
_TILES_OFF = frozenset({"", "none", "off"})
#: The association's current sites shipped with the project (code, name, opening year, kind, source).
SITES_FILE = config.PROJECT_ROOT / "data" / "sites.csv"


def _app_config(key: str) -> str | None:
    import flask

    return flask.current_app.config.get(key) if flask.has_app_context() else None


def data_dir() -> str | None:
    """The processed data folder of the running app (for pages' callbacks), or None for the default."""
    return _app_config(DATA_DIR_KEY)


def data_path() -> Path:
    """The processed data folder of the running app, resolved (:func:`geo.config.data_dir`)."""
    return config.data_dir(data_dir())


def store_url() -> str:
    """URL of the door-visit store of the running app (default :func:`geo.config.database_url`)."""
    return _app_config(STORE_URL_KEY) or config.database_url()


@dataclass(frozen=True)
class Tiles:
    """A background tile layer: XYZ template and attribution."""

    url: str
    attribution: str


def tiles(*, default_url: str | None = DEFAULT_TILES_URL,
          default_attribution: str = DEFAULT_TILES_ATTRIBUTION) -> Tiles | None:
    """The background tiles, or None when they are off.

    Parameters
    ----------
    default_url : str or None
        Template used when ``VOISINMAP_TILES_URL`` is unset (None: no tiles unless the variable asks).
    default_attribution : str
        Credit used when ``VOISINMAP_TILES_ATTRIBUTION`` is unset.

    Returns
    -------
    Tiles or None
        None when the variable (or the default) is empty, ``none`` or ``off``.
    """
    url = os.environ.get(TILES_ENV, default_url or "").strip()
    if url.lower() in _TILES_OFF:
        return None
    return Tiles(url=url, attribution=os.environ.get(TILES_ATTRIBUTION_ENV, default_attribution))
