"""Map layers sent to the browser once, as geobuf, from ``/_voisinmap/layers/<name>.pbf``.

Each layer is built from the processed data, encoded once per data version and kept in memory with its
gzip form. The browser caches the response (ETag, ``Cache-Control``); the map restyles layers through
``hideout`` without fetching them again.

Layers carry what the browser draws and nothing more:

* the QPV polygons are simplified for the screen (:func:`geo.screen_simplify.simplify_for_zoom`: at most
  :data:`QPV_MAX_ERROR_PX` pixel off at zoom :data:`QPV_EXACT_ZOOM`, the zooms where the Stratégie page
  draws polygons up to city scale) and keep only their code and the indicators the style function
  colours by (:data:`QPV_STYLE_PROPERTIES`);
* the tooltip figures of a QPV (name, commune, population, rates, NPNRU) come on demand from
  ``/api/qpv/<code>`` (:mod:`app.qpv_figures`), when the pointer reaches a quartier;
* point layers keep the properties their tooltip or symbol reads; outlines keep none.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask
import pandas as pd

from app import cache, settings
from app.components.mapstyle import INDICATORS
from geo import config, schema, web_geometry, webgeo
from geo.load import DataNotBuiltError, load_layer, load_web_layer

logger = logging.getLogger(__name__)

URL_PREFIX = "/_voisinmap/layers/"

#: What the style function reads (``voisinmap.qpvStyle``): the indicators of the choropleth (and the
#: symbols' size, ``population``). The code identifies the quartier (selection, figures on demand).
QPV_STYLE_PROPERTIES: tuple[str, ...] = tuple(spec.column for spec in INDICATORS.values())
QPV_PROPERTIES: tuple[str, ...] = ("code_qp", *QPV_STYLE_PROPERTIES)
QPV_EXACT_ZOOM = web_geometry.QPV_EXACT_ZOOM
QPV_MAX_ERROR_PX = web_geometry.QPV_MAX_ERROR_PX
#: What the commune bubbles and the district hulls show (size and tooltip).
COMMUNE_PROPERTIES: tuple[str, ...] = ("insee_com", "name", "n_qpv", "qpv_residents_touching")
DISTRICT_PROPERTIES: tuple[str, ...] = web_geometry.DISTRICT_PROPERTIES
ADMIN_TOLERANCE_M = web_geometry.ADMIN_TOLERANCE_M
PRECISION = web_geometry.PRECISION


@dataclass(frozen=True)
class EncodedLayer:
    """One layer ready to send: geobuf bytes, their gzip form, an ETag and the feature count."""

    name: str
    raw: bytes
    gzipped: bytes
    etag: str
    n_features: int


def qpv_collection(qpv: pd.DataFrame, *, properties: Sequence[str] = QPV_PROPERTIES,
                   geometry: Sequence[Any] | None = None, id_column: str | None = None) -> dict[str, Any]:
    """The QPV layer: polygons simplified for the screen (or ``geometry``), with ``properties`` (``npnru``
    as 0/1). The keywords let the bench rebuild earlier forms of the layer."""
    frame = qpv.assign(npnru=qpv["npnru"].fillna(False).astype(int))
    if geometry is None:
        geometry = web_geometry.qpv_geometry(frame).geometry.to_numpy()
    return webgeo.feature_collection(frame, properties=list(properties), geometry=geometry, id_column=id_column)


def admin_collection(frame: pd.DataFrame, *, tolerance_m: float | None, properties: Sequence[str] = (),
                     id_column: str | None = None) -> dict[str, Any]:
    """Région or département outlines (rows without geometry, the COM, are left out), simplified with
    ``tolerance_m`` (None: ``frame`` is the build's web geometry, already simplified); drawn, never hovered,
    so without properties by default."""
    if tolerance_m is not None:
        frame = web_geometry.admin_geometry(frame, tolerance_m=tolerance_m)
    return webgeo.feature_collection(frame, properties=list(properties), id_column=id_column)


def commune_collection(communes: pd.DataFrame, *, properties: Sequence[str] = COMMUNE_PROPERTIES,
                       id_column: str | None = None) -> dict[str, Any]:
    """Communes that hold at least one QPV, as points with what their bubble and tooltip show."""
    frame = communes[communes["n_qpv"] > 0]
    return webgeo.feature_collection(frame, properties=list(properties), id_column=id_column)


def npnru_collection(qpv: pd.DataFrame, *, properties: Sequence[str] = ("code_qp",),
                     id_column: str | None = None) -> dict[str, Any]:
    """NPNRU quartiers as points (their QPV 2024 representative point), visible at national zoom; their
    tooltip fetches the name and commune on demand."""
    import geopandas as gpd

    frame = qpv[qpv["npnru"].fillna(False).astype(bool)]
    points = gpd.points_from_xy(frame["rep_lon"], frame["rep_lat"], crs=4326)
    return webgeo.feature_collection(frame, properties=list(properties), geometry=points, id_column=id_column)


def qpv_points_collection(qpv: pd.DataFrame, *, properties: Sequence[str] = ("code", *QPV_STYLE_PROPERTIES),
                          id_column: str | None = None) -> dict[str, Any]:
    """Every QPV as its representative point with the choropleth's indicators: the Stratégie page's national
    view draws them as proportional symbols (``code`` rather than ``code_qp``, so feature counts of the
    polygon layer stay its own); their tooltip fetches the figures on demand."""
    import geopandas as gpd

    frame = qpv.assign(code=qpv["code_qp"], npnru=qpv["npnru"].fillna(False).astype(int))
    points = gpd.points_from_xy(frame["rep_lon"], frame["rep_lat"], crs=4326)
    return webgeo.feature_collection(frame, properties=list(properties), geometry=points, id_column=id_column)


def districts_collection(qpv: pd.DataFrame, *, properties: Sequence[str] = DISTRICT_PROPERTIES,
                         id_column: str | None = None) -> dict[str, Any]:
    """Candidate districts (QPV clustered by proximity, :func:`geo.siting.districts`) of two QPV or more,
    drawn as the convex hull of their QPV (:func:`geo.web_geometry.district_hulls`)."""
    return webgeo.feature_collection(web_geometry.district_hulls(qpv), properties=list(properties),
                                     id_column=id_column)


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


#: layer name -> its encoding from the build's web geometry (:data:`geo.schema.WEB_LAYERS`, first argument)
#: and the processed layers of :data:`BUILDERS`
FROM_WEB: dict[str, Callable[..., dict[str, Any] | None]] = {
    "qpv": lambda web, qpv: (qpv_collection(qpv, geometry=web.geometry.to_numpy())
                             if web["code_qp"].tolist() == qpv["code_qp"].tolist() else None),
    "departements": lambda web, _frame: admin_collection(web, tolerance_m=None),
    "regions": lambda web, _frame: admin_collection(web, tolerance_m=None),
    "districts": lambda web, _qpv: webgeo.feature_collection(web, properties=list(DISTRICT_PROPERTIES)),
}


def _version(name: str, data_dir: Path) -> tuple[int, ...]:
    """Modification times of the processed layers ``name`` reads, and of its web geometry (0: none)."""
    version = tuple((data_dir / schema.LAYERS[layer]).stat().st_mtime_ns for layer in BUILDERS[name][0])
    if name not in schema.WEB_LAYERS:
        return version
    web = data_dir / schema.WEB_LAYERS[name]
    return (*version, web.stat().st_mtime_ns if web.exists() else 0)


def _collection(name: str, data_dir: str) -> dict[str, Any]:
    """The feature collection of layer ``name``: from the build's web geometry when the folder has it (only
    encoding left), else computed here (data built by an earlier version)."""
    inputs, builder = BUILDERS[name]
    frames = [load_layer(layer, data_dir=data_dir) for layer in inputs]
    if name in FROM_WEB:
        try:
            collection = FROM_WEB[name](load_web_layer(name, data_dir=data_dir), *frames)
        except DataNotBuiltError:
            collection = None
        if collection is not None:
            return collection
        logger.warning("layer %s: no web geometry from the build in this folder, simplified here instead "
                       "(run `voisinmap data build`)", name)
    return builder(*frames)


def _build_encoded(name: str, data_dir: str) -> EncodedLayer:
    collection = _collection(name, data_dir)
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
    return _encode(name, str(folder), _version(name, folder))


def layer_url(name: str) -> str:
    """URL of a layer (with the data version, so a rebuilt layer gets a new URL and no stale cache)."""
    if name not in BUILDERS:
        raise ValueError(f"name: expected one of {sorted(BUILDERS)}, got {name!r}")
    folder = settings.data_path()
    version = _version(name, folder)
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
