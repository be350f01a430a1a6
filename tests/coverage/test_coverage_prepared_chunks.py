"""Prepared door visits read and coded chunk by chunk equal those prepared in one go: every array, exactly, on
the demo history and on random visits, on SQLite and PostgreSQL; and the views read the same numbers."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from rollup_helpers import random_rows
from test_coverage_rollup_views import FRANCE, assert_same_view

from geo.coverage import aggregate, demo, importer, prepared, rollup, store
from geo.coverage.coding import EventCoder
from geo.coverage.store import stream


def one_go(engine: sa.Engine, qpv: pd.DataFrame | None = None) -> aggregate.PreparedEvents:
    """The prepared visits as before: every visit and every roll-up row loaded at once, coded in one chunk."""
    prep = aggregate.prepare_events(store.load_events(engine), qpv=qpv)
    return rollup.attach(prep, rollup.summarise_rollup(prep, store.load_rollup(engine)))


def assert_same_arrays(got: aggregate.PreparedEvents, expected: aggregate.PreparedEvents) -> None:
    """Every array of both (and of their roll-up summaries) has the same dtype and the same values."""
    pairs = [(f.name, getattr(got, f.name), getattr(expected, f.name))
             for f in dataclasses.fields(expected) if f.name != "rollup"]
    pairs += [(f"rollup.{name}", getattr(got.rollup, name), getattr(expected.rollup, name))
              for name in rollup.ARRAYS]
    for name, a, b in pairs:
        if isinstance(b, dict):
            assert sorted(a) == sorted(b), name
            pairs += [(f"{name}[{k}]", a[k], b[k]) for k in b]
            continue
        if isinstance(b, tuple):
            assert a == b, name
            continue
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), name


def test_demo_history_in_many_chunks_gives_the_same_arrays(tmp_path: Path, processed_dir: Path) -> None:
    from geo.load import load_arrondissements, load_qpv

    qpv = load_qpv(data_dir=processed_dir)
    rows = demo.generate_demo(qpv, arrondissements=load_arrondissements(data_dir=processed_dir))
    engine = store.open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    importer.import_frame(rows, name="démo", engine=engine, today=TODAY, demo=True)
    expected = one_go(engine, qpv)
    assert expected.n_events > 50_000 and expected.n_doors > 10_000

    folder = tmp_path / "arrays"
    folder.mkdir()
    chunked, _ = prepared.read_prepared(engine, qpv=qpv, chunk_size=997, folder=folder)  # about 80 chunks
    assert isinstance(chunked.building, np.memmap) and isinstance(chunked.door_order, np.memmap)
    assert_same_arrays(chunked, expected)

    # written, renamed and mapped back: still the same, and the same views
    path = prepared.prepare(str(engine.url), folder=tmp_path / "prepared", qpv=qpv, chunk_size=997)
    reopened = prepared.open_prepared(path)
    assert_same_arrays(reopened, expected)
    attributes = pd.DataFrame(qpv.drop(columns="geometry"))
    for kwargs in ({"bbox": FRANCE, "zoom": 6}, {"bbox": FRANCE, "zoom": 16, "include_absent": True},
                   {"bbox": FRANCE, "zoom": 6, "sites": sorted(expected.sites)[:1]},
                   {"bbox": FRANCE, "zoom": 9, "campaigns": list(expected.campaigns[:2]), "start": "2024-03-01"}):
        assert_same_view(expected, reopened, qpv=attributes, **kwargs)
    engine.dispose()


def test_random_visits_in_chunks_of_seven_give_the_same_arrays(db_url: str, tmp_path: Path, square_qpv) -> None:  # noqa: ANN001
    engine = store.open_store(db_url)
    rows = pd.concat([random_rows(1500, seed=51), random_rows(700, seed=52, campaign="Automne"),
                      random_rows(600, seed=53, site="59350", lat=50.36, lon=3.52)], ignore_index=True)
    importer.import_file(write_csv(tmp_path / "a.csv", rows), engine=engine, today=TODAY, qpv=square_qpv)
    for qpv in (None, square_qpv):
        expected = one_go(engine, qpv)
        chunked, version = prepared.read_prepared(engine, qpv=qpv, chunk_size=7)
        assert version == store.data_version(engine)
        assert_same_arrays(chunked, expected)
    with stream.snapshot(engine) as conn:
        sizes = [len(chunk) for chunk in stream.iter_events(conn, chunk_size=7)]
        assert len(sizes) > 300 and max(sizes) == 7 and sum(sizes) == stream.count_located(conn)
        assert sum(len(chunk) for chunk in stream.iter_rollup(conn, chunk_size=7)) == \
            int((store.load_rollup(engine)["located"]).sum())
    engine.dispose()


def test_an_empty_store_in_chunks_gives_empty_arrays(tmp_path: Path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'e.db'}")
    chunked, version = prepared.read_prepared(engine, chunk_size=7, folder=tmp_path)
    assert version == (0, 0)
    assert_same_arrays(chunked, one_go(engine))
    engine.dispose()


def test_the_coder_refuses_visits_out_of_order_and_wrong_counts() -> None:
    frame = pd.DataFrame({"visited_at": pd.to_datetime(["2025-03-02 10:00", "2025-03-01 10:00", "2025-03-03 10:00"]),
                          "outcome": ["ouvert", "absent", "refus"], "lat": [48.6, 48.6, 48.61],
                          "lon": [2.37, 2.37, 2.38], "campaign": "C", "site": "91286"})
    coder = EventCoder(3)
    with pytest.raises(ValueError, match="time order"):
        coder.add(frame)
    ordered = frame.sort_values("visited_at")
    coder = EventCoder(3)
    coder.add(ordered.iloc[1:])
    with pytest.raises(ValueError, match="time order"):
        coder.add(ordered.iloc[:1])  # earlier than the chunk before
    with pytest.raises(ValueError, match="expected 3 located visits, got 2"):
        coder.finish()
    with pytest.raises(ValueError, match="expected 2 located visits in all"):
        EventCoder(2).add(ordered)
    with pytest.raises(ValueError, match="outcomes"):
        EventCoder(3).add(ordered.assign(outcome="parti"))
    with pytest.raises(ValueError, match="chunk_size"):
        aggregate.prepare_events(ordered, chunk_size=0)


def test_imports_and_the_command_prepare_ahead_what_the_app_opens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    from click.testing import CliRunner

    from geo.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("VOISINMAP_IMPACT_DIR", str(tmp_path / "impact"))
    data_dir = tmp_path / "processed"  # no national layers built: buildings keep the QPV recorded at import
    data_dir.mkdir()
    runner = CliRunner()
    csv = write_csv(tmp_path / "a.csv", random_rows(300, seed=61, address_share=0.0))
    result = runner.invoke(main, ["coverage", "import", str(csv), "--no-geocode", "--data-dir", str(data_dir)],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    engine = store.open_store(url)
    count, largest = store.data_version(engine)
    assert (data_dir / "prepared" / f"doors-{count}-{largest}-codes-f3" / "meta.json").is_file()
    with caplog.at_level("WARNING", logger="geo.coverage.prepared"):
        prep = prepared.prepared_events(url, folder=data_dir / "prepared")
    assert "not prepared ahead" not in caplog.text  # the worker only mapped the files
    assert prep.n_events == count == 300

    # a store written by another tool: the command prepares it
    importer.import_file(write_csv(tmp_path / "b.csv", random_rows(50, seed=62, campaign="Été", address_share=0.0)),
                         engine=engine, today=TODAY)
    count, largest = store.data_version(engine)
    result = runner.invoke(main, ["coverage", "prepare", "--data-dir", str(data_dir), "--chunk-size", "40"],
                           catch_exceptions=False)
    assert result.exit_code == 0 and "350 visite(s) préparée(s)" in result.output, result.output
    folder = data_dir / "prepared" / f"doors-{count}-{largest}-codes-f3"
    assert_same_arrays(prepared.open_prepared(folder), one_go(engine))
    engine.dispose()
