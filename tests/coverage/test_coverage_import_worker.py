"""The chunks of a large import checked in a worker process (:mod:`geo.coverage.checking`).

An import whose chunks are checked in a forked worker stores what an import checked in the importing process
stores: the same visits under the same content keys (identical visits in different chunks ranked alike), the
same counts and report of rejected rows, the roll-up in step; a failure in the worker leaves the store as it was.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from rollup_helpers import assert_in_step, random_rows

from geo.coverage import checking, importer, store
from geo.coverage.reader import Chunk

pytestmark = pytest.mark.skipif(not checking.can_fork(), reason="the worker is forked")


def _mixed_file(path: Path) -> Path:
    """900 rows over several chunks: repeats of the first rows at the end, and a few bad rows."""
    rows = random_rows(840, seed=41)
    rows = pd.concat([rows, rows.head(60)], ignore_index=True)
    rows.loc[100, "date"] = "2025-02-31"                      # no such day
    rows.loc[450, "sujets"] = "rappeler au 06 12 34 56 78"    # a phone number: the row is rejected
    rows.loc[700, "latitude"] = "91.5"                         # out of range
    return write_csv(path, rows)


def _keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.select(store.VISITS.c.content_key)))


def test_a_worker_checked_import_stores_what_an_in_process_import_stores(db_url: str, tmp_path: Path,
                                                                        square_qpv: gpd.GeoDataFrame) -> None:
    path = _mixed_file(tmp_path / "visites.csv")
    here = store.open_store(f"sqlite:///{tmp_path / 'here.db'}")
    there = store.open_store(db_url)
    try:
        local = importer.import_file(path, engine=here, today=TODAY, chunk_rows=128, qpv=square_qpv,
                                     in_worker=False)
        forked = importer.import_file(path, engine=there, today=TODAY, chunk_rows=128, qpv=square_qpv,
                                      in_worker=True)
        assert forked.chunks == local.chunks == 8
        assert forked.as_dict() == local.as_dict()
        assert forked.rejected == 3 and forked.imported == 897 and forked.outside_qpv == local.outside_qpv
        pd.testing.assert_frame_equal(forked.report, local.report)
        assert _keys(there) == _keys(here)
        assert_in_step(there)
        # a second import of the same file, checked in a worker again, finds every visit already stored
        again = importer.import_file(path, engine=there, today=TODAY, chunk_rows=300, in_worker=True)
        assert again.imported == 0 and again.duplicates == 897
    finally:
        here.dispose()
        there.dispose()


def test_a_failure_in_the_worker_leaves_the_store_unchanged(engine: sa.Engine, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(300, seed=42)), engine=engine, today=TODAY)
    keys = _keys(engine)
    check = checking.check_chunk

    def failing(chunk: Chunk, **options: object) -> checking.CheckedChunk:
        if int(chunk.frame["ligne"].min()) > 500:  # the sixth chunk of 100 rows
            raise RuntimeError("worker out of memory")
        return check(chunk, **options)

    monkeypatch.setattr(checking, "check_chunk", failing)  # the forked worker inherits it
    path = write_csv(tmp_path / "b.csv", random_rows(800, seed=43, campaign="Automne"))
    with pytest.raises(RuntimeError, match="worker out of memory"):
        importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, in_worker=True)
    assert _keys(engine) == keys
    assert_in_step(engine)
    monkeypatch.setattr(checking, "check_chunk", check)
    summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, in_worker=True)
    assert summary.imported == 800
    assert_in_step(engine)
