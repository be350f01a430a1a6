"""Geometry of the web map's layers, computed once by the national build rather than by each server start.

The browser draws the QPV, the départements and régions, and the candidate districts from layers simplified
for the screen. Simplifying them is the longest part of a server's first start on a new build (about four
seconds of geometry work on the national data), and its result depends only on the processed data: the
build (:func:`geo.build.build`) computes it with the processed layers and writes it beside them
(:data:`geo.schema.WEB_LAYERS`); the app (:mod:`app.layers`) only encodes it.

* ``qpv``: every QPV's polygons simplified by :func:`geo.screen_simplify.simplify_for_zoom`, at most
  :data:`QPV_MAX_ERROR_PX` pixel off at zoom :data:`QPV_EXACT_ZOOM`, coordinates on a grid of
  :data:`PRECISION` decimals; keyed by ``code_qp``, same rows and order as the processed layer;
* ``departements`` and ``regions``: the outlines (rows without geometry, the COM, left out) simplified as a
  coverage with a tolerance of :data:`ADMIN_TOLERANCE_M` metres (:func:`geo.webgeo.simplify_coverage`);
* ``districts``: the candidate districts of two QPV or more (:func:`geo.siting.districts`), as the convex
  hull of their QPV, with :data:`DISTRICT_PROPERTIES`.

Pure: frames in, frames out.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import shapely

from geo import screen_simplify, webgeo

logger = logging.getLogger(__name__)

#: The QPV polygons look like the source up to this zoom (Leaflet's 12: a city on screen)...
QPV_EXACT_ZOOM = 12
#: ... where no outline moves by more than this many pixels (under a pixel: about 23 m in Paris).
QPV_MAX_ERROR_PX = 0.9
#: Coordinates keep 4 decimals (about 10 m, a third of a pixel at zoom 12), the precision of the QPV source file.
PRECISION = 4
#: Simplification tolerance of the administrative outlines, in metres.
ADMIN_TOLERANCE_M = {"departements": 500.0, "regions": 500.0}
#: What the district hulls show (size and tooltip).
DISTRICT_PROPERTIES: tuple[str, ...] = ("name", "region", "n_qpv", "population", "npnru_count")
#: Web layer name -> the processed layer it is made from.
SOURCES: dict[str, str] = {"qpv": "qpv", "departements": "departements", "regions": "regions",
                           "districts": "qpv"}


def qpv_geometry(qpv: pd.DataFrame) -> gpd.GeoDataFrame:
    """The QPV polygons for the screen: ``code_qp`` and the simplified geometry, rows in ``qpv``'s order."""
    geometry = screen_simplify.simplify_for_zoom(qpv.geometry, zoom=QPV_EXACT_ZOOM,
                                                 max_error_px=QPV_MAX_ERROR_PX, grid_decimals=PRECISION)
    return gpd.GeoDataFrame({"code_qp": qpv["code_qp"].to_numpy()}, geometry=list(geometry), crs="EPSG:4326")


def admin_geometry(frame: pd.DataFrame, *, tolerance_m: float) -> gpd.GeoDataFrame:
    """Région or département outlines simplified as one coverage (rows without geometry left out)."""
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    geometry = webgeo.simplify_coverage(frame.geometry, tolerance_m=tolerance_m)
    return gpd.GeoDataFrame({"code": frame["code"].to_numpy()}, geometry=list(geometry), crs="EPSG:4326")


def district_hulls(qpv: pd.DataFrame) -> gpd.GeoDataFrame:
    """Candidate districts of two QPV or more, as the convex hull of their QPV, with
    :data:`DISTRICT_PROPERTIES`."""
    from geo import siting

    frame = siting.districts(qpv)
    frame = frame[frame["n_qpv"] >= 2]
    hulls = shapely.convex_hull(frame.geometry.to_numpy())
    columns = {name: frame[name].to_numpy() for name in DISTRICT_PROPERTIES}
    return gpd.GeoDataFrame(columns, geometry=list(hulls), crs="EPSG:4326")


def web_layers(layers: dict[str, pd.DataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Every web layer of :data:`SOURCES`, from the processed layers.

    Parameters
    ----------
    layers : dict of DataFrame
        Processed layers keyed as :data:`geo.schema.LAYERS` (at least ``qpv``, ``departements``, ``regions``).

    Returns
    -------
    dict of GeoDataFrame
        Keyed as :data:`geo.schema.WEB_LAYERS`.

    Raises
    ------
    KeyError
        When ``layers`` lacks a processed layer a web layer is made from.
    """
    missing = sorted(set(SOURCES.values()) - set(layers))
    if missing:
        raise KeyError(f"layers: expected the processed layers {sorted(set(SOURCES.values()))}, missing {missing}")
    return {
        "qpv": qpv_geometry(layers["qpv"]),
        "departements": admin_geometry(layers["departements"], tolerance_m=ADMIN_TOLERANCE_M["departements"]),
        "regions": admin_geometry(layers["regions"], tolerance_m=ADMIN_TOLERANCE_M["regions"]),
        "districts": district_hulls(layers["qpv"]),
    }
