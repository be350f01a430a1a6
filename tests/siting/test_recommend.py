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
    assert "Le réseau actuel atteint déjà 20 %" in brief and "| 1 | Commune 42004 (42004)" in brief
    assert "Il faut **3 nouveaux sites** pour atteindre 80 %" in brief_markdown(recommend(inst, sites("75119"), k=2,
                                                                                          target=0.8))


def test_curve_is_monotone_and_starts_at_the_network(inst):
    curve = recommend(inst, sites("75119"), k=1).curve
    assert curve["n_new_sites"].tolist()[:3] == [0, 1, 2]
    assert curve["share"].iloc[0] == pytest.approx(4000 / 12300)
    assert np.all(np.diff(curve["share"]) > 0)
    assert curve["share"].iloc[-1] == pytest.approx(1.0)


def test_geodataframe_export(inst):
    gdf = recommend(inst, sites("75119"), k=2).to_geodataframe()
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 2 and gdf.geometry.x.between(3, 5).all()


def test_epci_partner_reaches_only_its_own_epci_by_default(toy_frames):
    wide = build_instance(*toy_frames, radius_km=12.0, weights=None)
    qpv_codes = wide.qpv["code_qp"].to_numpy()
    # 42002 (EPCI 200000001) lies 10 km from C1 (EPCI 200000002)
    own = resolve_network(wide, sites("200000001"))
    assert set(qpv_codes[own.covered]) == {"QN04201A", "QN04202A", "QN04203B"}
    assert set(wide.qpv["siren_epci"][own.covered]) == {"200000001"}
    across = resolve_network(wide, sites("200000001"), epci_reach="radius")
    assert set(qpv_codes[across.covered]) == {"QN04201A", "QN04202A", "QN04203B", "QN04204C"}
    assert own.excluded.tolist() == across.excluded.tolist() == [True, True, False, False, False, False]
    assert recommend(wide, sites("200000001"), k=1, epci_reach="radius").baseline_share > \
        recommend(wide, sites("200000001"), k=1).baseline_share
    # a commune-coded site keeps its whole catchment, across EPCI borders
    assert "QN04204C" in set(qpv_codes[resolve_network(wide, sites("42002")).covered])
    with pytest.raises(ValueError, match="epci_reach: expected one of"):
        resolve_network(wide, sites("200000001"), epci_reach="everywhere")


def test_rank_follows_the_weighted_gain_and_the_curve_extends_the_table(toy_frames):
    inst = build_instance(*toy_frames)  # need weights: demand != population
    reco = recommend(inst, sites("75119"), k=3)
    t = reco.table
    assert np.all(np.diff(t["added_demand"]) <= 1e-9)  # the rank is the weighted gain's order
    assert (t["added_demand"] >= t["added_population"]).all()
    curve = reco.curve
    assert curve["insee_code"].iloc[1:4].tolist() == t["insee_code"].tolist()
    assert curve["share"].iloc[1:4].to_numpy() == pytest.approx(t["cumulative_share"].to_numpy())
    assert curve["share"].iloc[3] == pytest.approx(reco.share)
    assert np.all(np.diff(curve["demand_reached"]) > 0)
    brief = brief_markdown(reco)
    assert "Gain pondéré" in brief and "gain pondéré" in brief
    assert "| 1 | Commune 42004 (42004) | Auvergne-Rhône-Alpes | 5\u202f143 | 3\u202f000 |" in brief


