"""Door views as map features: H3 cells as hexagons and buildings as points, in GeoJSON.

Written by the project's one GeoJSON encoder, :func:`geo.webgeo.feature_collection`.
"""

from __future__ import annotations

from collections.abc import Sequence

import h3
import pandas as pd
import shapely

from geo import webgeo


def cells_geojson(cells: pd.DataFrame, *, properties: Sequence[str] = ("visits", "ouvert", "open_rate",
                                                                        "households_reached")) -> dict:
    """H3 cells as a GeoJSON FeatureCollection of hexagons (lon/lat), with ``cell`` and the chosen properties.

    Written by the project's one encoder, :func:`geo.webgeo.feature_collection` (missing values ``null``).
    """
    if "cell" not in cells.columns:
        raise ValueError(f"cells: expected a 'cell' column (aggregate_cells), got {list(cells.columns)}")
    hexagons = [{"type": "Polygon", "coordinates": [_ring(cell)]} for cell in cells["cell"].to_numpy()]
    return webgeo.feature_collection(cells, properties=["cell", *properties], geometry=hexagons, decimals=None,
                                     missing="null")


def _ring(cell: str) -> list[list[float]]:
    """Closed lon/lat ring of an H3 cell, to 6 decimals (10 cm)."""
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return ring


def points_geojson(frame: pd.DataFrame, *, properties: Sequence[str]) -> dict:
    """Rows with ``lon, lat`` as a GeoJSON FeatureCollection of points with the chosen properties.

    Dates are written to the day (``2025-03-04``); written by :func:`geo.webgeo.feature_collection`
    (missing values ``null``).
    """
    missing = [c for c in ("lon", "lat", *properties) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected the columns lon, lat and {list(properties)}, missing {missing}")
    days = {p: frame[p].dt.strftime("%Y-%m-%d") for p in properties
            if pd.api.types.is_datetime64_any_dtype(frame[p])}
    points = shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return webgeo.feature_collection(frame.assign(**days), properties=list(properties), geometry=points,
                                     decimals=None, coordinate_decimals=6, missing="null")
