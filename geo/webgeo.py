"""Geometry for web maps: topology-preserving simplification and compact encoding (geobuf).

The national layers are drawn in the browser. To send them once and small:

1. :func:`clean_coverage` turns the polygons into a valid *coverage* (no overlaps, shared edges with
   identical vertices); the source polygons, rounded to about 10 m, overlap here and there.
2. :func:`simplify_coverage` simplifies that coverage with :func:`shapely.coverage_simplify` and a
   tolerance in metres: shared edges are simplified once, so neighbours keep a common border (no gaps, no
   slivers). The QPV layer uses :func:`geo.screen_simplify.simplify_for_zoom` instead, whose bound is in
   screen pixels at a zoom.
3. :func:`feature_collection` keeps only the properties the browser needs; :func:`encode_geobuf`
   encodes the result with geobuf (delta-encoded integer coordinates in protobuf).

:func:`feature_collection` is also the one GeoJSON encoder of the project (map layers, Terrain cells and
doors, file exports, HTML maps): one conversion of values, and missing values always ``null`` (or left
out, for the layers sent to the browser).

Everything here is pure: arrays and frames in, arrays, dicts and bytes out.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import geobuf
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

logger = logging.getLogger(__name__)

#: metres per degree of latitude (used to express tolerances in metres for lon/lat data)
METRES_PER_DEGREE = 111_320.0

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def _as_array(geoms: Iterable[Any], name: str) -> np.ndarray:
    arr = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d sequence of geometries, got shape {arr.shape}")
    if len(arr) and not all(isinstance(g, shapely.Geometry) for g in arr):
        raise ValueError(f"{name}: expected shapely geometries, got {sorted({type(g).__name__ for g in arr})}")
    kinds = set(shapely.get_type_id(arr).tolist()) - {int(k) for k in _POLYGONAL}
    if kinds:
        raise ValueError(f"{name}: expected Polygon or MultiPolygon geometries, got type ids {sorted(kinds)}")
    if shapely.is_empty(arr).any():
        raise ValueError(f"{name}: expected non-empty geometries, got {int(shapely.is_empty(arr).sum())} empty")
    return arr


def clean_coverage(geoms: Sequence[Any], *, grid_size: float = 1e-6) -> np.ndarray:
    """Resolve overlaps so that the polygons form a valid coverage.

    All boundaries are noded together on a grid of ``grid_size``, polygonized into faces, and each face
    goes to the polygon of lowest index that contains it (so an overlap is kept by one polygon only).
    Faces outside every polygon (holes, gaps) stay empty.

    Parameters
    ----------
    geoms : sequence of shapely (Multi)Polygon
        Polygons, e.g. a GeoSeries; order decides who keeps an overlap.
    grid_size : float, default 1e-6
        Precision grid of the noding, in coordinate units (1e-6 degree is about 0.1 m).

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order; :func:`shapely.coverage_is_valid` holds on the result.

    Raises
    ------
    ValueError
        When ``geoms`` holds non-polygonal or empty geometries, ``grid_size`` is not positive, or a polygon
        vanishes (it lies entirely inside a polygon of lower index).
    """
    arr = _as_array(geoms, "geoms")
    if not grid_size > 0:
        raise ValueError(f"grid_size: expected a positive number, got {grid_size!r}")
    if len(arr) == 0:
        return arr
    linework = shapely.union_all(shapely.boundary(arr), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inside = shapely.point_on_surface(faces)
    face_idx, geom_idx = shapely.STRtree(arr).query(inside, predicate="within")
    order = np.lexsort((geom_idx, face_idx))
    face_idx, geom_idx = face_idx[order], geom_idx[order]
    faces_owned, first = np.unique(face_idx, return_index=True)
    owners = geom_idx[first]
    out = np.empty(len(arr), dtype=object)
    for k in range(len(arr)):
        mine = faces[faces_owned[owners == k]]
        if len(mine) == 0:
            raise ValueError(f"geoms: polygon {k} lies entirely inside a polygon of lower index")
        out[k] = shapely.coverage_union_all(mine)
    logger.debug("clean_coverage: %d polygons, %d faces", len(arr), len(faces))
    return out


def simplify_coverage(
    geoms: Sequence[Any], *, tolerance_m: float, metres_per_unit: float = METRES_PER_DEGREE,
    grid_size: float = 1e-6,
) -> np.ndarray:
    """Simplify polygons with their shared borders kept shared (topology preserved).

    Parameters
    ----------
    geoms : sequence of shapely (Multi)Polygon
        Polygons in a lon/lat CRS (or any CRS, with ``metres_per_unit``).
    tolerance_m : float
        Simplification tolerance in metres (Visvalingam-Whyatt, as :func:`shapely.coverage_simplify`).
    metres_per_unit : float, default 111,320
        Metres per coordinate unit; the default approximates a degree, so the tolerance is a little
        generous in longitude away from the equator, which is harmless for display.
    grid_size : float, default 1e-6
        Passed to :func:`clean_coverage`.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order, valid, non-empty, forming a valid coverage.

    Raises
    ------
    ValueError
        When ``tolerance_m`` is negative or not finite, or ``geoms`` is not polygonal.
    """
    if not (isinstance(tolerance_m, int | float) and math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise ValueError(f"tolerance_m: expected a non-negative number of metres, got {tolerance_m!r}")
    cleaned = clean_coverage(geoms, grid_size=grid_size)
    if tolerance_m == 0 or len(cleaned) == 0:
        return cleaned
    out = shapely.coverage_simplify(cleaned, tolerance_m / metres_per_unit)
    return np.asarray(out, dtype=object)


#: How a feature writes a missing value: ``"null"`` (the key with JSON null) or ``"omit"`` (no key).
MISSING_MODES: tuple[str, ...] = ("null", "omit")


def is_missing(value: Any) -> bool:
    """Whether ``value`` is a missing value of a GeoJSON property.

    Missing means: ``None``, ``pandas.NA``, ``pandas.NaT`` or a NaT datetime64, and a float NaN or
    infinity (JSON has no number for them). Everything else, including ``""``, ``0`` and ``False``, is a
    value.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def json_value(value: Any, *, decimals: int | None = None) -> Any:
    """``value`` as a JSON property value: ``None`` when missing (:func:`is_missing`), else a plain Python
    ``bool``, ``int``, ``float`` or ``str``.

    Parameters
    ----------
    value : object
        A cell of a frame (numpy or pandas scalars included).
    decimals : int, optional
        Floats are rounded to this many decimals and integral results become ints; ``None`` keeps
        floats as they are.

    Returns
    -------
    None, bool, int, float or str
        Dates and times are written in ISO 8601 (``2025-03-04`` or ``2025-03-04T10:00:00``).
    """
    if is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if decimals is None:
            return float(value)
        rounded = round(float(value), decimals)
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.date):  # datetime, date and pandas.Timestamp
        return value.isoformat()
    return str(value)


