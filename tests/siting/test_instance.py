"""Candidates, catchments and demand on the hand-built geography (see siting_toy.toy_frames_data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.siting import build_instance, need_score
from geo.siting.demand import check_weights, demand_vector, parse_weights


def cover(inst, code: str) -> set[str]:
    i = int(np.flatnonzero(inst.candidates["insee_code"] == code)[0])
    return set(inst.qpv["code_qp"].to_numpy(dtype=str)[inst.coverage[i].indices])


def test_candidates_are_qpv_communes_and_paris_arrondissements(toy_frames):
    inst = build_instance(*toy_frames, weights=None)
    codes = inst.candidates["insee_code"].tolist()
    assert codes == ["42001", "42002", "42003", "42004", "75101", "75119"]  # sorted; 42005 has no QPV
    assert "75056" not in codes
    assert cover(inst, "75119") == {"QN07501P"} and cover(inst, "75101") == {"QN07502P"}
    assert inst.candidates.set_index("insee_code").loc["75119", "kind"] == "arrondissement"
    assert (np.asarray(inst.home.sum(axis=0)).ravel() >= 1).all()  # every QPV has a home candidate


def test_catchment_follows_the_radius(toy_frames):
    inst = build_instance(*toy_frames, radius_km=3.0, weights=None)
    assert cover(inst, "42001") == {"QN04201A", "QN04202A"}
    assert cover(inst, "42002") == {"QN04203B"}
    wide = build_instance(*toy_frames, radius_km=9.6, weights=None)
    # B1 lies 9 km from A's centre; A2 9.5 km from B's centre; C1 10 km from B's
    assert cover(wide, "42001") == {"QN04201A", "QN04202A", "QN04203B"}
    assert cover(wide, "42002") == {"QN04202A", "QN04203B"}
    # Paris QPV are never covered from the Loire, whatever the radius
    assert "QN07501P" not in cover(build_instance(*toy_frames, radius_km=50.0, weights=None), "42001")


def test_same_epci_limits_catchments_but_keeps_home_qpv(toy_frames):
    open_ = build_instance(*toy_frames, radius_km=12.0, weights=None)
    assert "QN04203B" in cover(open_, "42003")  # 11 km, other EPCI
    closed = build_instance(*toy_frames, radius_km=12.0, same_epci=True, weights=None)
    assert "QN04203B" not in cover(closed, "42003")
    assert "QN04204C" in cover(closed, "42003")


def test_home_qpv_is_covered_beyond_the_radius(toy_frames):
    q, c, a = toy_frames
    q = q.copy()
    q.loc[q["code_qp"] == "QN04204C", "insee_com"] = "42003;42002"  # a QPV over two communes
    inst = build_instance(q, c, a, radius_km=1.0, weights=None)
    assert "QN04204C" in cover(inst, "42002")  # 10 km away, but its own commune


def test_population_denominator_scope_and_missing_population(toy_frames):
    q, c, a = toy_frames
    inst = build_instance(q, c, a, weights=None)
    assert inst.denominator == 12_300
    q2 = q.copy()
    q2.loc[0, "population"] = np.nan
    inst2 = build_instance(q2, c, a, weights=None)
    assert inst2.denominator == 11_300 and inst2.population[0] == 0
    q3 = q.copy()
    q3.loc[q3["insee_dep"] == "75", "zone"] = "drom"
    assert build_instance(q3, c, a, weights=None, scope="metro").n_qpv == 5


def test_epci_level_candidates(toy_frames):
    inst = build_instance(*toy_frames, level="epci", weights=None)
    assert set(inst.candidates["insee_code"]) == {"200000001", "200000002", "200054781"}
    assert cover(inst, "200000002") == {"QN04204C", "QN04205D"}


def test_bad_options_raise_with_the_argument_named(toy_frames):
    with pytest.raises(ValueError, match="radius_km: expected a positive number of km, got -2"):
        build_instance(*toy_frames, radius_km=-2)
    with pytest.raises(ValueError, match="scope: expected one of"):
        build_instance(*toy_frames, scope="world")
    with pytest.raises(ValueError, match="weights: expected indicators among"):
        build_instance(*toy_frames, weights={"happiness": 1.0})
    with pytest.raises(ValueError, match="level: expected one of"):
        build_instance(*toy_frames, level="iris")
    q, c, a = toy_frames
    with pytest.raises(ValueError, match=r"qpv: expected columns .* missing \['rep_lon'\]"):
        build_instance(q.drop(columns=["rep_lon"]), c, a)
    with pytest.raises(ValueError, match="arrondissements: expected the arrondissements of 75056"):
        build_instance(q, c, a.iloc[0:0])


def test_need_score_ranks_and_flags_missing_indicators(toy_frames):
    q, _, _ = toy_frames
    q = q.copy()
    q["poverty_rate"] = [10.0, 20.0, 30.0, 40.0, np.nan, 50.0, 60.0]
    need = need_score(q, weights={"poverty_rate": 1.0})
    assert need["need"].iloc[0] < need["need"].iloc[3] < need["need"].iloc[6] == 1.0
    assert need["need"].iloc[4] == 0.5 and need["need_missing"].iloc[4] == "poverty_rate"
    both = need_score(q, weights={"poverty_rate": 0.5, "npnru": 0.5})
    # D1: poverty unknown, NPNRU -> the known half of the weights gives need 1.0
    assert both["need"].iloc[4] == 1.0 and both["need_missing"].iloc[4] == "poverty_rate"
    assert both["need_known_weight"].iloc[4] == pytest.approx(0.5)
    emp = q.assign(employment_rate=[70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0])
    e = need_score(emp, weights={"employment_rate": 1.0})["need"]
    assert e.iloc[6] == 1.0 and e.iloc[0] == pytest.approx(1 / 7)  # lowest employment = most need


def test_demand_weights_population_by_need():
    assert demand_vector(np.array([100.0, np.nan]), None).tolist() == [100.0, 0.0]
    assert demand_vector(np.array([100.0, 100.0]), np.array([0.0, 1.0]), strength=1.0).tolist() == [100.0, 200.0]
    with pytest.raises(ValueError, match="need_strength: expected a non-negative number"):
        demand_vector(np.array([1.0]), np.array([0.5]), strength=-1)


def test_weights_parsing():
    assert parse_weights("none") is None
    assert parse_weights("poverty_rate=3,npnru=1") == {"poverty_rate": 0.75, "npnru": 0.25}
    with pytest.raises(ValueError, match="expected 'indicator=weight'"):
        parse_weights("poverty_rate")
    with pytest.raises(ValueError, match="expected a number for 'npnru'"):
        parse_weights("npnru=lots")
    with pytest.raises(ValueError, match="expected at least one positive weight"):
        check_weights({"npnru": 0})
    with pytest.raises(ValueError, match="expected a non-negative number for 'npnru'"):
        check_weights({"npnru": -1})


def _pairs(inst) -> set[tuple[str, str]]:
    c = inst.coverage.tocoo()
    return set(zip(inst.candidates["insee_code"].to_numpy(dtype=str)[c.row],
                   inst.qpv["code_qp"].to_numpy(dtype=str)[c.col], strict=True))


def test_instance_ignores_input_row_order(toy_frames):
    q, c, a = toy_frames
    inst = build_instance(q, c, a, radius_km=12.0)
    shuffled = build_instance(q.sample(frac=1, random_state=3), c.sample(frac=1, random_state=4),
                              a.sample(frac=1, random_state=5), radius_km=12.0)
    assert inst.candidates["insee_code"].tolist() == shuffled.candidates["insee_code"].tolist()
    assert inst.qpv["code_qp"].tolist() == shuffled.qpv["code_qp"].tolist() == sorted(q["code_qp"])
    # the same matrices and weights, position by position, not only the same candidate codes
    assert inst.coverage.shape == shuffled.coverage.shape and (inst.coverage != shuffled.coverage).nnz == 0
    assert (inst.home != shuffled.home).nnz == 0 and (inst.within != shuffled.within).nnz == 0
    assert inst.coverage.nnz > inst.n_qpv  # radius pairs beyond the home ones: a real comparison
    np.testing.assert_array_equal(inst.demand, shuffled.demand)
    np.testing.assert_array_equal(inst.population, shuffled.population)
    np.testing.assert_array_equal(inst.qpv["need"].to_numpy(), shuffled.qpv["need"].to_numpy())
    assert _pairs(inst) == _pairs(shuffled)
    assert isinstance(inst.qpv, pd.DataFrame) and inst.qpv["need"].between(0, 1).all()
    assert len(set(inst.demand)) > 1 and (inst.demand >= inst.population).all()  # need weights in play


def test_own_qpv_count_beyond_the_radius_up_to_the_home_radius(toy_frames):
    from siting_toy import qpv_row

    q, c, a = toy_frames
    q = pd.concat([q, pd.DataFrame([qpv_row("QN04206A", "42001", 0.0, 6.0, 300),      # own, 6 km away
                                    qpv_row("QN04207A", "42001", 0.0, -15.0, 200)])],  # own, 15 km away
                  ignore_index=True)
    inst = build_instance(q, c, a, radius_km=3.0, weights=None)
    assert cover(inst, "42001") == {"QN04201A", "QN04202A", "QN04206A"}
    within = inst.candidates["insee_code"].tolist().index("42001")
    assert set(inst.qpv["code_qp"].to_numpy()[inst.within[within].indices]) == {"QN04201A", "QN04202A"}
    far = inst.qpv.set_index("code_qp").loc["QN04207A"]
    assert not far["reachable"]  # 15 km from its commune's centre: beyond the 10 km home radius
    assert inst.candidates.set_index("insee_code").loc["42001", "base_qpv"] == ""  # the centroid reaches more
    wide = build_instance(q, c, a, radius_km=3.0, weights=None, home_radius_km=20.0)
    assert "QN04207A" in cover(wide, "42001")
    with pytest.raises(ValueError, match="home_radius_km: expected a non-negative number of km, got -1"):
        build_instance(q, c, a, home_radius_km=-1)


def test_team_base_moves_to_the_town_when_the_centroid_is_far_from_every_own_qpv(toy_frames):
    from siting_toy import at, qpv_row

    q, c, a = toy_frames
    q = q.copy()
    # 42003's only QPV is moved 25 km north of the commune's centroid, with a second one 1 km away
    q.loc[q["code_qp"] == "QN04204C", ["rep_lon", "rep_lat"]] = at(20.0, 25.0)
    q = pd.concat([q, pd.DataFrame([qpv_row("QN04208C", "42003", 21.0, 25.0, 100, epci="200000002")])],
                  ignore_index=True)
    inst = build_instance(q, c, a, radius_km=3.0, weights=None)
    row = inst.candidates.set_index("insee_code").loc["42003"]
    assert row["base_qpv"] == "QN04204C"  # the most populous of its QPV
    assert (row["lon"], row["lat"]) == pytest.approx(at(20.0, 25.0))
    assert cover(inst, "42003") == {"QN04204C", "QN04208C"}
    assert inst.qpv["reachable"].all()
    # the other candidates keep their centroid
    assert (inst.candidates.set_index("insee_code").drop(index="42003")["base_qpv"] == "").all()
