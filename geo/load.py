"""One cached loader for the processed national data, shared by the app, the CLI and notebooks.

>>> from geo.load import load_qpv
>>> qpv = load_qpv()            # GeoDataFrame, 1,584 rows, EPSG:4326

Frames are cached per (folder, file modification time): a rebuild is picked up, repeated calls are free.
Callers must not modify the returned frames in place (copy first).
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import config, schema
from geo._errors import VoisinmapError

logger = logging.getLogger(__name__)


class DataNotBuiltError(VoisinmapError, FileNotFoundError):
    """The processed data folder lacks a file: run ``voisinmap data build``."""


def _path(layer: str, data_dir: str | os.PathLike[str] | None, *, files: dict[str, str] = schema.LAYERS,
          argument: str = "layer") -> Path:
    if layer not in files:
        raise ValueError(f"{argument}: expected one of {sorted(files)}, got {layer!r}")
    path = config.data_dir(data_dir) / files[layer]
    if not path.exists():
        raise DataNotBuiltError(
            f"{path} is missing: run `voisinmap data build` (or pass --data-dir / set "
            f"{config.ENV_DATA_DIR} to the folder that holds the processed data)"
        )
    return path


@lru_cache(maxsize=32)
def _read(path: str, mtime_ns: int) -> pd.DataFrame:
    logger.debug("reading %s", path)
    try:
        return gpd.read_parquet(path)
    except ValueError:  # plain Parquet without geometry metadata
        return pd.read_parquet(path)


def load_layer(layer: str, *, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read one processed layer (cached).

    Parameters
    ----------
    layer : str
        One of ``qpv``, ``communes``, ``arrondissements``, ``departements``, ``regions``, ``npnru``.
    data_dir : path-like, optional
        Folder of the processed data (default: :func:`geo.config.data_dir`).

    Returns
    -------
    geopandas.GeoDataFrame or pandas.DataFrame
        The layer; ``npnru`` has no geometry.

    Raises
    ------
    DataNotBuiltError
        When the file does not exist yet.
    """
    path = _path(layer, data_dir)
    return _read(str(path), path.stat().st_mtime_ns)


def load_web_layer(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Read the geometry of one web map layer, simplified for the screen by the build (cached).

    Parameters
    ----------
    name : str
        One of :data:`geo.schema.WEB_LAYERS` (``qpv``, ``departements``, ``regions``, ``districts``).
    data_dir : path-like, optional
        Folder of the processed data (default: :func:`geo.config.data_dir`).

    Raises
    ------
    DataNotBuiltError
        When the file does not exist (data built by an earlier version: run ``voisinmap data build``).
    """
    path = _path(name, data_dir, files=schema.WEB_LAYERS, argument="name")
    return _read(str(path), path.stat().st_mtime_ns)


def load_qpv(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """QPV 2024 polygons with population, indicators and NPNRU status (see :data:`geo.schema.QPV_COLUMNS`)."""
    return load_layer("qpv", data_dir=data_dir)


def load_communes(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Current communes with centroids and indicators (see :data:`geo.schema.COMMUNE_COLUMNS`)."""
    return load_layer("communes", data_dir=data_dir)


def load_arrondissements(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Arrondissements municipaux of Paris, Lyon and Marseille (centroid points)."""
    return load_layer("arrondissements", data_dir=data_dir)


def load_departements(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Département boundaries."""
    return load_layer("departements", data_dir=data_dir)


def load_regions(*, data_dir: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Région boundaries."""
    return load_layer("regions", data_dir=data_dir)


def load_npnru(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """NPNRU quartiers (QPV 2015 codes) with their QPV 2024 successors."""
    return load_layer("npnru", data_dir=data_dir)


def load_manifest(*, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The build manifest (sources, hashes, row counts, join rates)."""
    path = config.data_dir(data_dir) / schema.MANIFEST
    if not path.exists():
        raise DataNotBuiltError(f"{path} is missing: run `voisinmap data build`")
    return json.loads(path.read_text(encoding="utf-8"))
