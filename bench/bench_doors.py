"""Door data at scale: preparing the memory-mapped arrays of 1,000,000 and 5,000,000 door visits, before and
after the chunked preparation, and the national, regional and site views read from them.

    python bench/bench_doors.py [--events 1000000 5000000] [--db URL] [--repeat 7] [--keep DIR]

Fills a store per size (SQLite in a temporary folder by default, or ``--db`` for one size) with fictitious
visits through the store's own write path (:func:`geo.coverage.store.insert_visits`, which keeps the roll-up
in step), then runs each side in its own child process, so that the peak memory printed (``VmHWM`` of the
child) is that side's whole process, preparation included:

* **before** -- the preparation as of commit 9cfc5fd: every visit loaded at once
  (:func:`geo.coverage.store.load_events`), coded by the copy of that commit's ``prepare_events`` kept below
  (:func:`old_prepare_events`), the whole roll-up loaded (:func:`geo.coverage.store.load_rollup`) and
  summarised, the arrays written (:func:`geo.coverage.prepared.write_prepared`);
* **after** -- :func:`geo.coverage.prepared.prepare`: the visits and the roll-up read in chunks
  (:mod:`geo.coverage.store.stream`) and coded straight into the memory-mapped files
  (:class:`geo.coverage.coding.EventCoder`).

Each side then opens its arrays (mmap, as a web worker does) and times the national view (France, zoom 6),
a regional view (Hauts-de-France, zoom 8) and a site view (one site, zoom 14), median of ``--repeat``. A web
worker that only maps the finished arrays is measured too, and a last child checks that both sides wrote the
same arrays.

Goals (issue 14): national view <= 150 ms and peak memory <= 1.5 GB at 5 M visits. The visits: buildings
in 60 clusters around six cities, 25 doors each on average, six campaigns of ten weeks over three years (each
building in two); a building's doors are knocked in one session of a few days per campaign, a third of them
again 2 to 4 weeks later.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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
HAUTS_DE_FRANCE = (1.4, 49.9, 4.3, 51.1)
SITE = "91286"
SITE_BOX = (2.28, 48.57, 2.47, 48.72)
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


def _time(call, repeat: int) -> tuple[float, float]:  # noqa: ANN001
    """Median and slowest time of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times), 1000 * max(times)


def _views(prep, repeat: int) -> dict[str, float]:  # noqa: ANN001
    """Times of the national, regional and site views (read from the roll-up summaries, as the app does)."""
    from geo.coverage import aggregate

    out: dict[str, float] = {}
    for name, kwargs in (("national", {"bbox": FRANCE, "zoom": 6}),
                         ("regional", {"bbox": HAUTS_DE_FRANCE, "zoom": 8}),
                         ("site", {"bbox": SITE_BOX, "zoom": 14, "sites": [SITE]})):
        out[f"{name}_ms"], out[f"{name}_max_ms"] = _time(lambda kw=kwargs: aggregate.viewport(prep, **kw), repeat)
    return out


