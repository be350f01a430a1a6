"""The expansion engine on the real national data (built once per session by ``processed_dir``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geo import config
from geo.cli import main
from geo.load import load_arrondissements, load_communes, load_qpv
from geo.siting import build_instance, districts, read_sites, recommend
from geo.siting.params import PLM_COMMUNES

SHIPPED = config.PROJECT_ROOT / "data" / "sites.csv"


@pytest.fixture(scope="module")
def national(processed_dir):
    return build_instance(load_qpv(data_dir=processed_dir), load_communes(data_dir=processed_dir),
                          load_arrondissements(data_dir=processed_dir))


@pytest.fixture(scope="module")
def shipped():
    return read_sites(SHIPPED)


def test_every_qpv_is_assigned_and_plm_are_arrondissements(national):
    assert national.n_qpv == 1584
    home = np.asarray(national.home.sum(axis=0)).ravel()
    assert int((home >= 1).sum()) == 1584
    cand = national.candidates
    assert not set(PLM_COMMUNES) & set(cand["insee_code"])
    arr = cand[cand["kind"] == "arrondissement"]
    assert set(arr["parent_code"]) == set(PLM_COMMUNES)
    assert arr["insee_code"].str.match(r"^(751|6938|132)\d+$").all()
    paris = national.qpv["insee_com"].str.contains("75056").to_numpy()
    homes = national.home[:, paris].tocoo()
    assert set(cand["insee_code"].iloc[homes.row]) <= set(arr["insee_code"])
    # denominator: every QPV with a known population, metropolitan ones being 5,307,455 (INSEE)
    metro = national.qpv["zone"].to_numpy() == "metro"
    assert national.population[metro].sum() == pytest.approx(5_307_455, rel=0.01)
    assert national.denominator == pytest.approx(national.population.sum())


def test_national_k10_recommendation(national, shipped):
    reco = recommend(national, shipped, k=10)
    t = reco.table
    assert len(t) == 10 and t["rank"].tolist() == list(range(1, 11))
    assert 0 < reco.baseline_share < reco.share < 1
    assert t["cumulative_share"].between(0, 1).all() and t["cumulative_share"].is_monotonic_increasing
    assert (t["added_population"] > 0).all()
    assert not set(t["insee_code"]) & set(shipped["code"])
    assert not set(t["insee_code"]) & set(PLM_COMMUNES)
    assert t["reason"].str.endswith(".").all()
    assert reco.target_sites is not None and reco.target_sites >= reco.target_lower_bound
    assert reco.curve["share"].is_monotonic_increasing


def test_national_heuristic_close_to_exact(national, shipped):
    h = recommend(national, shipped, k=10, with_target=False)
    e = recommend(national, shipped, k=10, method="exact", with_target=False)
    assert h.objective / e.objective >= 0.995
    ht = recommend(national, shipped, target=0.25)
    et = recommend(national, shipped, target=0.25, method="exact")
    assert et.target_proven_minimal
    assert ht.target_lower_bound <= et.k <= ht.k


def test_national_quotas_and_spacing(national, shipped):
    reco = recommend(national, shipped, k=8, quotas=["main6=1", "*=:2"], min_spacing_km=10)
    t = reco.table
    assert set(reco.network["insee_reg"]) | set(t["insee_reg"]) >= {"11", "84", "93", "32", "76", "75"}
    assert t["insee_reg"].value_counts().max() <= 2
    from geo.siting.catchment import epsg_for_departements, project

    xy = project(t["lon"].to_numpy(), t["lat"].to_numpy(), epsg_for_departements(t["insee_dep"]))
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(t), 1)].min() >= 10_000
    assert t["nearest_site_km"].min() >= 10


def test_national_districts(processed_dir):
    qpv = load_qpv(data_dir=processed_dir)
    d = districts(qpv)
    codes = ";".join(d["qpv_codes"]).split(";")
    assert sorted(codes) == sorted(qpv["code_qp"])
    assert d["population"].sum() == pytest.approx(qpv["population"].sum())
    assert len(d) < len(qpv) and d["population"].is_monotonic_decreasing


def test_cli_writes_k_rows(processed_dir, tmp_path):
    out = tmp_path / "reco"
    res = CliRunner().invoke(main, ["recommend", "--sites", str(SHIPPED), "--k", "10", "--out", str(out),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(out / "recommendations.csv", dtype={"insee_code": str})
    assert len(csv) == 10
    assert {"rank", "insee_code", "name", "region", "added_population", "cumulative_share"} <= set(csv.columns)
    geo = json.loads((out / "recommendations.geojson").read_text(encoding="utf-8"))
    assert len(geo["features"]) == 10
    brief = (out / "brief.md").read_text(encoding="utf-8")
    assert "nouveaux sites** pour atteindre 20 %" in brief
    assert "Objectif 20 %" in res.output


def test_cli_target_mode_and_population_weights(processed_dir, tmp_path):
    out = tmp_path / "t"
    res = CliRunner().invoke(main, ["recommend", "--target", "0.15", "--weights", "none", "--out", str(out),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(out / "recommendations.csv")
    assert csv["cumulative_share"].iloc[-1] >= 0.15 and (len(csv) == 1 or csv["cumulative_share"].iloc[-2] < 0.15)


def test_cli_errors(processed_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,opening_year,kind\n75056,Paris,2014,site\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["recommend", "--sites", str(bad), "--k", "3", "--out", str(tmp_path / "o"),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 2 and "arrondissement municipal" in res.output
    res = CliRunner().invoke(main, ["recommend", "--k", "3", "--weights", "joy=1", "--out", str(tmp_path / "o"),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 2 and "weights: expected indicators among" in res.output
    res = CliRunner().invoke(main, ["recommend", "--k", "3", "--out", str(tmp_path / "o"),
                                    "--data-dir", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "data build" in res.output
