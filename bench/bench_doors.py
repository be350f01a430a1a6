"""Door data at scale: the national view of 5,000,000 door visits, from the visits and from the roll-up.

    python bench/bench_doors.py [--events 5000000] [--db URL] [--repeat 7] [--keep DIR]

Fills a store (SQLite in a temporary folder by default, or ``--db``) with fictitious visits through the
store's own write path (:func:`geo.coverage.store.insert_visits`, which keeps the roll-up in step), then runs
each side in its own process so that its peak memory is its own:

* **before** -- what a worker did so far: read every visit (:func:`geo.coverage.store.load_events`), prepare
  them (:func:`geo.coverage.aggregate.prepare_events`) and aggregate the national view
  (:func:`geo.coverage.aggregate.viewport` over France at zoom 6) from the visits;
* **prepare** -- once per data version: :func:`geo.coverage.prepared.prepared_events` reads the visits and the
  roll-up and writes the memory-mapped arrays;
* **after** -- what a worker does now: open the prepared arrays (mmap) and aggregate the same national view,
  which reads the roll-up summaries.

Goals (issue 14): national view <= 150 ms, peak memory <= 1.5 GB. The visits: buildings in 60 clusters
around six cities, 25 doors each on average, six campaigns of ten weeks over three years (each building in two); a building's
doors are knocked in one session of a few days per campaign, a third of them again 2 to 4 weeks later.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRANCE = (-5.5, 41.0, 10.0, 51.5)
CITIES = {"91286": (48.645, 2.375), "59350": (50.633, 3.058), "75119": (48.887, 2.384),
          "69123": (45.76, 4.86), "13055": (43.33, 5.40), "200042190": (50.35, 3.52)}
CHUNK = 250_000


def _peak_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ``ru_maxrss``, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _chunk(k: int, n: int, n_b: int, b_lo: int, b_hi: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` visits of buildings ``b_lo..b_hi`` (sorted by building), ready for the store."""
    b = np.sort(rng.integers(b_lo, b_hi, n))
    cluster = b % 60
    site_codes = np.array(list(CITIES), dtype=object)
    site = site_codes[cluster % len(CITIES)]
    centre = np.array([CITIES[s] for s in site_codes])[cluster % len(CITIES)]
    lat = centre[:, 0] + ((cluster // 6) - 5) * 0.01 + (b * 7919 % 1000) / 1000 * 0.008
    lon = centre[:, 1] + ((cluster // 6) - 5) * 0.012 + (b * 104729 % 1000) / 1000 * 0.01
    campaign = (b * 5 + rng.integers(0, 2, n)) % 6  # each building is in two of the six campaigns
    start = np.datetime64("2024-01-01", "m") + (campaign * 26 * 7 * 24 * 60).astype("timedelta64[m]")
    # a team knocks a building's doors in one session of a few days, and a third of them again 2 to 4 weeks later
    day = (b * 37 + campaign * 11) % 56 + rng.integers(0, 4, n) + np.where(rng.random(n) < 0.3,
                                                                           rng.integers(14, 28, n), 0)
    visited = start + (day * 24 * 60 + rng.integers(9 * 60, 19 * 60, n)).astype("timedelta64[m]")
    outcomes = np.array(["ouvert", "absent", "refus", "a_revoir", "ne_pas_deranger"], dtype=object)
    offset = k * CHUNK
    return pd.DataFrame({
        "content_key": [f"{i:032x}" for i in range(offset, offset + n)],
        "campaign": np.char.add("Campagne ", campaign.astype(str)).astype(object),
        "site": site, "visited_at": visited.astype("datetime64[s]"), "time_known": True,
        "street_number": "", "street": "", "postcode": "", "city": "",
        "building": np.char.add("B", b.astype(str)).astype(object),
        "door": np.char.add("A-", rng.integers(0, 25, n).astype(str)).astype(object),
        "lat": lat, "lon": lon, "location_status": "fourni", "geocode_score": np.nan,
        "code_qp": np.char.add("QNB", (cluster + 100).astype(str)).astype(object), "qpv_status": "dans_qpv",
        "outcome": outcomes[rng.choice(5, n, p=[0.41, 0.36, 0.09, 0.1, 0.04])],
        "language": "", "topics": "", "voisin": "",
    })


def fill(url: str, n: int) -> dict[str, float]:
    """Write ``n`` fictitious visits in chunks (each one transaction, roll-up included)."""
    from geo.coverage import store

    engine = store.open_store(url)
    rng = np.random.default_rng(14)
    n_b = max(100, n // 40)
    chunks = max(1, -(-n // CHUNK))
    started = time.perf_counter()
    for k in range(chunks):
        size = min(CHUNK, n - k * CHUNK)
        rows = _chunk(k, size, n_b, k * n_b // chunks, max(k * n_b // chunks + 1, (k + 1) * n_b // chunks), rng)
        with store.write_transaction(engine) as conn:
            store.insert_visits(conn, rows, file_sha256=f"{k:064x}", file_name="bench.csv", file_format="csv",
                                n_rows=size, n_rejected=0)
        print(f"  stored {k * CHUNK + size:,} visits", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        rollup_rows = conn.execute(sa.select(sa.func.count()).select_from(store.ROLLUP)).scalar_one()
    engine.dispose()
    return {"fill_s": seconds, "rollup_rows": float(rollup_rows)}


def _filled(url: str, n: int) -> dict[str, float]:
    """Fill the store, or reuse it when it already holds the ``n`` visits (``--keep``, ``--db``)."""
    from geo.coverage import store

    engine = store.open_store(url)
    try:
        count = store.count_visits(engine)
        with engine.connect() as conn:
            rollup_rows = conn.execute(sa.select(sa.func.count()).select_from(store.ROLLUP)).scalar_one()
    finally:
        engine.dispose()
    if count == n:
        print("  reusing the stored visits", file=sys.stderr)
        return {"fill_s": float("nan"), "rollup_rows": float(rollup_rows)}
    if count:
        raise SystemExit(f"--db/--keep: expected an empty store or one of {n:,} visits, found {count:,}")
    return fill(url, n)


def _time_view(prep, repeat: int) -> list[float]:  # noqa: ANN001
    from geo.coverage import aggregate

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        aggregate.viewport(prep, bbox=FRANCE, zoom=6)
        times.append(time.perf_counter() - start)
    return times


def phase_before(url: str, repeat: int) -> dict[str, float]:
    from geo.coverage import aggregate, store

    engine = store.open_store(url)
    start = time.perf_counter()
    prep = aggregate.prepare_events(store.load_events(engine))
    load = time.perf_counter() - start
    times = _time_view(prep, repeat)
    return {"load_s": load, "view_ms": 1000 * statistics.median(times), "view_max_ms": 1000 * max(times),
            "peak_mb": _peak_mb(), "events": float(prep.n_events)}


def phase_prepare(url: str, folder: str) -> dict[str, float]:
    from geo.coverage import prepared

    start = time.perf_counter()
    prep = prepared.prepared_events(url, folder=folder)
    return {"prepare_s": time.perf_counter() - start, "peak_mb": _peak_mb(), "events": float(prep.n_events),
            "rollup_rows": float(prep.rollup.r_visits.size)}


def phase_after(url: str, folder: str, repeat: int) -> dict[str, float]:
    from geo.coverage import prepared

    start = time.perf_counter()
    prep = prepared.prepared_events(url, folder=folder)
    opened = time.perf_counter() - start
    times = _time_view(prep, repeat)
    return {"load_s": opened, "view_ms": 1000 * statistics.median(times), "view_max_ms": 1000 * max(times),
            "peak_mb": _peak_mb(), "events": float(prep.n_events)}


def _run(phase: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, *args], check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--db", help="store URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--repeat", type=int, default=7, help="national views timed per side (median printed)")
    parser.add_argument("--keep", help="folder for the store and prepared arrays, kept after the run and "
                                       "reused by the next run with the same --events")
    parser.add_argument("--phase", choices=["before", "prepare", "after"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = {"before": lambda: phase_before(args.db, args.repeat),
                  "prepare": lambda: phase_prepare(args.db, args.folder),
                  "after": lambda: phase_after(args.db, args.folder, args.repeat)}[args.phase]()
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="bench-doors-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url = args.db or f"sqlite:///{work / 'doors.db'}"
        folder = str(work / "prepared")
        print(f"{args.events:,} door visits into {url.split('@')[-1]}", flush=True)
        filled = _filled(url, args.events)
        before = _run("before", "--db", url, "--repeat", str(args.repeat))
        prep = _run("prepare", "--db", url, "--folder", folder)
        after = _run("after", "--db", url, "--folder", folder, "--repeat", str(args.repeat))
    n = int(before["events"])
    print(f"\nstore: {n:,} visits written in {filled['fill_s']:.0f} s (nan: reused) with their roll-up "
          f"({int(filled['rollup_rows']):,} roll-up rows, {n / max(filled['rollup_rows'], 1):.1f} visits per row)")
    print(f"prepared arrays written once per data version in {prep['prepare_s']:.1f} s "
          f"(peak {prep['peak_mb']:,.0f} MB)\n")
    print(f"{'national view, ' + format(n, ',') + ' visits':<44}{'before (visits)':>18}{'after (roll-up)':>18}"
          f"{'goal':>10}")
    print(f"{'view time, median (ms)':<44}{before['view_ms']:>18.0f}{after['view_ms']:>18.1f}{'<= 150':>10}")
    print(f"{'view time, slowest (ms)':<44}{before['view_max_ms']:>18.0f}{after['view_max_ms']:>18.1f}{'':>10}")
    print(f"{'worker start: load and prepare / open (s)':<44}{before['load_s']:>18.1f}{after['load_s']:>18.2f}"
          f"{'':>10}")
    print(f"{'worker peak memory (MB)':<44}{before['peak_mb']:>18,.0f}{after['peak_mb']:>18,.0f}{'<= 1,536':>10}")
    ok = after["view_ms"] <= 150 and after["peak_mb"] <= 1536
    print(f"\ngoals {'met' if ok else 'NOT met'} after the change")


if __name__ == "__main__":
    main()