def old_prepare_events(events: pd.DataFrame, *, qpv: pd.DataFrame | None = None):  # noqa: ANN201, C901
    """``prepare_events`` as of commit 9cfc5fd (bench-only copy, the "before" side): the same arguments and
    result as :func:`geo.coverage.coding.prepare_events`, from one frame of every visit with its object columns."""
    import h3
    import h3.api.basic_int as h3i

    from geo.coverage import events as events_mod
    from geo.coverage.keys import building_keys, text_column
    from geo.coverage.placing import assign_qpv, group_median

    need = ("visited_at", "outcome", "lat", "lon", "campaign", "site")
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise ValueError(f"events: expected the columns {list(need)}, missing {missing}")
    frame = events[np.isfinite(events["lat"].to_numpy(dtype=float)) & np.isfinite(events["lon"].to_numpy(dtype=float))]
    frame = frame.iloc[np.argsort(frame["visited_at"].to_numpy(dtype="datetime64[s]"), kind="stable")]
    frame = frame.reset_index(drop=True)
    n = len(frame)
    outcome_text = frame["outcome"].astype("str")
    known = outcome_text.isin(events_mod.OUTCOMES).to_numpy()
    if not known.all():
        bad = sorted(set(outcome_text[~known]))[:5]
        raise ValueError(f"events: expected outcomes in {list(events_mod.OUTCOMES)}, got {bad}")
    outcome_codes = pd.Categorical(outcome_text, categories=events_mod.OUTCOMES).codes
    lat = frame["lat"].to_numpy(dtype=float)
    lon = frame["lon"].to_numpy(dtype=float)
    site_text = text_column(frame, "site")
    key, label = building_keys(frame)
    b_code, b_keys = pd.factorize(key, sort=False)
    nb = len(b_keys)
    b_code = b_code.astype(np.int32)
    # a building's point is the median of its visits' points: one mistyped coordinate does not move it
    b_lon = group_median(b_code, lon, n_groups=nb)
    b_lat = group_median(b_code, lat, n_groups=nb)
    _, first_of_b = np.unique(b_code, return_index=True)
    b_label = np.asarray(label.to_numpy(dtype=object)[first_of_b] if n else np.array([], dtype=object), dtype=object)

    # doors: (building, door mark); a visit without a mark is its own door
    door_text = text_column(frame, "door")
    marked = (door_text != "").to_numpy()
    door = np.empty(n, dtype=np.int32)
    pairs = pd.DataFrame({"b": b_code[marked], "d": door_text[marked].to_numpy()})
    # codes sorted by (building, mark): a building's doors come in the order of their marks
    door_marked = pairs.groupby(["b", "d"], sort=True).ngroup().to_numpy(dtype=np.int64) if len(pairs) else \
        np.array([], dtype=np.int64)
    n_marked = int(door_marked.max()) + 1 if door_marked.size else 0
    door[marked] = door_marked
    door[~marked] = n_marked + np.arange(int((~marked).sum()))
    n_doors = n_marked + int((~marked).sum())
    door_building = np.zeros(n_doors, dtype=np.int32)
    door_building[door] = b_code
    door_label = np.full(n_doors, "", dtype=object)
    door_label[door[marked]] = door_text[marked].to_numpy(dtype=object)

    # QPV of each building
    if qpv is not None:
        b_codes_qp = assign_qpv(b_lon, b_lat, qpv)
    elif "code_qp" in frame.columns:
        codes = frame["code_qp"].to_numpy(dtype=object)
        b_codes_qp = np.asarray(codes[first_of_b] if n else np.array([], dtype=object), dtype=object)
        b_codes_qp = np.where(pd.isna(b_codes_qp) | (b_codes_qp == ""), None, b_codes_qp)
    else:
        b_codes_qp = np.full(nb, None, dtype=object)
    qpv_series = pd.Series(b_codes_qp, dtype=object)
    qpv_idx, qpv_codes = pd.factorize(qpv_series, sort=True, use_na_sentinel=True)

    # H3 cells per building, at each resolution (H3 cells do not nest exactly: no parent shortcut)
    b_cell: dict[int, np.ndarray] = {}
    cells: dict[int, np.ndarray] = {}
    for res in events_mod.H3_RESOLUTIONS:
        ints = np.array([h3i.latlng_to_cell(y, x, res) for y, x in zip(b_lat.tolist(), b_lon.tolist(), strict=True)],
                        dtype=np.uint64)
        uniq, inverse = np.unique(ints, return_inverse=True)
        cells[res] = np.array([h3.int_to_str(c) for c in uniq.tolist()], dtype=object)
        b_cell[res] = inverse.astype(np.int32).reshape(-1)

    site_code, site_names = pd.factorize(site_text, sort=True)
    # a campaign is a (site, name) pair: two sites may reuse a campaign name
    pair = pd.DataFrame({"site": site_code, "name": text_column(frame, "campaign").to_numpy()})
    camp_code = pair.groupby(["site", "name"], sort=True).ngroup().to_numpy(dtype=np.int64)
    firsts = pair.drop_duplicates().sort_values(["site", "name"], kind="stable")
    camp_names = firsts["name"].to_numpy(dtype=object)
    campaign_site = firsts["site"].to_numpy(dtype=np.int32)
    days = (frame["visited_at"].to_numpy(dtype="datetime64[s]").astype("datetime64[D]") - events_mod.EPOCH).astype(np.int32)
    demo = frame["demo"].to_numpy(dtype=bool) if "demo" in frame.columns else np.zeros(n, dtype=bool)
    event_id = frame["id"].to_numpy(dtype=np.int64) if "id" in frame.columns else np.arange(n, dtype=np.int64)
    door_order = np.argsort(door, kind="stable").astype(np.int32)
    return events_mod.PreparedEvents(
        building=b_code, door=door, outcome=outcome_codes.astype(np.int8), campaign=camp_code.astype(np.int16),
        site=site_code.astype(np.int16), day=days, demo=demo, event_id=event_id,
        b_lon=b_lon, b_lat=b_lat, b_label=b_label, b_qpv=qpv_idx.astype(np.int32), b_cell=b_cell, cells=cells,
        door_building=door_building, door_label=door_label,
        campaigns=tuple(str(c) for c in camp_names), sites=tuple(str(s) for s in site_names),
        qpv_codes=tuple(str(c) for c in qpv_codes), campaign_site=campaign_site,
        door_order=door_order, door_sorted=door[door_order], day_sorted=days[door_order],
        b_key=np.asarray(b_keys, dtype=object),
    )



