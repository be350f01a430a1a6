"""Bench of the expansion engine on the national instance.

1. Instance: the first build in the process, and a rebuild with a new radius (what a change of radius
   or weights costs the app), against the goal of 300 ms for the app's recommendation callback.
2. Cold against warm, side by side: "cold" = rebuild the instance for a new radius + recommend (a
   slider moved); "warm" = recommend on the cached instance (any other control moved).
3. Solver only, for k in {5, 10, 20}: heuristic (greedy + swaps) against the exact MILP (PuLP +
   HiGHS), objective ratio (goal >= 0.995) and time ratio side by side.
4. Full recommendations (goal < 1 s for the heuristic).

    .venv/bin/python bench/bench_siting.py [--repeat 5] [--data-dir DIR]

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
from geo.siting.params import DEFAULT_RADIUS_KM
from geo.siting.recommendation import build_problems
from geo.siting.solver import solve_exact, solve_heuristic

OBJECTIVE_GOAL = 0.995
FULL_TIME_GOAL_S = 1.0
CALLBACK_GOAL_S = 0.300
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
    args = parser.parse_args()
    sites = read_sites(config.PROJECT_ROOT / "data" / "sites.csv")
    frames = (load_qpv(data_dir=args.data_dir), load_communes(data_dir=args.data_dir),
              load_arrondissements(data_dir=args.data_dir))
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
    print(f"goals (objective ratio >= {OBJECTIVE_GOAL}, cold callback <= {CALLBACK_GOAL_S} s, full < "
          f"{FULL_TIME_GOAL_S:g} s): {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
