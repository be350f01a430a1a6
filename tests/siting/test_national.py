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
from geo.siting import build_instance, districts, read_sites, recommend, resolve_network
from geo.siting.params import DEFAULT_HOME_RADIUS_KM, PLM_COMMUNES
from geo.siting.recommendation import build_problems
from geo.siting.solver import SolverTimeoutError, solve_exact

SHIPPED = config.PROJECT_ROOT / "data" / "sites.csv"


@pytest.fixture(scope="module")
def national(processed_dir):
    return build_instance(load_qpv(data_dir=processed_dir), load_communes(data_dir=processed_dir),
                          load_arrondissements(data_dir=processed_dir))


@pytest.fixture(scope="module")
def everywhere(processed_dir):
    return build_instance(load_qpv(data_dir=processed_dir), load_communes(data_dir=processed_dir),
                          load_arrondissements(data_dir=processed_dir), scope="all")


@pytest.fixture(scope="module")
def shipped():
    return read_sites(SHIPPED)


def test_every_qpv_is_assigned_and_plm_are_arrondissements(everywhere, processed_dir):
    national = everywhere
    assert national.n_qpv == 1584
    home = np.asarray(national.home.sum(axis=0)).ravel()
    assert int((home >= 1).sum()) == 1584
    assert national.qpv["reachable"].all()
    cand = national.candidates
    assert not set(PLM_COMMUNES) & set(cand["insee_code"])
    arr = cand[cand["kind"] == "arrondissement"]
    assert set(arr["parent_code"]) == set(PLM_COMMUNES)
    assert arr["insee_code"].str.match(r"^(751|6938|132)\d+$").all()
    paris = national.qpv["insee_com"].str.contains("75056").to_numpy()
    homes = national.home[:, paris].tocoo()
    assert set(cand["insee_code"].iloc[homes.row]) <= set(arr["insee_code"])
    # scope "all": every QPV with a known population, whatever the data give (no figure assumed overseas)
    pop = load_qpv(data_dir=processed_dir)["population"]
    assert national.denominator == pytest.approx(pop.sum(skipna=True))
    assert national.denominator == pytest.approx(national.population.sum())


def test_own_qpv_lie_within_the_home_radius_of_the_team_s_base(everywhere):
    h = everywhere.home.tocoo()
    d = np.hypot(*(everywhere.cand_xy[h.row] - everywhere.qpv_xy[h.col]).T) / 1000
    assert d.max() <= DEFAULT_HOME_RADIUS_KM
    cand = everywhere.candidates.set_index("insee_code")
    # Saint-Laurent-du-Maroni: centroid in the forest, 54-64 km from its QPV; the team is based in town
    slm = cand.loc["97311"]
    assert slm["base_qpv"].startswith("QN973")
    assert set(everywhere.qpv["code_qp"].to_numpy()[everywhere.coverage[cand.index.get_loc("97311")].indices]) >= \
        set(everywhere.qpv.loc[everywhere.qpv["insee_com"] == "97311", "code_qp"])
    assert cand.loc["31555", "base_qpv"] == ""  # Toulouse keeps its centre: all its QPV within 10 km
    # in the métropole, only Arles (the largest commune) needs a base other than its centroid
    metro = cand[cand["zone"] == "metro"]
    assert metro.index[metro["base_qpv"] != ""].tolist() == ["13004"]


def test_default_denominator_is_the_metropolitan_goal(national, everywhere):
    assert national.params["scope"] == "metro"
    assert national.n_qpv == int((everywhere.qpv["zone"] == "metro").sum()) == 1362
    assert national.denominator == pytest.approx(5_307_455, rel=0.001)
    assert set(national.qpv["zone"]) == {"metro"}
    assert everywhere.denominator > national.denominator


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
    # the rank follows the weighted gain, shown in the table; the curve extends the table exactly
    assert np.all(np.diff(t["added_demand"]) <= 1e-6)
    assert reco.curve["insee_code"].iloc[1:11].tolist() == t["insee_code"].tolist()
    assert reco.curve["share"].iloc[1:11].to_numpy() == pytest.approx(t["cumulative_share"].to_numpy(), abs=1e-12)
    assert reco.curve.set_index("n_new_sites").loc[10, "share"] == pytest.approx(reco.share, abs=1e-12)


