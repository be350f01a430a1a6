"""The roll-up of door visits stays equal to a recount from the visits: after imports, re-imports, demo
removal, geocoding, concurrent imports and failed imports, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from coverage_workers import import_at_once
from rollup_helpers import assert_in_step, assert_store_in_step, overlapping_files, random_rows

from geo.coverage import importer, store
from geo.coverage.keys import day_numbers, week_start
from geo.coverage.store import rollup as rollup_module


def _import(path: Path, engine: sa.Engine) -> importer.ImportSummary:
    return importer.import_file(path, engine=engine, today=TODAY)


def test_rollup_follows_imports_reimports_demo_removal_and_geocoding(engine: sa.Engine, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", random_rows(600, seed=1))
    assert _import(first, engine).imported == 600
    rolled = assert_in_step(engine)
    assert rolled["visits"].sum() == 600
    assert (rolled["new_doors"] <= rolled["visits"]).all()
    assert 0 < rolled["new_doors"].sum() < 600  # doors knocked again are counted once
    assert rolled["visits"].gt(1).any()  # several knocks share a roll-up row

    again = _import(first, engine)  # adds nothing, changes nothing
    assert again.imported == 0
    pd.testing.assert_frame_equal(assert_in_step(engine), rolled)

    # a second campaign on the same buildings, half of it overlapping the first file
    second = pd.concat([random_rows(600, seed=1).iloc[:300], random_rows(400, seed=2, campaign="Automne")])
    assert _import(write_csv(tmp_path / "b.csv", second), engine).imported == 400
    assert assert_in_step(engine)["visits"].sum() == 1000

    importer.import_frame(random_rows(200, seed=3, campaign="Démo"), name="démo", engine=engine, today=TODAY,
                          demo=True)
    assert assert_in_step(engine)["visits"].sum() == 1200
    assert store.delete_demo(engine) == 200
    assert assert_in_step(engine)["visits"].sum() == 1000

    pending = store.pending_addresses(engine)
    assert len(pending) > 0
    located = pending.assign(lat=48.6531, lon=2.3742, geocode_score=0.9, location_status=store.LOCATION_GEOCODED,
                             code_qp=None, qpv_status=store.QPV_OUTSIDE)
    assert store.set_locations(engine, located) == pending["n_visits"].sum()
    after = assert_in_step(engine)
    assert after["located"].all()


def test_a_failure_midway_leaves_visits_and_rollup_unchanged(engine: sa.Engine, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _import(write_csv(tmp_path / "a.csv", random_rows(300, seed=4)), engine)
    importer.import_frame(random_rows(50, seed=6, campaign="Démo"), name="démo", engine=engine, today=TODAY,
                          demo=True)
    before = assert_in_step(engine)
    real = rollup_module.refresh_rollup

    def recount_then_fail(conn, **kwargs):  # noqa: ANN001, ANN003, ANN202 - the failure comes after the writes
        real(conn, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr("geo.coverage.store.visits.refresh_rollup", recount_then_fail)
    real_import = rollup_module.refresh_rollup_of_import

    def recount_import_then_fail(conn, **kwargs):  # noqa: ANN001, ANN003, ANN202 - an import's recount
        real_import(conn, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr("geo.coverage.store.staging.refresh_rollup_of_import", recount_import_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        _import(write_csv(tmp_path / "b.csv", random_rows(300, seed=5, campaign="Automne")), engine)
    with pytest.raises(RuntimeError, match="disk full"):
        store.delete_demo(engine)
    monkeypatch.undo()
    assert store.count_visits(engine) == 350
    pd.testing.assert_frame_equal(assert_in_step(engine), before)


def test_two_processes_importing_at_once_keep_the_rollup_in_step(db_url: str, tmp_path: Path) -> None:
    """Two files over the same buildings (a shared part and their own rows), imported at the same moment."""
    import_at_once(db_url, overlapping_files(tmp_path, own=800, shared=400, seed=7))
    assert_store_in_step(db_url, visits=2000)


def test_load_rollup_filters_on_site_and_weeks(engine: sa.Engine, tmp_path: Path) -> None:
    rows = pd.concat([random_rows(200, seed=8, address_share=0.0),
                      random_rows(100, seed=9, site="59350", address_share=0.0)], ignore_index=True)
    _import(write_csv(tmp_path / "a.csv", rows), engine)
    whole = store.load_rollup(engine)
    assert whole["visits"].sum() == 300
    assert whole["outcome"].dtype == "category" and whole["visits"].dtype == np.int32
    north = store.load_rollup(engine, sites=["59350"])
    assert north["visits"].sum() == 100 and set(north["site"]) == {"59350"}
    import datetime as dt

    spring = store.load_rollup(engine, start=dt.date(2025, 3, 1), end=dt.date(2025, 5, 31))
    days = pd.to_datetime("1970-01-01") + pd.to_timedelta(spring["week_start"], unit="D")
    assert days.min() >= pd.Timestamp("2025-03-01") and days.max() <= pd.Timestamp("2025-05-31")
    assert 0 < spring["visits"].sum() < 300


def _located_rows(path: Path) -> pd.DataFrame:
    from geo.coverage import reader
    from geo.coverage.validate import validate_rows

    checked = validate_rows(reader.read_file(path).frame, today=TODAY)
    rows, _ = importer.locate(checked.valid, geocoder=None, qpv=None)
    return rows


@pytest.mark.postgres
def test_a_writer_recounts_after_the_one_before_it_commits(tmp_path: Path) -> None:
    """Two transactions writing visits of the same buildings: the second one's recount waits for the first
    to commit, then counts its visits too (without the wait it would miss them or collide with its rows)."""
    import os
    import threading
    import time
    import uuid

    base = os.environ.get("VOISINMAP_TEST_PG_URL")
    if not base:
        pytest.fail("VOISINMAP_TEST_PG_URL is not set")
    url = sa.engine.make_url(base)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"vm_cov_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = store.open_store(url.set(database=name).render_as_string(hide_password=False))
    try:
        first = _located_rows(write_csv(tmp_path / "a.csv", random_rows(300, seed=20, address_share=0.0)))
        second = _located_rows(write_csv(tmp_path / "b.csv", random_rows(300, seed=21, campaign="Automne",
                                                                          address_share=0.0)))
        first_written, release, errors = threading.Event(), threading.Event(), []

        def write(rows: pd.DataFrame, tag: str, hold: bool) -> None:
            try:
                with store.write_transaction(engine) as conn:
                    store.insert_visits(conn, rows, file_sha256=tag * 64, file_name=f"{tag}.csv", file_format="csv",
                                        n_rows=len(rows), n_rejected=0)
                    if hold:
                        first_written.set()
                        release.wait(timeout=30)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                errors.append(exc)

        a = threading.Thread(target=write, args=(first, "a", True))
        a.start()
        assert first_written.wait(timeout=30)
        b = threading.Thread(target=write, args=(second, "b", False))
        b.start()
        time.sleep(1.0)  # b has written its visits and waits to recount
        assert b.is_alive()
        release.set()
        a.join(timeout=60)
        b.join(timeout=60)
        assert not errors, errors
        assert store.count_visits(engine) == 600
        assert assert_in_step(engine)["visits"].sum() == 600
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_the_migration_rolls_up_visits_stored_before_it(db_url: str, tmp_path: Path) -> None:
    """A store at the first schema, with visits, migrated to the roll-up schema: keys, weeks and roll-up filled."""
    from geo import db
    from geo.coverage.keys import building_keys

    engine = store.make_engine(db_url)
    db.migrate(engine, store.MIGRATIONS_DIR, store.VERSION_TABLE, revision="0001_initial")
    rows = _located_rows(write_csv(tmp_path / "a.csv", random_rows(500, seed=50)))
    visits = sa.table("door_visits", *(sa.column(c) for c in [
        "content_key", "import_id", "campaign", "site", "visited_at", "time_known", "street_number", "street",
        "postcode", "city", "building", "door", "lat", "lon", "location_status", "geocode_score", "code_qp",
        "qpv_status", "outcome", "language", "topics", "voisin", "demo"]))
    records = rows.assign(import_id=1, demo=False, visited_at=rows["visited_at"].dt.to_pydatetime(),
                          lat=rows["lat"].astype(object).where(rows["lat"].notna(), None),
                          lon=rows["lon"].astype(object).where(rows["lon"].notna(), None),
                          geocode_score=None, code_qp=None)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO coverage_imports (id, file_sha256, file_name, file_format, imported_at, "
                             "n_rows, n_imported, n_duplicates, n_rejected, n_pending, demo) VALUES "
                             "(1, 'x', 'a.csv', 'csv', '2026-11-21 10:00:00', 500, 500, 0, 0, 0, false)")
        conn.execute(sa.insert(visits), records[[c.name for c in visits.c]].to_dict("records"))
    assert store.upgrade(engine) == store.head_revision()
    rolled = assert_in_step(engine)
    assert rolled["visits"].sum() == 500
    with engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(sa.select(store.VISITS)).all(), columns=[c.name for c in store.VISITS.c])
    stored["lat"] = stored["lat"].astype(float)
    stored["lon"] = stored["lon"].astype(float)
    assert stored["building_key"].tolist() == building_keys(stored)[0].tolist()
    assert stored["week_start"].tolist() == week_start(day_numbers(pd.to_datetime(stored["visited_at"]))).tolist()
    engine.dispose()
