"""Releases published from the door-visit store (SQLite and PostgreSQL): the differencing attack of a
funder who reads the figures, waits for 7 opened doors of a hidden site to be imported, and reads again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import cellkey, privacy
from geo.auth.environment import ConfigurationError
from geo.coverage import release_records, releases
from geo.coverage.release_figures import ReleaseFigures
from geo.coverage.release_publish import NothingToPublish, last_closed_quarter, publish_from_store
from geo.coverage.release_secret import ENV_SECRET, SECRET_FILE, cellkey_secret
from tests.privacy import test_releases

SECRET = b"store-release-test-secret-32byte"
PG_ENV = "VOISINMAP_TEST_PG_URL"
#: site -> (lat, lon, households per quarter of 2025); 69266 (Vaulx-en-Velin) is the small, hidden site.
SITES = {"91286": (48.65, 2.38, 60), "93066": (48.93, 2.35, 40), "59350": (50.63, 3.06, 50),
         "69123": (45.76, 4.83, 45), "69266": (45.78, 4.92, 0)}
QUARTER_DAYS = {"2025-T1": "2025-02-10", "2025-T2": "2025-05-12", "2025-T3": "2025-08-11", "2025-T4": "2025-11-10",
                "2026-T1": "2026-02-09"}


#: The release store on SQLite or in a fresh PostgreSQL schema (fixture ``store``), shared with test_releases.
store = test_releases.store


@pytest.fixture
def store_url(store: releases.ReleaseStore) -> str:
    """The door-visit store's URL: the database of the release store fixture (SQLite or PostgreSQL)."""
    return store.engine.url.render_as_string(hide_password=False)


def _visits(site: str, quarter: str, n: int, *, prefix: str) -> pd.DataFrame:
    """``n`` households met (one opened door each) at ``site`` in ``quarter``, as an imported file's rows."""
    lat, lon, _ = SITES[site]
    rng = np.random.default_rng(abs(hash((site, quarter, prefix))) % 2**32)
    return pd.DataFrame([{
        "campagne": "Test publications (données fictives)", "site": site, "date": QUARTER_DAYS[quarter],
        "heure": f"{10 + k % 8:02d}:{k % 60:02d}", "latitude": f"{lat + rng.uniform(-0.01, 0.01):.6f}",
        "longitude": f"{lon + rng.uniform(-0.01, 0.01):.6f}", "batiment": f"{prefix}-{site}-{quarter}-{k}",
        "porte": "A-01", "resultat": "ouvert", "langue": "français", "sujets": "eau", "voisin": "V01"}
        for k in range(n)])


def _import(url: str, frame: pd.DataFrame, name: str) -> None:
    from geo.coverage.importer import import_frame
    from geo.coverage.store import open_store

    engine = open_store(url)
    try:
        summary = import_frame(frame, name=name, engine=engine)
    finally:
        engine.dispose()
    assert summary.imported == len(frame)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _figures(url: str) -> ReleaseFigures:
    release_store = releases.open_releases(url)
    try:
        return ReleaseFigures.from_store(release_store)
    finally:
        release_store.engine.dispose()


