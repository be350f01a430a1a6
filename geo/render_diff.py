"""How differently two polygon layers look once drawn on a web map: pixels that change, outline shift.

To show that a simplified layer looks like the original at a zoom, both are drawn over the same screen
window (``width`` x ``height`` pixels centred on a place, Web Mercator at ``zoom``, :mod:`geo.webmercator`)
and compared two ways:

* **pixels**: each layer is rasterised (Pillow's polygon fill, ``supersample`` x ``supersample`` samples
  per screen pixel, so a pixel has a covered fraction like an anti-aliased canvas) for its fill and for
  its one-pixel outline; a screen pixel *differs* when its covered fraction changes by half a pixel or
  more. The share is taken over the pixels either layer draws. (Pillow also fills the samples that lie
  on an edge, one sample of outward bias, the same for both layers.)
* **outline shift**: the exact area between the two layers (symmetric difference, in square pixels)
  divided by the length of the original outline: the mean distance, in pixels, by which an outline moved.

Pillow does the rasterisation; the comparison around it is a few array operations, written here because
no library compares two vector layers as a map draws them. Pure: geometries in, numbers out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from geo import webmercator

logger = logging.getLogger(__name__)

#: A screen pixel differs when its covered fraction changes by at least this much.
PIXEL_THRESHOLD = 0.5


@dataclass(frozen=True)
class RenderDiff:
    """The comparison of two layers over one screen window (pixels at the compared zoom)."""

    drawn_pixels: int  # pixels the fill of either layer touches
    fill_differing: int  # pixels whose fill coverage changes by PIXEL_THRESHOLD or more
    outline_differing: int  # the same for the one-pixel outlines
    symmetric_difference_px2: float
    outline_length_px: float

    @property
    def fill_share(self) -> float:
        """Share of the drawn pixels whose fill differs."""
        return self.fill_differing / self.drawn_pixels if self.drawn_pixels else 0.0

    @property
    def outline_share(self) -> float:
        """Differing outline pixels, as a share of the drawn pixels."""
        return self.outline_differing / self.drawn_pixels if self.drawn_pixels else 0.0

    @property
    def mean_shift_px(self) -> float:
        """Mean outline displacement in pixels (area between the layers / outline length)."""
        return self.symmetric_difference_px2 / self.outline_length_px if self.outline_length_px else 0.0


def _rings(geom: Any) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    return [(np.asarray(p.exterior.coords), [np.asarray(r.coords) for r in p.interiors])
            for p in shapely.get_parts(geom) if isinstance(p, shapely.Polygon) and not p.is_empty]


def rasterize(geoms: Sequence[Any], window: shapely.Polygon, *, supersample: int = 4,
              outline: bool = False) -> np.ndarray:
    """Covered fraction of each screen pixel of ``window`` by polygons already in screen pixels.

    Parameters
    ----------
    geoms : sequence of shapely (Multi)Polygon
        Polygons in pixel coordinates (:func:`geo.webmercator.to_pixels`).
    window : shapely.Polygon
        The screen rectangle (:func:`geo.webmercator.pixel_window`).
    supersample : int, default 4
        Samples per pixel along each axis (1 to 16).
    outline : bool, default False
        Draw the outlines (one pixel wide) instead of the fills.

    Returns
    -------
    numpy.ndarray of float, shape (height, width)
        Values from 0 to 1.

    Raises
    ------
    ValueError
        When ``supersample`` is not an integer from 1 to 16.
    """
    from PIL import Image, ImageDraw

    if isinstance(supersample, bool) or not isinstance(supersample, int) or not 1 <= supersample <= 16:
        raise ValueError(f"supersample: expected an integer from 1 to 16, got {supersample!r}")
    x0, y0, x1, y1 = window.bounds
    width, height = round(x1 - x0), round(y1 - y0)
    s = supersample
    mask = np.zeros((height * s, width * s), dtype=bool)
    arr = np.asarray(geoms, dtype=object)
    for geom in arr[shapely.intersects(arr, window)]:
        for exterior, holes in _rings(geom):
            gx0, gy0 = np.floor((exterior.min(axis=0) - (x0, y0)) * s).astype(int) - s
            gx1, gy1 = np.ceil((exterior.max(axis=0) - (x0, y0)) * s).astype(int) + s
            cx0, cy0, cx1, cy1 = max(gx0, 0), max(gy0, 0), min(gx1, width * s), min(gy1, height * s)
            if cx0 >= cx1 or cy0 >= cy1:
                continue
            image = Image.new("1", (cx1 - cx0, cy1 - cy0), 0)
            draw = ImageDraw.Draw(image)
            offset = np.array([x0 + cx0 / s, y0 + cy0 / s])
            for k, ring in enumerate([exterior, *holes]):
                points = [tuple(p) for p in ((ring[:, :2] - offset) * s)]
                if outline:
                    draw.line(points, fill=1, width=s)
                else:
                    draw.polygon(points, fill=0 if k else 1)
            mask[cy0:cy1, cx0:cx1] |= np.asarray(image, dtype=bool)
    return mask.reshape(height, s, width, s).mean(axis=(1, 3))


def compare_rendering(
    original: Sequence[Any], other: Sequence[Any], *, lon: float, lat: float, zoom: float, width: int = 1400,
    height: int = 900, supersample: int = 4,
) -> RenderDiff:
    """Compare two polygon layers (lon/lat) as a web map draws them, over one screen window.

    Parameters
    ----------
    original, other : sequence of shapely (Multi)Polygon
        The two layers in EPSG:4326.
    lon, lat : float
        Centre of the screen window, in degrees.
    zoom : float
        Web map zoom level.
    width, height : int, default 1400 x 900
        Size of the window in screen pixels.
    supersample : int, default 4
        See :func:`rasterize`.

    Returns
    -------
    RenderDiff
        Differing pixels (fill and outline) and the mean outline shift.

    Raises
    ------
    ValueError
        On a bad ``zoom``, window size or ``supersample``.
    """
    window = webmercator.pixel_window(lon, lat, zoom=zoom, width=width, height=height)
    a = np.asarray(webmercator.to_pixels(np.asarray(original, dtype=object), zoom=zoom), dtype=object)
    b = np.asarray(webmercator.to_pixels(np.asarray(other, dtype=object), zoom=zoom), dtype=object)
    fill_a, fill_b = (rasterize(g, window, supersample=supersample) for g in (a, b))
    line_a, line_b = (rasterize(g, window, supersample=supersample, outline=True) for g in (a, b))
    union_a = shapely.intersection(shapely.union_all(shapely.make_valid(a[shapely.intersects(a, window)])), window)
    union_b = shapely.intersection(shapely.union_all(shapely.make_valid(b[shapely.intersects(b, window)])), window)
    outline = shapely.intersection(shapely.boundary(union_a), window)
    diff = RenderDiff(
        drawn_pixels=int(((fill_a > 0) | (fill_b > 0)).sum()),
        fill_differing=int((np.abs(fill_a - fill_b) >= PIXEL_THRESHOLD).sum()),
        outline_differing=int((np.abs(line_a - line_b) >= PIXEL_THRESHOLD).sum()),
        symmetric_difference_px2=float(shapely.symmetric_difference(union_a, union_b).area),
        outline_length_px=float(outline.length),
    )
    logger.debug("compare_rendering at (%.3f, %.3f) z%s: %s", lon, lat, zoom, diff)
    return diff