def phase_before(url: str, folder: str, repeat: int) -> dict[str, float]:
    """The 9cfc5fd preparation (everything loaded at once), then the views from the arrays it wrote."""
    from geo.coverage import prepared, rollup, store

    start = time.perf_counter()
    engine = store.open_store(url)
    with stream_snapshot(engine) as conn:
        events = store.load_events(conn)
        rows = store.load_rollup(conn)
    prep = old_prepare_events(events)
    del events
    prep = rollup.attach(prep, rollup.summarise_rollup(prep, rows))
    del rows
    prepared.write_prepared(prep, Path(folder) / "doors")
    seconds = time.perf_counter() - start
    del prep
    peak_prepare = _peak_mb()
    opened = prepared.open_prepared(Path(folder) / "doors")
    return {"prepare_s": seconds, "prepare_peak_mb": peak_prepare, **_views(opened, repeat), "peak_mb": _peak_mb(),
            "events": float(opened.n_events)}


def phase_after(url: str, folder: str, repeat: int) -> dict[str, float]:
    """:func:`geo.coverage.prepared.prepare` (chunked), then the views from the arrays it wrote."""
    from geo.coverage import prepared

    start = time.perf_counter()
    path = prepared.prepare(url, folder=folder)
    seconds = time.perf_counter() - start
    peak_prepare = _peak_mb()
    opened = prepared.prepared_events(url, folder=folder)
    assert opened.rollup is not None and path.is_dir()
    return {"prepare_s": seconds, "prepare_peak_mb": peak_prepare, **_views(opened, repeat), "peak_mb": _peak_mb(),
            "events": float(opened.n_events)}


def phase_worker(folder: str, repeat: int) -> dict[str, float]:
    """A web worker: map the finished arrays of the after side and serve the three views."""
    from geo.coverage import prepared

    start = time.perf_counter()
    path = next(p for p in Path(folder).glob("doors-*") if (p / "meta.json").is_file())
    opened = prepared.open_prepared(path)
    seconds = time.perf_counter() - start
    return {"open_s": seconds, **_views(opened, repeat), "peak_mb": _peak_mb()}


def phase_compare(before: str, after: str) -> dict[str, float]:
    """1.0 when both sides wrote the same arrays (every array, every value), else 0.0."""
    import dataclasses

    from geo.coverage import prepared, rollup

    a = prepared.open_prepared(Path(before) / "doors")
    b = prepared.open_prepared(next(p for p in Path(after).glob("doors-*") if (p / "meta.json").is_file()))
    same = True
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "rollup":
            same &= all(np.array_equal(getattr(x, n), getattr(y, n)) for n in rollup.ARRAYS)
        elif isinstance(x, dict):
            same &= all(np.array_equal(x[k], y[k]) for k in x)
        elif isinstance(x, np.ndarray):
            same &= x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        else:
            same &= x == y
    return {"same": float(bool(same))}


def stream_snapshot(engine):  # noqa: ANN001, ANN201
    """The read snapshot the 9cfc5fd preparation read in (the same as the chunked one)."""
    from geo.coverage.store import stream

    return stream.snapshot(engine)


