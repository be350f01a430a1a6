"""The capacitated split-quartier model, the region limit, locks and the roadmap on hand-built instances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from siting_toy import make_problem

from geo.siting import build_instance, resolve_network
from geo.siting.capacitated import (
    CapacitatedProblem,
    assign,
    lp_bound,
    solve_capacitated_exact,
    solve_capacitated_heuristic,
)
from geo.siting.plan import plan, what_it_takes
from geo.siting.regions import UrbanRegions
from geo.siting.roadmap import roadmap, site_households
from geo.siting.solver import InfeasibleError


def cap_problem(rows, pop, *, locked=(), cap=10.0, unit=None, group=None, locked_groups=(), eligible=None,
                conflicts=()):
    """Rows: current sites' reach lists first (``locked``), then candidates' reach lists (``rows``)."""
    all_rows = [*locked, *rows]
    r = [i for i, items in enumerate(all_rows) for _ in items]
    c = [j for items in all_rows for j in items]
    reach = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(len(all_rows), len(pop)), dtype=bool)
    base = make_problem(rows, [1.0] * len(pop), eligible=eligible, conflicts=conflicts)
    caps = np.full(len(all_rows), float(cap))
    return CapacitatedProblem(reach, np.asarray(pop, float), np.ones(len(pop)) if unit is None else np.asarray(unit, float),
                              caps, len(locked), base, group=None if group is None else np.asarray(group),
                              locked_groups=frozenset(locked_groups))


def served(sol):
    return float(sol.residents.sum())


def test_capacity_binds_and_a_quartier_is_split_between_sites():
    # one quartier of 15 residents reachable by both candidates, capacity 10: two sites serve 10 + 5
    p = cap_problem([[0], [0]], [15.0], cap=10)
    one = solve_capacitated_exact(p, k=1)
    assert served(one) == pytest.approx(10.0)
    two = solve_capacitated_exact(p, k=2)
    assert served(two) == pytest.approx(15.0)  # split, nobody counted twice
    assert sorted(np.round(two.residents, 6).tolist()) == [5.0, 10.0]
    assert two.optimal and two.ratio == pytest.approx(1.0)


def test_capacity_changes_the_best_site():
    # cand 0 reaches a big quartier (100), cand 1 two small ones (8 + 8). Uncapacitated, 0 wins (100 > 16);
    # with capacity 12 both serve 12 residents, and need weights decide
    p = cap_problem([[0], [1, 2]], [100.0, 8.0, 8.0], cap=12)
    sol = solve_capacitated_exact(p, k=1)
    assert served(sol) == pytest.approx(12.0)
    unc = cap_problem([[0], [1, 2]], [100.0, 8.0, 8.0], cap=np.inf)
    assert solve_capacitated_exact(unc, k=1).selected == [0]
    assert served(solve_capacitated_exact(unc, k=1)) == pytest.approx(100.0)
    # need weights: the small quartiers are twice as needy -> cand 1 serves 12 residents worth 24
    w = cap_problem([[0], [1, 2]], [100.0, 8.0, 8.0], cap=12, unit=[1.0, 2.0, 2.0])
    best = solve_capacitated_exact(w, k=1)
    assert best.selected == [1] and best.objective == pytest.approx(24.0)


def test_locked_sites_keep_their_residents_and_new_sites_take_the_rest():
    # a current site reaching quartier 0 (pop 8, cap 10); candidate 0 reaches quartier 0 and 1 (pop 6)
    p = cap_problem([[0, 1]], [8.0, 6.0], locked=[[0]], cap=10)
    sol = solve_capacitated_exact(p, k=1)
    assert served(sol) == pytest.approx(14.0)
    by_row = np.bincount(sol.rows, weights=sol.residents, minlength=2)
    assert by_row.max() <= 10 + 1e-9
    # no double counting: each quartier at most its population
    by_qpv = np.bincount(sol.qpv, weights=sol.residents, minlength=2)
    assert np.all(by_qpv <= np.array([8.0, 6.0]) + 1e-9)
    base = assign(p, [])
    assert served(base) == pytest.approx(8.0)


def test_region_limit_counts_the_network_regions():
    # regions: 0 (network there), 1 and 2; candidates 0 in region 1 (serves 9), 1 in region 2 (serves 8),
    # 2 in region 0 (serves 3). With at most 2 regions, the network's region counts: only one new region.
    p = cap_problem([[1], [2], [3]], [5.0, 9.0, 8.0, 3.0], locked=[[0]], cap=10, group=[1, 2, 0], locked_groups=[0])
    free = solve_capacitated_exact(p, k=2)
    assert sorted(free.selected) == [0, 1] and served(free) == pytest.approx(22.0)
    limited = solve_capacitated_exact(p, k=2, max_regions=2)
    assert sorted(limited.selected) == [0, 2] and served(limited) == pytest.approx(17.0)
    heur = solve_capacitated_heuristic(p, k=2, max_regions=2)
    assert sorted(heur.selected) == [0, 2]
    with pytest.raises(InfeasibleError):
        solve_capacitated_exact(p, k=3, max_regions=2)


def test_target_mode_gives_the_fewest_sites():
    p = cap_problem([[0], [0], [1], [2]], [15.0, 4.0, 4.0], cap=10)
    sol = solve_capacitated_exact(p, k=None, need=14.0)
    assert len(sol.selected) == 2 and served(sol) >= 14.0
    sol = solve_capacitated_exact(p, k=None, need=23.0)
    assert len(sol.selected) == 4


def test_heuristic_reports_a_certified_gap_and_reaches_the_optimum_here():
    rng = np.random.default_rng(7)
    rows = [sorted(rng.choice(30, size=4, replace=False).tolist()) for _ in range(25)]
    pop = rng.integers(1, 20, size=30).astype(float)
    p = cap_problem(rows, pop, cap=25, unit=rng.uniform(1, 2, size=30))
    for k in (3, 6):
        exact = solve_capacitated_exact(p, k=k)
        heur = solve_capacitated_heuristic(p, k=k)
        assert heur.bound == pytest.approx(lp_bound(p, k=k))
        assert heur.objective <= exact.objective + 1e-6 <= heur.bound + 1e-6
        assert heur.objective / exact.objective >= 0.97
        assert len(heur.selected) == k


def test_site_households_ramp_and_roadmap_arithmetic():
    assert site_households(np.arange(6), households_per_year=750, build_years=1, maturity_years=4).tolist() == \
        pytest.approx([0.0, 250.0, 500.0, 750.0, 750.0, 750.0])
    # one current site (mature), two new sites at 1 a year from 2026; each serves 100 of 1,000 residents
    road = roadmap(current_years=np.array([2015]), current_served=np.array([100.0]), new_served=np.array([100.0, 100.0]),
                   denominator=1000.0, target=0.3, pace=1, start_year=2026, end_year=2030)
    t = road.table.set_index("year")
    assert road.opening_year.tolist() == [2026, 2027]
    assert t.loc[2026, "presence_share"] == pytest.approx(0.1)  # new site 1 still building
    assert t.loc[2027, "presence_share"] == pytest.approx(0.2)
    assert t.loc[2028, "presence_share"] == pytest.approx(0.3) and road.presence_goal_year == 2028
    assert t.loc[2026, "households_met"] == pytest.approx(750.0)
    assert t.loc[2027, "households_met"] == pytest.approx(750 + 250)
    assert t.loc[2028, "households_met"] == pytest.approx(750 + 500 + 250)
    assert t["households_met_cumulative"].iloc[-1] == pytest.approx(t["households_met"].sum())
    goals = roadmap(current_years=np.array([2015]), current_served=np.array([1.0]), new_served=np.array([]),
                    denominator=10.0, target=0.5, start_year=2026, end_year=2030, door_goals=((1500, 2), (10_000, 5)))
    assert goals.door_goal_years == {(1500, 2): 2027, (10_000, 5): None}
    with pytest.raises(ValueError, match="pace: expected a positive number"):
        roadmap(current_years=np.array([]), current_served=np.array([]), new_served=np.array([1.0]), denominator=1.0,
                target=0.2, pace=0)


def _toy_regions(inst):
    q = inst.qpv
    region = np.where(q["insee_dep"].to_numpy(str) == "75", 1, 0)
    table = pd.DataFrame({"region_id": [0, 1], "name": ["Loire", "Paris"],
                          "population": [q["population"][region == 0].sum(), q["population"][region == 1].sum()],
                          "n_qpv": [int((region == 0).sum()), int((region == 1).sum())], "npnru_qpv": [0, 0]})
    from geo.siting.regions import dominant_region

    return UrbanRegions(region, dominant_region(inst.coverage, region, inst.population), table, "toy")


def test_plan_on_the_toy_geography(toy_frames):
    q, c, a = toy_frames
    inst = build_instance(q, c, a, radius_km=3.0, weights=None)
    sites = pd.DataFrame([{"code": "42001", "name": "A", "opening_year": 2015, "kind": "site",
                           "qpv_codes": "QN04201A"}])
    net = resolve_network(inst, sites)
    assert inst.qpv["code_qp"][net.covered].tolist() == ["QN04201A"]  # named quartiers only, not the circle
    regions = _toy_regions(inst)
    p = plan(inst, sites, capacity=2500, k=2, regions=regions, max_regions=1, weighted=False)
    assert len(p.table) == 2 and not set(p.table["insee_code"]) & {"42001"}
    assert set(p.table["urban_region"]) == {"Loire"}  # one region only, the network's
    per_site = p.assignments.groupby("site_code")["residents"].sum()
    assert per_site.max() <= 2500 + 1e-6
    per_qpv = p.assignments.groupby("code_qp")["residents"].sum()
    assert (per_qpv <= p.assignments.groupby("code_qp")["qpv_population"].first() + 1e-6).all()
    assert p.presence == pytest.approx(p.assignments["residents"].sum() / inst.denominator)
    assert p.table["cumulative_presence"].iloc[-1] == pytest.approx(p.presence)
    two = plan(inst, sites, capacity=2500, k=2, regions=regions, max_regions=2, weighted=False)
    assert two.presence >= p.presence
    answer = what_it_takes(inst, sites, capacity=2500, max_regions=2, max_cities=3, target=0.5, regions=regions)
    assert answer.presence == pytest.approx(two.presence) or answer.presence >= two.presence - 1e-9
    with pytest.raises(ValueError, match="capacity: expected a positive number"):
        plan(inst, sites, capacity=-1, regions=regions)
    with pytest.raises(ValueError, match="max_cities: expected a positive integer"):
        plan(inst, sites, max_cities=0, regions=regions)


def test_robustness_counts_how_often_each_choice_comes_back(toy_frames):
    import functools

    from geo.siting.robustness import robustness

    q, c, a = toy_frames
    cache = {}

    def instance_for(radius, weights):
        if (radius, weights) not in cache:
            cache[(radius, weights)] = build_instance(q, c, a, radius_km=radius, weights=None)  # plain residents
        return cache[(radius, weights)]

    sites = pd.DataFrame([{"code": "42001", "name": "A", "opening_year": 2015, "kind": "site"}])

    def run(inst, *, capacity, weighted):
        return plan(inst, sites, capacity=capacity, k=1, regions=_toy_regions(inst), max_regions=None,
                    weighted=weighted)

    rob = robustness(instance_for, functools.partial(run), capacity=2000,
                     grid={"radius_km": (2.0, 3.0), "capacity_factor": (2.0, 2.5), "weights": ("none",)})
    assert len(rob.scenarios) == 4
    # capacity 4,000 or 5,000: Paris 19e serves its 4,000 residents, more than D (3,000) or B (2,000)
    assert rob.scenarios["capacity"].tolist() == [4000.0, 5000.0, 4000.0, 5000.0]
    assert rob.cities["name"].tolist() == ["Paris 19e Arrondissement"]
    assert rob.cities["selected"].tolist() == [4] and rob.cities["frequency"].tolist() == [1.0]
    assert rob.scenarios["presence"].to_numpy() == pytest.approx((1500 + 4000) / 12_300)
    assert rob.regions.set_index("name").loc["Paris", "selected"] == 4
    assert rob.regions.set_index("name").loc["Loire", "selected"] == 4  # the network's region is always in the plan
    with pytest.raises(ValueError, match="grid: expected non-empty values for 'weights'"):
        robustness(instance_for, run, grid={"radius_km": (2.0,), "capacity_factor": (1.0,), "weights": ()})


def test_the_assignment_of_a_chosen_set_matches_the_milp_on_that_set():
    # 3 candidates, capacity 10; weights make QPV 2 twice as valuable: the LP of the open rows alone
    # must find the MILP's own assignment value, and never use a closed candidate
    p = cap_problem([[0, 1], [1, 2], [2, 3]], [8, 8, 8, 8], locked=[[0]], cap=10.0, unit=[1, 1, 2, 1])
    exact = solve_capacitated_exact(p, k=2)
    again = assign(p, exact.selected)
    assert again.objective == pytest.approx(exact.objective)
    assert set(again.rows.tolist()) <= {0, *(1 + i for i in exact.selected)}
    per_row = np.bincount(again.rows, weights=again.residents)
    assert per_row.max() <= 10 + 1e-6
    assert np.bincount(again.qpv, weights=again.residents, minlength=4).max() <= 8 + 1e-6


def test_plan_choice_gives_the_plans_choice_without_its_tables(toy_frames):
    from geo.siting.robustness import PlanChoice, plan_choice, robustness

    q, c, a = toy_frames
    sites = pd.DataFrame([{"code": "42001", "name": "A", "opening_year": 2015, "kind": "site"}])
    instances = {r: build_instance(q, c, a, radius_km=r, weights=None) for r in (2.0, 3.0)}
    options = {"k": 1, "max_regions": None}

    def full(inst, *, capacity, weighted):
        return plan(inst, sites, capacity=capacity, regions=_toy_regions(inst), weighted=weighted, **options)

    def lean(inst, *, capacity, weighted):
        return plan_choice(inst, resolve_network(inst, sites), regions=_toy_regions(inst), capacity=capacity,
                           weighted=weighted, **options)

    grid = {"radius_km": (2.0, 3.0), "capacity_factor": (0.5, 1.0, 2.5), "weights": ("none",)}
    slow = robustness(lambda r, w: instances[r], full, capacity=2000, grid=grid)
    fast = robustness(lambda r, w: instances[r], lean, capacity=2000, grid=grid)
    pd.testing.assert_frame_equal(slow.scenarios, fast.scenarios)
    pd.testing.assert_frame_equal(slow.cities, fast.cities)
    pd.testing.assert_frame_equal(slow.regions, fast.regions)
    choice = lean(instances[3.0], capacity=5000, weighted=False)
    assert isinstance(choice, PlanChoice) and choice.cities == ("Paris 19e Arrondissement",)
    assert "Loire" in choice.regions  # the network's region counts
    with pytest.raises(TypeError, match="run: expected a PlanChoice or a Plan, got str"):
        robustness(lambda r, w: instances[r], lambda inst, **kw: "plan", capacity=2000, grid=grid)
    with pytest.raises(ValueError, match="max_cities: expected a number of cities when k is None"):
        plan_choice(instances[3.0], resolve_network(instances[3.0], sites), regions=_toy_regions(instances[3.0]),
                    capacity=2000, k=None, max_cities=None)
