"""Topology-preserving simplification and geobuf encoding (geo.webgeo)."""

from __future__ import annotations

import json

import geobuf
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from geo import webgeo


def _wiggly_strip(x0: float, x1: float) -> Polygon:
    """A strip whose right edge has many small zig-zags (something to simplify)."""
    ys = np.linspace(0, 1, 41)
    right = [(x1 + (0.002 if i % 2 else 0.0), y) for i, y in enumerate(ys)]
    return Polygon([(x0, 0), *right, (x0, 1)])


def test_clean_coverage_resolves_overlaps_lowest_index_keeps_them():
    a, b = box(0, 0, 2, 2), box(1, 0, 3, 2)  # overlap [1,2] x [0,2]
    out = webgeo.clean_coverage([a, b])
    assert shapely.coverage_is_valid(out)
    assert out[0].area == pytest.approx(4.0)
    assert out[1].area == pytest.approx(2.0)
    assert shapely.is_valid(out).all()


def test_clean_coverage_keeps_holes_empty_and_counts():
    ring = box(0, 0, 3, 3).difference(box(1, 1, 2, 2))
    other = box(5, 5, 6, 6)
    out = webgeo.clean_coverage([ring, other])
    assert len(out) == 2
    assert out[0].area == pytest.approx(8.0)
    assert out[1].equals(other)


def test_simplify_coverage_keeps_shared_borders_shared():
    left = _wiggly_strip(0.0, 0.5)
    right = box(0.5, 0, 1.0, 1).union(left).difference(left)  # exact complement: shares the wiggly edge
    before = shapely.get_num_coordinates(np.array([left, right])).sum()
    out = webgeo.simplify_coverage([left, right], tolerance_m=0.01 * webgeo.METRES_PER_DEGREE)
    assert shapely.get_num_coordinates(out).sum() < before / 2  # it did simplify
    assert shapely.coverage_is_valid(out)  # no overlap created
    shared = shapely.intersection(out[0], out[1])
    assert shared.length > 0.9  # they still share (almost) the whole unit-long border
    assert shapely.union_all(out).area == pytest.approx(1.0, abs=1e-3)  # no gap opened


def test_simplify_coverage_rejects_bad_arguments():
    with pytest.raises(ValueError, match="tolerance_m: expected a non-negative number of metres, got -1"):
        webgeo.simplify_coverage([box(0, 0, 1, 1)], tolerance_m=-1)
    with pytest.raises(ValueError, match="expected Polygon or MultiPolygon"):
        webgeo.simplify_coverage([Point(0, 0)], tolerance_m=1)
    with pytest.raises(ValueError, match="grid_size: expected a positive number"):
        webgeo.clean_coverage([box(0, 0, 1, 1)], grid_size=0)
    with pytest.raises(ValueError, match="lies entirely inside"):
        webgeo.clean_coverage([box(0, 0, 2, 2), box(0.5, 0.5, 1, 1)])


def test_feature_collection_drops_missing_values_and_rounds():
    frame = gpd.GeoDataFrame(
        {"code": ["A", "B"], "rate": [12.345, np.nan], "n": [3.0, 4.0], "flag": [True, False]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=4326,
    )
    fc = webgeo.feature_collection(frame, properties=["code", "rate", "n", "flag"], id_column="code")
    a, b = fc["features"]
    assert a["properties"] == {"code": "A", "rate": 12.3, "n": 3, "flag": True}
    assert "rate" not in b["properties"]
    assert b["id"] == "B"
    with pytest.raises(ValueError, match=r"properties: expected columns of the frame, got unknown \['nope'\]"):
        webgeo.feature_collection(frame, properties=["nope"])
    with pytest.raises(ValueError, match="geometry: expected 2 geometries, got 1"):
        webgeo.feature_collection(frame, properties=["code"], geometry=[box(0, 0, 1, 1)])


def test_encode_geobuf_round_trip_and_errors():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.35222, 48.85661]},
         "properties": {"name": "Paris", "pop": 2100000}}]}
    decoded = geobuf.decode(webgeo.encode_geobuf(fc, precision=5))
    feature = decoded["features"][0]
    assert feature["properties"] == {"name": "Paris", "pop": 2100000}
    assert feature["geometry"]["coordinates"] == pytest.approx([2.35222, 48.85661])
    with pytest.raises(ValueError, match="precision: expected an integer from 0 to 9, got 12"):
        webgeo.encode_geobuf(fc, precision=12)
    with pytest.raises(ValueError, match="collection: expected a GeoJSON FeatureCollection, got 'Feature'"):
        webgeo.encode_geobuf(fc["features"][0])


def test_class_breaks_are_increasing_quantiles():
    values = pd.Series([*range(1, 101), np.nan])
    breaks = webgeo.class_breaks(values, n_classes=4)
    assert breaks == [26.0, 50.0, 75.0]
    assert webgeo.class_breaks([1, 1, 1, 2], n_classes=4) == [1.2]  # ties collapse to fewer classes
    with pytest.raises(ValueError, match="n_classes: expected an integer from 2 to 12, got 1"):
        webgeo.class_breaks([1, 2], n_classes=1)
    with pytest.raises(ValueError, match="values: expected at least one finite value"):
        webgeo.class_breaks([np.nan])


def test_national_qpv_layer_is_a_valid_simplified_coverage(processed_dir):
    from app.layers import PRECISION, qpv_collection
    from geo.load import load_qpv

    qpv = load_qpv(data_dir=processed_dir)
    simplified = webgeo.simplify_coverage(qpv.geometry, tolerance_m=15)
    assert len(simplified) == len(qpv) == 1584
    assert not shapely.is_empty(simplified).any()
    assert shapely.is_valid(simplified).all()
    assert shapely.coverage_is_valid(simplified)
    ratio = shapely.area(simplified) / shapely.area(qpv.geometry.to_numpy())
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)
    assert ratio.min() > 0.8
    fc = qpv_collection(qpv)
    encoded = webgeo.encode_geobuf(fc, precision=PRECISION)
    decoded = geobuf.decode(encoded)
    assert {f["properties"]["code_qp"] for f in decoded["features"]} == set(qpv["code_qp"])
    raw = len(qpv.to_json().encode())
    assert len(encoded) < raw / 8
    sample = next(f for f in fc["features"] if f["properties"]["code_qp"] == "QN00101M")
    assert sample["properties"]["npnru"] == 1 and sample["properties"]["population"] == 6399
    assert json.dumps(sample)  # plain JSON types only
