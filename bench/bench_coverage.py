"""Door-coverage speed: viewport aggregation of 1,000,000 visits, import of 100,000 rows.

    python bench/bench_coverage.py [--events 1000000] [--rows 100000] [--pg URL] [--repeat 7]

Each figure is printed beside a naive pandas version of the same work. Goals on this machine (2 cores):
aggregating 1,000,000 door events for a map viewport <= 200 ms; importing 100,000 rows <= 10 s, also
when every row carries personal data in a column (all rejected, the report redacted and written).
The visits are synthetic (fictitious), placed in the real QPV polygons of the demo sites when the national
data is built, around Grigny otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.coverage import aggregate, importer, schema, store  # noqa: E402
from geo.coverage.validate import in_france, looks_personal  # noqa: E402

TODAY = dt.date(2026, 11, 21)


def _qpv_layer():  # noqa: ANN202
    from geo.load import DataNotBuiltError, load_qpv

    try:
        return load_qpv()
    except DataNotBuiltError:
        return None


def _buildings(n: int, qpv, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Building points: inside the demo sites' QPV when available, else scattered around Grigny."""
    if qpv is not None:
        import shapely

        from geo.coverage import demo

        polygons = []
        for site in demo.SITES:
            try:
                from geo.load import load_arrondissements

                chosen = demo.site_qpv(qpv, site, arrondissements=load_arrondissements())
            except Exception:  # noqa: BLE001 - the bench falls back on fewer sites
                continue
            polygons += [(site.code, g) for g in chosen.geometry]
        per = int(np.ceil(n / len(polygons)))
        lon, lat, site = [], [], []
        for code, poly in polygons:
            x0, y0, x1, y1 = shapely.bounds(poly)
            got = np.empty((0, 2))
            while len(got) < per:
                cand = np.column_stack([rng.uniform(x0, x1, 4 * per), rng.uniform(y0, y1, 4 * per)])
                got = np.vstack([got, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
            lon.append(got[:per, 0])
            lat.append(got[:per, 1])
            site += [code] * per
        return np.concatenate(lon)[:n], np.concatenate(lat)[:n], np.array(site[:n], dtype=object)
    lon = 2.36 + rng.random(n) * 0.06
    lat = 48.63 + rng.random(n) * 0.04
    return lon, lat, np.where(rng.random(n) < 0.5, "91286", "91521").astype(object)


def synthetic_events(n: int, qpv, *, seed: int = 1) -> pd.DataFrame:  # noqa: ANN001
    """``n`` fictitious visits over 25 doors per building on average, three years, five campaigns per site."""
    rng = np.random.default_rng(seed)
    n_b = max(50, n // 40)
    b_lon, b_lat, b_site = _buildings(n_b, qpv, rng)
    b = rng.integers(0, n_b, n)
    minutes = rng.integers(0, 1030 * 24 * 60, n)  # 2024-01-01 to late October 2026
    return pd.DataFrame({
        "id": np.arange(n),
        "visited_at": (np.datetime64("2024-01-01T00:00", "s") + minutes.astype("timedelta64[m]")),
        "outcome": rng.choice(schema.OUTCOMES, n, p=[0.41, 0.36, 0.09, 0.1, 0.04]),
        "lon": b_lon[b], "lat": b_lat[b], "site": b_site[b],
        "building": pd.Series(b).map(lambda i: f"B{i:06d}").to_numpy(dtype=object),
        "door": pd.Series(rng.integers(0, 25, n)).map(lambda i: f"A-{i:02d}").to_numpy(dtype=object),
        "campaign": rng.choice([f"Campagne {k}" for k in range(5)], n),
        "demo": False,
    })


REPEAT = 7
SPREAD: dict[str, tuple[float, float]] = {}


def _timed(fn, repeat: int | None = None, *, key: str | None = None) -> float:  # noqa: ANN001
    """Median of ``repeat`` runs; the fastest and slowest are kept in :data:`SPREAD` under ``key``."""
    times = []
    for _ in range(repeat or REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    if key is not None:
        SPREAD[key] = (min(times), max(times))
    return statistics.median(times)


def naive_viewport(frame: pd.DataFrame, *, bbox, site: str | None, start: str, end: str,  # noqa: ANN001
                   households: pd.Series) -> dict:
    """The same figures with plain pandas filtering and group-bys."""
    w, s, e, n = bbox
    keep = (frame["visited_at"] >= start) & (frame["visited_at"] <= end + " 23:59:59")
    base = frame[keep & (frame["site"] == site)] if site is not None else frame[keep]
    view = base[(base["lon"] >= w) & (base["lon"] <= e) & (base["lat"] >= s) & (base["lat"] <= n)]
    opened = view["outcome"] == "ouvert"
    cells = view.assign(opened=opened).groupby("cell_10").agg(visits=("outcome", "size"), ouvert=("opened", "sum"))
    cells["households_reached"] = view[opened].groupby("cell_10")["door_key"].nunique()
    last = view.sort_values("visited_at").groupby("door_key").tail(1)
    revisit = last[last["outcome"] == "a_revoir"].groupby("building").size()
    b_open = base["outcome"] == "ouvert"
    per_qpv = base.groupby("code_qp").agg(visits=("outcome", "size"))
    per_qpv["reached"] = base[b_open].groupby("code_qp")["door_key"].nunique()
    per_qpv["coverage"] = per_qpv["reached"] / households.reindex(per_qpv.index)
    weeks = base.assign(week=base["visited_at"].dt.to_period("W")).groupby("week").size()
    return {"cells": cells, "revisit": revisit, "qpv": per_qpv, "weeks": weeks}


def bench_aggregation(n: int) -> list[tuple[str, float, float | None]]:
    qpv = _qpv_layer()
    t0 = time.perf_counter()
    events = synthetic_events(n, qpv)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    prep = aggregate.prepare_events(events, qpv=qpv)
    t_prep = time.perf_counter() - t0
    print(f"  {n:,} synthetic visits generated in {t_gen:.1f} s; prepared once in {t_prep:.2f} s "
          f"({prep.n_buildings:,} buildings, {prep.n_doors:,} doors)")
    site = "91286" if "91286" in prep.sites else prep.sites[0]
    in_site = events["site"] == site
    w, e = events.loc[in_site, "lon"].min(), events.loc[in_site, "lon"].max()
    s, nn = events.loc[in_site, "lat"].min(), events.loc[in_site, "lat"].max()
    whole = (w - 0.001, s - 0.001, e + 0.001, nn + 0.001)
    cx, cy = (w + e) / 2, (s + nn) / 2
    street = (cx - 0.004, cy - 0.0025, cx + 0.004, cy + 0.0025)

    # the naive baseline gets the same one-off preparation (H3 cell, door key and QPV per visit)
    frame = events.sort_values("visited_at", kind="stable").reset_index(drop=True)  # prep's event order
    frame["cell_10"] = np.asarray(prep.cells[10], dtype=object)[prep.b_cell[10][prep.building]]
    frame["code_qp"] = np.asarray(prep.qpv_codes + ("",), dtype=object)[
        np.where(prep.b_qpv >= 0, prep.b_qpv, len(prep.qpv_codes))][prep.building]
    frame["door_key"] = frame["site"] + "|" + frame["building"] + "|" + frame["door"]
    households = (qpv.set_index("code_qp")["households"] if qpv is not None else pd.Series(dtype=float))

    rows = []
    for label, bbox, zoom, start, end in (
        (f"site {site}, whole area, zoom 13, 3 years", whole, 13, "2024-01-01", "2026-12-31"),
        (f"site {site}, whole area, zoom 13, 1 year", whole, 13, "2025-01-01", "2025-12-31"),
        (f"site {site}, a few streets, zoom 16, 3 years", street, 16, "2024-01-01", "2026-12-31"),
    ):
        ours = _timed(lambda bbox=bbox, zoom=zoom, start=start, end=end: aggregate.viewport(
            prep, bbox=bbox, zoom=zoom, qpv=qpv, sites=[site], start=start, end=end), key=label)
        naive = _timed(lambda bbox=bbox, start=start, end=end: naive_viewport(
            frame, bbox=bbox, site=site, start=start, end=end, households=households), repeat=3)
        view = aggregate.viewport(prep, bbox=bbox, zoom=zoom, qpv=qpv, sites=[site], start=start, end=end)
        in_view = int(view.cells["visits"].sum())
        rows.append((f"{label} ({in_view:,} visits in view)", ours, naive))
    france = (-5.3, 41.3, 9.7, 51.2)
    all_sites = _timed(lambda: aggregate.viewport(prep, bbox=france, zoom=6, qpv=qpv), key="france")
    naive_all = _timed(lambda: naive_viewport(frame, bbox=france, site=None, start="2024-01-01", end="2026-12-31",
                                              households=households), repeat=3)
    rows.append((f"all sites, France, zoom 6 ({n:,} visits in view)", all_sites, naive_all))
    low, high = SPREAD["france"]
    print(f"  all France, zoom 6: fastest {low * 1000:.0f} ms, slowest {high * 1000:.0f} ms of {REPEAT} runs")
    return rows


def _rows_for_import(n: int, qpv, seed: int = 2) -> pd.DataFrame:  # noqa: ANN001
    events = synthetic_events(n, qpv, seed=seed)
    rng = np.random.default_rng(seed)
    stamp = pd.to_datetime(events["visited_at"])
    return pd.DataFrame({
        "campagne": events["campaign"], "site": events["site"], "date": stamp.dt.strftime("%d/%m/%Y"),
        "heure": stamp.dt.strftime("%H:%M"), "latitude": events["lat"].map("{:.6f}".format),
        "longitude": events["lon"].map("{:.6f}".format), "batiment": events["building"],
        "porte": events["door"] + "-" + pd.Series(np.arange(n) % 7).astype(str), "resultat": events["outcome"],
        "langue": rng.choice(["français", "arabe", "anglais", ""], n),
        "sujets": rng.choice(["eau|énergie", "santé", "", "école, numérique"], n),
        "voisin": pd.Series(rng.integers(1, 40, n)).map(lambda i: f"V{i:03d}"),
    })


OUTCOME_SET = set(schema.OUTCOMES)


def _naive_row(row: pd.Series) -> tuple[bool, object]:
    """Row-by-row validation in plain Python (the naive baseline)."""
    try:
        when = dt.datetime.strptime(f"{row['date']} {row['heure']}", "%d/%m/%Y %H:%M")
        lat, lon = float(row["latitude"]), float(row["longitude"])
    except ValueError:
        return False, None
    if row["resultat"] not in OUTCOME_SET or not row["campagne"] or not in_france(np.array([lon]), np.array([lat]))[0]:
        return False, None
    return True, when


def naive_import(path: Path, url: str) -> int:
    """pandas read_csv, row-wise apply, one key lookup set, DataFrame.to_sql."""
    import sqlalchemy as sa

    frame = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    checked = frame.apply(_naive_row, axis=1, result_type="expand")
    good = frame[checked[0].astype(bool)].copy()
    good["visited_at"] = checked.loc[good.index, 1]
    good["content_key"] = good.apply(lambda r: hashlib.sha256("|".join(r.astype(str)).encode()).hexdigest()[:32],
                                     axis=1)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        existing = {r[0] for r in conn.execute(sa.text("SELECT content_key FROM naive_visits"))} \
            if sa.inspect(conn).has_table("naive_visits") else set()
        good = good[~good["content_key"].isin(existing)]
        good.to_sql("naive_visits", conn, if_exists="append", index=False, chunksize=1000)
    engine.dispose()
    return len(good)


def _territory():  # noqa: ANN202
    from geo.coverage.territory import france_territory
    from geo.load import DataNotBuiltError, load_departements

    try:
        departements = load_departements()
    except DataNotBuiltError:
        return None
    start = time.perf_counter()
    territory = france_territory(departements)
    print(f"  France's land from the départements built in {time.perf_counter() - start:.2f} s (once per command)")
    return territory


def bench_import(n: int, pg_url: str | None) -> list[tuple[str, float, float | None]]:
    qpv = _qpv_layer()
    territory = _territory()
    rows = _rows_for_import(n, qpv)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "visites.csv"
        rows.to_csv(path, sep=";", index=False, encoding="utf-8")
        size = path.stat().st_size / 1e6
        targets = [("SQLite (WAL)", lambda name: f"sqlite:///{Path(tmp) / name}")]
        if pg_url:
            targets.append(("PostgreSQL", lambda name: _fresh_pg(pg_url, name)))
        for label, make in targets:
            url = make("ours.db")
            engine = store.open_store(url)
            start = time.perf_counter()
            summary = importer.import_file(path, engine=engine, qpv=qpv, territory=territory, today=TODAY)
            ours = time.perf_counter() - start
            start = time.perf_counter()
            again = importer.import_file(path, engine=engine, qpv=qpv, territory=territory, today=TODAY)
            reimport = time.perf_counter() - start
            engine.dispose()
            start = time.perf_counter()
            naive_count = naive_import(path, make("naive.db"))
            naive = time.perf_counter() - start
            assert summary.imported == naive_count == n, (summary.as_dict(), naive_count)
            assert again.duplicates == n
            out.append((f"import {n:,} rows ({size:.1f} MB CSV) into {label}", ours, naive))
            out.append((f"re-import of the same file into {label} (all duplicates)", reimport, None))
    return out


def naive_report(frame: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """Row-wise redaction with ``apply`` (one Python call per cell) and one report line per problem."""
    import re
    import unicodedata

    from geo.coverage import validate, vocabulary

    phone, email = re.compile(validate._PHONE), re.compile(validate._EMAIL)
    civility = re.compile(vocabulary.CIVILITY_PATTERN)

    def personal(value: object) -> bool:
        text = str(value)
        folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
        return bool(phone.search(text) or email.search(text) or civility.search(folded))

    report = problems.merge(frame, on="ligne", how="left")
    cells = report.drop(columns=["ligne", "colonne", "code", "motif"])
    cleaned = cells.apply(lambda col: col.map(lambda v: importer.REDACTED if personal(v) else v))
    return pd.concat([report[["ligne", "colonne", "motif"]], cleaned], axis=1)


def bench_report(n: int) -> list[tuple[str, float, float | None]]:
    """Every row carries a resident's phone number, e-mail and name in a column: all rejected, report written."""
    from geo.coverage import reader
    from geo.coverage.validate import validate_rows

    qpv = _qpv_layer()
    rows = _rows_for_import(n, qpv).assign(sujets="rappeler Mme Diallo au 06 98 76 54 32",
                                           commentaire="diallo@example.fr")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "visites.csv"
        rows.to_csv(path, sep=";", index=False, encoding="utf-8")
        engine = store.open_store(f"sqlite:///{Path(tmp) / 'r.db'}")
        start = time.perf_counter()
        summary = importer.import_file(path, engine=engine, qpv=qpv, today=TODAY)
        importer.write_report(summary, Path(tmp) / "visites.rejets.csv")
        whole = time.perf_counter() - start
        engine.dispose()
        assert summary.rejected == n and len(summary.report) == n
        assert not looks_personal(summary.report["sujets"]).any()
        table = reader.read_file(path)
        problems = validate_rows(table.frame, today=TODAY).problems
        ours = _timed(lambda: importer.rejection_report(table, problems), repeat=3)
        naive = _timed(lambda: naive_report(table.frame, problems), repeat=1)
    out.append((f"import {n:,} rows with personal data (all rejected, report written)", whole, None))
    out.append((f"report of the {n:,} rejected rows alone (redaction, one line per row)", ours, naive))
    return out


def _fresh_pg(base: str, name: str) -> str:
    import sqlalchemy as sa

    url = sa.engine.make_url(base)
    db = f"vm_bench_{os.getpid()}_{name.split('.')[0]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    admin.dispose()
    return url.set(database=db).render_as_string(hide_password=False)


def _print(title: str, rows: list[tuple[str, float, float | None]], *, unit: str, goal: float) -> None:
    scale = 1000 if unit == "ms" else 1
    print(f"\n{title}")
    print(f"  {'':68s} {'voisinmap':>11s} {'naive pandas':>13s} {'speed-up':>9s}  goal {goal:g} {unit}")
    for label, ours, naive in rows:
        naive_txt = f"{naive * scale:10.1f} {unit}" if naive is not None else f"{'–':>13s}"
        ratio = f"{naive / ours:8.1f}x" if naive is not None else f"{'':>9s}"
        flag = "ok" if ours * scale <= goal else "OVER"
        print(f"  {label:68s} {ours * scale:8.1f} {unit} {naive_txt} {ratio}  {flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("VOISINMAP_TEST_PG_URL"),
                        help="PostgreSQL URL for the import bench (default: $VOISINMAP_TEST_PG_URL)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per viewport figure (median printed)")
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    print(f"Door coverage bench ({os.cpu_count()} CPU)")
    _print(f"Aggregating {args.events:,} door events for a map viewport (median of {REPEAT} runs; naive: median "
           f"of 3)",
           bench_aggregation(args.events), unit="ms", goal=200)
    _print(f"Importing {args.rows:,} rows (read, validate, locate in QPV, store in one transaction)",
           bench_import(args.rows, args.pg), unit="s", goal=10)
    _print(f"Rejecting {args.rows:,} rows with personal data (naive: apply per cell, one line per problem)",
           bench_report(args.rows), unit="s", goal=10)


if __name__ == "__main__":
    main()
