"""Simplify polygons for the screen: at most a given number of pixels off at a zoom, topology kept.

A layer drawn up to zoom ``z`` needs no detail finer than a pixel at ``z``. :func:`simplify_for_zoom`
works in the screen pixels of that zoom (:mod:`geo.webmercator`), so the error bound is the same on
screen in Lille and in La Réunion:

1. :func:`geo.webgeo.clean_coverage` makes the polygons a valid coverage (no overlaps).
2. Polygons that touch no other one are simplified alone with Douglas-Peucker
   (:func:`shapely.simplify`, topology preserved), whose tolerance bounds the distance to the original
   outline: no point moves more than ``max_error_px``.
3. Groups of touching polygons (neighbouring QPV sharing a street) are simplified together with
   :func:`shapely.coverage_simplify`, so a shared border stays shared (no gap, no sliver). That
   algorithm (Visvalingam-Whyatt) has an area tolerance, not a distance one: each group takes the
   largest of a few tolerances whose result stays within ``max_error_px`` of the original outlines
   (Hausdorff distance), or keeps its cleaned outline.
4. The result is noded again on the grid of the coordinates sent to the browser
   (``grid_decimals``), so that rounding creates no overlap and the layer is a valid coverage exactly
   as the browser decodes it.

shapely has both simplifiers but no bounded-error coverage simplification; the selection of step 3 and
the screen-space frame are this module's own. Pure: geometries in, geometries out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo import webgeo, webmercator

logger = logging.getLogger(__name__)

#: Visvalingam-Whyatt tolerances tried for groups of touching polygons, as multiples of the error bound.
GROUP_TOLERANCES: tuple[float, ...] = (1.5, 1.0, 0.75, 0.5, 0.25)


def touching_groups(geoms: Sequence[Any]) -> np.ndarray:
    """Label of the group of each polygon: polygons that touch or overlap, directly or through others,
    share a label.

    Returns
    -------
    numpy.ndarray of int
        One label per geometry, ``0 .. n_groups - 1``.
    """
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return np.zeros(0, dtype=int)
    left, right = shapely.STRtree(arr).query(arr, predicate="intersects")
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(arr), len(arr)))
    return connected_components(graph, directed=False)[1]


def _simplify_groups(pixels: np.ndarray, labels: np.ndarray, max_error_px: float) -> np.ndarray:
    """Touching polygons (in pixels): per group, the coarsest coverage simplification within the bound."""
    out = pixels.copy()
    pending = np.ones(labels.max() + 1, dtype=bool)
    for factor in GROUP_TOLERANCES:
        simplified = np.asarray(shapely.coverage_simplify(pixels, factor * max_error_px), dtype=object)
        error = shapely.hausdorff_distance(pixels, simplified)
        within = np.ones_like(pending)
        np.logical_and.at(within, labels, error <= max_error_px)
        take = (pending & within)[labels]
        out[take] = simplified[take]
        pending &= ~within
    logger.debug("simplify_for_zoom: %d of %d groups kept their cleaned outline", int(pending.sum()), len(pending))
    return out


def simplify_for_zoom(
    geoms: Sequence[Any], *, zoom: float, max_error_px: float, grid_decimals: int = 4,
) -> np.ndarray:
    """Polygons simplified so that, drawn at ``zoom``, no outline moves more than ``max_error_px``.

    Parameters
    ----------
    geoms : sequence of shapely (Multi)Polygon
        Polygons in lon/lat (EPSG:4326), e.g. a GeoSeries.
    zoom : float
        The largest zoom at which the result must look like the original (a pixel there is the unit of
        ``max_error_px``; at lower zooms the error is smaller on screen).
    max_error_px : float
        Largest displacement of an outline, in screen pixels at ``zoom`` (positive).
    grid_decimals : int, default 4
        Decimal places of the coordinates sent to the browser (4 is about 11 m, a third of a pixel at
        zoom 12); the result is noded on that grid.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order, valid, non-empty, a valid coverage, coordinates on the grid.

    Raises
    ------
    ValueError
        When ``max_error_px`` is not a positive number, ``grid_decimals`` is outside 0..9, ``zoom`` is
        outside 0..24, or ``geoms`` is not polygonal (see :func:`geo.webgeo.clean_coverage`).
    """
    if isinstance(max_error_px, bool) or not isinstance(max_error_px, int | float) or not (
            math.isfinite(max_error_px) and max_error_px > 0):
        raise ValueError(f"max_error_px: expected a positive number of pixels, got {max_error_px!r}")
    if isinstance(grid_decimals, bool) or not isinstance(grid_decimals, int) or not 0 <= grid_decimals <= 9:
        raise ValueError(f"grid_decimals: expected an integer from 0 to 9, got {grid_decimals!r}")
    cleaned = webgeo.clean_coverage(geoms)
    if len(cleaned) == 0:
        return cleaned
    pixels = np.asarray(webmercator.to_pixels(cleaned, zoom=zoom), dtype=object)
    labels = touching_groups(cleaned)
    alone = np.bincount(labels)[labels] == 1
    out = pixels.copy()
    out[alone] = shapely.simplify(pixels[alone], max_error_px, preserve_topology=True)
    if (~alone).any():
        _, group_labels = np.unique(labels[~alone], return_inverse=True)
        out[~alone] = _simplify_groups(pixels[~alone], group_labels, max_error_px)
    lonlat = np.asarray(webmercator.from_pixels(out, zoom=zoom), dtype=object)
    snapped = webgeo.clean_coverage(lonlat, grid_size=10.0 ** -grid_decimals)
    logger.debug("simplify_for_zoom: %d -> %d vertices", int(shapely.get_num_coordinates(cleaned).sum()),
                 int(shapely.get_num_coordinates(snapped).sum()))
    return snapped