def _haversine_km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def test_national_reasons_tell_the_truth_about_distances(national, shipped):
    import re

    reco = recommend(national, shipped, k=20)
    qpv = national.qpv.set_index("code_qp")
    radius = national.radius_km
    split = 0
    for r in reco.table.itertuples(index=False):
        added = qpv.loc[r.added_qpv_codes.split(";")]
        d = _haversine_km(r.lon, r.lat, added["rep_lon"].to_numpy(), added["rep_lat"].to_numpy())
        pop = added["population"].fillna(0).to_numpy()
        near = d <= radius * 1.003  # Lambert-93 against the sphere: < 0.3 % apart
        assert pop[near].sum() == pytest.approx(r.added_population_radius, abs=0.5)
        own = ~near
        code = r.insee_code
        assert all(code in c.split(";") or r.kind == "arrondissement" for c in added["insee_com"][own])
        assert (d[own] <= DEFAULT_HOME_RADIUS_KM * 1.003).all()
        if r.added_population_own > 0:
            split += 1
            n_near = f"{r.added_population_radius:,.0f}".replace(",", "\u202f")
            n_own = f"{r.added_population_own:,.0f}".replace(",", "\u202f")
            assert f"; {n_near} habitants à moins de 3,0 km et {n_own} dans ses propres quartiers plus éloignés" \
                in r.reason
            far = float(re.search(r"jusqu'à ([\d,]+) km", r.reason).group(1).replace(",", "."))
            assert far == pytest.approx(d[own].max(), abs=0.06)
        else:
            assert re.search(r"; (tous|situé) à moins de 3,0 km ;", r.reason)
    assert split >= 1  # the shipped scenario has sites whose own QPV lie beyond 3 km (Toulouse, Strasbourg)
    # Toulouse as a new site: 67,877 residents, 57,923 of them in its own QPV between 3 and 6 km
    from geo.siting.recommendation import _site_table

    row = _site_table(national, resolve_network(national, shipped),
                      [national.candidates["insee_code"].tolist().index("31555")], lang="fr").iloc[0]
    assert (row["added_population"], row["added_population_radius"], row["added_population_own"]) == \
        pytest.approx((67_877, 9_954, 57_923))
    assert "9\u202f954 habitants à moins de 3,0 km et 57\u202f923 dans ses propres quartiers plus éloignés " \
           "(jusqu'à 5,8 km)" in row["reason"]


def test_epci_partner_reaches_its_own_epci_only(national, shipped):
    net = resolve_network(national, shipped)
    row = shipped.index[shipped["code"] == "200042190"][0]
    reached = national.qpv[net.site_covered[row]]
    assert len(reached) > 0 and set(reached["siren_epci"]) == {"200042190"}
    across = resolve_network(national, shipped, epci_reach="radius")
    extra = national.qpv[across.site_covered[row] & ~net.site_covered[row]]
    assert len(extra) > 0 and "200042190" not in set(extra["siren_epci"])  # Valenciennes Métropole's QPV
    assert across.covered.sum() >= net.covered.sum()


def test_exact_solver_out_of_time_falls_back_to_the_heuristic(national, shipped):
    _, p_dem = build_problems(national, resolve_network(national, shipped))
    with pytest.raises(SolverTimeoutError, match=r"time_limit_s=0\.001"):
        solve_exact(p_dem, 5, time_limit_s=0.001)
    reco = recommend(national, shipped, k=5, method="exact", target_method="exact", time_limit_s=0.001)
    assert reco.k == len(reco.table) == 5
    assert reco.method.startswith("heuristic (fallback") and "time_limit_s=0.001" in reco.fallback
    assert reco.target_sites is not None and reco.target_sites >= 1 and reco.target_lower_bound is not None
    assert reco.target_lower_bound <= reco.target_sites
    assert reco.objective_upper_bound is not None and reco.objective <= reco.objective_upper_bound * (1 + 1e-9)
    heur = recommend(national, shipped, k=5)
    assert reco.table["insee_code"].tolist() == heur.table["insee_code"].tolist()
    assert "time_limit_s" in reco.method_label(lang="en")


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
    assert "**Dénominateur de toutes les parts** : 5\u202f307\u202f455 habitants des 1\u202f362 QPV de métropole" in brief
    assert "Gain pondéré" in brief
    assert "Objectif 20 %" in res.output
    assert {"added_demand", "added_population_radius", "added_population_own"} <= set(csv.columns)


def test_cli_in_english(processed_dir, tmp_path):
    out = tmp_path / "en"
    res = CliRunner().invoke(main, ["recommend", "--k", "3", "--lang", "en", "--out", str(out),
                                    "--data-dir", str(processed_dir)])
    assert res.exit_code == 0, res.output
    assert "Goal 20%: " in res.output and "Weighted gain" in res.output
    csv = pd.read_csv(out / "recommendations.csv")
    assert csv["reason"].str.contains(" adds ").all()
    assert (out / "brief.md").read_text(encoding="utf-8").startswith("# Where VoisinMalin should open its next sites")


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