def test_reason_separates_the_radius_from_the_commune_s_own_qpv(toy_frames):
    import re

    from siting_toy import qpv_row

    q, c, a = toy_frames
    q = pd.concat([q, pd.DataFrame([qpv_row("QN04206A", "42001", 0.0, 6.0, 300)])], ignore_index=True)
    inst = build_instance(q, c, a, radius_km=3.0, weights=None)
    reco = recommend(inst, sites("75119"), k=5)
    row = reco.table.set_index("insee_code").loc["42001"]
    assert (row["added_population"], row["added_population_radius"], row["added_population_own"]) == (1800, 1500, 300)
    assert 5.9 < row["own_max_km"] < 6.1
    found = re.search(r"; ([\d\u202f]+) habitants à moins de 3,0 km et ([\d\u202f]+) dans ses propres quartiers "
                      r"plus éloignés \(jusqu'à ([\d,]+) km\)", row["reason"])
    assert found and found.groups()[:2] == ("1\u202f500", "300")
    # the claim holds: the residents said to be within 3 km are exactly those within 3 km of the site
    xy = inst.cand_xy[inst.candidates["insee_code"].tolist().index("42001")]
    d = np.hypot(*(inst.qpv_xy - xy).T) / 1000
    added = inst.qpv["code_qp"].isin(row["added_qpv_codes"].split(";")).to_numpy()
    assert inst.population[added & (d <= 3.0)].sum() == 1500
    assert "; situé à moins de 3,0 km ;" in reco.table.set_index("insee_code").loc["42002", "reason"]
    plain = recommend(build_instance(*toy_frames, weights=None), sites("75119"), k=5).table.set_index("insee_code")
    assert "de 2 quartiers prioritaires" in plain.loc["42001", "reason"]
    assert "; tous à moins de 3,0 km ;" in plain.loc["42001", "reason"] and plain.loc["42001", "added_population_own"] == 0


def test_texts_in_english_on_request(toy_frames):
    inst = build_instance(*toy_frames)
    en = recommend(inst, sites("75119"), k=2, lang="en")
    d = en.table.set_index("insee_code").loc["42004"]
    assert d["reason"].startswith("Commune 42004 (Auvergne-Rhône-Alpes) adds 3,000 residents")
    assert "poverty rate not published" in d["reason"] and "habitants" not in d["reason"]
    fr = recommend(inst, sites("75119"), k=2)
    assert fr.reasons(lang="en") == en.table["reason"].tolist()
    assert en.reasons(lang="fr") == fr.table["reason"].tolist()
    assert fr.method_label(lang="en") == "heuristic (greedy + swaps)"
    assert fr.method_label() == "heuristique (glouton + échanges)"
    assert en.target_method.startswith("heuristic (greedy + swaps); proof: lower bound reached")
    assert fr.target_method.startswith("heuristique (glouton + échanges) ; preuve")
    brief = brief_markdown(fr, lang="en")
    assert brief.startswith("# Where VoisinMalin should open its next sites")
    assert "**Denominator of every share**: 12,300 residents" in brief and "Weighted gain" in brief
    assert "Où" not in brief and "habitants" not in brief
    with pytest.raises(ValueError, match=r"lang: expected one of \['fr', 'en'\], got 'de'"):
        recommend(inst, None, k=1, lang="de")
    with pytest.raises(ValueError, match="lang: expected one of"):
        brief_markdown(fr, lang="de")


def test_brief_states_the_denominator(toy_frames):
    q, c, a = toy_frames
    q = q.copy()
    q.loc[q["insee_dep"] == "75", "zone"] = "drom"
    metro = recommend(build_instance(q, c, a, weights=None), None, k=1)  # default scope: métropole
    assert metro.denominator == 7_300 and metro.params["scope"] == "metro"
    assert "12\u202f300" not in brief_markdown(metro)
    assert "**Dénominateur de toutes les parts** : 7\u202f300 habitants des 5 QPV de métropole" in brief_markdown(metro)
    q.loc[0, "population"] = np.nan
    every = recommend(build_instance(q, c, a, weights=None, scope="all"), None, k=1)
    assert every.denominator == 11_300
    assert ("11\u202f300 habitants des 6 QPV de métropole et d'outre-mer dont la population est connue "
            "(1 QPV sans population connue ne comptent pas)") in brief_markdown(every)


def test_time_limit_is_checked(inst):
    with pytest.raises(ValueError, match="time_limit_s: expected a positive number of seconds, got 0"):
        recommend(inst, None, k=1, method="exact", time_limit_s=0)
