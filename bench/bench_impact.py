"""Bench of the page Impact: first load after an import, and bytes transferred with an empty and a warm
browser cache, before / after side by side.

    .venv/bin/python bench/bench_impact.py --data-dir DIR --db sqlite:///path/store.db

``--db`` is a store with visits (``voisinmap demo``) and one release (``voisinmap releases publish``); it
is copied, never modified. Each mode runs the app in its own process on loopback and drives a headless
Chromium signed in as an administrator (live figures) and as a funder (the latest release):

* **before** -- ``VOISINMAP_COMPRESSION=0`` and ``VOISINMAP_IMPACT_PRECOMPUTE=0``: no compression, no
  long cache headers, figures built by the web process at the first view;
* **after** -- the defaults: Brotli/gzip, immutable versioned bundles, the figures computed once per
  data version at import time by the importing process (:mod:`geo.coverage.impact_store`, as
  ``voisinmap coverage import``, the import job and ``voisinmap demo`` do), the web process only reading
  them, the Impact warm-up before the first request (:func:`app.components.impact_refresh.warm_up`, as
  the server's warm-up does) and the page's answer memoized per scope in the shared cache.

The import is made right before the view (``--after-import-wait``, default 0 s); in the "after" mode it
returns once the figures are stored, and the time that takes is printed too.

"Usable" is the trend chart drawn with its data and the key figures shown. Goals: ≤ 2 s to a usable page
after an import, ≤ 2.5 MB transferred with an empty cache, ≤ 300 KB on a reload.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "mot de passe du banc d'essai"
USERS = {"bench-admin": "admin", "bench-financeur": "financeur"}
GOALS = {"first_after_import_s": 2.0, "empty_kb": 2500.0, "reload_kb": 300.0}

USABLE_JS = """
const done = arguments[arguments.length - 1];
const start = performance.now();
(function poll() {
    const g = document.querySelector('#impact-trend .js-plotly-plot');
    const k = document.querySelector('#impact-kpi-households .kpi-value');
    if (g && g.data && g.data.length === 2 && g.data[0].x.length && k && k.textContent) {
        done({usable_ms: performance.now()});
    } else if (performance.now() - start > 60000) { done({usable_ms: null}); } else { setTimeout(poll, 20); }
})();
"""
TRANSFER_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
return {transfer: (nav ? nav.transferSize : 0) + res.reduce((a, e) => a + e.transferSize, 0),
        decoded: (nav ? nav.decodedBodySize : 0) + res.reduce((a, e) => a + e.decodedBodySize, 0),
        requests: res.length + 1,
        callback_ms: Math.max(0, ...res.filter(e => e.name.includes('_dash-update-component')).map(e => e.duration)),
        plotly: res.filter(e => e.name.includes('plotly')).map(e => [e.encodedBodySize, e.decodedBodySize])};
"""


def _import_seven(url: str, *, data_dir: Path, store_figures: bool) -> float:
    """Seven opened doors of a new campaign (fictitious), as an import would bring them, then (``store_figures``)
    the figures of the new version stored as the importing process does; returns the seconds of that step."""
    import pandas as pd

    from geo.coverage import impact_store
    from geo.coverage.importer import import_frame
    from geo.coverage.store import open_store

    stamp = time.strftime("%H%M%S")
    rows = pd.DataFrame([{"campagne": "Banc d'essai (données fictives)", "site": "91286", "date": "2026-10-05",
                          "heure": f"10:{k:02d}", "latitude": f"{48.6520 + k * 1e-4:.6f}", "longitude": "2.372800",
                          "batiment": f"BENCH-{stamp}-{k}", "porte": "A-01", "resultat": "ouvert",
                          "langue": "français", "sujets": "eau", "voisin": "V01"} for k in range(7)])
    engine = open_store(url)
    try:
        import_frame(rows, name="banc", engine=engine, demo=True)
    finally:
        engine.dispose()
    started = time.perf_counter()
    if store_figures:
        impact_store.compute_and_store(db=url, data_dir=data_dir)
    return time.perf_counter() - started


def _measure(driver, base: str, *, reload: bool = True) -> dict:
    driver.get(base + "/impact")
    usable = driver.execute_async_script(USABLE_JS)
    first = driver.execute_script(TRANSFER_JS)
    out = {"usable_s": None if usable["usable_ms"] is None else usable["usable_ms"] / 1000, **first}
    if reload:
        driver.execute_script("performance.clearResourceTimings();")
        driver.refresh()
        driver.execute_async_script(USABLE_JS)
        out["reload"] = driver.execute_script(TRANSFER_JS)
    return out


