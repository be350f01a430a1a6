"""``recommend`` end to end on the hand-built geography, with answers worked out by hand.

Radius 3 km, demand = population: the candidates reach 42001 1,500, 42002 2,000, 42003 800,
42004 3,000, 75101 1,000 and 75119 4,000 residents (denominator 12,300).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.siting import (
    TABLE_COLUMNS,
    InfeasibleError,
    Quotas,
    SitesError,
    brief_markdown,
    build_instance,
    recommend,
    resolve_network,
)


def sites(*codes: str) -> pd.DataFrame:
    return pd.DataFrame({"code": list(codes), "name": [f"Site {c}" for c in codes],
                         "opening_year": [2015] * len(codes),
                         "kind": ["essaimage" if len(c) == 9 else "site" for c in codes], "source": ["test"] * len(codes)})


@pytest.fixture()
def inst(toy_frames):
    return build_instance(*toy_frames, weights=None)


def test_k_mode_locks_current_sites_and_ranks_new_ones(inst):
    reco = recommend(inst, sites("75119"), k=2)
    t = reco.table
    assert list(t.columns) == list(TABLE_COLUMNS)
    assert t["insee_code"].tolist() == ["42004", "42002"]
    assert t["rank"].tolist() == [1, 2]
    assert t["added_population"].tolist() == [3000, 2000]
    assert reco.baseline_share == pytest.approx(4000 / 12300)
    assert reco.share == pytest.approx(9000 / 12300)
    assert t["cumulative_share"].tolist() == pytest.approx([7000 / 12300, 9000 / 12300])
    assert "75119" not in t["insee_code"].tolist()
    assert reco.network["population_reached"].tolist() == [4000]


def test_exactly_k_rows_and_exact_agrees(inst):
    for k in (1, 3, 5):
        h = recommend(inst, sites("75119"), k=k)
        e = recommend(inst, sites("75119"), k=k, method="exact")
        assert len(h.table) == len(e.table) == k
        assert h.objective == pytest.approx(e.objective)
    with pytest.raises(InfeasibleError, match="only 5 new site"):
        recommend(inst, sites("75119"), k=6)


def test_target_mode_returns_the_minimal_number(inst):
    half = recommend(inst, sites("75119"), target=0.5)  # needs +2,150: 42004 alone
    assert half.table["insee_code"].tolist() == ["42004"] and half.target_sites == 1 and half.target_proven_minimal
    most = recommend(inst, sites("75119"), target=0.8)  # needs +5,840: 3,000 + 2,000 is not enough
    assert most.k == 3 and most.target_lower_bound == 3 and most.target_proven_minimal
    assert set(most.table["insee_code"]) == {"42004", "42002", "42001"}
    assert recommend(inst, sites("75119"), target=0.8, method="exact").k == 3
    assert most.share >= 0.8
    with pytest.raises(InfeasibleError, match="unreachable"):
        recommend(inst, sites("75119"), target=1.0, min_spacing_km=15)


def test_k_mode_reports_sites_needed_for_target(inst):
    reco = recommend(inst, sites("75119"), k=1, target=0.8)
    assert reco.k == 1 and reco.target_sites == 3
    unreachable = recommend(inst, sites("75119"), k=1, target=1.0, min_spacing_km=15)
    assert unreachable.target_sites is None and "unreachable" in unreachable.target_note


def test_quotas_and_spacing(inst):
    capped = recommend(inst, sites("75119"), k=2, quotas=["84=:1"])
    assert capped.table["insee_code"].tolist() == ["42004", "75101"]
    assert recommend(inst, None, k=2).table["insee_code"].tolist() == ["75119", "42004"]
    forced = recommend(inst, None, k=2, quotas=Quotas(min_sites={"11": 2}))
    assert forced.table["insee_code"].tolist() == ["75119", "75101"]
    with pytest.raises(InfeasibleError, match="région 11 needs 2 new site"):
        recommend(inst, None, k=2, quotas=Quotas(min_sites={"11": 2}, max_new={"11": 1}))
    spaced = recommend(inst, sites("75119"), k=2, min_spacing_km=35)
    # 42002, 42003 are closer than 35 km to 42004; 75101 is 4.4 km from the current Paris site
    assert spaced.table["insee_code"].tolist() == ["42004", "42001"]
    assert recommend(inst, sites("75119"), k=2, min_spacing_km=35, method="exact").table["insee_code"].tolist() \
        == ["42004", "42001"]


def test_ties_are_broken_by_lowest_insee_code(toy_frames):
    q, c, a = toy_frames
    q = q.copy()
    q.loc[q["code_qp"] == "QN04205D", "population"] = 2000  # 42002 and 42004 now tie
    for seed in range(3):
        inst = build_instance(q.sample(frac=1, random_state=seed), c.sample(frac=1, random_state=seed), a, weights=None)
        assert recommend(inst, sites("75119"), k=1).table["insee_code"].tolist() == ["42002"]


def test_network_essaimage_epci_and_commune_without_qpv(inst, toy_frames):
    net = resolve_network(inst, sites("200000002"))
    assert net.covered.sum() == 2  # C1 and D1
    assert net.excluded.tolist() == [False, False, True, True, False, False]
    reco = recommend(inst, sites("200000002"), k=1)
    assert reco.table["insee_code"].tolist() == ["75119"]
    assert resolve_network(inst, sites("42005")).covered.sum() == 0  # D1 is 5 km away
    wide = build_instance(*toy_frames, radius_km=6.0, weights=None)
    assert resolve_network(wide, sites("42005")).covered.sum() == 1
    assert recommend(inst, None, k=1).baseline_share == 0


def test_bad_sites_and_options(inst):
    with pytest.raises(SitesError, match="75056 is the whole commune of Paris; expected the INSEE code of an arrondissement"):
        recommend(inst, sites("75056"), k=1)
    with pytest.raises(SitesError, match="got unknown '99999'"):
        recommend(inst, sites("99999"), k=1)
    with pytest.raises(SitesError, match="expected the SIREN of an EPCI, got unknown '123456789'"):
        recommend(inst, sites("123456789"), k=1)
    with pytest.raises(ValueError, match="k: expected a positive integer or None"):
        recommend(inst, None, k=0)
    with pytest.raises(ValueError, match=r"target: expected a share in \(0, 1\]"):
        recommend(inst, None, target=20)
    with pytest.raises(ValueError, match="min_spacing_km: expected a positive number"):
        recommend(inst, None, k=1, min_spacing_km=-1)
    with pytest.raises(ValueError, match="method: expected one of"):
        recommend(inst, None, k=1, method="magic")
    with pytest.raises(ValueError, match="quota: expected REG=MIN:MAX"):
        recommend(inst, None, k=1, quotas=["11"])


def test_explanations_in_french_flag_missing_poverty(toy_frames):
    inst = build_instance(*toy_frames)  # default need weights
    reco = recommend(inst, sites("75119"), k=2)
    d = reco.table.set_index("insee_code").loc["42004"]
    assert np.isnan(d["poverty_rate"]) and d["poverty_missing"] == 1
    assert d["npnru_count"] == 1
    assert "Commune 42004" in d["reason"] and "habitants" in d["reason"]
    assert "taux de pauvreté non diffusé" in d["reason"] and "NPNRU" in d["reason"]
    assert d["nearest_site"] == "Site 75119" and d["nearest_site_km"] > 300
    brief = brief_markdown(reco)
    assert brief.startswith("# Où ouvrir les prochains sites VoisinMalin")
    assert "Il faut **" in brief and "| 1 | Commune 42004 (42004)" in brief


def test_curve_is_monotone_and_starts_at_the_network(inst):
    curve = recommend(inst, sites("75119"), k=1).curve
    assert curve["n_new_sites"].tolist()[:3] == [0, 1, 2]
    assert curve["share"].iloc[0] == pytest.approx(4000 / 12300)
    assert np.all(np.diff(curve["share"]) > 0)
    assert curve["share"].iloc[-1] == pytest.approx(1.0)


def test_geodataframe_export(inst):
    gdf = recommend(inst, sites("75119"), k=2).to_geodataframe()
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 2 and gdf.geometry.x.between(3, 5).all()
