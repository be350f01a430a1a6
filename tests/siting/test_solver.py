"""The solvers on hand-built covering problems whose optimum is known by hand."""

from __future__ import annotations

import numpy as np
import pytest
from siting_toy import make_problem

from geo.siting.quotas import Quotas
from geo.siting.solver import (
    InfeasibleError,
    Problem,
    coverage_upper_bound,
    greedy,
    local_search,
    objective,
    order_by_gain,
    solve_exact,
    solve_exact_target,
    solve_heuristic,
    target_heuristic,
    target_lower_bound,
    target_lp_bound,
)


def test_greedy_trap_greedy_alone_is_suboptimal_swaps_and_exact_reach_optimum(greedy_trap):
    sel, trace = greedy(greedy_trap, 2)
    assert sel == [0, 1]  # 4 items, then cand 1 adds item 0 (tie with cand 2 -> lowest index)
    assert trace == [4.0, 5.0]
    improved = local_search(greedy_trap, sel)
    assert sorted(improved) == [1, 2]
    assert objective(greedy_trap, improved) == 6.0
    assert sorted(solve_heuristic(greedy_trap, 2).selected) == [1, 2]
    exact = solve_exact(greedy_trap, 2)
    assert exact.optimal and sorted(exact.selected) == [1, 2] and exact.objective == 6.0


def test_exact_with_cbc_agrees(greedy_trap):
    exact = solve_exact(greedy_trap, 2, solver="cbc")
    assert sorted(exact.selected) == [1, 2]


def test_locked_items_count_and_change_the_choice():
    # items 0..3; the current network covers items 0 and 1 already
    p = make_problem([[0, 1], [2], [3]], [5.0, 5.0, 2.0, 1.0], covered0=[0, 1])
    sol = solve_heuristic(p, 1)
    assert sol.selected == [1]  # cand 0 would add nothing
    assert sol.objective == 12.0  # 10 locked + 2
    assert solve_exact(p, 1).selected == [1]


def test_ineligible_candidates_are_never_chosen():
    p = make_problem([[0], [1], [2]], [9.0, 1.0, 2.0], eligible=[False, True, True])
    assert sorted(solve_heuristic(p, 2).selected) == [1, 2]
    assert sorted(solve_exact(p, 2).selected) == [1, 2]


def test_ties_go_to_the_lowest_index():
    p = make_problem([[0], [1], [2], [3]], [1.0, 1.0, 1.0, 1.0])
    assert greedy(p, 2)[0] == [0, 1]
    assert solve_heuristic(p, 3).selected == [0, 1, 2]


def test_min_quota_forces_a_region():
    # the two best candidates are in région A, but B needs one site
    p = make_problem([[0], [1], [2]], [10.0, 9.0, 1.0], region=["A", "A", "B"])
    q = Quotas(min_sites={"B": 1})
    assert sorted(solve_heuristic(p, 2, quotas=q).selected) == [0, 2]
    assert sorted(solve_exact(p, 2, quotas=q).selected) == [0, 2]


def test_min_quota_counts_current_sites():
    p = make_problem([[0], [1], [2]], [10.0, 9.0, 1.0], region=["A", "A", "B"], locked_regions={"B": 1})
    assert sorted(solve_heuristic(p, 2, quotas=Quotas(min_sites={"B": 1})).selected) == [0, 1]


def test_cap_on_new_sites_per_region():
    p = make_problem([[0], [1], [2], [3]], [10.0, 9.0, 8.0, 1.0], region=["A", "A", "A", "B"])
    q = Quotas(max_new={"A": 2})
    assert sorted(solve_heuristic(p, 3, quotas=q).selected) == [0, 1, 3]
    assert sorted(solve_exact(p, 3, quotas=q).selected) == [0, 1, 3]
    with pytest.raises(InfeasibleError, match="only 2 new site"):
        solve_heuristic(p, 3, quotas=Quotas(max_new_per_region=1))


def test_swaps_keep_quotas():
    # greedy trap with régions: the optimum {1, 2} is forbidden when région X (cand 1, 2) is capped at 1
    p = make_problem([[1, 2, 3, 4], [0, 1, 2], [3, 4, 5]], [1.0] * 6, region=["Y", "X", "X"])
    sol = solve_heuristic(p, 2, quotas=Quotas(max_new={"X": 1}))
    assert sorted(sol.selected) in ([0, 1], [0, 2])
    assert solve_exact(p, 2, quotas=Quotas(max_new={"X": 1})).objective == sol.objective == 5.0


def test_spacing_conflicts_are_respected():
    p = make_problem([[0], [1], [2]], [10.0, 9.0, 1.0], conflicts=[(0, 1)])
    assert sorted(solve_heuristic(p, 2).selected) == [0, 2]
    assert sorted(solve_exact(p, 2).selected) == [0, 2]


def test_swaps_keep_spacing():
    # greedy trap where the optimal pair {1, 2} is too close
    p = make_problem([[1, 2, 3, 4], [0, 1, 2], [3, 4, 5]], [1.0] * 6, conflicts=[(1, 2)])
    assert solve_heuristic(p, 2).objective == solve_exact(p, 2).objective == 5.0


def test_target_mode_is_minimal_where_greedy_is_not(greedy_trap):
    sel, _ = greedy(greedy_trap, None, until=6.0)
    assert len(sel) == 3  # plain greedy needs three sites
    sol, bound = target_heuristic(greedy_trap, 6.0)
    assert sorted(sol.selected) == [1, 2]
    assert bound == 2 and sol.optimal  # 4 + 3 >= 6: no single site can do it
    exact = solve_exact_target(greedy_trap, 6.0)
    assert len(exact.selected) == 2 and exact.optimal


