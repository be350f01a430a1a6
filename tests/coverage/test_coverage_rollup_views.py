"""The door views give the same figures from the roll-up (and from memory-mapped prepared arrays) as from the
visits: on the demo history and on random visits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, write_csv
from rollup_helpers import random_rows

from geo.coverage import aggregate, demo, impact, importer, prepared, rollup, store

FRANCE = (-5.5, 41.0, 10.0, 51.5)


def _both(engine: sa.Engine, qpv: pd.DataFrame | None = None) -> tuple[aggregate.PreparedEvents,
                                                                      aggregate.PreparedEvents]:
    """The prepared visits without and with the roll-up summary."""
    with_rollup, _ = prepared.read_prepared(engine, qpv=qpv)
    assert with_rollup.rollup is not None
    return aggregate.prepare_events(store.load_events(engine), qpv=qpv), with_rollup


def assert_same_view(events: aggregate.PreparedEvents, rolled: aggregate.PreparedEvents, **kwargs) -> None:  # noqa: ANN003
    expected = aggregate.viewport(events, **kwargs)
    got = aggregate.viewport(rolled, **kwargs)
    for name in ("cells", "buildings", "revisit", "qpv", "periods"):
        a, b = getattr(expected, name), getattr(got, name)
        if a is None:
            assert b is None, name
            continue
        pd.testing.assert_frame_equal(b.reset_index(drop=True), a.reset_index(drop=True), obj=name)
    assert got.summary == expected.summary
    assert got.resolution == expected.resolution


def _views(events: aggregate.PreparedEvents, rolled: aggregate.PreparedEvents, sites: list[str],
           qpv: pd.DataFrame | None) -> None:
    centre = (float(np.median(events.b_lon)), float(np.median(events.b_lat)))
    small = (centre[0] - 0.004, centre[1] - 0.003, centre[0] + 0.004, centre[1] + 0.003)
    assert_same_view(events, rolled, bbox=FRANCE, zoom=6, qpv=qpv)  # the national view
    assert_same_view(events, rolled, bbox=FRANCE, zoom=6, qpv=qpv, sites=sites[:1])  # one site
    assert_same_view(events, rolled, bbox=small, zoom=16, qpv=qpv, include_absent=True, revisit_limit=5)
    assert_same_view(events, rolled, bbox=small, zoom=13, qpv=qpv, sites=sites, qpv_include=["QN00000X"])
    assert_same_view(events, rolled, bbox=(0.0, 0.0, 0.1, 0.1), zoom=12, qpv=qpv)  # nothing in view
    in_small = aggregate.building_mask(events, small)
    pd.testing.assert_frame_equal(rollup.weeks(rolled, aggregate.building_mask(rolled, small)),
                                  aggregate.aggregate_periods(events, in_small[events.building]))
    pd.testing.assert_frame_equal(rollup.impact_cells(rolled), impact.cells_from_events(events))


def test_random_visits_give_the_same_views(tmp_path: Path, square_qpv) -> None:  # noqa: ANN001
    engine = store.open_store(f"sqlite:///{tmp_path / 'v.db'}")
    rows = pd.concat([random_rows(3000, seed=31), random_rows(1500, seed=32, campaign="Automne"),
                      random_rows(1200, seed=33, site="59350", lat=50.36, lon=3.52)], ignore_index=True)
    importer.import_file(write_csv(tmp_path / "a.csv", rows), engine=engine, today=TODAY, qpv=square_qpv)
    importer.import_frame(random_rows(400, seed=34, campaign="Démo", address_share=0.0), name="démo",
                          engine=engine, today=TODAY, demo=True)
    events, rolled = _both(engine, qpv=square_qpv)
    assert rolled.rollup.r_visits.sum() == events.n_events
    assert rolled.rollup.r_visits.size < events.n_events  # the roll-up is smaller than the visits
    assert rollup.whole_buildings(rolled, ["91286"])
    _views(events, rolled, ["91286", "59350"], square_qpv)
    # the filters the roll-up cannot answer fall back on the visits
    kwargs = {"bbox": FRANCE, "zoom": 6, "campaigns": ["Automne"], "start": "2025-03-01"}
    assert aggregate.viewport(rolled, **kwargs).summary == aggregate.viewport(events, **kwargs).summary
    engine.dispose()


def test_demo_history_gives_the_same_views(tmp_path: Path, processed_dir: Path) -> None:
    from geo.load import load_arrondissements, load_qpv

    qpv = load_qpv(data_dir=processed_dir)
    rows = demo.generate_demo(qpv, arrondissements=load_arrondissements(data_dir=processed_dir))
    engine = store.open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    importer.import_frame(rows, name="démo", engine=engine, today=TODAY, demo=True)
    attributes = pd.DataFrame(qpv.drop(columns="geometry"))
    events, rolled = _both(engine)
    _views(events, rolled, sorted(events.sites), attributes)
    engine.dispose()


def test_prepared_arrays_are_written_once_per_version_and_mapped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    engine = store.open_store(url)
    importer.import_file(write_csv(tmp_path / "a.csv", random_rows(2000, seed=41, address_share=0.0)),
                         engine=engine, today=TODAY)
    folder = tmp_path / "prepared"
    first = prepared.prepared_events(url, folder=folder)
    versions = sorted(p.name for p in folder.glob("doors-*"))
    assert versions == ["doors-2000-2000-codes-f3"]
    for array in (first.building, first.door, first.rollup.b_visits, first.rollup.r_week):
        assert isinstance(array.base, np.memmap) and not array.flags.writeable  # mapped, shared, read-only
    assert first.building.dtype == np.int32 and first.outcome.dtype == np.int8 and first.site.dtype == np.int16
    with pytest.raises(ValueError, match="read-only"):
        first.building[0] = 1
    assert prepared.prepared_events(url, store.data_version(engine), folder=folder) is first  # opened once
    events = aggregate.prepare_events(store.load_events(engine))
    reopened = prepared.open_prepared(folder / versions[0])
    assert_same_view(events, reopened, bbox=FRANCE, zoom=6)
    assert_same_view(events, reopened, bbox=FRANCE, zoom=16, include_absent=True)

    # a new import is a new version; the old one is kept (KEEP_VERSIONS = 2), an older one removed
    for k, seed in enumerate((42, 43)):
        importer.import_file(write_csv(tmp_path / f"b{k}.csv", random_rows(100, seed=seed, campaign=f"C{k}",
                                                                           address_share=0.0)),
                             engine=engine, today=TODAY)
        newer = prepared.prepared_events(url, folder=folder)
        assert newer.n_events == 2000 + 100 * (k + 1)
    assert sorted(p.name for p in folder.glob("doors-*")) == ["doors-2100-2100-codes-f3", "doors-2200-2200-codes-f3"]
    engine.dispose()


def test_an_empty_store_gives_empty_views(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    prep = prepared.prepared_events(url, folder=tmp_path / "prepared")
    assert prep.n_events == 0 and prep.rollup.r_visits.size == 0
    engine = store.open_store(url)
    assert_same_view(aggregate.prepare_events(store.load_events(engine)), prep, bbox=FRANCE, zoom=6)
    assert rollup.impact_cells(prep).empty
    engine.dispose()
