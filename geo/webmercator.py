"""The pixel grid of a web map: lon/lat to and from Web Mercator pixels at a zoom level.

Leaflet (and every XYZ tile map) draws the world at zoom ``z`` as a square of ``256 * 2**z`` pixels in
spherical Web Mercator (EPSG:3857). Expressing geometry in those pixels tells how it looks on screen: a
tolerance of one pixel at zoom 12 is about 38 m at the equator and 26 m in Paris. The formulas are the
closed-form spherical Mercator ones (exact for EPSG:3857), vectorised over shapely coordinates; pyproj
would give the metres but not the screen grid.

Pure functions: geometries in, geometries out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

#: Leaflet's tile size in pixels.
TILE_SIZE = 256
#: Web Mercator's latitude limit (the map is a square).
MAX_LATITUDE = 85.05112878
#: Equatorial circumference of the WGS 84 sphere used by Web Mercator, in metres.
EARTH_CIRCUMFERENCE_M = 2 * math.pi * 6_378_137.0


def _check_zoom(zoom: float) -> float:
    if isinstance(zoom, bool) or not isinstance(zoom, int | float) or not math.isfinite(zoom) or not 0 <= zoom <= 24:
        raise ValueError(f"zoom: expected a number from 0 to 24, got {zoom!r}")
    return float(zoom)


def world_size(zoom: float) -> float:
    """Width (and height) of the whole map at ``zoom``, in pixels."""
    return TILE_SIZE * 2.0 ** _check_zoom(zoom)


def metres_per_pixel(latitude: float, *, zoom: float) -> float:
    """Ground size of one screen pixel at ``latitude`` (degrees) and ``zoom``, in metres."""
    return EARTH_CIRCUMFERENCE_M * math.cos(math.radians(latitude)) / world_size(zoom)


def lonlat_to_pixels(xy: np.ndarray, *, zoom: float) -> np.ndarray:
    """Columns (lon, lat) in degrees to (x, y) pixels at ``zoom`` (y grows southwards, as on screen)."""
    n = world_size(zoom)
    xy = np.asarray(xy, dtype=float)
    lat = np.radians(np.clip(xy[:, 1], -MAX_LATITUDE, MAX_LATITUDE))
    x = (xy[:, 0] + 180.0) / 360.0 * n
    y = (1.0 - np.arcsinh(np.tan(lat)) / math.pi) / 2.0 * n
    return np.column_stack([x, y])


def pixels_to_lonlat(xy: np.ndarray, *, zoom: float) -> np.ndarray:
    """Columns (x, y) in pixels at ``zoom`` back to (lon, lat) degrees."""
    n = world_size(zoom)
    xy = np.asarray(xy, dtype=float)
    lon = xy[:, 0] / n * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1.0 - 2.0 * xy[:, 1] / n))))
    return np.column_stack([lon, lat])


def to_pixels(geoms: Any, *, zoom: float) -> Any:
    """Shapely geometries (or an array of them) in lon/lat to screen pixels at ``zoom``.

    Parameters
    ----------
    geoms : shapely geometry or array-like of them
        Geometries in EPSG:4326 (lon, lat).
    zoom : float
        Web map zoom level (0 to 24).

    Returns
    -------
    shapely geometry or numpy.ndarray
        Same shape, coordinates in pixels of the whole map at ``zoom``.

    Raises
    ------
    ValueError
        When ``zoom`` is not a number from 0 to 24.
    """
    _check_zoom(zoom)
    return shapely.transform(geoms, lambda xy: lonlat_to_pixels(xy, zoom=zoom))


def from_pixels(geoms: Any, *, zoom: float) -> Any:
    """The inverse of :func:`to_pixels`: pixels at ``zoom`` back to lon/lat geometries."""
    _check_zoom(zoom)
    return shapely.transform(geoms, lambda xy: pixels_to_lonlat(xy, zoom=zoom))


def pixel_window(lon: float, lat: float, *, zoom: float, width: int, height: int) -> shapely.Polygon:
    """The screen rectangle (in pixels at ``zoom``) of a ``width`` x ``height`` map centred on (lon, lat)."""
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise ValueError(f"width, height: expected positive integers, got {width!r}, {height!r}")
    cx, cy = lonlat_to_pixels(np.array([[lon, lat]]), zoom=zoom)[0]
    return shapely.box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
