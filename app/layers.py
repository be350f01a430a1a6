"""Map layers sent to the browser once, as geobuf, from ``/_voisinmap/layers/<name>.pbf``.

Each layer is built from the processed data (simplified with topology preserved, only the properties the
browser needs), encoded once per data version and kept in memory with its gzip form. The browser caches
the response (ETag, ``Cache-Control``); the map restyles layers through ``hideout`` without fetching them
again.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask
import pandas as pd

from app import cache, settings
from geo import config, schema, webgeo
from geo.load import load_layer

logger = logging.getLogger(__name__)

URL_PREFIX = "/_voisinmap/layers/"

#: QPV properties sent to the browser (indicators for the choropleth and the tooltips).
QPV_PROPERTIES: tuple[str, ...] = (
    "code_qp", "lib_qp", "lib_com", "lib_dep", "insee_dep", "population", "households",
    "poverty_rate", "employment_rate", "npnru",
)
QPV_TOLERANCE_M = 15.0
ADMIN_TOLERANCE_M = {"departements": 500.0, "regions": 500.0}
#: Coordinates keep 4 decimals (about 10 m), the precision of the QPV source file.
PRECISION = 4


@dataclass(frozen=True)
class EncodedLayer:
    """One layer ready to send: geobuf bytes, their gzip form, an ETag and the feature count."""

    name: str
    raw: bytes
    gzipped: bytes
    etag: str
    n_features: int


def qpv_collection(qpv: pd.DataFrame) -> dict[str, Any]:
    """The QPV layer: simplified polygons with :data:`QPV_PROPERTIES` (``npnru`` as 0/1)."""
    frame = qpv.assign(npnru=qpv["npnru"].fillna(False).astype(int))
    geoms = webgeo.simplify_coverage(frame.geometry, tolerance_m=QPV_TOLERANCE_M)
    return webgeo.feature_collection(frame, properties=list(QPV_PROPERTIES), geometry=geoms, id_column="code_qp")


def admin_collection(frame: pd.DataFrame, *, tolerance_m: float) -> dict[str, Any]:
    """Région or département outlines (rows without geometry, the COM, are left out)."""
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    geoms = webgeo.simplify_coverage(frame.geometry, tolerance_m=tolerance_m)
    return webgeo.feature_collection(frame, properties=["code", "nom"], geometry=geoms, id_column="code")


def commune_collection(communes: pd.DataFrame) -> dict[str, Any]:
    """Communes that hold at least one QPV, as points with their QPV population."""
    frame = communes[communes["n_qpv"] > 0]
    return webgeo.feature_collection(
        frame, properties=["insee_com", "name", "lib_dep", "n_qpv", "qpv_residents_touching", "population"],
        id_column="insee_com",
    )


def npnru_collection(qpv: pd.DataFrame) -> dict[str, Any]:
    """NPNRU quartiers as points (their QPV 2024 representative point), visible at national zoom."""
    import geopandas as gpd

    frame = qpv[qpv["npnru"].fillna(False).astype(bool)]
    points = gpd.points_from_xy(frame["rep_lon"], frame["rep_lat"], crs=4326)
    return webgeo.feature_collection(frame, properties=["code_qp", "lib_qp", "lib_com"], geometry=points,
                                     id_column="code_qp")


def qpv_points_collection(qpv: pd.DataFrame) -> dict[str, Any]:
    """Every QPV as its representative point with the choropleth's indicators: the Stratégie page's national
    view draws them as proportional symbols (``code`` rather than ``code_qp``, so feature counts of the
    polygon layer stay its own)."""
    import geopandas as gpd

    frame = qpv.assign(code=qpv["code_qp"], npnru=qpv["npnru"].fillna(False).astype(int))
    points = gpd.points_from_xy(frame["rep_lon"], frame["rep_lat"], crs=4326)
    return webgeo.feature_collection(
        frame, properties=["code", "lib_qp", "lib_com", "population", "households", "poverty_rate",
                           "employment_rate", "npnru"], geometry=points, id_column="code",
    )


def districts_collection(qpv: pd.DataFrame) -> dict[str, Any]:
    """Candidate districts (QPV clustered by proximity, :func:`geo.siting.districts`) of two QPV or more,
    drawn as the convex hull of their QPV."""
    import shapely

    from geo import siting

    frame = siting.districts(qpv)
    frame = frame[frame["n_qpv"] >= 2]
    hulls = shapely.convex_hull(frame.geometry.to_numpy())
    return webgeo.feature_collection(
        frame, properties=["district_id", "name", "region", "n_qpv", "population", "households", "npnru_count",
                           "poverty_rate"], geometry=hulls, id_column="district_id",
    )


#: layer name -> (processed layers it reads, builder)
BUILDERS: dict[str, tuple[tuple[str, ...], Callable[..., dict[str, Any]]]] = {
    "qpv": (("qpv",), qpv_collection),
    "departements": (("departements",),
                     lambda d: admin_collection(d, tolerance_m=ADMIN_TOLERANCE_M["departements"])),
    "regions": (("regions",), lambda r: admin_collection(r, tolerance_m=ADMIN_TOLERANCE_M["regions"])),
    "communes": (("communes",), commune_collection),
    "npnru": (("qpv",), npnru_collection),
    "qpv_points": (("qpv",), qpv_points_collection),
    "districts": (("qpv",), districts_collection),
}


def _version(layers: tuple[str, ...], data_dir: Path) -> tuple[int, ...]:
    return tuple((data_dir / schema.LAYERS[layer]).stat().st_mtime_ns for layer in layers)


def _build_encoded(name: str, data_dir: str) -> EncodedLayer:
    inputs, builder = BUILDERS[name]
    frames = [load_layer(layer, data_dir=data_dir) for layer in inputs]
    collection = builder(*frames)
    raw = webgeo.encode_geobuf(collection, precision=PRECISION)
    etag = hashlib.sha256(raw).hexdigest()[:20]
    logger.info("layer %s: %d features, %d bytes (%d gzipped)", name, len(collection["features"]), len(raw),
                len(gzip.compress(raw, 6)))
    return EncodedLayer(name, raw, gzip.compress(raw, 6), etag, len(collection["features"]))


@lru_cache(maxsize=16)
def _encode(name: str, data_dir: str, version: tuple[int, ...]) -> EncodedLayer:  # noqa: ARG001 - version keys the process cache
    # encoded once for every worker (and kept across restarts) in the shared cache, then held by the process
    return cache.cached_call("layers.encoded", _build_encoded, (name, data_dir), by_lang=False, doors=False)


def encoded_layer(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> EncodedLayer:
    """The encoded layer ``name`` (built on first use, then cached until the data changes).

    Raises
    ------
    ValueError
        When ``name`` is not one of :data:`BUILDERS`.
    """
    if name not in BUILDERS:
        raise ValueError(f"name: expected one of {sorted(BUILDERS)}, got {name!r}")
    folder = config.data_dir(data_dir)
    return _encode(name, str(folder), _version(BUILDERS[name][0], folder))


def layer_url(name: str) -> str:
    """URL of a layer (with the data version, so a rebuilt layer gets a new URL and no stale cache)."""
    if name not in BUILDERS:
        raise ValueError(f"name: expected one of {sorted(BUILDERS)}, got {name!r}")
    folder = settings.data_path()
    version = _version(BUILDERS[name][0], folder)
    return f"{URL_PREFIX}{name}.pbf?v={hashlib.sha1(repr(version).encode()).hexdigest()[:10]}"


def init_app(server: flask.Flask) -> None:
    """Register the layer route on the Flask server."""

    @server.route(f"{URL_PREFIX}<name>.pbf")
    def voisinmap_layer(name: str) -> flask.Response:
        if name not in BUILDERS:
            flask.abort(404)
        layer = encoded_layer(name, data_dir=server.config.get(settings.DATA_DIR_KEY))
        if flask.request.if_none_match.contains(layer.etag):
            return flask.Response(status=304)
        use_gzip = "gzip" in flask.request.headers.get("Accept-Encoding", "")
        response = flask.Response(layer.gzipped if use_gzip else layer.raw, mimetype="application/x-protobuf")
        if use_gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.set_etag(layer.etag)
        response.headers["X-Feature-Count"] = str(layer.n_features)
        return response
