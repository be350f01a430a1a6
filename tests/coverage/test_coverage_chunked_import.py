"""The streamed import: a file read, validated and staged in chunks, then stored all at once.

On SQLite and PostgreSQL: the roll-up equals a recount from the visits after an import spanning several
chunks, after two concurrent chunked imports, and after failures in the middle of one (an exception, a file
refused halfway, a killed process), which leave the store exactly as it was. Memory is bounded by the chunk
size (the rows held at once never exceed it), and a file above the former 50 MB cap is accepted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from coverage_workers import import_at_once
from rollup_helpers import assert_in_step, assert_store_in_step, overlapping_files, random_rows

from geo.coverage import importer, reader, store
from geo.coverage.errors import FileRefusedError
from geo.coverage.limits import LimitExceededError

ROOT = Path(__file__).resolve().parents[2]
#: The file-size cap of the previous import (50 MiB).
OLD_CAP = 50 * 1024 * 1024


def _file_with_repeats(path: Path, n: int, *, seed: int, campaign: str = "Printemps") -> Path:
    """``n`` random rows, then the first 60 rows again at the end: identical visits in different chunks."""
    rows = random_rows(n, seed=seed, campaign=campaign)
    return write_csv(path, pd.concat([rows, rows.head(60)], ignore_index=True))


def _snapshot(engine: sa.Engine) -> dict[str, object]:
    """What an import may change: the visits (by content key), the import records and the roll-up."""
    with engine.connect() as conn:
        keys = sorted(r[0] for r in conn.execute(sa.select(store.VISITS.c.content_key)))
        imports = conn.execute(sa.select(sa.func.count()).select_from(store.IMPORTS)).scalar_one()
    return {"keys": keys, "imports": imports, "rollup": assert_in_step(engine)}


def _assert_unchanged(engine: sa.Engine, before: dict[str, object]) -> None:
    after = _snapshot(engine)
    assert after["keys"] == before["keys"] and after["imports"] == before["imports"]
    pd.testing.assert_frame_equal(after["rollup"], before["rollup"])


def _content_keys(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(store.VISITS.c.content_key))}


def test_an_import_over_several_chunks_stores_what_a_whole_file_import_stores(engine: sa.Engine,
                                                                               tmp_path: Path) -> None:
    path = _file_with_repeats(tmp_path / "visites.csv", 940, seed=21)
    summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=150)
    assert summary.chunks == 7 and summary.peak_chunk_rows == 150
    assert summary.rows == 1000 and summary.imported == 1000 and summary.rejected == 0
    assert_in_step(engine)
    # the 60 repeated rows are new visits (ranked after their twins of the first chunk), as in one pass
    whole = store.open_store(f"sqlite:///{tmp_path / 'whole.db'}")
    try:
        once = importer.import_file(path, engine=whole, today=TODAY, chunk_rows=10_000)
        assert once.chunks == 1 and once.imported == 1000
        assert _content_keys(whole) == _content_keys(engine)
    finally:
        whole.dispose()
    again = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=333)
    assert again.imported == 0 and again.duplicates == 1000 and again.chunks == 4
    assert store.count_visits(engine) == 1000
    assert_in_step(engine)


def test_rows_held_at_once_never_exceed_the_chunk_size(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "visites.csv", random_rows(1000, seed=22))
    streamed = reader.open_file(path, chunk_rows=64)
    sizes = [len(chunk.frame) for chunk in streamed.chunks]
    assert max(sizes) == 64 and sum(sizes) == 1000 and len(sizes) == 16
    assert streamed.expected_rows == 1000 and streamed.sha256 == reader.open_file(path).sha256
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=64)
    finally:
        engine.dispose()
    assert summary.peak_chunk_rows == 64 and summary.chunks == 16 and summary.imported == 1000


def test_two_chunked_imports_at_once_keep_the_rollup_in_step(db_url: str, tmp_path: Path) -> None:
    outcomes = import_at_once(db_url, overlapping_files(tmp_path, own=600, shared=300, seed=23), chunk_rows=200)
    assert all(o["chunks"] == 5 for o in outcomes)
    assert sorted(o["imported"] for o in outcomes) == [600, 900]  # the shared rows went in once
    assert_store_in_step(db_url, visits=1500)


@pytest.mark.parametrize("when", ["validate", "write"])
def test_a_failure_in_the_middle_of_a_chunked_import_leaves_the_store_unchanged(engine: sa.Engine, tmp_path: Path,
                                                                               when: str) -> None:
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(300, seed=24)), engine=engine, today=TODAY)
    before = _snapshot(engine)
    calls: list[tuple[str, int, int]] = []

    def fail(step: str, done: int, total: int) -> None:
        calls.append((step, done, total))
        # "validate": after 4 of 8 chunks were staged; "write": once the visits are inserted and rolled up
        if (step == when == "validate" and done >= 400) or (step == when == "write" and done == total > 0):
            raise RuntimeError("disk full")

    path = write_csv(tmp_path / "b.csv", random_rows(800, seed=25, campaign="Automne"))
    with pytest.raises(RuntimeError, match="disk full"):
        importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, progress=fail)
    assert calls[0] == ("validate", 100, 800)
    _assert_unchanged(engine, before)
    summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100)  # the connection was left clean
    assert summary.imported == 800
    assert_in_step(engine)


def test_a_file_refused_halfway_stores_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(200, seed=26)), engine=engine, today=TODAY)
    before = _snapshot(engine)
    path = write_csv(tmp_path / "b.csv", random_rows(900, seed=27, campaign="Hiver"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[700] = lines[700].rstrip("\n") + ";" + "x" * 70_000 + "\n"  # a record past the line limit, chunk 8
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LimitExceededError) as refused:
        importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, lang="en")
    assert refused.value.limit == "line_length" and refused.value.params["line"] == 701
    _assert_unchanged(engine, before)


KILLER = r"""
import os, signal, sys, datetime as dt
from geo.coverage import importer, store

