"""The processed national data, checked on the real offline copies (../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geo import build as build_mod
from geo import load, schema, transforms
from geo.cli import main


@pytest.fixture(scope="module")
def qpv(processed_dir: Path):
    return load.load_qpv(data_dir=processed_dir)


def test_qpv_count_and_columns(qpv) -> None:
    assert len(qpv) == 1584
    assert qpv["code_qp"].is_unique
    assert list(qpv.columns) == [*schema.QPV_COLUMNS, "geometry"]
    assert qpv.crs.to_epsg() == 4326


def test_metropolitan_population(qpv) -> None:
    metro = qpv[qpv["zone"] == "metro"]
    assert len(metro) == 1362
    assert metro["population"].notna().all()
    assert int(metro["population"].sum()) == 5_307_455


def test_missing_population_is_only_where_insee_has_none(qpv) -> None:
    missing = qpv[qpv["population"].isna()]
    assert sorted(missing["insee_dep"].unique()) == ["976", "978", "987"]
    assert len(missing) == 93
    # Mayotte: Bouéni and Kani-Kéli had no earlier QPV
    assert sorted(missing.loc[missing["insee_dep"] == "976", "insee_com"]) == ["97604", "97609"]


def test_mayotte_commune_wide_qpv_get_earlier_population(qpv, mirror: Path) -> None:
    raw = pd.read_csv(mirror / "qpv_2024/qpv_2024_population_indicateurs.csv", dtype=str)
    earlier = pd.to_numeric(raw.loc[raw["code_qp"].str.startswith("QN976"), "popMuniQPV"]).sum()
    mayotte = qpv[qpv["insee_dep"] == "976"]
    assert len(mayotte) == 17
    assert mayotte["population"].sum() == earlier  # all 42 earlier QPV land in a 2025 QPV
    assert set(mayotte["population_source"].dropna()) == {"insee_earlier_codes_by_commune"}
    assert qpv.loc[qpv["zone"] == "metro", "population_source"].eq("insee_qpv_2024").all()
    boueni = qpv.set_index("code_qp").loc["QN97654C"]
    assert boueni["insee_com"] == "97604" and boueni["lib_com"] == "Bouéni"


def test_poverty_rate_secret_stays_missing_never_zero(qpv) -> None:
    assert qpv["poverty_rate"].isna().sum() > 200
    assert (qpv["poverty_rate"] == 0).sum() == 0


def test_every_qpv_in_exactly_one_region(qpv, processed_dir: Path) -> None:
    communes = load.load_communes(data_dir=processed_dir).set_index("insee_com")
    assert qpv["insee_reg"].notna().all()
    for codes, reg in zip(qpv["insee_com"], qpv["insee_reg"], strict=True):
        regions = {communes.at[c, "insee_reg"] for c in transforms.split_codes(codes)}
        assert regions == {reg}


def test_geometries_valid_polygons_and_points_inside(qpv) -> None:
    assert qpv.geometry.is_valid.all()
    assert set(qpv.geom_type) <= {"Polygon", "MultiPolygon"}
    import geopandas as gpd

    pts = gpd.points_from_xy(qpv["rep_lon"], qpv["rep_lat"], crs=4326)
    assert qpv.geometry.contains(gpd.GeoSeries(pts, index=qpv.index)).all()


def test_metric_areas_match_published_total(qpv) -> None:
    metro_km2 = qpv.loc[qpv["zone"] == "metro", "area_m2"].sum() / 1e6
    assert 470 < metro_km2 < 490  # SOURCES.md: 481 km²
    assert set(qpv.loc[qpv["insee_dep"] == "974", "metric_epsg"]) == {2975}


def test_merged_commune_rewritten(qpv) -> None:
    codes = set(qpv["insee_com"].str.split(";").explode())
    assert "93059" not in codes and "93066" in codes


def test_npnru_flag_matches_link_table(qpv, processed_dir: Path, mirror: Path) -> None:
    links = pd.read_csv(mirror / "npnru/npnru_qpv2015_to_qpv2024.csv", dtype=str)
    implied = set(links["code_qp_2024"].dropna())
    assert len(implied) == 457
    assert set(qpv.loc[qpv["npnru"], "code_qp"]) == implied
    npnru = load.load_npnru(data_dir=processed_dir)
    assert len(npnru) == 448
    assert npnru["linked"].sum() == 443
    assert sorted(npnru.loc[~npnru["linked"], "code_qp_2015"]) == [
        "QP022003", "QP025002", "QP067007", "QP071010", "QP073003"
    ]
    assert "interest" in npnru.columns and npnru["interest"].isna().all()


def test_communes(processed_dir: Path) -> None:
    communes = load.load_communes(data_dir=processed_dir)
    assert len(communes) == 34_969
    assert communes["insee_com"].is_unique
    assert (communes["n_qpv"] > 0).sum() == 834  # 834 codes in the file, 93059 merged, Bouéni 97604 corrected
    assert communes.loc[communes["insee_com"] == "91286", "n_qpv"].iloc[0] >= 1  # Grigny
    for col in ("median_income", "sru_social_housing_rate", "density_level", "unemployment_rate"):
        assert communes[col].notna().mean() > 0.85, col
    arr = load.load_arrondissements(data_dir=processed_dir)
    assert len(arr) == 45 and set(arr["parent_com"]) == {"75056", "69123", "13055"}


def test_boundaries(processed_dir: Path) -> None:
    regions = load.load_regions(data_dir=processed_dir)
    deps = load.load_departements(data_dir=processed_dir)
    assert regions.geometry.notna().sum() == 18
    assert deps.geometry.notna().sum() == 101
    assert regions.geometry.dropna().is_valid.all()


def test_manifest(processed_dir: Path) -> None:
    manifest = load.load_manifest(data_dir=processed_dir)
    assert manifest["outputs"]["qpv"]["rows"] == 1584
    assert manifest["join_rates"]["npnru_to_qpv2024"]["matched"] == 443
    assert all(s["hash_ok"] for s in manifest["sources"].values())
    assert manifest["npnru_qpv_2024"] == 457
    assert manifest["join_rates"]["npnru_links_in_anct_table"]["rate"] == 1.0
    assert manifest["join_rates"]["region_geometry"]["total"] == 18
    assert any("QP022003" in c for c in manifest["caveats"])


def test_unverified_source_stops_the_build(tmp_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    fake = tmp_path / "mirror"
    shutil.copytree(mirror, fake)
    path = fake / "npnru/npnru_qpv2015_to_qpv2024.csv"
    path.chmod(0o644)
    path.write_text(path.read_text(encoding="utf-8") + "QP999999,,,,no_successor_in_anct_table\n", encoding="utf-8")
    monkeypatch.setenv("VOISINMAP_DATA_MIRROR", str(fake))
    out = tmp_path / "out"
    with pytest.raises(build_mod.UnverifiedSourceError, match="npnru_links .*--allow-unverified"):
        build_mod.build(data_dir=out)
    assert not out.exists()
    manifest = build_mod.build(data_dir=out, allow_unverified=True)
    assert manifest["sources"]["npnru_links"]["hash_ok"] is False
    assert manifest["join_rates"]["npnru_to_qpv2024"]["total"] == 449


def test_second_build_does_nothing(processed_dir: Path) -> None:
    before = (processed_dir / "qpv.parquet").stat().st_mtime_ns
    manifest = build_mod.build(data_dir=processed_dir)
    assert manifest["skipped"] is True
    assert (processed_dir / "qpv.parquet").stat().st_mtime_ns == before


def test_changed_output_triggers_rebuild(processed_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "processed"
    shutil.copytree(processed_dir, copy)
    (copy / "npnru.parquet").unlink()
    manifest = build_mod.build(data_dir=copy)
    assert manifest["skipped"] is False
    assert (copy / "npnru.parquet").exists()


def test_join_rate_below_threshold_fails_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: Path
) -> None:
    monkeypatch.setitem(transforms.JOIN_THRESHOLDS, "communes_filosofi", 0.99)
    out = tmp_path / "out"
    with pytest.raises(transforms.JoinRateError, match="join 'communes_filosofi': 31203/34969"):
        build_mod.build(data_dir=out)
    assert not out.exists() or not any(out.iterdir())


def test_loader_is_cached(processed_dir: Path) -> None:
    first = load.load_qpv(data_dir=processed_dir)
    assert load.load_qpv(data_dir=processed_dir) is first


def test_loader_names_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(load.DataNotBuiltError, match="run `voisinmap data build`"):
        load.load_qpv(data_dir=tmp_path)
    with pytest.raises(ValueError, match="layer: expected one of"):
        load.load_layer("cantons", data_dir=tmp_path)


def test_cli_build_and_status(processed_dir: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["data", "build", "--data-dir", str(processed_dir)])
    assert res.exit_code == 0, res.output
    assert "à jour" in res.output
    res = runner.invoke(main, ["data", "status", "--data-dir", str(processed_dir), "--json"])
    assert res.exit_code == 0, res.output
    status = json.loads(res.output)
    assert {s["origin"] for s in status["sources"]} == {"mirror"}
    assert all(s["hash_ok"] for s in status["sources"])
    rows = {f["layer"]: f["rows"] for f in status["files"]}
    assert rows["communes"] == 34_969 and rows["web/qpv"] == 1_584  # the web map's geometry too
    res = runner.invoke(main, ["data", "status", "--data-dir", str(processed_dir)])
    assert "qpv_2024" in res.output and "1\u202f584" in res.output


def test_the_national_build_stays_out_of_the_checkout(processed_dir: Path, request: pytest.FixtureRequest) -> None:
    from geo import config

    assert not processed_dir.resolve().is_relative_to(config.PROJECT_ROOT.resolve())
    assert (processed_dir / "qpv.parquet").is_file()
    assert request.node.get_closest_marker("national") is not None  # added at collection: it uses the mirror