def test_lp_relaxation_proves_what_the_simple_bound_cannot():
    # item 0 (weight 10) is in every catchment; each candidate adds one private item of weight 1
    p = make_problem([[0, 1], [0, 2], [0, 3], [0, 4]], [10.0, 1.0, 1.0, 1.0, 1.0])
    assert target_lower_bound(p, 13.0) == 2  # 11 + 11 >= 13 ...
    assert target_lp_bound(p, 13.0) == 3  # ... but three private items are needed
    sol, bound = target_heuristic(p, 13.0)
    assert len(sol.selected) == 3 and bound == 3 and sol.optimal
    assert len(solve_exact_target(p, 13.0).selected) == 3
    assert target_lp_bound(p, 13.0, quotas=Quotas(max_new_per_region=2)) == 0  # LP infeasible: no bound


def test_target_lower_bound_and_unreachable_target():
    p = make_problem([[0], [1], [2]], [3.0, 2.0, 1.0])
    assert target_lower_bound(p, 5.0) == 2
    assert target_lower_bound(p, 6.0) == 3
    with pytest.raises(InfeasibleError, match="unreachable"):
        target_lower_bound(p, 7.0)
    with pytest.raises(InfeasibleError, match="unreachable"):
        target_heuristic(p, 7.0)


def test_target_already_met_needs_no_site():
    p = make_problem([[0], [1]], [3.0, 2.0], covered0=[0])
    sol, bound = target_heuristic(p, 3.0)
    assert sol.selected == [] and bound == 0
    assert solve_exact_target(p, 3.0).selected == []


def test_order_by_gain_ranks_by_marginal_contribution(greedy_trap):
    assert order_by_gain(greedy_trap, [2, 1]) == [1, 2]  # tie 3 vs 3 -> lowest index first
    p = make_problem([[0], [1, 2]], [1.0, 1.0, 1.0])
    assert order_by_gain(p, [0, 1]) == [1, 0]


def test_failures_name_the_argument():
    p = make_problem([[0], [1]], [1.0, 1.0])
    with pytest.raises(ValueError, match="k: expected a non-negative integer"):
        greedy(p, -1)
    with pytest.raises(InfeasibleError, match="asked for 3 new sites, only 2 eligible"):
        solve_exact(p, 3)
    with pytest.raises(InfeasibleError, match="only 2 new site"):
        solve_heuristic(p, 3)
    with pytest.raises(InfeasibleError, match="région Z needs 1 new site"):
        solve_heuristic(p, 1, quotas=Quotas(min_sites={"Z": 1}))
    with pytest.raises(InfeasibleError, match="minimum quotas need 2 new sites, more than k=1"):
        greedy(make_problem([[0], [1]], [1.0, 1.0], region=["A", "B"]), 1, quotas=Quotas(min_sites={"A": 1, "B": 1}))
    with pytest.raises(ValueError, match="weight: expected length 2"):
        Problem(p.coverage, np.ones(3), p.covered0, p.eligible, p.region)
    with pytest.raises(ValueError, match="solver: expected one of"):
        solve_exact(p, 1, solver="gurobi")


def test_heuristic_matches_exact_on_random_small_instances():
    rng = np.random.default_rng(20240101)
    ratios = []
    for _ in range(25):
        n, m = 12, 40
        rows = [sorted(rng.choice(m, size=rng.integers(1, 8), replace=False).tolist()) for _ in range(n)]
        weight = rng.integers(1, 100, size=m).astype(float).tolist()
        region = rng.choice(["A", "B", "C"], size=n).tolist()
        p = make_problem(rows, weight, region=region)
        q = Quotas(max_new_per_region=2)
        h = solve_heuristic(p, 4, quotas=q)
        e = solve_exact(p, 4, quotas=q)
        assert e.objective >= h.objective - 1e-9
        ratios.append(h.objective / e.objective)
        need = 0.6 * sum(weight)
        try:
            th, bound = target_heuristic(p, need)
        except InfeasibleError:
            continue
        te = solve_exact_target(p, need)
        assert bound <= len(te.selected) <= len(th.selected)
        assert objective(p, te.selected) >= need
    assert min(ratios) >= 0.9 and np.mean(ratios) >= 0.98


def test_coverage_upper_bound_bounds_the_optimum(greedy_trap):
    assert coverage_upper_bound(greedy_trap, 2) == pytest.approx(6.0)
    assert coverage_upper_bound(greedy_trap, 1) == pytest.approx(4.0)
    # half sites do better than whole ones: four sets, each item in exactly two, any two sets share one item
    p = make_problem([[0, 1, 2], [0, 3, 4], [1, 3, 5], [2, 4, 5]], [1.0] * 6)
    assert solve_exact(p, 2).objective == 5.0
    assert coverage_upper_bound(p, 2) == pytest.approx(6.0)  # x = 1/2 everywhere covers every item
    rng = np.random.default_rng(7)
    for _ in range(10):
        rows = [sorted(rng.choice(30, size=rng.integers(1, 7), replace=False).tolist()) for _ in range(10)]
        q = make_problem(rows, rng.integers(1, 50, size=30).astype(float).tolist(), covered0=[0, 1],
                         region=rng.choice(["A", "B"], size=10).tolist())
        quotas = Quotas(max_new={"A": 2})
        ub = coverage_upper_bound(q, 3, quotas=quotas)
        assert solve_exact(q, 3, quotas=quotas).objective <= ub + 1e-6
        assert ub <= q.weight.sum() + 1e-6


def test_greedy_extends_a_given_start(greedy_trap):
    sel, trace = greedy(greedy_trap, 3, start=[2], stop_without_gain=True)
    assert sel[0] == 2 and trace[0] == 3.0  # the start is taken first, as given
    assert sel == [2, 1] and trace == [3.0, 6.0]  # then the largest gain; nothing left to add after