def progress(step, done, total):
    if step == "write" and done == total > 0:  # visits inserted and rolled up, not yet committed
        os.kill(os.getpid(), signal.SIGKILL)

engine = store.open_store(sys.argv[1])
importer.import_file(sys.argv[2], engine=engine, today=dt.date(2026, 11, 21), chunk_rows=100, progress=progress)
"""


def test_a_process_killed_before_its_commit_leaves_the_store_unchanged(db_url: str, engine: sa.Engine,
                                                                      tmp_path: Path) -> None:
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(250, seed=28)), engine=engine, today=TODAY)
    before = _snapshot(engine)
    path = write_csv(tmp_path / "b.csv", random_rows(700, seed=29, campaign="Été"))
    done = subprocess.run([sys.executable, "-c", KILLER, db_url, str(path)], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, check=False)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    _assert_unchanged(engine, before)
    summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100)
    assert summary.imported == 700
    assert_in_step(engine)


def test_a_file_above_the_former_size_cap_is_accepted(tmp_path: Path) -> None:
    rows = random_rows(5_400, seed=31)
    rows["remplissage"] = "z" * 9_800  # a column the schema does not know: read, never stored
    path = write_csv(tmp_path / "gros.csv", rows)
    assert path.stat().st_size > OLD_CAP
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=1_000)
        assert summary.imported == 5_400 and summary.rejected == 0 and summary.chunks == 6
        assert summary.ignored_columns == ["remplissage"]
        assert_in_step(engine)
    finally:
        engine.dispose()
    with pytest.raises(FileRefusedError, match="Fichier trop volumineux"):  # a cap still applies when asked for
        importer.import_file(path, engine=engine, today=TODAY, max_bytes=OLD_CAP)


def test_a_spreadsheet_is_imported_in_chunks_like_its_csv(tmp_path: Path) -> None:
    from coverage_helpers import xlsx_bytes

    rows = random_rows(450, seed=32)
    csv_path = write_csv(tmp_path / "v.csv", rows)
    xlsx_path = tmp_path / "v.xlsx"
    xlsx_path.write_bytes(xlsx_bytes([list(rows.columns), *rows.to_numpy().tolist()]))
    stores = {}
    for name, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        engine = store.open_store(f"sqlite:///{tmp_path / (name + '.db')}")
        try:
            summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100)
            assert summary.format == name and summary.chunks == 5 and summary.imported == 450
            stores[name] = _content_keys(engine)
            assert_in_step(engine)
        finally:
            engine.dispose()
    assert stores["csv"] == stores["xlsx"]


def test_rows_rejected_in_later_chunks_are_reported_by_line_in_the_users_language(tmp_path: Path,
                                                                                  caplog: pytest.LogCaptureFixture
                                                                                  ) -> None:
    rows = random_rows(500, seed=33)
    rows.loc[420, "date"] = "2025-02-30"
    rows.loc[455, "sujets"] = "rappeler Mme Diallo au 06 98 76 54 32"
    path = write_csv(tmp_path / "visites famille Diallo.csv", rows)
    engine = store.open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        with caplog.at_level("DEBUG"):
            summary = importer.import_file(path, engine=engine, today=TODAY, chunk_rows=100, lang="en")
    finally:
        engine.dispose()
    assert summary.chunks == 5 and summary.rejected == 2 and summary.imported == 498
    report = summary.report.set_index("ligne")
    assert report.index.tolist() == [422, 457]  # data row 420 is line 422 (the header is line 1)
    assert report.loc[422, "colonne"] == "date" and report.loc[422, "motif"].startswith("invalid date")
    assert report.loc[457, "colonne"] == "sujets" and report.loc[457, "sujets"] == importer.REDACTED
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Diallo" not in logged and "06 98" not in logged and "visites famille" not in logged