def test_differencing_around_an_import_reveals_nothing(store_url: str, processed_dir: Path) -> None:
    quarters = ["2025-T1", "2025-T2", "2025-T3", "2025-T4"]
    first = pd.concat([_visits(s, q, n, prefix="j1") for s, (_, _, n) in SITES.items() if n for q in quarters]
                      + [_visits("69266", "2025-T3", 4, prefix="j1")], ignore_index=True)
    _import(store_url, first, "jour-1")
    release_1 = publish_from_store(db=store_url, data_dir=processed_dir, through="2025-T4", secret=SECRET,
                                   published_at=_now())
    day_1 = _figures(store_url)
    assert day_1.release.version == release_1.version == 1
    assert day_1.total(("84", "69266")) is None, "the small site must be hidden"
    shown = day_1.cells.dropna(subset=["households"])
    assert (shown["households"] >= privacy.THRESHOLD).all()
    # the attack: 7 opened doors of the hidden site imported for a released quarter, then read again
    _import(store_url, _visits("69266", "2025-T4", 7, prefix="late"), "sept-portes")
    day_2 = _figures(store_url)
    pd.testing.assert_frame_equal(day_1.cells, day_2.cells)  # nothing moved: nothing to subtract
    # the next release counts the late doors in its own first quarter, protected like the others
    _import(store_url, pd.concat([_visits(s, "2026-T1", n, prefix="j3") for s, (_, _, n) in SITES.items() if n],
                                 ignore_index=True), "jour-3")
    publish_from_store(db=store_url, data_dir=processed_dir, through="2026-T1", secret=SECRET,
                       published_at=_now())
    day_3 = _figures(store_url)
    assert day_3.release.version == 2
    old = day_3.cells[day_3.cells["version"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, day_1.cells.reset_index(drop=True))  # never revised
    for version in (1, 2):
        block = day_3.cells[day_3.cells["version"] == version]
        small = block[(block["site"] == "69266") & (block["code_qp"] == privacy.TOTAL)]
        assert small["households"].isna().all(), f"release {version} shows the small site"
    # the late doors are counted in the new block's first quarter, inside perturbed cells only
    france = day_3.cells[(day_3.cells["version"] == 2) & (day_3.cells["region"] == privacy.TOTAL)]
    true_new = sum(n for _, _, n in SITES.values()) + 7
    max_noise = cellkey.make_ptable().max_noise
    assert abs(int(france["households"].sum()) - true_new) <= max_noise * len(france)
    region = day_3.cells[(day_3.cells["version"] == 2) & (day_3.cells["region"] == "84")
                         & (day_3.cells["code_qp"] == privacy.TOTAL)]
    if region[region["site"] == privacy.TOTAL]["households"].notna().any():
        # région − its published sites must leave at least two sites mixed, never the small one alone
        published = set(region.loc[(region["site"] != privacy.TOTAL) & region["households"].notna(), "site"])
        assert len({"69123", "69266"} - published) != 1, f"région 84 minus {published} isolates one site"


def _second_round(frame: pd.DataFrame, *, days: int) -> pd.DataFrame:
    """The same doors opened again ``days`` later (a second round), as an imported file's rows."""
    later = pd.to_datetime(frame["date"]) + pd.Timedelta(days=days)
    return frame.assign(date=later.dt.strftime("%Y-%m-%d"))


def test_doors_opened_are_published_and_protected_like_households(store_url: str, processed_dir: Path) -> None:
    """Doors opened reach funders in the households' bins; a site of 4 households opened 3 times each
    (12 doors) stays hidden, and 7 doors imported later for a released quarter change nothing."""
    quarters = ["2025-T1", "2025-T2", "2025-T3", "2025-T4"]
    first = pd.concat([_visits(s, q, n, prefix="d1") for s, (_, _, n) in SITES.items() if n for q in quarters],
                      ignore_index=True)
    small = _visits("69266", "2025-T3", 4, prefix="d1")
    rounds = [first, _second_round(first[first["site"] == "91286"], days=3), small,
              _second_round(small, days=2), _second_round(small, days=4)]
    _import(store_url, pd.concat(rounds, ignore_index=True), "portes")
    publish_from_store(db=store_url, data_dir=processed_dir, through="2025-T4", secret=SECRET, published_at=_now())
    day_1 = _figures(store_url)
    cells = day_1.cells
    shown = cells.dropna(subset=["households"])
    assert shown["doors_opened"].notna().all() and (shown["doors_opened"] >= privacy.THRESHOLD).all()
    assert (shown["doors_opened"] >= shown["households"]).all()
    assert cells.loc[cells["households"].isna(), "doors_opened"].isna().all()
    assert day_1.doors_total(("84", "69266")) is None, "12 doors of 4 households must stay hidden"
    true_doors = sum(len(r) for r in rounds)
    france = day_1.series(())
    assert day_1.doors_total(()) == int(france["doors_opened"].sum())
    assert abs(day_1.doors_total(()) - true_doors) <= cellkey.make_ptable().max_noise * len(france)
    grigny = day_1.doors_total(("11", "91286"))
    assert grigny is not None and grigny > day_1.total(("11", "91286"))  # the second round counts
    # the differencing attack, on doors: 7 openings of the hidden site imported for a released quarter
    _import(store_url, _second_round(_visits("69266", "2025-T4", 7, prefix="late"), days=1), "sept-portes")
    pd.testing.assert_frame_equal(_figures(store_url).cells, cells)


def test_publish_needs_a_new_closed_quarter(store_url: str, processed_dir: Path) -> None:
    with pytest.raises(NothingToPublish, match="records: expected households met"):
        publish_from_store(db=store_url, data_dir=processed_dir, through="2025-T4", secret=SECRET)
    _import(store_url, _visits("91286", "2025-T1", 30, prefix="a"), "a")
    publish_from_store(db=store_url, data_dir=processed_dir, through="2025-T1", secret=SECRET)
    with pytest.raises(NothingToPublish, match="through: expected a quarter after 2025-T1"):
        publish_from_store(db=store_url, data_dir=processed_dir, through="2025-T1", secret=SECRET)


def test_last_closed_quarter() -> None:
    assert last_closed_quarter(dt.datetime(2026, 5, 2)) == "2026-T1"
    assert last_closed_quarter(dt.datetime(2026, 1, 3)) == "2025-T4"
    assert last_closed_quarter(dt.datetime(2026, 12, 31)) == "2026-T3"


def test_household_records_count_each_door_once_where_first_met() -> None:
    visits = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "site": ["91286", "91286", "91286", "59350", "59350", "59350"],
        "visited_at": pd.to_datetime(["2025-03-01", "2025-05-01", "2025-05-02", "2025-02-01", "2025-02-02",
                                      "2025-02-03"]),
        "outcome": ["ouvert", "ouvert", "absent", "ouvert", "ouvert", "ouvert"],
        "building": ["b1", "b1", "b2", "c1", "c1", "c2"], "door": ["A", "A", "B", "", "", "X"],
        "code_qp": ["QN09125M", "QN09125M", None, None, None, "QN05972M"],
        "imported_at": pd.to_datetime(["2025-06-01"] * 6),
    })
    records = release_records.household_records(visits, region_of={"91286": "11", "59350": "32"})
    assert list(records.columns) == list(release_records.RECORD_COLUMNS)
    assert len(records) == 4  # b1/A once (first in T1); two unmarked visits are two doors; c2/X
    grigny = records[records["site"] == "91286"]
    assert grigny["period"].tolist() == ["2025-T1"] and grigny["code_qp"].tolist() == ["QN09125M"]
    assert set(records["region"]) == {"11", "32"}
    assert not records["id"].duplicated().any()
    with pytest.raises(ValueError, match=r"visits: expected the columns \['imported_at'\]"):
        release_records.household_records(visits.drop(columns="imported_at"), region_of={})


def test_cellkey_secret_setting(tmp_path: Path) -> None:
    assert cellkey_secret(environ={ENV_SECRET: "x" * 20}, folder=tmp_path) == b"x" * 20
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        cellkey_secret(environ={ENV_SECRET: "short"}, folder=tmp_path)
    with pytest.raises(ConfigurationError, match="in production"):
        cellkey_secret(environ={"VOISINMAP_ENV": "production"}, folder=tmp_path)
    first = cellkey_secret(environ={}, folder=tmp_path)
    assert len(first) >= 32 and (tmp_path / SECRET_FILE).stat().st_mode & 0o077 == 0
    assert cellkey_secret(environ={}, folder=tmp_path) == first  # the same every time on this installation
