"""Overseas insets of the public map: the régions outside metropolitan France that hold QPV.

The QPV 2024 include quartiers in the five overseas régions (Guadeloupe, Martinique, Guyane, La Réunion,
Mayotte) and in two overseas collectivities (Saint-Martin, Polynésie française). The public map draws
metropolitan France at one scale and each of those territories in a small frame of its own under it,
framed on its QPV (Polynésie française spans 2,000 km of ocean; its QPV lie in Tahiti and Moorea).
Which territories appear is read from the data, never listed in the code.

:func:`overseas_insets` is pure (frames in, projected SVG paths out); the page draws the published QPV
and sites of each territory in its frame with :meth:`Inset.project`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from shapely.geometry import box as shapely_box

#: Frame of the insets under the metropolitan map (SVG user units): left, top, width, height, gap, per row.
ORIGIN = (4.0, 528.0)
FRAME = (124.0, 84.0)
GAP = 6.0
PER_ROW = 4
#: Margin around a territory's QPV, in degrees.
MARGIN = 0.12


@dataclass(frozen=True)
class Inset:
    """One overseas territory in its frame.

    Attributes
    ----------
    code, name : str
        Région (or collectivity) code and name.
    box : tuple of float
        ``west, south, east, north`` (degrees) drawn in the frame.
    frame : tuple of float
        ``x, y, width, height`` of the frame (SVG user units).
    path : str
        SVG ``d`` of the territory's outline in the frame (empty without outline).
    """

    code: str
    name: str
    box: tuple[float, float, float, float]
    frame: tuple[float, float, float, float]
    path: str

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """SVG position of a point of the territory in the frame."""
        west, south, east, north = self.box
        x0, y0, width, height = self.frame
        shrink = math.cos(math.radians((south + north) / 2))
        scale = min(width / max((east - west) * shrink, 1e-6), height / max(north - south, 1e-6))
        dx = (width - (east - west) * shrink * scale) / 2
        dy = (height - (north - south) * scale) / 2
        return round(x0 + dx + (lon - west) * shrink * scale, 1), round(y0 + dy + (north - lat) * scale, 1)


def _frame(index: int) -> tuple[float, float, float, float]:
    row, col = divmod(index, PER_ROW)
    return (ORIGIN[0] + col * (FRAME[0] + GAP), ORIGIN[1] + row * (FRAME[1] + GAP), *FRAME)


def height(count: int) -> float:
    """Height of the map drawing with ``count`` insets (the metropolitan map, then the rows of frames)."""
    rows = math.ceil(count / PER_ROW)
    return ORIGIN[1] + rows * (FRAME[1] + GAP) if rows else ORIGIN[1] - 8


def overseas_insets(regions: pd.DataFrame | None, qpv: pd.DataFrame | None) -> list[Inset]:
    """The insets of the territories outside metropolitan France that hold QPV.

    Parameters
    ----------
    regions : geopandas.GeoDataFrame or None
        Régions with ``code``, ``nom``, ``zone`` (``"metro"`` for metropolitan France) and ``geometry``.
    qpv : pandas.DataFrame or None
        QPV with ``insee_reg``, ``rep_lon`` and ``rep_lat`` (a point inside each quartier); with a
        ``geometry`` column, a territory whose outline is missing (an overseas collectivity) shows the
        outlines of its QPV instead.

    Returns
    -------
    list of Inset
        In code order; empty when either frame is missing.

    Raises
    ------
    ValueError
        When a frame lacks one of the columns above.
    """
    if regions is None or qpv is None or not len(regions) or not len(qpv):
        return []
    for name, frame, needed in (("regions", regions, ("code", "nom", "zone", "geometry")),
                                ("qpv", qpv, ("insee_reg", "rep_lon", "rep_lat"))):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: expected the columns {missing}, got {list(frame.columns)}")
    overseas = regions[regions["zone"].astype(str) != "metro"].sort_values("code")
    points = qpv.assign(insee_reg=qpv["insee_reg"].astype(str))
    out: list[Inset] = []
    for row in overseas.itertuples(index=False):
        mine = points[points["insee_reg"] == str(row.code)]
        if mine.empty:
            continue
        lons, lats = mine["rep_lon"].astype(float).to_numpy(), mine["rep_lat"].astype(float).to_numpy()
        box = (float(lons.min()) - MARGIN, float(lats.min()) - MARGIN, float(lons.max()) + MARGIN,
               float(lats.max()) + MARGIN)
        inset = Inset(str(row.code), str(row.nom), box, _frame(len(out)), "")
        shape = row.geometry
        if (shape is None or shape.is_empty) and "geometry" in mine.columns:
            shape = mine.geometry.union_all()  # a collectivity without outline: its QPV drawn instead
        out.append(Inset(inset.code, inset.name, box, inset.frame, _outline(inset, shape)))
    return out


def _outline(inset: Inset, geometry: object) -> str:
    """The territory's outline clipped to the inset's box, simplified to ~500 m, as SVG path data."""
    if geometry is None or geometry.is_empty:
        return ""
    clipped = geometry.intersection(shapely_box(*inset.box)).simplify(0.005, preserve_topology=True)
    parts = []
    for poly in getattr(clipped, "geoms", [clipped]):
        exterior = getattr(poly, "exterior", None)
        if exterior is None:
            continue
        ring = np.asarray(exterior.coords)
        if len(ring) < 4:
            continue
        parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in (inset.project(a, b) for a, b in ring)) + "Z")
    return "".join(parts)
