"""A first large import on SQLite builds the secondary indexes of the visits again instead of maintaining them.

The indexes are dropped and created again inside the import's transaction: after the import the store has
exactly the indexes of its migrations, the queries that read them answer as before, and a failure after the
drop leaves the indexes (and everything else) as they were.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from rollup_helpers import assert_in_step, random_rows

from geo.coverage import importer, store
from geo.coverage.store import staging


def _indexes(engine: sa.Engine | sa.Connection) -> list[tuple[str, tuple[str, ...], bool]]:
    found = sa.inspect(engine).get_indexes("door_visits")
    return sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in found)


def _large_file(tmp_path: Path, name: str, *, seed: int, campaign: str = "Printemps") -> Path:
    return write_csv(tmp_path / name, random_rows(staging.SQLITE_BATCH + 500, seed=seed, campaign=campaign))


def test_a_first_large_import_leaves_the_indexes_of_the_migrations(tmp_path: Path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        migrated = _indexes(engine)
        assert len(migrated) >= 5
        summary = importer.import_file(_large_file(tmp_path, "a.csv", seed=51), engine=engine, today=TODAY,
                                       chunk_rows=8_000)
        assert summary.imported == staging.SQLITE_BATCH + 500
        assert _indexes(engine) == migrated
        assert_in_step(engine)
        with engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM door_visits WHERE building_key = 'b|91286|B3'"))
        assert "ix_door_visits_building_key" in plan
        # a second import, smaller than the store, maintains the indexes; the result is the same
        again = importer.import_file(_large_file(tmp_path, "b.csv", seed=52, campaign="Automne"), engine=engine,
                                     today=TODAY, chunk_rows=8_000)
        assert again.imported == staging.SQLITE_BATCH + 500
        assert _indexes(engine) == migrated
        assert_in_step(engine)
    finally:
        engine.dispose()


def test_a_failure_after_the_indexes_were_dropped_leaves_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        migrated = _indexes(engine)

        insert = staging.VisitStaging._insert_staged

        def insert_then_fail(self: staging.VisitStaging, import_id: int, demo: bool) -> int:
            insert(self, import_id, demo)  # the visits are in, their secondary indexes dropped
            assert sa.inspect(self.conn).get_indexes("door_visits") == []  # as this transaction sees it
            raise RuntimeError("disk full")

        monkeypatch.setattr(staging.VisitStaging, "_insert_staged", insert_then_fail)
        with pytest.raises(RuntimeError, match="disk full"):
            importer.import_file(_large_file(tmp_path, "a.csv", seed=53), engine=engine, today=TODAY,
                                 chunk_rows=8_000)
        assert store.count_visits(engine) == 0
        assert _indexes(engine) == migrated
    finally:
        engine.dispose()
