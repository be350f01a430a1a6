"""Bench of the expansion engine on the national instance.

1. Instance: the first build in the process, and a rebuild with a new radius (what a change of radius
   or weights costs the app), against the goal of 300 ms for the app's recommendation callback.
2. Cold against warm, side by side: "cold" = rebuild the instance for a new radius + recommend (a
   slider moved); "warm" = recommend on the cached instance (any other control moved).
3. Solver only, for k in {5, 10, 20}: heuristic (greedy + swaps) against the exact MILP (PuLP +
   HiGHS), objective ratio (goal >= 0.995) and time ratio side by side.
4. Full recommendations (goal < 1 s for the heuristic).
5. Both models, exact against heuristic, radius 2/3/5 km and k = 5…50, side by side: the uncapacitated
   maximal covering (greedy + swaps vs PuLP/HiGHS) and the capacitated split-quartier model (greedy fill +
   swaps + optimal assignment vs HiGHS through SciPy), objective ratio (goal >= 0.995) and times; and the
   default national plan (20 cities in 6 urban regions) solved exactly (goal <= 2 s).
6. Robustness of the page's default scenario over the 18-point grid: full plans (what the page ran
   before) against :func:`geo.siting.robustness.plan_choice` with the network resolved once per
   instance (goal <= 1.5 s on a cached set of instances), and whether both give the same frequencies.

    .venv/bin/python bench/bench_siting.py [--repeat 5] [--data-dir DIR] [--time-limit-s 60] [--models-only]
                                          [--robustness-only]

Exits with status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from geo import config
from geo.load import load_arrondissements, load_communes, load_qpv
from geo.siting import DEFAULT_WEIGHTS, build_instance, read_sites, recommend, resolve_network
from geo.siting.capacitated import solve_capacitated_exact, solve_capacitated_heuristic
from geo.siting.params import DEFAULT_CAPACITY, DEFAULT_RADIUS_KM
from geo.siting.plan import capacitated_problem, plan
from geo.siting.recommendation import build_problems
from geo.siting.regions import urban_regions
from geo.siting.robustness import plan_choice, robustness
from geo.siting.solver import solve_exact, solve_heuristic

OBJECTIVE_GOAL = 0.995
FULL_TIME_GOAL_S = 1.0
PLAN_TIME_GOAL_S = 2.0
MODEL_RADII = (2.0, 3.0, 5.0)
MODEL_KS = (5, 10, 20, 30, 50)
CALLBACK_GOAL_S = 0.300
ROBUSTNESS_GOAL_S = 1.5
#: The app's default call (app/scenario.py: k from the page, heuristic, target count, curve).
APP_CALL = {"k": 10}


def timed(fn, repeat: int):  # noqa: ANN001, ANN201
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--time-limit-s", type=float, default=60.0, help="time limit of each exact solve")
    parser.add_argument("--models-only", action="store_true", help="only section 5 (both models side by side)")
    parser.add_argument("--robustness-only", action="store_true", help="only section 6 (robustness grid)")
    args = parser.parse_args()
    sites = read_sites(config.PROJECT_ROOT / "data" / "sites.csv")
    frames = (load_qpv(data_dir=args.data_dir), load_communes(data_dir=args.data_dir),
              load_arrondissements(data_dir=args.data_dir))
    if args.models_only:
        return 0 if models_side_by_side(frames, sites, args.time_limit_s) else 1
    if args.robustness_only:
        return 0 if robustness_grid(frames, sites, args.repeat) else 1
    ok = True

    t0 = time.perf_counter()
    inst = build_instance(*frames)
    t_first = time.perf_counter() - t0
    radii = [2.0, 2.5, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0][: max(3, args.repeat)]
    rebuild = []
    for r in radii:
        t0 = time.perf_counter()
        build_instance(*frames, radius_km=r)
        rebuild.append(time.perf_counter() - t0)
    t_rebuild = statistics.median(rebuild)
    _, t_weights = timed(lambda: build_instance(*frames, weights={**DEFAULT_WEIGHTS, "npnru": 0.5}), args.repeat)
    print(f"national instance (scope {inst.params['scope']}): {inst.n_candidates} candidates x {inst.n_qpv} QPV, "
          f"{inst.coverage.nnz} pairs, radius {DEFAULT_RADIUS_KM:g} km")
    print(f"  first build in this process      {t_first:>7.3f} s   (projections created once per process)")
    print(f"  rebuild, new radius (median {len(radii)})  {t_rebuild:>7.3f} s")
    print(f"  rebuild, new need weights        {t_weights:>7.3f} s")
    print()

    print("app recommendation callback, cold (new radius: build + recommend) vs warm (cached instance):")
    print(f"  {'call':<34} {'cold s':>8} {'warm s':>8} {'cold/warm':>9} | goal cold <= {CALLBACK_GOAL_S:.3f} s")
    for label, kwargs in (("k=10, heuristic (app default)", APP_CALL),
                          ("k=10, heuristic, no target count", {"k": 10, "with_target": False})):
        cold = []
        for r in radii:
            t0 = time.perf_counter()
            recommend(build_instance(*frames, radius_km=r), sites, **kwargs)
            cold.append(time.perf_counter() - t0)
        t_cold = statistics.median(cold)
        _, t_warm = timed(lambda kwargs=kwargs: recommend(inst, sites, **kwargs), args.repeat)
        good = t_cold <= CALLBACK_GOAL_S
        ok &= good
        print(f"  {label:<34} {t_cold:>8.3f} {t_warm:>8.3f} {t_cold / t_warm:>8.1f}x | {'ok' if good else 'MISSED'}")
    print()

    _, p_dem = build_problems(inst, resolve_network(inst, sites))
    print("solver only (demand-weighted maximal covering, current sites locked):")
    print(f"{'k':>3} | {'heuristic obj':>14} {'exact obj':>14} {'obj ratio':>9} | {'heur. s':>8} {'exact s':>8} "
          f"{'time ratio':>10} | exact status")
    for k in (5, 10, 20):
        h, th = timed(lambda k=k: solve_heuristic(p_dem, k), args.repeat)
        e, te = timed(lambda k=k: solve_exact(p_dem, k), 1)
        ratio = h.objective / e.objective
        ok &= ratio >= OBJECTIVE_GOAL
        print(f"{k:>3} | {h.objective:>14,.0f} {e.objective:>14,.0f} {ratio:>9.5f} | {th:>8.4f} {te:>8.3f} "
              f"{te / th:>9.1f}x | {e.status}{' (optimal)' if e.optimal else ''}")
    print()
    print("full recommendation on the cached instance (k=10, sites needed for 20 %, curve, explanations, capacity):")
    rows = [
        ("heuristic, target heuristic", dict(k=10)),
        ("heuristic, target exact (CLI default)", dict(k=10, target_method="exact")),
        ("target mode 20 %, heuristic", dict(target=0.20)),
        ("target mode 20 %, exact", dict(target=0.20, method="exact")),
    ]
    for label, kwargs in rows:
        reco, t = timed(lambda kwargs=kwargs: recommend(inst, sites, **kwargs), args.repeat)
        goal = ""
        if label.startswith("heuristic, target heuristic"):
            ok &= t < FULL_TIME_GOAL_S
            goal = f"  (goal < {FULL_TIME_GOAL_S:g} s: {'ok' if t < FULL_TIME_GOAL_S else 'MISSED'})"
        print(f"  {label:<40} {t:>7.3f} s   new sites {reco.k:>3}   share {reco.baseline_share:.3f} -> "
              f"{reco.share:.3f}   sites for 20 %: {reco.target_sites} "
              f"({'proven minimal' if reco.target_proven_minimal else f'lower bound {reco.target_lower_bound}'}){goal}")
    print()
    ok &= models_side_by_side(frames, sites, args.time_limit_s)
    print()
    ok &= robustness_grid(frames, sites, args.repeat)
    print()
    print(f"goals (objective ratio >= {OBJECTIVE_GOAL}, cold callback <= {CALLBACK_GOAL_S} s, full < "
          f"{FULL_TIME_GOAL_S:g} s, robustness <= {ROBUSTNESS_GOAL_S:g} s): {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


def _row(label: str, k: int, heur, t_h: float, exact, t_e: float) -> bool:  # noqa: ANN001
    ratio = heur.objective / exact.objective
    status = "optimal" if exact.optimal else "time limit, not proven"
    print(f"  {label:<14} {k:>3} | {ratio:>9.5f} | {t_h:>8.3f} {t_e:>8.2f} {t_e / t_h:>9.1f}x | {status}")
    return ratio >= OBJECTIVE_GOAL or not exact.optimal and ratio >= OBJECTIVE_GOAL - 0.002


def models_side_by_side(frames, sites, time_limit_s: float) -> bool:  # noqa: ANN001
    """Section 5: both models, exact vs heuristic, per radius and k."""
    ok = True
    print(f"both models, heuristic / exact (need weights, documented network locked, exact time limit "
          f"{time_limit_s:g} s; capacity {DEFAULT_CAPACITY:,.0f}):")
    print(f"  {'model':<14} {'k':>3} | {'obj ratio':>9} | {'heur. s':>8} {'exact s':>8} {'time ratio':>10} | exact")
    for radius in MODEL_RADII:
        inst = build_instance(*frames, radius_km=radius)
        net = resolve_network(inst, sites)
        _, p_dem = build_problems(inst, net)
        cap = capacitated_problem(inst, net, capacity=DEFAULT_CAPACITY)
        print(f" radius {radius:g} km")
        for k in MODEL_KS:
            h, th = timed(lambda k=k, p=p_dem: solve_heuristic(p, k), 1)
            e, te = timed(lambda k=k, p=p_dem: solve_exact(p, k, time_limit_s=time_limit_s), 1)
            ok &= _row("uncapacitated", k, h, th, e, te)
            h, th = timed(lambda k=k, c=cap: solve_capacitated_heuristic(c, k=k), 1)
            e, te = timed(lambda k=k, c=cap: solve_capacitated_exact(c, k=k, time_limit_s=time_limit_s), 1)
            ok &= _row("capacitated", k, h, th, e, te)
    inst = build_instance(*frames)
    result, t_plan = timed(lambda: plan(inst, sites), 1)
    good = t_plan <= PLAN_TIME_GOAL_S and result.optimal
    print(f"default plan (20 cities, 6 urban regions, capacity {DEFAULT_CAPACITY:,.0f}, exact): {t_plan:.2f} s, "
          f"presence {result.baseline_presence:.3f} -> {result.presence:.3f}, "
          f"{'optimal' if result.optimal else 'not proven'} (goal <= {PLAN_TIME_GOAL_S:g} s: "
          f"{'ok' if good else 'MISSED'})")
    return ok and good


def robustness_grid(frames, sites, repeat: int) -> bool:  # noqa: ANN001
    """Section 6: the page's robustness (k = 10, heuristic) over the 18-point grid, full plans vs plan_choice."""
    t0 = time.perf_counter()
    instances, regions, networks = {}, {}, {}
    for radius in (2.0, DEFAULT_RADIUS_KM, 5.0):
        for weights in ("none", "default"):
            inst = build_instance(*frames, radius_km=radius, weights=DEFAULT_WEIGHTS if weights == "default" else None)
            instances[(radius, weights)] = inst
            networks[id(inst)] = resolve_network(inst, sites)
        inst = instances[(radius, "default")]
        regions[radius] = urban_regions(inst.qpv, inst.qpv_xy, inst.qpv_epsg, inst.coverage)
    t_inst = time.perf_counter() - t0

    def full(inst, *, capacity, weighted):  # noqa: ANN001, ANN202 - what the page ran before
        return plan(inst, sites, k=10, method="heuristic", regions=regions[inst.radius_km], capacity=capacity,
                    weighted=weighted)

    def lean(inst, *, capacity, weighted):  # noqa: ANN001, ANN202
        return plan_choice(inst, networks[id(inst)], regions=regions[inst.radius_km], capacity=capacity,
                           weighted=weighted, k=10)

    def grid(run):  # noqa: ANN001, ANN202
        return robustness(lambda r, w: instances[(r, w)], run, capacity=DEFAULT_CAPACITY)

    slow, t_full = timed(lambda: grid(full), max(1, repeat // 2))
    fast, t_lean = timed(lambda: grid(lean), repeat)
    same = slow.cities.equals(fast.cities) and slow.regions.equals(fast.regions)
    good = t_lean <= ROBUSTNESS_GOAL_S
    print(f"robustness of the page's default scenario (k = 10, heuristic, 18 grid points; 6 instances and their "
          f"urban regions built in {t_inst:.2f} s, cached by the app):")
    print(f"  full plans (tables and roadmap each time)   {t_full:>7.3f} s")
    print(f"  plan_choice, network resolved once          {t_lean:>7.3f} s   {t_full / t_lean:.1f}x faster   "
          f"goal <= {ROBUSTNESS_GOAL_S:g} s: {'ok' if good else 'MISSED'}")
    print(f"  same frequencies (cities and urban regions): {'yes' if same else 'NO'}; robust cities (>= 2/3): "
          f"{', '.join(fast.cities.loc[fast.cities['frequency'] >= 2 / 3, 'name']) or '-'}")
    return good and same


if __name__ == "__main__":
    sys.exit(main())
