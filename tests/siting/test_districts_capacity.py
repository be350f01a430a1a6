"""Districts (DBSCAN) and the capacity projection, on hand-made inputs."""

from __future__ import annotations

import pytest

from geo.siting import capacity_projection, districts


def test_districts_link_qpv_within_eps(toy_frames):
    q, _, _ = toy_frames
    d = districts(q, eps_km=1.5)
    # A1-A2 are 1.1 km apart; everything else is alone
    assert len(d) == 6
    a = d[d["qpv_codes"] == "QN04201A;QN04202A"].iloc[0]
    assert a["population"] == 1500 and a["n_qpv"] == 2 and a["npnru_count"] == 1 and a["name"] == "Commune 42001"
    wide = districts(q, eps_km=10.0)
    ab = wide[wide["qpv_codes"].str.contains("QN04203B")].iloc[0]
    assert ab["qpv_codes"] == "QN04201A;QN04202A;QN04203B"
    assert ab["name"] == "Commune 42002"  # the commune with most QPV residents names the district
    assert wide["population"].sum() == q["population"].sum()
    assert wide["district_id"].tolist() == list(range(1, len(wide) + 1))
    assert wide.crs.to_epsg() == 4326 and wide.geometry.notna().all()


def test_districts_errors(toy_frames):
    q, _, _ = toy_frames
    with pytest.raises(ValueError, match="eps_km: expected a positive number of km, got 0"):
        districts(q, eps_km=0)
    with pytest.raises(ValueError, match="need: expected 7 values"):
        districts(q, need=[0.5])


def test_capacity_by_hand():
    # 6 branches met 4,500 households in 2014: 750 each
    assert capacity_projection(n_current=6, goal_households=4500).years_to_goal == 1
    two = capacity_projection(n_current=0, n_new=2, goal_households=1500)
    assert two.table["households_year"].tolist()[:3] == [0, 1500, 1500]  # first year: building the team
    assert two.years_to_goal == 2
    paced = capacity_projection(n_current=0, n_new=2, goal_households=2000, openings_per_year=1)
    assert paced.table["households_cumulative"].tolist()[:3] == [0, 750, 2250]
    assert paced.years_to_goal == 3
    assert capacity_projection(n_current=1, goal_households=1e9, max_years=10).years_to_goal is None


def test_capacity_errors():
    with pytest.raises(ValueError, match="n_current: expected a non-negative integer, got -1"):
        capacity_projection(n_current=-1, goal_households=1)
    with pytest.raises(ValueError, match="households_per_site_year: expected a positive number"):
        capacity_projection(n_current=1, goal_households=1, households_per_site_year=0)
    with pytest.raises(ValueError, match="openings_per_year: expected at least 1"):
        capacity_projection(n_current=1, n_new=3, goal_households=1, openings_per_year=0)
