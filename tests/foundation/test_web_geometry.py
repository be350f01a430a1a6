"""The web map's geometry, simplified by the national build: written beside the processed data, the layers the
server encodes from it are the ones it would compute, and a folder built without it still serves."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import shapely

from geo import schema, web_geometry


def test_the_build_writes_the_web_geometry_and_lists_it(processed_dir: Path) -> None:
    manifest = json.loads((processed_dir / schema.MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["web_outputs"]) == set(schema.WEB_LAYERS)
    for name, info in manifest["web_outputs"].items():
        path = processed_dir / schema.WEB_LAYERS[name]
        assert path.stat().st_size == info["bytes"] and info["rows"] > 0


def test_web_qpv_are_the_processed_qpv_simplified_on_the_grid(processed_dir: Path) -> None:
    from geo.load import load_qpv, load_web_layer

    qpv, web = load_qpv(data_dir=processed_dir), load_web_layer("qpv", data_dir=processed_dir)
    assert web["code_qp"].tolist() == qpv["code_qp"].tolist()
    geoms = web.geometry.to_numpy()
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert shapely.get_num_coordinates(geoms).sum() < shapely.get_num_coordinates(qpv.geometry.to_numpy()).sum()
    coords = shapely.get_coordinates(geoms)
    assert abs(coords * 10**web_geometry.PRECISION - (coords * 10**web_geometry.PRECISION).round()).max() < 1e-6


@pytest.mark.parametrize("name", ["qpv", "departements", "regions", "districts"])
def test_layers_encoded_from_the_build_equal_layers_computed_by_the_server(
        processed_dir: Path, name: str, caplog: pytest.LogCaptureFixture) -> None:
    from app import layers
    from geo import webgeo
    from geo.load import load_layer

    inputs, builder = layers.BUILDERS[name]
    computed = webgeo.encode_geobuf(builder(*[load_layer(x, data_dir=processed_dir) for x in inputs]),
                                    precision=layers.PRECISION)
    with caplog.at_level(logging.WARNING, logger="app.layers"):
        from_build = webgeo.encode_geobuf(layers._collection(name, str(processed_dir)), precision=layers.PRECISION)
    assert "no web geometry" not in caplog.text  # read from the build, not simplified again
    assert from_build == computed


def test_a_folder_built_without_web_geometry_is_rebuilt_and_still_served(
        processed_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from app import layers
    from geo import build as build_mod

    copy = tmp_path / "processed"
    shutil.copytree(processed_dir, copy)
    shutil.rmtree(copy / "web")
    with caplog.at_level(logging.WARNING, logger="app.layers"):
        served = layers._build_encoded("departements", str(copy))
    assert "no web geometry" in caplog.text
    assert served.raw == layers._build_encoded("departements", str(processed_dir)).raw
    manifest = build_mod.build(data_dir=copy)  # the build sees the missing outputs and writes them again
    assert manifest["skipped"] is False
    assert all((copy / path).exists() for path in schema.WEB_LAYERS.values())


def test_web_layers_name_the_missing_processed_layer() -> None:
    with pytest.raises(KeyError, match="departements"):
        web_geometry.web_layers({"qpv": None, "regions": None})
