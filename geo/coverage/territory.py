"""Where a door visit may lie: France's land, from the département polygons, with a margin for the coast.

:func:`france_territory` turns the départements layer (:func:`geo.load.load_departements`, passed in by the
caller: this module does no I/O) into a :class:`Territory`: each polygon simplified (100 m) and buffered by
``buffer_m`` (1 km by default, so that a building on the waterfront or a point a few metres off a
simplified coastline still counts), in a local equirectangular frame so that the margin is in metres at
every latitude, then indexed in an STRtree. :meth:`Territory.contains` tests many points at once (each
distinct point once). Overseas collectivités that the layer holds without a polygon (Saint-Martin,
Saint-Barthélemy, Saint-Pierre-et-Miquelon, Wallis-et-Futuna, Polynésie, Nouvelle-Calédonie) are tested
against their bounding box.

>>> territory = france_territory(load_departements())      # doctest: +SKIP
>>> territory.contains(np.array([2.3766, 4.3517]), np.array([48.6511, 50.8503]))   # Grigny, Brussels
array([ True, False])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

logger = logging.getLogger(__name__)

_METRES_PER_DEGREE = 111_320.0

#: Bounding boxes (lon_min, lat_min, lon_max, lat_max) of overseas collectivités, used when the layer has
#: no polygon for them.
COLLECTIVITE_BOXES: dict[str, tuple[float, float, float, float]] = {
    "975": (-56.45, 46.74, -56.1, 47.15),  # Saint-Pierre-et-Miquelon
    "977": (-62.96, 17.86, -62.78, 17.97),  # Saint-Barthélemy
    "978": (-63.16, 18.04, -62.96, 18.13),  # Saint-Martin (French part, with some of Sint Maarten)
    "986": (-178.3, -14.4, -176.1, -13.1),  # Wallis-et-Futuna
    "987": (-154.8, -28.0, -134.0, -7.8),  # Polynésie française
    "988": (163.5, -22.8, 168.2, -19.5),  # Nouvelle-Calédonie
}


@dataclass(frozen=True)
class Territory:
    """France's land with a margin, ready for point tests (see :func:`france_territory`).

    Attributes
    ----------
    polygons : numpy.ndarray of shapely geometries
        Buffered département polygons (prepared).
    boxes : tuple of (float, float, float, float)
        Bounding boxes of collectivités without a polygon.
    buffer_m : float
        The margin, in metres.
    """

    polygons: np.ndarray
    boxes: tuple[tuple[float, float, float, float], ...]
    buffer_m: float
    tree: shapely.STRtree = field(repr=False)

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask: each point lies on the territory (NaN gives False).

        Parameters
        ----------
        lon, lat : array-like of float
            WGS84 coordinates in degrees, same shape.

        Returns
        -------
        numpy.ndarray of bool
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if lon.shape != lat.shape:
            raise ValueError(f"lon, lat: expected arrays of the same shape, got {lon.shape} and {lat.shape}")
        out = np.zeros(lon.shape, dtype=bool)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return out
        # each distinct point once: a file knocks on many doors of few buildings
        pairs, inverse = np.unique(np.column_stack([lon[ok], lat[ok]]), axis=0, return_inverse=True)
        inside = np.zeros(len(pairs), dtype=bool)
        for x0, y0, x1, y1 in self.boxes:
            inside |= (pairs[:, 0] >= x0) & (pairs[:, 0] <= x1) & (pairs[:, 1] >= y0) & (pairs[:, 1] <= y1)
        todo = np.flatnonzero(~inside)
        if todo.size and self.polygons.size:
            points = shapely.points(pairs[todo, 0], pairs[todo, 1])
            hit, _ = self.tree.query(points, predicate="within")
            inside[todo[np.unique(hit)]] = True
        out[np.flatnonzero(ok)] = inside[inverse.reshape(-1)]
        return out


def france_territory(departements: pd.DataFrame, *, buffer_m: float = 1000.0,
                     simplify_m: float = 100.0) -> Territory:
    """Build the :class:`Territory` of France from the département polygons.

    Parameters
    ----------
    departements : geopandas.GeoDataFrame
        The départements layer (:func:`geo.load.load_departements`): ``code`` and ``geometry`` in EPSG:4326;
        rows without a geometry fall back on :data:`COLLECTIVITE_BOXES`.
    buffer_m : float
        Margin around the land, in metres (the coast, and points just across a simplified border).
    simplify_m : float
        Simplification tolerance applied before the buffer, in metres (smaller than ``buffer_m``).

    Returns
    -------
    Territory
    """
    if not isinstance(departements, pd.DataFrame) or "geometry" not in departements.columns \
            or "code" not in departements.columns:
        got = list(departements.columns) if isinstance(departements, pd.DataFrame) else type(departements).__name__
        raise ValueError(f"departements: expected the départements layer with 'code' and 'geometry' "
                         f"(geo.load.load_departements()), got {got}")
    crs = getattr(departements, "crs", None)
    if crs is not None and crs.to_epsg() != 4326:
        raise ValueError(f"departements: expected EPSG:4326 (lon/lat), got {crs}")
    if not buffer_m > 0:
        raise ValueError(f"buffer_m: expected a positive number of metres, got {buffer_m}")
    if not 0 <= simplify_m < buffer_m:
        raise ValueError(f"simplify_m: expected a number of metres in [0, buffer_m={buffer_m}), got {simplify_m}")
    geoms = np.asarray(departements.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    codes = departements["code"].astype("str").to_numpy()
    boxes = tuple(COLLECTIVITE_BOXES[c] for c in codes[~present] if c in COLLECTIVITE_BOXES)
    geoms = geoms[present]
    if geoms.size:
        # a local equirectangular frame per polygon: x scaled by cos(latitude) makes degrees isotropic
        scale = np.cos(np.radians(shapely.get_y(shapely.centroid(geoms))))
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        flat = shapely.set_coordinates(geoms.copy(), coords * np.column_stack([scale[index], np.ones(len(index))]))
        flat = shapely.simplify(flat, simplify_m / _METRES_PER_DEGREE)
        grown = shapely.buffer(flat, buffer_m / _METRES_PER_DEGREE, quad_segs=2)
        coords, index = shapely.get_coordinates(grown, return_index=True)
        geoms = shapely.set_coordinates(grown, coords / np.column_stack([scale[index], np.ones(len(index))]))
        shapely.prepare(geoms)
    logger.info("territory: %d polygons (margin %.0f m), %d boxes", geoms.size, buffer_m, len(boxes))
    return Territory(polygons=geoms, boxes=boxes, buffer_m=float(buffer_m), tree=shapely.STRtree(geoms))
