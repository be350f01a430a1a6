"""Bench of the national build: from scratch, rebuild with unchanged sources, and loading.

Run: ``.venv/bin/python bench/bench_build.py``. Prints seconds and file sizes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from geo import load
from geo.build import build


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "processed"
        t0 = time.perf_counter()
        manifest = build(data_dir=out, force=True)
        scratch = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = build(data_dir=out)
        rebuild = time.perf_counter() - t0
        assert again["skipped"]
        load._read.cache_clear()
        t0 = time.perf_counter()
        load.load_qpv(data_dir=out)
        load.load_communes(data_dir=out)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        load.load_qpv(data_dir=out)
        load.load_communes(data_dir=out)
        warm = time.perf_counter() - t0
        print(f"build from scratch      {scratch:6.2f} s")
        print(f"rebuild (unchanged)     {rebuild:6.2f} s   ({scratch / rebuild:.0f}x faster)")
        print(f"load qpv+communes cold  {cold:6.3f} s")
        print(f"load qpv+communes warm  {warm:6.5f} s")
        for _layer, info in manifest["outputs"].items():
            print(f"  {info['file']:<26} {info['rows']:>7,} rows {info['bytes'] / 1e6:7.2f} MB")
        for name, rate in manifest["join_rates"].items():
            print(f"  join {name:<24} {rate['matched']:>6}/{rate['total']:<6} {rate['rate']:.1%}  (min {rate['threshold']:.0%})")


if __name__ == "__main__":
    main()
