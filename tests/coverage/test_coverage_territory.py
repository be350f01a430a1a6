"""France's land for the coordinate check: a margin in metres, collectivités without polygons, errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geo.coverage.territory import COLLECTIVITE_BOXES, france_territory

METRE_LON_48 = 1 / (111_320 * np.cos(np.radians(48.5)))  # one metre east-west at 48.5° N, in degrees
METRE_LAT = 1 / 111_320


@pytest.fixture
def square() -> gpd.GeoDataFrame:
    """One hand-drawn "département", 0.2° x 0.2° around 48.5° N, and a collectivité without a polygon."""
    return gpd.GeoDataFrame({"code": ["99", "978"], "nom": ["Carré", "Saint-Martin"]},
                            geometry=[box(2.0, 48.4, 2.2, 48.6), None], crs="EPSG:4326")


def test_margin_is_in_metres_in_both_directions(square: gpd.GeoDataFrame) -> None:
    territory = france_territory(square, buffer_m=1000.0)
    east = np.array([2.2 + 500 * METRE_LON_48, 2.2 + 1500 * METRE_LON_48])
    north = np.array([48.6 + 500 * METRE_LAT, 48.6 + 1500 * METRE_LAT])
    assert territory.contains(east, np.array([48.5, 48.5])).tolist() == [True, False]
    assert territory.contains(np.array([2.1, 2.1]), north).tolist() == [True, False]
    assert territory.contains(np.array([2.1, np.nan]), np.array([48.5, 48.5])).tolist() == [True, False]


def test_collectivites_without_polygon_use_their_box(square: gpd.GeoDataFrame) -> None:
    territory = france_territory(square)
    assert territory.boxes == (COLLECTIVITE_BOXES["978"],)
    assert territory.contains(np.array([-63.08, -61.53]), np.array([18.07, 16.24])).tolist() == [True, False]


def test_many_points_each_distinct_point_once(square: gpd.GeoDataFrame) -> None:
    territory = france_territory(square)
    rng = np.random.default_rng(0)
    lon = rng.uniform(1.9, 2.3, 500)
    lat = rng.uniform(48.3, 48.7, 500)
    idx = rng.integers(0, 500, 20_000)
    inside = territory.contains(lon[idx], lat[idx])
    assert np.array_equal(inside, territory.contains(lon, lat)[idx])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"buffer_m": -5}, "buffer_m: expected a positive number of metres, got -5"),
    ({"simplify_m": 2000}, r"simplify_m: expected a number of metres in \[0, buffer_m=1000.0\), got 2000"),
])
def test_bad_options(square: gpd.GeoDataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        france_territory(square, **kwargs)


def test_bad_layers(square: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="departements: expected EPSG:4326"):
        france_territory(square.to_crs(2154))
    with pytest.raises(ValueError, match="departements: expected the départements layer with 'code'"):
        france_territory(square.drop(columns="code"))
    with pytest.raises(ValueError, match="lon, lat: expected arrays of the same shape"):
        france_territory(square).contains(np.zeros(2), np.zeros(3))


def test_the_real_departements_keep_the_coast(territory) -> None:  # noqa: ANN001
    """Points on quays and beaches count; a boat 5 km out at sea does not."""
    coast = {"Le Havre, quai": (49.4833, 0.1050), "Nice, plage": (43.6947, 7.2660), "Brest, port": (48.3820, -4.4880)}
    at_sea = {"Manche, 5 km du Havre": (49.52, 0.02), "Méditerranée, 5 km de Nice": (43.64, 7.28)}
    lat = np.array([p[0] for p in (*coast.values(), *at_sea.values())])
    lon = np.array([p[1] for p in (*coast.values(), *at_sea.values())])
    assert territory.contains(lon, lat).tolist() == [True] * len(coast) + [False] * len(at_sea)