def child(args: argparse.Namespace) -> None:
    """One mode: the app in this process, Chromium measuring it; prints one JSON line."""
    sys.path.insert(0, str(ROOT))
    from app.main import create_app
    from app.security import settings
    from geo.auth.store import UserExistsError, UserStore
    from tests.plugins import app_session
    from tests.plugins.browser import chrome, serve_in_thread

    os.environ.setdefault("VOISINMAP_TILES_URL", "none")
    os.environ.setdefault("VOISINMAP_PROXY_FIX", "0")
    store = UserStore(args.db)
    for name, role in USERS.items():
        with contextlib.suppress(UserExistsError):
            store.add_user(name, PASSWORD, role=role)
    app = create_app(data_dir=args.data_dir)
    app.server.config[settings.DB_KEY] = args.db
    results: dict = {"mode": args.mode}
    stored = args.mode == "after"
    if stored:  # the store was filled by an import (``voisinmap demo``), which stored its figures
        from geo.coverage import impact_store

        impact_store.compute_and_store(db=args.db, data_dir=args.data_dir)
        from app.components import impact_refresh

        with app.server.app_context():  # the server's warm-up, before the first request
            results["warm_up_s"] = impact_refresh.warm_up()
    with serve_in_thread(app) as base:
        with chrome(window=(1400, 900)) as driver:  # a fresh profile: empty cache
            app_session.browser_sign_in(driver, base, "bench-admin", PASSWORD)
            results["admin_cold"] = _measure(driver, base)  # first view after the server start
            results["store_figures_s"] = _import_seven(args.db, data_dir=args.data_dir, store_figures=stored)
            time.sleep(args.after_import_wait)
            results["admin_after_import"] = _measure(driver, base, reload=False)
        with chrome(window=(1400, 900)) as driver:
            app_session.browser_sign_in(driver, base, "bench-financeur", PASSWORD)
            _import_seven(args.db, data_dir=args.data_dir, store_figures=stored)
            time.sleep(args.after_import_wait)
            results["funder_after_import"] = _measure(driver, base)
        with chrome(window=(1400, 900)) as driver:
            driver.get(base + "/public/impact")
            results["public"] = driver.execute_script(TRANSFER_JS)
            started = time.perf_counter()
            driver.get(base + "/public/impact?lang=en")
            results["public"]["load_s"] = time.perf_counter() - started
    print(json.dumps(results))


def _run(mode: str, args: argparse.Namespace, workdir: Path) -> dict:
    db_file = workdir / f"{mode}.db"
    shutil.copyfile(args.db.removeprefix("sqlite:///"), db_file)
    env = dict(os.environ, PYTHONPATH=str(ROOT), VOISINMAP_IMPACT_DIR=str(workdir / f"impact-{mode}"),
               VOISINMAP_APP_CACHE_DIR=str(workdir / f"app-cache-{mode}"))  # an empty shared cache per run
    if mode == "before":
        env.update(VOISINMAP_COMPRESSION="0", VOISINMAP_IMPACT_PRECOMPUTE="0")
    cmd = [sys.executable, __file__, "--child", "--mode", mode, "--db", f"sqlite:///{db_file}",
           "--data-dir", str(args.data_dir), "--after-import-wait", str(args.after_import_wait)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise SystemExit(f"{mode}: no result\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def _kb(n: float | None) -> str:
    return "–" if n is None else f"{n / 1024:,.0f} KB"


def _s(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f} s"


def report(before: dict, after: dict) -> None:
    rows = [
        ("Impact warm-up before the first request", _s, lambda r: r.get("warm_up_s")),
        ("admin: first view after server start", _s, lambda r: r["admin_cold"]["usable_s"]),
        ("import: figures stored (importing process)", _s, lambda r: r.get("store_figures_s")),
        ("admin: first view after an import", _s, lambda r: r["admin_after_import"]["usable_s"]),
        ("funder: first view after an import", _s, lambda r: r["funder_after_import"]["usable_s"]),
        ("  of which the slowest callback (server)", _s, lambda r: r["funder_after_import"]["callback_ms"] / 1000),
        ("  admin after server start: slowest callback", _s, lambda r: r["admin_cold"]["callback_ms"] / 1000),
        ("transferred, empty cache (admin)", _kb, lambda r: r["admin_cold"]["transfer"]),
        ("transferred, reload (admin)", _kb, lambda r: r["admin_cold"]["reload"]["transfer"]),
        ("transferred, reload (funder)", _kb, lambda r: r["funder_after_import"]["reload"]["transfer"]),
        ("plotly.min.js on the wire", _kb, lambda r: (r["admin_cold"]["plotly"] or [[None]])[0][0]),
        ("/public/impact transferred", _kb, lambda r: r["public"]["transfer"]),
        ("/public/impact load (warm server)", _s, lambda r: r["public"]["load_s"]),
    ]
    print(f"{'Impact':<42}{'before':>14}{'after':>14}")
    for label, fmt, get in rows:
        print(f"{label:<42}{fmt(get(before)):>14}{fmt(get(after)):>14}")
    print(f"goals: ≤ {GOALS['first_after_import_s']:.0f} s to a usable page after an import, "
          f"≤ {GOALS['empty_kb']:,.0f} KB with an empty cache, ≤ {GOALS['reload_kb']:,.0f} KB on a reload")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="sqlite:/// store with visits and one release (copied)")
    parser.add_argument("--data-dir", required=True, type=Path, help="processed national data")
    parser.add_argument("--after-import-wait", type=float, default=0.0,
                        help="seconds between the import and the page view (default 0: right after)")
    parser.add_argument("--mode", choices=("before", "after"), default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = {mode: _run(mode, args, Path(tmp)) for mode in ("before", "after")}
    report(results["before"], results["after"])


if __name__ == "__main__":
    main()
