"""One import, one transaction: what other connections see and do while an import is under way.

On SQLite and PostgreSQL, a reader in the middle of an import (chunks handed over, the roll-up recounted, not
yet committed) sees the store as it was, and a file overlapping stored visits counts them as duplicates. On
PostgreSQL a failed ``COPY`` is raised like any SQLAlchemy error, without the row the server quotes. On PostgreSQL, where the chunks go into the visits as they are read:
a field-entry write goes through while an import holds its transaction open; two imports of overlapping files
handed over at the same moment are serialised by the import lock (the second stages its chunks and inserts them
once the first has committed) and both end with the right counts and a roll-up equal to a recount.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from rollup_helpers import assert_in_step, random_rows

from geo.coverage import importer, reader, store
from geo.coverage.checking import CheckOptions, check_chunk
from geo.coverage.locating import locate
from geo.coverage.validate import RankCounter


def _counts(engine: sa.Engine) -> tuple[int, int, int]:
    """Visits, import records and roll-up rows, read on a connection of their own."""
    with engine.connect() as conn:
        return tuple(int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
                     for table in (store.VISITS, store.IMPORTS, store.ROLLUP))


def _located(path: Path) -> pd.DataFrame:
    """The visits of a small file, checked and located as an import does, ready for the store."""
    chunk = next(iter(reader.open_file(path).chunks))
    checked = check_chunk(chunk, options=CheckOptions(today=TODAY), ranks=RankCounter())
    return locate(checked.rows, geocoder=None, qpv=None)[0]


def test_a_reader_during_an_import_sees_nothing_of_it(engine: sa.Engine, tmp_path: Path) -> None:
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(300, seed=61)), engine=engine, today=TODAY)
    before = _counts(engine)
    seen: list[tuple[str, tuple[int, int, int]]] = []

    def look(step: str, done: int, total: int) -> None:
        # halfway through the reading (earlier chunks handed over) and once every visit is in and rolled up
        if (step == "validate" and done == 500) or (step == "write" and done == total > 0):
            seen.append((step, _counts(engine)))

    path = write_csv(tmp_path / "b.csv", random_rows(900, seed=62, campaign="Automne"))
    summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, progress=look)
    assert summary.imported == 900
    assert seen == [("validate", before), ("write", before)]
    assert _counts(engine)[:2] == (before[0] + 900, before[1] + 1)
    assert_in_step(engine)


def test_a_file_overlapping_stored_visits_counts_its_duplicates(engine: sa.Engine, tmp_path: Path) -> None:
    stored = random_rows(300, seed=69)
    importer.import_file(write_csv(tmp_path / "a.csv", stored), engine=engine, today=TODAY)
    # chunk 1 new (copied straight in on PostgreSQL), chunk 2 holding 60 stored visits (the copy fails and the
    # chunk goes through ON CONFLICT), chunks 3 and 4 new again
    frame = pd.concat([random_rows(100, seed=70, campaign="Neuf"), stored.iloc[100:160],
                       random_rows(240, seed=71, campaign="Neuf bis")], ignore_index=True)
    summary = importer.import_file(write_csv(tmp_path / "b.csv", frame), engine=engine, today=TODAY,
                                   chunk_rows=100)
    assert summary.chunks == 4 and summary.imported == 340 and summary.duplicates == 60
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(store.IMPORTS.c.n_imported, store.IMPORTS.c.n_duplicates)
                                .order_by(store.IMPORTS.c.id.desc())).first()
    assert tuple(recorded) == (340, 60)
    assert store.count_visits(engine) == 640
    assert_in_step(engine)


@pytest.mark.postgres
def test_a_failed_copy_quotes_no_row(tmp_path: Path, pg_engine: sa.Engine, caplog: pytest.LogCaptureFixture) -> None:
    with pg_engine.begin() as conn:  # the database refuses one visit
        conn.exec_driver_sql("CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.campaign = 'boom' "
                             "THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
        conn.exec_driver_sql("CREATE TRIGGER boom BEFORE INSERT ON door_visits FOR EACH ROW EXECUTE FUNCTION boom()")
    rows = random_rows(300, seed=72)
    rows.loc[250, ["campagne", "porte"]] = ["boom", "Z-77-4242"]
    with caplog.at_level("DEBUG"), pytest.raises(sa.exc.DBAPIError, match="boom") as failed:
        importer.import_file(write_csv(tmp_path / "a.csv", rows), engine=pg_engine, today=TODAY)
    assert "Z-77-4242" not in str(failed.value) and failed.value.__cause__ is None
    assert "Z-77-4242" not in "\n".join(record.getMessage() for record in caplog.records)
    assert _counts(pg_engine) == (0, 0, 0)


@pytest.mark.postgres
def test_field_entry_goes_through_while_an_import_holds_its_transaction(tmp_path: Path, pg_engine: sa.Engine
                                                                        ) -> None:
    entry = _located(write_csv(tmp_path / "saisie.csv", random_rows(20, seed=63, campaign="Saisie")))
    written: list[int] = []

    def field_entry() -> None:
        with store.write_transaction(pg_engine) as conn:
            written.append(store.insert_visits(conn, entry, file_sha256="f" * 64, file_name="f.json",
                                               file_format="saisie", n_rows=20, n_rejected=0).imported)

    def write_meanwhile(step: str, done: int, total: int) -> None:
        if step == "validate" and done == 400:  # 3 chunks already in the visits, uncommitted
            writer = threading.Thread(target=field_entry)
            writer.start()
            writer.join(timeout=60)
            assert not writer.is_alive(), "the field entry waited for the import"

    path = write_csv(tmp_path / "gros.csv", random_rows(800, seed=64))
    summary = importer.import_file(path, engine=pg_engine, today=TODAY, chunk_rows=100, progress=write_meanwhile)
    assert written == [20] and summary.imported == 800
    assert store.count_visits(pg_engine) == 820
    assert_in_step(pg_engine)


@pytest.mark.postgres
def test_two_imports_of_overlapping_files_are_serialised_without_deadlock(tmp_path: Path, pg_engine: sa.Engine
                                                                         ) -> None:
    shared = random_rows(150, seed=65, campaign="Commun")
    files = [pd.concat([random_rows(250, seed=66 + k, campaign=f"Fichier {k}"), shared], ignore_index=True)
             for k in range(2)]
    rows = [_located(write_csv(tmp_path / f"f{k}.csv", frame)) for k, frame in enumerate(files)]
    record = [store.ImportRecord(file_sha256=f"{k}" * 64, file_name=f"f{k}.csv", file_format="csv")
              for k in range(2)]
    with pg_engine.connect() as first_conn, pg_engine.connect() as second_conn, \
            store.ImportTransaction(first_conn, file=record[0]) as first, \
            store.ImportTransaction(second_conn, file=record[1]) as second:
        assert first.streaming and not second.streaming  # the second found the import lock taken
        first.add(rows[0].iloc[:200])
        second.add(rows[1])  # staged: the shared visits are already in the first's uncommitted rows
        first.add(rows[0].iloc[200:])
        committed: dict[str, tuple[int, int]] = {}
        waiting = threading.Thread(target=lambda: committed.update(second=second.commit(
            n_rows=400, n_rejected=0, n_pending=0)))
        waiting.start()
        waiting.join(timeout=2)
        assert waiting.is_alive()  # waits for the import lock
        committed["first"] = first.commit(n_rows=400, n_rejected=0, n_pending=0)
        waiting.join(timeout=60)
        assert not waiting.is_alive()
    assert committed["first"][1] == 400 and committed["second"][1] == 250  # the shared rows went in once
    with pg_engine.connect() as conn:
        counted = dict(conn.execute(sa.select(store.IMPORTS.c.id, store.IMPORTS.c.n_duplicates)).all())
    assert counted == {committed["first"][0]: 0, committed["second"][0]: 150}
    assert store.count_visits(pg_engine) == 650
    assert_in_step(pg_engine)


@pytest.mark.postgres
def test_a_failed_streamed_import_releases_the_import_lock(tmp_path: Path, pg_engine: sa.Engine) -> None:
    rows = _located(write_csv(tmp_path / "a.csv", random_rows(200, seed=68)))
    record = store.ImportRecord(file_sha256="a" * 64, file_name="a.csv", file_format="csv")
    with pg_engine.connect() as conn:
        with pytest.raises(RuntimeError, match="disk full"), \
                store.ImportTransaction(conn, file=record) as failing:
            assert failing.streaming
            failing.add(rows)
            raise RuntimeError("disk full")
        assert not conn.in_transaction()
    assert _counts(pg_engine) == (0, 0, 0)
    with pg_engine.connect() as conn, store.ImportTransaction(conn, file=record) as again:
        assert again.streaming  # the lock went with the rolled-back transaction
        again.add(rows)
        assert again.commit(n_rows=200, n_rejected=0, n_pending=0)[1] == 200
    assert_in_step(pg_engine)
