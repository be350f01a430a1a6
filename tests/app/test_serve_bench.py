"""``bench/bench_load.py --quick`` runs end to end (both servers, signed-in users, the request mix).

Only that it works is checked: every request answered without error and every line printed. Its timings
are read by people, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_quick_load_bench_runs_without_errors(processed_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_load.py"), "--quick", "--data-dir",
                           str(processed_dir)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {line.split("  ")[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    header = next(line for line in done.stdout.splitlines() if "before (5 users)" in line)
    assert "after (5 users)" in header
    assert lines["errors"][1:] == ["0", "0"], done.stdout
    assert int(lines["requests"][1]) > 0 and int(lines["requests"][2]) > 0
    workers = gunicorn_conf.default_workers(gunicorn_conf.cores())
    assert lines["processes (master + workers)"][-2:] == ["1", str(1 + workers)]
    for label in ("requests/s", "p50 / p95, s", "cold start to /login, s", "RSS per worker, MiB",
                  "USS per worker (own), MiB", "shared per worker (RSS-USS), MiB", "PSS total, all processes, MiB"):
        assert label in done.stdout