def _run(phase: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, *args], check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["children_maxrss_mb"] = child.ru_maxrss / 1024  # the largest child so far (cross-check of VmHWM)
    return result


def measure(n: int, args: argparse.Namespace, work: Path) -> dict[str, dict[str, float]]:
    """Fill (or reuse) the store of ``n`` visits and run every side on it, each in its own process."""
    work.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{work / 'doors.db'}"
    print(f"{n:,} door visits into {url.split('@')[-1]}", file=sys.stderr, flush=True)
    filled = _filled(url, n)
    before_dir, after_dir = work / "before", work / "after"
    for folder in (before_dir, after_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    repeat = str(args.repeat)
    out = {"fill": filled}
    out["before"] = _run("before", "--db", url, "--folder", str(before_dir), "--repeat", repeat)
    out["after"] = _run("after", "--db", url, "--folder", str(after_dir), "--repeat", repeat)
    out["worker"] = _run("worker", "--folder", str(after_dir), "--repeat", repeat)
    out["compare"] = _run("compare", "--folder", str(before_dir), "--other", str(after_dir))
    return out


_ROWS = (
    ("preparation time (s)", "prepare_s", "{:.1f}", ""),
    ("preparation peak memory (MB)", "prepare_peak_mb", "{:,.0f}", ""),
    ("national view, median (ms)", "national_ms", "{:.1f}", "<= 150"),
    ("national view, slowest (ms)", "national_max_ms", "{:.1f}", ""),
    ("regional view (Hauts-de-France), median (ms)", "regional_ms", "{:.1f}", ""),
    ("site view (one site), median (ms)", "site_ms", "{:.1f}", ""),
    ("peak memory, whole process (MB)", "peak_mb", "{:,.0f}", "<= 1,536"),
)


def report(results: dict[int, dict[str, dict[str, float]]]) -> None:
    """Print the before / after table, one pair of columns per size."""
    sizes = sorted(results)
    head = f"{'':<46}" + "".join(f"{f'{n / 1e6:g} M before':>14}{f'{n / 1e6:g} M after':>14}" for n in sizes)
    print(head + f"{'goal (5 M)':>12}")
    for label, key, fmt, goal in _ROWS:
        cells = "".join(f"{fmt.format(results[n]['before'][key]):>14}{fmt.format(results[n]['after'][key]):>14}"
                        for n in sizes)
        print(f"{label:<46}{cells}{goal:>12}")
    print()
    for n in sizes:
        r = results[n]
        w = r["worker"]
        print(f"{n:,} visits ({int(r['after']['events']):,} located), {int(r['fill']['rollup_rows']):,} roll-up rows; "
              f"both sides wrote the same arrays: {'yes' if r['compare']['same'] else 'NO'}")
        print(f"  a web worker mapping the finished arrays: open {w['open_s']:.2f} s, national {w['national_ms']:.1f} ms, "
              f"regional {w['regional_ms']:.1f} ms, site {w['site_ms']:.1f} ms, peak {w['peak_mb']:,.0f} MB")
    biggest = results[sizes[-1]]["after"]
    ok = biggest["national_ms"] <= 150 and biggest["peak_mb"] <= 1536
    print(f"\ngoals at {sizes[-1]:,} visits {'met' if ok else 'NOT met'} after the change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--db", help="store URL (one size only; default: a SQLite file per size in a temporary "
                                     "folder)")
    parser.add_argument("--repeat", type=int, default=7, help="views timed per side (median printed)")
    parser.add_argument("--keep", help="folder for the stores, kept after the run and reused by the next run")
    parser.add_argument("--phase", choices=["before", "after", "worker", "compare"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--other", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = {"before": lambda: phase_before(args.db, args.folder, args.repeat),
                  "after": lambda: phase_after(args.db, args.folder, args.repeat),
                  "worker": lambda: phase_worker(args.folder, args.repeat),
                  "compare": lambda: phase_compare(args.folder, args.other)}[args.phase]()
        print(json.dumps(result))
        return
    if args.db and len(args.events) > 1:
        parser.error("--db: expected one --events size with it")
    with tempfile.TemporaryDirectory(prefix="bench-doors-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        results = {n: measure(n, args, root / f"doors-{n}") for n in args.events}
    report(results)


if __name__ == "__main__":
    main()
