"""The capacitated plan, urban regions and the documented network on the national data."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geo import config
from geo.cli import main
from geo.load import load_arrondissements, load_communes, load_qpv
from geo.siting import build_instance, read_sites, resolve_network
from geo.siting.capacitated import solve_capacitated_exact, solve_capacitated_heuristic
from geo.siting.plan import capacitated_problem, plan
from geo.siting.regions import urban_regions

SHIPPED = config.PROJECT_ROOT / "data" / "sites.csv"
DOCUMENTED = {"91228", "91521", "91286", "93005", "93048", "95680", "75119", "59350", "13213", "69266", "200042190"}


@pytest.fixture(scope="module")
def frames(processed_dir):
    return (load_qpv(data_dir=processed_dir), load_communes(data_dir=processed_dir),
            load_arrondissements(data_dir=processed_dir))


@pytest.fixture(scope="module")
def national(frames):
    return build_instance(*frames)


@pytest.fixture(scope="module")
def regions(national, frames):
    communes = frames[1]
    codes = communes["insee_com"].astype(str)
    return urban_regions(national.qpv, national.qpv_xy, national.qpv_epsg, national.coverage,
                         commune_names=dict(zip(codes, communes["name"], strict=True)),
                         commune_population=dict(zip(codes, communes["population"], strict=True)))


def test_the_documented_network_is_complete_and_names_its_quartiers(national):
    sites = read_sites(SHIPPED)
    assert set(sites["code"]) == DOCUMENTED and sites["source"].str.len().min() > 20
    net = resolve_network(national, sites)
    by_code = dict(zip(sites["code"], net.site_covered, strict=True))
    codes = national.qpv["code_qp"].to_numpy(str)
    assert sorted(codes[by_code["91286"]]) == ["QN09125M", "QN09126M"]  # Grigny 2 and La Grande Borne
    assert national.population[by_code["91286"]].sum() == pytest.approx(23_636)
    assert sorted(codes[by_code["91228"]]) == ["QN09116M", "QN09117M"]  # Le Canal, Pyramides


def test_urban_regions_group_the_metropolitan_areas(national, regions):
    q = national.qpv
    reg = pd.Series(regions.qpv_region, index=q.index)
    names = regions.names()

    def region_of(mask):
        return {names[r] for r in reg[mask]}

    assert region_of(q["insee_dep"].isin(["93", "95", "91"]) & q["insee_com"].str.match(
        r"^(93066|93005|95585|95680|91286|91228)")) == {"Paris"}
    assert region_of(q["insee_com"].str.contains("59512|59599")) == {"Lille"}
    assert region_of(q["insee_com"].str.contains("69256|69259")) == {"Lyon"}
    assert names[:4] == ["Paris", "Lille", "Marseille", "Lyon"]


def test_national_plan_respects_capacity_and_populations(national, regions):
    sites = read_sites(SHIPPED)
    t0 = time.perf_counter()
    p = plan(national, sites, regions=regions)
    elapsed = time.perf_counter() - t0
    assert p.optimal and p.method == "exact-highs"
    assert elapsed < 6.0  # about 0.5-1.5 s alone; slack for a shared machine
    a = p.assignments
    assert a.groupby("site_code")["residents"].sum().max() <= 50_000 + 1e-6
    per_qpv = a.groupby("code_qp").agg(res=("residents", "sum"), pop=("qpv_population", "first"))
    assert (per_qpv["res"] <= per_qpv["pop"] + 1e-6).all()
    assert set(sites["code"]) <= set(a["site_code"])  # every documented site serves someone
    assert not set(p.table["insee_code"]) & DOCUMENTED
    assert len(p.table) == 20 - len(sites) and int(p.regions["in_plan"].sum()) <= 6
    assert p.table["cumulative_presence"].is_monotonic_increasing
    assert p.presence == pytest.approx(a["residents"].sum() / national.denominator)
    assert 0.05 < p.baseline_presence < p.presence < 0.20


@pytest.mark.parametrize(("radius", "k"), [(2.0, 20), (5.0, 10)])
def test_national_heuristic_within_half_a_percent(frames, radius, k):
    inst = build_instance(*frames, radius_km=radius)
    prob = capacitated_problem(inst, resolve_network(inst, read_sites(SHIPPED)), capacity=50_000)
    exact = solve_capacitated_exact(prob, k=k, time_limit_s=120)
    heur = solve_capacitated_heuristic(prob, k=k)
    assert heur.objective / exact.objective >= 0.995
    assert heur.bound is not None and heur.objective <= heur.bound * (1 + 1e-9)


def test_cli_plan_files_and_options(processed_dir, tmp_path):
    out = tmp_path / "plan"
    res = CliRunner().invoke(main, ["recommend", "--k", "5", "--pace", "1", "--out", str(out), "--data-dir",
                                    str(processed_dir), "--lang", "en"])
    assert res.exit_code == 0, res.output
    reco = pd.read_csv(out / "recommendations.csv", dtype={"insee_code": str})
    assert len(reco) == 5 and not set(reco["insee_code"]) & DOCUMENTED
    assign = pd.read_csv(out / "assignments.csv")
    assert {"site_code", "code_qp", "residents", "distance_km"} <= set(assign.columns)
    regions = pd.read_csv(out / "regions.csv")
    assert regions["rank"].tolist() == list(range(1, len(regions) + 1))
    road = pd.read_csv(out / "roadmap.csv")
    assert road["year"].tolist() == list(range(2026, 2036))
    assert np.all(np.diff(road["households_met_cumulative"]) > 0)
    brief = (out / "brief.md").read_text(encoding="utf-8")
    assert brief.startswith("# Where VoisinMalin should open its next sites") and "## Method" in brief
    assert "glouton" not in brief.split("## Method")[0]
    for bad in (["--capacity", "lots"], ["--capacity", "-5"], ["--regions", "0"], ["--cities", "0"], ["--pace", "0"]):
        res = CliRunner().invoke(main, ["recommend", "--k", "3", "--out", str(tmp_path / "o"), "--data-dir",
                                        str(processed_dir), *bad])
        assert res.exit_code == 2 and bad[0] in res.output, (bad, res.output)
    res = CliRunner().invoke(main, ["recommend", "--k", "4", "--capacity", "none", "--out", str(tmp_path / "u"),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "u" / "recommendations.csv")) == 4
    assert (tmp_path / "u" / "assignments.csv").exists() and (tmp_path / "u" / "curve.csv").exists()
