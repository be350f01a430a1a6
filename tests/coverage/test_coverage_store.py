"""The store, on SQLite and PostgreSQL: migrations, content keys, atomicity, concurrency, minimal data."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, visit_rows, write_csv
from coverage_workers import import_at_once

from geo.coverage import importer, store


def _import(path: Path, engine: sa.Engine, **kwargs) -> importer.ImportSummary:  # noqa: ANN003
    return importer.import_file(path, engine=engine, today=TODAY, **kwargs)


def test_migrations_reach_head_and_match_the_models(engine: sa.Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert store.current_revision(engine) == store.head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": store.VERSION_TABLE})
        assert compare_metadata(context, store.metadata) == []
    assert store.upgrade(engine) == store.head_revision()  # a second upgrade is a no-op


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == store.BUSY_TIMEOUT_MS
    engine.dispose()


def test_reimport_and_overlapping_files_add_nothing_twice(engine: sa.Engine, tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", visit_rows(100))
    b = write_csv(tmp_path / "b.csv", visit_rows(100, start=50), sep=",", encoding="cp1252")
    first = _import(a, engine)
    assert (first.imported, first.duplicates, first.rejected) == (100, 0, 0)
    again = _import(a, engine)
    assert (again.imported, again.duplicates) == (0, 100)
    overlap = _import(b, engine)
    assert (overlap.imported, overlap.duplicates) == (50, 50)
    assert store.count_visits(engine) == 150
    with engine.connect() as conn:
        records = conn.execute(sa.select(store.IMPORTS.c.n_imported, store.IMPORTS.c.n_duplicates)
                               .order_by(store.IMPORTS.c.id)).all()
    assert [tuple(r) for r in records] == [(100, 0), (0, 100), (50, 50)]


def test_identical_knocks_in_one_file_are_all_kept(engine: sa.Engine, tmp_path: Path) -> None:
    same = visit_rows(1).assign(porte="", heure="", resultat="absent")
    path = write_csv(tmp_path / "a.csv", pd.concat([same] * 20, ignore_index=True))
    assert _import(path, engine).imported == 20
    assert _import(path, engine).duplicates == 20
    assert store.count_visits(engine) == 20


def _add_failing_trigger(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.campaign = 'boom' "
                                 "THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER boom BEFORE INSERT ON door_visits FOR EACH ROW "
                                 "EXECUTE FUNCTION boom()")
        else:
            conn.exec_driver_sql("CREATE TRIGGER boom BEFORE INSERT ON door_visits WHEN NEW.campaign = 'boom' "
                                 "BEGIN SELECT RAISE(ABORT, 'boom'); END")


def test_a_failure_while_writing_leaves_nothing_behind(engine: sa.Engine, tmp_path: Path) -> None:
    _import(write_csv(tmp_path / "before.csv", visit_rows(10, start=10_000)), engine)
    _add_failing_trigger(engine)
    rows = pd.concat([visit_rows(3000), visit_rows(1, campaign="boom", start=5000)], ignore_index=True)
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(sa.exc.DBAPIError, match="boom"):
        _import(path, engine)
    assert store.count_visits(engine) == 10
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.IMPORTS)).scalar_one() == 1
    # the same file without the failing row then goes in whole
    assert _import(write_csv(tmp_path / "b.csv", rows.iloc[:-1]), engine).imported == 3000


def test_four_processes_importing_at_once_lose_and_duplicate_nothing(db_url: str, tmp_path: Path) -> None:
    """Four files of 3,000 own rows plus the same 1,000 shared rows, imported by four processes at once."""
    shared = visit_rows(1000, campaign="Commun", start=90_000)
    paths = []
    for k in range(4):
        own = visit_rows(3000, campaign=f"Fichier {k}", start=k * 10_000)
        frame = pd.concat([own, shared], ignore_index=True).sample(frac=1.0, random_state=k)
        paths.append(str(write_csv(tmp_path / f"f{k}.csv", frame, sep=";" if k % 2 else ",")))
    outcomes = import_at_once(db_url, paths)
    assert sum(o["imported"] for o in outcomes) == 4 * 3000 + 1000
    assert sum(o["duplicates"] for o in outcomes) == 3 * 1000
    assert all(o["rejected"] == 0 for o in outcomes)
    engine = store.open_store(db_url)
    try:
        assert store.count_visits(engine) == 13_000
        with engine.connect() as conn:
            per_campaign = dict(conn.execute(sa.select(store.VISITS.c.campaign, sa.func.count())
                                             .group_by(store.VISITS.c.campaign)).all())
            distinct = conn.execute(sa.select(sa.func.count(sa.distinct(store.VISITS.c.content_key)))).scalar_one()
            n_imports = conn.execute(sa.select(sa.func.count()).select_from(store.IMPORTS)).scalar_one()
    finally:
        engine.dispose()
    assert per_campaign == {"Commun": 1000, **{f"Fichier {k}": 3000 for k in range(4)}}
    assert distinct == 13_000
    assert n_imports == 4


def test_load_events_filters(engine: sa.Engine, tmp_path: Path) -> None:
    rows = pd.concat([visit_rows(30, campaign="A", site="91286"), visit_rows(20, campaign="B", site="59350", start=30),
                      visit_rows(5, campaign="C", start=60).assign(latitude="", longitude="", voie="rue X",
                                                                   commune="Grigny")], ignore_index=True)
    _import(write_csv(tmp_path / "a.csv", rows), engine)
    assert len(store.load_events(engine)) == 50
    assert len(store.load_events(engine, located_only=False)) == 55
    assert set(store.load_events(engine, sites=["59350"])["campaign"]) == {"B"}
    assert len(store.load_events(engine, campaigns=["A", "C"], located_only=False)) == 35
    january = store.load_events(engine, start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 28))
    assert len(january) == 28 and january["visited_at"].dt.month.eq(1).all()
    events = store.load_events(engine)
    assert events["visited_at"].is_monotonic_increasing
    assert set(events.columns) >= {"campaign", "site", "visited_at", "outcome", "lat", "lon", "building", "door",
                                   "code_qp", "demo"}


def test_pending_rows_are_stored_and_located_later(engine: sa.Engine, tmp_path: Path, square_qpv) -> None:  # noqa: ANN001
    rows = visit_rows(4).assign(latitude="", longitude="", numero=["12", "12", "3", "3"],
                                voie=["avenue des Tuileries"] * 2 + ["rue du Minotaure"] * 2, code_postal="91350",
                                commune="Grigny")
    summary = _import(write_csv(tmp_path / "a.csv", rows), engine, qpv=square_qpv)
    assert summary.pending_geocoding == 4
    pending = store.pending_addresses(engine)
    assert pending[["street_number", "n_visits"]].values.tolist() == [["12", 2], ["3", 2]]
    located = pending.assign(lat=[48.6531, float("nan")], lon=[2.3742, float("nan")], geocode_score=[0.9, 0.2],
                             location_status=[store.LOCATION_GEOCODED, store.LOCATION_FAILED],
                             code_qp=["QN09901M", None], qpv_status=[store.QPV_INSIDE, store.QPV_UNKNOWN])
    assert store.set_locations(engine, located) == 4
    assert store.pending_addresses(engine).empty
    events = store.load_events(engine, located_only=False)
    assert sorted(events["location_status"]) == ["echec", "echec", "geocode", "geocode"]
    assert events.loc[events["location_status"] == "geocode", "code_qp"].tolist() == ["QN09901M"] * 2


def test_demo_rows_can_be_removed(engine: sa.Engine, tmp_path: Path) -> None:
    importer.import_frame(visit_rows(10), name="démo", engine=engine, today=TODAY, demo=True)
    _import(write_csv(tmp_path / "real.csv", visit_rows(5, campaign="Réel", start=100)), engine)
    assert store.count_visits(engine, demo=True) == 10
    assert store.delete_demo(engine) == 10
    assert store.count_visits(engine) == 5


def test_the_store_keeps_the_minimum(engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    columns = {c.name for c in store.VISITS.columns}
    assert not columns & {"name", "nom", "prenom", "phone", "telephone", "email"}
    rows = visit_rows(3, campaign="Campagne-Zorglub").assign(commentaire="Mme Zorglub, 3e gauche",
                                                             voie="Rue Zorglubienne", numero="7")
    with caplog.at_level(logging.DEBUG):
        _import(write_csv(tmp_path / "a.csv", rows), engine)
    with engine.connect() as conn:
        cells = [str(v) for table in (store.VISITS, store.IMPORTS) for row in conn.execute(sa.select(table)).all()
                 for v in row]
    assert not any("Mme Zorglub" in c for c in cells)  # ignored column: never stored
    assert any("Campagne-Zorglub" in c for c in cells)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zorglub" not in logged  # no row content in the logs
    assert "a.csv" not in logged and "imported " in logged  # nor the uploaded file's name


def test_unknown_qpv_is_checked_later(engine: sa.Engine, tmp_path: Path, square_qpv) -> None:  # noqa: ANN001
    _import(write_csv(tmp_path / "a.csv", visit_rows(3)), engine)  # no QPV layer at import time
    unknown = store.unknown_qpv(engine)
    assert len(unknown) == 3
    from geo.coverage.aggregate import assign_qpv

    codes = assign_qpv(unknown["lon"].to_numpy(float), unknown["lat"].to_numpy(float), square_qpv)
    assert store.set_qpv(engine, unknown["id"].to_numpy(), list(codes)) == 3
    assert store.unknown_qpv(engine).empty
    assert set(store.load_events(engine)["qpv_status"]) == {store.QPV_INSIDE}


def test_stats_per_site_and_campaign(engine: sa.Engine, tmp_path: Path) -> None:
    rows = pd.concat([visit_rows(4, campaign="A"), visit_rows(2, campaign="A", start=4, outcome="absent"),
                      visit_rows(3, campaign="B", site="59350", start=10)], ignore_index=True)
    _import(write_csv(tmp_path / "a.csv", rows), engine)
    frame = store.stats(engine).set_index("campaign")
    assert frame.loc["A", "visites"] == 6 and frame.loc["A", "ouvert"] == 4 and frame.loc["A", "absent"] == 2
    assert frame.loc["B", "site"] == "59350"


def test_insert_requires_unique_keys(engine: sa.Engine) -> None:
    from geo.coverage.importer import locate
    from geo.coverage.validate import validate_rows

    frame = visit_rows(2)
    frame.insert(0, "ligne", [2, 3])
    rows, _ = locate(validate_rows(frame, today=TODAY).valid, geocoder=None, qpv=None)
    rows = pd.concat([rows, rows.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="rows: expected unique content keys"), store.write_transaction(engine) as conn:
        store.insert_visits(conn, rows, file_sha256="x", file_name="x", file_format="csv", n_rows=3, n_rejected=0)


def test_a_mistyped_sqlite_path_is_not_created(tmp_path: Path) -> None:
    from geo.coverage.errors import StoreUnavailableError

    typo = tmp_path / "dnnées" / "sous" / "voisinmap.db"
    with pytest.raises(StoreUnavailableError, match=r"dossier introuvable : .*dnnées/sous"):
        store.open_store(f"sqlite:///{typo}")
    assert not (tmp_path / "dnnées").exists()


def test_the_default_data_folder_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo import config

    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = store.open_store()  # sqlite:///<project>/data/voisinmap.db
    engine.dispose()
    assert (tmp_path / "data" / "voisinmap.db").is_file()