def _geometries(frame: pd.DataFrame, geometry: Sequence[Any] | None, coordinate_decimals: int | None) -> np.ndarray:
    if geometry is None and not hasattr(frame, "geometry"):
        raise ValueError("geometry: expected geometries for a frame without an active geometry, got none")
    geoms = np.empty(len(frame) if geometry is None else len(geometry), dtype=object)
    geoms[:] = list(frame.geometry.values if geometry is None else geometry)
    if len(geoms) != len(frame):
        raise ValueError(f"geometry: expected {len(frame)} geometries, got {len(geoms)}")
    shapes = np.fromiter((isinstance(g, shapely.Geometry) for g in geoms), dtype=bool, count=len(geoms))
    if coordinate_decimals is not None and shapes.any():
        geoms[shapes] = shapely.transform(geoms[shapes], lambda xy: np.round(xy, coordinate_decimals))
    return geoms


def feature_collection(
    frame: pd.DataFrame, *, properties: Sequence[str], geometry: Sequence[Any] | None = None,
    id_column: str | None = None, decimals: int | None = 1, coordinate_decimals: int | None = None,
    missing: str = "omit",
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame`` with only ``properties``: the one GeoJSON encoder.

    Web layers (:mod:`app.layers`, the Terrain page), file exports (:func:`geo.export.tables.to_geojson_bytes`)
    and HTML maps (:mod:`geo.export.html_map`) all write their features here, so values are converted one
    way (:func:`json_value`) and a missing value (:func:`is_missing`) is always JSON ``null`` -- or, with
    ``missing="omit"``, no key at all, which JavaScript reads the same way (``value == null``); the
    layers sent to the browser use it to stay small.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or pandas.DataFrame
        Rows to write; its active geometry is used unless ``geometry`` is given.
    properties : sequence of str
        Columns to keep, in this order.
    geometry : sequence of shapely geometries or GeoJSON geometry dicts, optional
        Geometries to write instead of the frame's (e.g. the simplified ones), same length; dicts are
        written as given.
    id_column : str, optional
        Column copied to each feature's ``id`` (as text).
    decimals : int, optional, default 1
        Floats are rounded to this many decimals (integral values become ints); ``None`` keeps them.
    coordinate_decimals : int, optional
        Coordinates of shapely geometries are rounded to this many decimals (5 is about a metre in
        lon/lat); default as given.
    missing : {"omit", "null"}, default "omit"
        Leave missing values out of a feature's properties, or write them as ``null``.

    Returns
    -------
    dict
        The FeatureCollection.

    Raises
    ------
    ValueError
        When a property column is absent, ``geometry`` has another length, or ``missing`` is unknown.
    """
    missing_cols = [c for c in properties if c not in frame.columns]
    if missing_cols:
        raise ValueError(f"properties: expected columns of the frame, got unknown {missing_cols}")
    if missing not in MISSING_MODES:
        raise ValueError(f"missing: expected one of {', '.join(MISSING_MODES)}, got {missing!r}")
    geoms = _geometries(frame, geometry, coordinate_decimals)
    columns = {c: frame[c].tolist() for c in properties}
    ids = frame[id_column].tolist() if id_column else None
    keep_null = missing == "null"
    features = []
    for i, geom in enumerate(geoms):
        props = {}
        for c in properties:
            value = json_value(columns[c][i], decimals=decimals)
            if value is not None or keep_null:
                props[c] = value
        shape = mapping(geom) if isinstance(geom, shapely.Geometry) else geom
        feature: dict[str, Any] = {"type": "Feature", "geometry": shape, "properties": props}
        if ids is not None:
            feature["id"] = str(ids[i])
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def encode_geobuf(collection: dict[str, Any], *, precision: int = 5) -> bytes:
    """Encode a FeatureCollection as geobuf.

    Parameters
    ----------
    collection : dict
        A GeoJSON FeatureCollection.
    precision : int, default 5
        Decimal digits kept on coordinates (5 is about 1 m in lon/lat).

    Returns
    -------
    bytes
        The geobuf message (decode in the browser with dash-leaflet's ``format="geobuf"``).

    Raises
    ------
    ValueError
        When ``precision`` is outside 0..9 or ``collection`` is not a FeatureCollection.
    """
    if not (isinstance(precision, int) and 0 <= precision <= 9):
        raise ValueError(f"precision: expected an integer from 0 to 9, got {precision!r}")
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        got = collection.get("type") if isinstance(collection, dict) else type(collection).__name__
        raise ValueError(f"collection: expected a GeoJSON FeatureCollection, got {got!r}")
    return geobuf.encode(collection, precision)


def _nice(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return round(value, max(digits, 0)) if digits > 0 else float(round(value, digits))


def class_breaks(values: Sequence[float], *, n_classes: int = 6) -> list[float]:
    """Quantile class limits for a choropleth, rounded to two significant digits.

    Parameters
    ----------
    values : sequence of float
        Indicator values; missing values (NaN) are ignored.
    n_classes : int, default 6
        Number of classes wanted (2 to 12).

    Returns
    -------
    list of float
        Strictly increasing inner limits (at most ``n_classes - 1``): a value ``v`` falls in class
        ``i`` = number of limits ``<= v``. Fewer limits when the values have few distinct levels.

    Raises
    ------
    ValueError
        When ``n_classes`` is outside 2..12 or no value is finite.
    """
    if not (isinstance(n_classes, int) and 2 <= n_classes <= 12):
        raise ValueError(f"n_classes: expected an integer from 2 to 12, got {n_classes!r}")
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        raise ValueError("values: expected at least one finite value, got none")
    qs = np.quantile(arr, np.arange(1, n_classes) / n_classes)
    out: list[float] = []
    for q in qs:
        nice = _nice(float(q))
        if nice > arr.min() and (not out or nice > out[-1]):
            out.append(nice)
    return out
