"""One GeoJSON encoder (:func:`geo.webgeo.feature_collection`), one convention for missing values."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import webgeo
from geo.coverage import aggregate
from geo.export import html_map, tables

MISSING = [None, np.nan, np.inf, pd.NA, pd.NaT]


def _frame() -> gpd.GeoDataFrame:
    n = len(MISSING) + 1
    return gpd.GeoDataFrame(
        {"code": [f"Q{i}" for i in range(n)], "value": pd.Series([1.5, *MISSING], dtype=object),
         "lon": np.linspace(2.3, 2.4, n), "lat": np.linspace(48.8, 48.9, n)},
        geometry=[box(i, 0, i + 1, 1) for i in range(n)], crs="EPSG:4326")


@pytest.mark.parametrize("value", MISSING, ids=repr)
def test_every_kind_of_missing_value_is_missing(value: object) -> None:
    assert webgeo.is_missing(value)
    assert webgeo.json_value(value) is None


@pytest.mark.parametrize("value", [0, 0.0, "", False, np.int64(3)], ids=repr)
def test_zero_empty_and_false_are_values(value: object) -> None:
    assert not webgeo.is_missing(value)
    assert webgeo.json_value(value) == value


def test_every_encoder_writes_missing_values_as_null() -> None:
    frame = _frame()
    exports = [
        json.loads(tables.to_geojson_bytes(frame[["code", "value", "geometry"]])),
        html_map._features(frame[["code", "value", "geometry"]], "qpv"),
        aggregate.points_geojson(frame, properties=["code", "value"]),
        webgeo.feature_collection(frame, properties=["code", "value"], missing="null"),
    ]
    for collection in exports:
        values = [f["properties"]["value"] for f in collection["features"]]
        assert values == [1.5] + [None] * len(MISSING)
        json.dumps(collection, allow_nan=False)  # no NaN or Infinity reaches the JSON text


def test_browser_layers_leave_missing_values_out() -> None:
    collection = webgeo.feature_collection(_frame(), properties=["code", "value"])
    assert collection["features"][0]["properties"] == {"code": "Q0", "value": 1.5}
    assert all(set(f["properties"]) == {"code"} for f in collection["features"][1:])
    with pytest.raises(ValueError, match="missing: expected one of null, omit, got 'skip'"):
        webgeo.feature_collection(_frame(), properties=["code"], missing="skip")


def test_dates_are_iso_and_coordinates_rounded() -> None:
    frame = gpd.GeoDataFrame({"day": pd.to_datetime(["2025-03-04 10:30", None])},
                             geometry=[Point(2.1234567, 48.7654321), Point(1, 2)], crs="EPSG:4326")
    out = webgeo.feature_collection(frame, properties=["day"], coordinate_decimals=5, missing="null")
    assert [f["properties"]["day"] for f in out["features"]] == ["2025-03-04T10:30:00", None]
    assert list(out["features"][0]["geometry"]["coordinates"]) == [2.12346, 48.76543]
    doors = aggregate.points_geojson(frame.assign(lon=[2.0, 2.1], lat=[48.0, 48.1]), properties=["day"])
    assert [f["properties"]["day"] for f in doors["features"]] == ["2025-03-04", None]  # to the day
