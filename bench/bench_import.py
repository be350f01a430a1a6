"""Door-visit import at scale: 1,000,000 rows, seconds and peak memory, before and after the streamed import.

    python bench/bench_import.py [--rows 1000000] [--pg URL] [--before COMMIT] [--chunk-rows 50000]
                                 [--stores sqlite,postgresql] [--repeat N]

The file is the realistic synthetic one of :mod:`bench_coverage` (fictitious visits in the real QPV polygons of
the demo sites when the national data is built, around Grigny otherwise; ``;``-separated CSV, about 120 bytes a
row). Each import runs in a fresh child process, on a fresh store, with the QPV and département layers loaded
as the command does; the child reports the import's wall time, its CPU time and its own peak resident memory
(``ru_maxrss``: everything the process held at its peak, Python and the layers included), then the CPU time and
peak of the worker process that checks the chunks (:mod:`geo.coverage.checking`, forked from the child, so
that much of its peak is pages it shares with the child). The machine's one-minute load average is printed
beside each run: on a shared machine the wall time grows with it, the CPU time hardly.

*before* is the import of commit ``--before`` (default ``ba15fd4``: on PostgreSQL every chunk staged in a
temporary table, then inserted and rolled up in one final statement each; exported with ``git archive`` into
a temporary folder; caps lifted for commits that had them); *after* is the import of this checkout (on
PostgreSQL every chunk copied into the visits as it is read, inside the import's one transaction). Each store
runs before then after, ``--repeat`` times, so that the two sides see the same load. Goal (issue 14):
1,000,000 rows in <= 30 s with a peak <= 1 GB, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

#: Goals of issue 14.
GOAL_SECONDS = 30.0
GOAL_BYTES = 1024 ** 3

#: Run in the child, with the code under test first on ``sys.path``: one import, then a JSON line.
CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from geo.coverage import importer, store
from geo.coverage.territory import france_territory
from geo.load import DataNotBuiltError, load_departements, load_qpv
try:
    qpv, territory = load_qpv(), france_territory(load_departements())
except DataNotBuiltError:
    qpv = territory = None
engine = store.open_store(sys.argv[3])
options = json.loads(sys.argv[4])
start, cpu = time.perf_counter(), time.process_time()
summary = importer.import_file(Path(sys.argv[2]), engine=engine, qpv=qpv, territory=territory,
                               today=dt.date(2026, 11, 21), **options)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
engine.dispose()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
worker = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak": peak, "imported": summary.imported,
                  "rows": summary.rows, "worker_cpu": worker.ru_utime + worker.ru_stime,
                  "worker_peak": worker.ru_maxrss * 1024}))
"""


