"""Bench of the map layers of the Stratégie page: bytes on the wire before/after, the figures fetched on
demand, and how the light QPV layer looks against the source polygons.

    python bench/bench_layers.py [--data-dir DIR] [--screenshots DIR] [--no-render]

Printed side by side, in one run:

* **layers**: raw and gzipped bytes of each layer served with the map (``/_voisinmap/layers/<name>.pbf``),
  *before* (the layers as built up to commit 9cfc5fd: the QPV polygons simplified at 15 m with ten
  properties, every point layer with its tooltip texts, ids on every feature) and *after* (:mod:`app.layers`);
* **on demand**: the JSON of ``GET /api/qpv/<code>`` for every QPV, through the real app (signed in,
  security checks included): bytes per answer and server time (p50 / p95);
* **rendering** (:mod:`geo.render_diff`): at zoom 12 and 10, 1400 x 900 pixels over Paris, Marseille, Lyon
  and Lille, the before and after layers against the source polygons: share of drawn pixels whose fill or
  outline changes by half a pixel or more, and the mean outline shift in pixels;
* with ``--screenshots DIR``: the Stratégie page in headless Chromium (1400 x 900, no tiles) at zoom 12
  over Paris and Marseille, serving in turn the source polygons, the before layer and the after layer
  (each in its own process), the map's PNGs written to DIR with the share of screen pixels that differ.

Goal (issue 14): QPV layer <= 150 KB gzipped with the same visual result at zoom <= 12.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_QPV_GZ = 150 * 1024
CITIES: dict[str, tuple[float, float]] = {
    "Paris": (2.35, 48.86), "Marseille": (5.40, 43.30), "Lyon": (4.85, 45.76), "Lille": (3.07, 50.63),
}
SCREEN_CITIES = ("Paris", "Marseille")
BENCH_USER = ("bench-layers", "mot de passe du banc des couches")

#: The layers as built up to commit 9cfc5fd: properties and feature ids (the QPV geometry: 15 m).
BEFORE: dict[str, dict[str, Any]] = {
    "qpv": {"properties": ("code_qp", "lib_qp", "lib_com", "lib_dep", "insee_dep", "population", "households",
                           "poverty_rate", "employment_rate", "npnru"), "id_column": "code_qp"},
    "departements": {"properties": ("code", "nom"), "id_column": "code"},
    "regions": {"properties": ("code", "nom"), "id_column": "code"},
    "communes": {"properties": ("insee_com", "name", "lib_dep", "n_qpv", "qpv_residents_touching", "population"),
                 "id_column": "insee_com"},
    "npnru": {"properties": ("code_qp", "lib_qp", "lib_com"), "id_column": "code_qp"},
    "qpv_points": {"properties": ("code", "lib_qp", "lib_com", "population", "households", "poverty_rate",
                                  "employment_rate", "npnru"), "id_column": "code"},
    "districts": {"properties": ("district_id", "name", "region", "n_qpv", "population", "households",
                                 "npnru_count", "poverty_rate"), "id_column": "district_id"},
}
BEFORE_QPV_TOLERANCE_M = 15.0


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def before_qpv_geometry(qpv: Any) -> Any:
    from geo import webgeo

    return webgeo.simplify_coverage(qpv.geometry, tolerance_m=BEFORE_QPV_TOLERANCE_M)


def build(name: str, data_dir: str, *, before: bool) -> dict[str, Any]:
    """The collection of layer ``name``, as built before or after."""
    from app import layers
    from geo.load import load_layer

    inputs, builder = layers.BUILDERS[name]
    frames = [load_layer(layer, data_dir=data_dir) for layer in inputs]
    if not before:
        return builder(*frames)
    options = dict(BEFORE[name])
    if name == "qpv":
        return layers.qpv_collection(frames[0], geometry=before_qpv_geometry(frames[0]), **options)
    if name in ("departements", "regions"):
        return layers.admin_collection(frames[0], tolerance_m=layers.ADMIN_TOLERANCE_M[name], **options)
    return builder(*frames, **options)


def sizes_section(data_dir: str) -> dict[str, tuple[int, int, int, int]]:
    from app.layers import BUILDERS, PRECISION
    from geo import webgeo

    out = {}
    print("Layers served with the Stratégie map (geobuf; gzip level 6 as served)")
    print(f"  {'layer':<14}{'features':>9}{'before raw':>14}{'before gzip':>14}{'after raw':>14}{'after gzip':>14}"
          f"{'gzip saved':>12}")
    totals = [0, 0, 0, 0]
    for name in BUILDERS:
        row = []
        for before in (True, False):
            collection = build(name, data_dir, before=before)
            raw = webgeo.encode_geobuf(collection, precision=PRECISION)
            row += [len(raw), len(gzip.compress(raw, 6))]
        out[name] = tuple(row)
        totals = [t + v for t, v in zip(totals, row, strict=True)]
        n = len(collection["features"])
        print(f"  {name:<14}{n:>9,}{kb(row[0]):>14}{kb(row[1]):>14}{kb(row[2]):>14}{kb(row[3]):>14}"
              f"{1 - row[3] / row[1]:>11.0%}")
    print(f"  {'all':<14}{'':>9}{kb(totals[0]):>14}{kb(totals[1]):>14}{kb(totals[2]):>14}{kb(totals[3]):>14}"
          f"{1 - totals[3] / totals[1]:>11.0%}")
    qpv_gz = out["qpv"][3]
    print(f"  QPV layer gzipped: {kb(qpv_gz)}   goal <= {kb(GOAL_QPV_GZ)}   {'OK' if qpv_gz <= GOAL_QPV_GZ else 'OVER'}")
    return out


def signed_app(data_dir: str) -> Any:
    """The real app (security included) on a throw-away accounts database holding one ``strategie`` account."""
    from app.main import create_app
    from app.security import settings
    from geo.auth.store import UserStore

    app = create_app(data_dir=data_dir)
    url = f"sqlite:///{tempfile.mkdtemp(prefix='voisinmap-bench-')}/accounts.db"
    app.server.config[settings.DB_KEY] = url
    UserStore(url).add_user(*BENCH_USER, role="strategie")
    return app


def signed_client(data_dir: str) -> Any:
    """A test client of :func:`signed_app`, signed in."""
    from tests.plugins import app_session

    client = signed_app(data_dir).server.test_client()
    app_session.sign_in(client, *BENCH_USER)
    return client


def on_demand_section(data_dir: str) -> None:
    from geo.load import load_qpv

    codes = load_qpv(data_dir=data_dir)["code_qp"].tolist()
    client = signed_client(data_dir)
    client.get(f"/api/qpv/{codes[0]}")  # first request builds the table once per data version
    sizes, times = [], []
    for code in codes:
        t0 = time.perf_counter()
        response = client.get(f"/api/qpv/{code}")
        times.append(1000 * (time.perf_counter() - t0))
        assert response.status_code == 200, (code, response.status_code)
        sizes.append(len(response.data))
    times.sort()
    print(f"Figures on demand: GET /api/qpv/<code> for the {len(codes):,} QPV (signed in, through every check)")
    print(f"  answer: {statistics.mean(sizes):,.0f} bytes on average (max {max(sizes):,}), JSON; "
          f"all 1,584 would be {kb(sum(sizes))} (before: inside the layer, sent whether hovered or not)")
    print(f"  server time: p50 {times[len(times) // 2]:.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms")


def render_section(data_dir: str) -> None:
    import numpy as np
    import shapely

    from geo import render_diff
    from geo.load import load_qpv

    qpv = load_qpv(data_dir=data_dir)
    source = qpv.geometry.to_numpy()
    layers = {}
    for label, before in (("before", True), ("after", False)):
        features = build("qpv", data_dir, before=before)["features"]
        geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)
        layers[label] = shapely.transform(geoms, lambda xy: np.round(xy, 4))  # as geobuf sends them
    print("Rendering against the source polygons (1400 x 900 px; a pixel differs when it changes by >= half)")
    print(f"  {'zoom':<5}{'city':<11}{'drawn px':>10}{'fill before':>13}{'fill after':>12}{'outline before':>16}"
          f"{'outline after':>15}{'shift before':>14}{'shift after':>13}")
    for zoom in (12, 10):
        for city, (lon, lat) in CITIES.items():
            d = {k: render_diff.compare_rendering(source, g, lon=lon, lat=lat, zoom=zoom) for k, g in layers.items()}
            print(f"  {zoom:<5}{city:<11}{d['after'].drawn_pixels:>10,}{d['before'].fill_share:>13.2%}"
                  f"{d['after'].fill_share:>12.2%}{d['before'].outline_share:>16.2%}{d['after'].outline_share:>15.2%}"
                  f"{d['before'].mean_shift_px:>12.3f}px{d['after'].mean_shift_px:>11.3f}px")
    vertices = {k: int(shapely.get_num_coordinates(g).sum()) for k, g in layers.items()}
    print(f"  vertices: before {vertices['before']:,}, after {vertices['after']:,}, source "
          f"{int(shapely.get_num_coordinates(source).sum()):,}")


SCREEN_JS = """
const done = arguments[arguments.length - 1];
const [lat, lon, zoom] = [arguments[0], arguments[1], arguments[2]];
const map = window.voisinmap.maps[0];
map.setView([lat, lon], zoom, {animate: false});
setTimeout(() => done(map.getZoom()), 2500);
"""


def screenshot_phase(phase: str, data_dir: str, out: Path) -> None:
    """One process: serve the app with the ``phase`` QPV layer and take the screenshots."""
    os.environ["VOISINMAP_TILES_URL"] = "none"
    from app import layers

    inputs, _builder = layers.BUILDERS["qpv"]
    if phase == "before":
        layers.BUILDERS["qpv"] = (inputs, lambda qpv: build("qpv", data_dir, before=True))
    elif phase == "source":  # the source polygons as they are (rounded to the sent precision only)
        layers.BUILDERS["qpv"] = (inputs, lambda qpv: layers.qpv_collection(qpv, geometry=qpv.geometry.to_numpy()))
    from app.warmup import warm_up
    from tests.plugins import app_session
    from tests.plugins.browser import chrome, qpv_feature_count, serve_in_thread, wait_for

    app = signed_app(data_dir)
    warm_up(data_dir=data_dir)
    with serve_in_thread(app) as url, chrome(window=(1400, 900)) as driver:
        driver.set_script_timeout(60)
        app_session.browser_sign_in(driver, url, *BENCH_USER)
        driver.get(url + "/")
        wait_for(lambda: qpv_feature_count(driver) >= 1584, timeout=90, message="the QPV layer")
        time.sleep(3)  # the first results and markers
        driver.execute_script("document.querySelectorAll('.leaflet-control-container, .rec-marker')"
                              ".forEach(e => e.style.visibility = 'hidden');")
        for city in SCREEN_CITIES:
            lon, lat = CITIES[city]
            driver.execute_async_script(SCREEN_JS, lat, lon, 12)
            driver.find_element("id", "strategie-map").screenshot(str(out / f"{city.lower()}-z12-{phase}.png"))


PHASES = ("source", "before", "after")


def screenshots_section(data_dir: str, out: Path) -> None:
    import numpy as np
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for phase in PHASES:
        env = {**os.environ, "VOISINMAP_APP_CACHE_DIR": tempfile.mkdtemp(prefix=f"voisinmap-bench-{phase}-")}
        done = subprocess.run([sys.executable, __file__, "--data-dir", data_dir, "--screenshot-phase", phase,
                               "--screenshots", str(out)], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:])
            raise SystemExit(f"screenshots ({phase}) failed")
    print("Screenshots, headless Chromium 1400 x 900, the Stratégie map at zoom 12 without tiles; QPV layer:")
    print("  source = unsimplified polygons, before = 15 m and ten properties, after = the light layer")
    for city in SCREEN_CITIES:
        shots = {p: np.asarray(Image.open(out / f"{city.lower()}-z12-{p}.png").convert("RGB"), dtype=int)
                 for p in PHASES}
        for a, b in (("before", "source"), ("after", "source"), ("after", "before")):
            delta = np.abs(shots[a] - shots[b]).max(axis=2)
            print(f"  {city:<10} {a} vs {b:<7}({delta.shape[1]} x {delta.shape[0]} px): {(delta > 0).mean():6.2%} of "
                  f"pixels differ at all, {(delta > 48).mean():6.2%} by more than 48 of 255")
        delta = np.abs(shots["after"] - shots["source"]).max(axis=2)
        marked = np.where((delta > 48)[..., None], np.array([255, 0, 0]), (shots["source"] * 0.35 + 165).astype(int))
        Image.fromarray(marked.astype("uint8")).save(out / f"{city.lower()}-z12-diff.png")
    print(f"  PNGs in {out}: <city>-z12-<source|before|after>.png, <city>-z12-diff.png (after vs source in red)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="processed data folder (default: the app's)")
    parser.add_argument("--screenshots", default=None, help="folder for the before/after PNGs (headless Chromium)")
    parser.add_argument("--no-render", action="store_true", help="skip the rendering comparison")
    parser.add_argument("--screenshot-phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from geo import config

    data_dir = str(config.data_dir(args.data_dir))
    if args.screenshot_phase:
        screenshot_phase(args.screenshot_phase, data_dir, Path(args.screenshots))
        return 0
    sizes_section(data_dir)
    print()
    on_demand_section(data_dir)
    print()
    if not args.no_render:
        render_section(data_dir)
        print()
    if args.screenshots:
        screenshots_section(data_dir, Path(args.screenshots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