def export_commit(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` (``git archive``) unpacked into ``folder``."""
    archive = folder / "before.tar"
    with archive.open("wb") as handle:
        subprocess.run(["git", "-C", str(ROOT), "archive", commit], stdout=handle, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    archive.unlink()
    return folder / "tree"


def write_file(rows: int, path: Path) -> float:
    """Write ``rows`` synthetic visits as a ``;``-separated CSV; return its size in MB."""
    from bench_coverage import _qpv_layer, _rows_for_import

    frame = _rows_for_import(rows, _qpv_layer())
    frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    return path.stat().st_size / 1e6


def _fresh_file(path: Path) -> Path:
    """``path`` with no SQLite database (nor its WAL files) left by an earlier run."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return path


def emptied_pg(url: str) -> str:
    """``url``'s database emptied (its ``public`` schema dropped and created again) for the next run: the bench
    uses the one database it is given, never creates others."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def run_child(code_root: Path, path: Path, url: str, options: dict) -> dict:
    """One import in a child process; its JSON report. Both sides locate the visits in the QPV of this
    checkout's processed data (an exported commit has no data folder of its own: without this, its side
    would skip the point-in-polygon work and look faster)."""
    from geo import config

    env = {**os.environ, "PYTHONPATH": str(code_root), config.ENV_DATA_DIR: str(config.data_dir())}
    done = subprocess.run([sys.executable, "-c", CHILD, str(code_root), str(path), url, json.dumps(options)],
                          env=env, capture_output=True, text=True, check=False)
    load = os.getloadavg()[0]  # over the minute the import ran in
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:160], "load": load}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": load}


def _cell(result: dict | None) -> str:
    if result is None:
        return f"{'–':>43s}"
    if "error" in result:
        return f"{'failed':>43s}"
    return (f"{result['seconds']:7.1f} s {result['cpu']:7.1f} s {result['peak'] / 2**20:6.0f} MiB"
            f" (load {result['load']:.1f})")


def _worker_cell(result: dict | None) -> str:
    """CPU time and peak of the checking worker (0 when the chunks were checked in the importing process)."""
    if result is None or "error" in result or not result.get("worker_cpu"):
        return ""
    return f"  + worker {result['worker_cpu']:5.1f} s cpu, {result['worker_peak'] / 2**20:4.0f} MiB peak"


def _flag(result: dict | None) -> str:
    if result is None or "error" in result:
        return ""
    ok = result["seconds"] <= GOAL_SECONDS and result["peak"] <= GOAL_BYTES
    return "ok" if ok else "OVER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("VOISINMAP_TEST_PG_URL"),
                        help="PostgreSQL URL of a database the bench may empty (default: $VOISINMAP_TEST_PG_URL); "
                             "without one, SQLite only")
    parser.add_argument("--before", default="ba15fd4", help="commit of the previous import ('' to skip it)")
    parser.add_argument("--chunk-rows", type=int, default=None, help="rows per chunk of the streamed import")
    parser.add_argument("--stores", default="sqlite,postgresql",
                        help="comma-separated stores to measure among sqlite, postgresql (default both)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side per store (default 1)")
    args = parser.parse_args()
    stores = {name.strip() for name in args.stores.split(",") if name.strip()}
    if not stores <= {"sqlite", "postgresql"}:
        parser.error(f"--stores: expected sqlite and/or postgresql, got {args.stores!r}")
    if args.repeat < 1:
        parser.error(f"--repeat: expected at least 1, got {args.repeat}")
    print(f"Door-visit import bench ({os.cpu_count()} CPU)", flush=True)
    with tempfile.TemporaryDirectory(prefix="vm-bench-import-") as tmp:
        folder = Path(tmp)
        path = folder / "visites.csv"
        start = time.perf_counter()
        size = write_file(args.rows, path)
        print(f"  {args.rows:,} synthetic rows written ({size:.0f} MB CSV) in {time.perf_counter() - start:.0f} s",
              flush=True)
        before_root = export_commit(args.before, folder) if args.before else None
        after_options = {} if args.chunk_rows is None else {"chunk_rows": args.chunk_rows}
        targets = []
        if "sqlite" in stores:
            targets.append(("SQLite (WAL)", lambda name: f"sqlite:///{_fresh_file(folder / name)}"))
        if "postgresql" in stores and args.pg:
            targets.append(("PostgreSQL", lambda _name: emptied_pg(args.pg)))
        lines = []
        for label, make in targets:
            for _ in range(args.repeat):
                before = None
                if before_root is not None:
                    lifted = {"max_bytes": 1 << 40, "max_rows": 100_000_000}
                    before = run_child(before_root, path, make("before.db"), lifted)
                    print(f"  {label} before: {_cell(before)}", flush=True)
                after = run_child(ROOT, path, make("after.db"), after_options)
                print(f"  {label} after:  {_cell(after)}", flush=True)
                if after.get("imported") not in (None, args.rows):
                    print(f"  ! {label}: {after.get('imported')} rows imported, expected {args.rows}")
                lines.append((label, before, after))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nImporting {args.rows:,} rows ({size:.0f} MB CSV): wall time and CPU time of the import, peak RSS of "
          f"the process (goal <= {GOAL_SECONDS:g} s and <= {GOAL_BYTES / 2**30:g} GiB; load average {load})")
    print(f"  {'':14s} {'before (' + (args.before or '–') + ')':>43s}   {'after (this checkout)':>43s}")
    print(f"  {'store':14s} {'wall':>9s} {'cpu':>9s} {'peak':>10s} {'':10s}   {'wall':>9s} {'cpu':>9s} {'peak':>10s}")
    for label, before, after in lines:
        print(f"  {label:14s} {_cell(before):>43s}   {_cell(after):>43s}  {_flag(after)}{_worker_cell(after)}")


if __name__ == "__main__":
    main()
