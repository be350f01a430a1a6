"""Releases: frozen, versioned cells of closed quarters; late data waits for the next release; the
differencing attack of two downloads around an import, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo import privacy, timebins
from geo.coverage import releases as rel

SECRET = b"release-test-secret-32-bytes-ok!"
LEVELS = ("region", "site")
PG_ENV = "VOISINMAP_TEST_PG_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[rel.ReleaseStore]:
    """A release store on a SQLite file, or in a fresh schema of the PostgreSQL test database."""
    if request.param == "sqlite":
        s = rel.open_releases(f"sqlite:///{tmp_path / 'releases.db'}")
        yield s
        s.engine.dispose()
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.fail(f"{PG_ENV} is not set")
    schema = f"rel_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    s = rel.open_releases(url.render_as_string(hide_password=False))
    try:
        yield s
    finally:
        s.engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _records(counts: dict[tuple[str, str, str], int], *, arrived: str, prefix: str = "door") -> pd.DataFrame:
    """Households met: (région, site, quarter) -> how many, all arrived (imported) at ``arrived``."""
    rows = [(r, s, p, f"{prefix}-{s}-{p}-{i}", pd.Timestamp(arrived))
            for (r, s, p), n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["region", "site", "period", "id", "arrived_at"])


def _network(quarters: list[str], *, arrived: str, prefix: str = "door") -> pd.DataFrame:
    sizes = {("11", "75056"): 60, ("11", "93066"): 35, ("11", "91286"): 25,
             ("84", "69123"): 80, ("84", "38185"): 22, ("84", "42218"): 14}
    rng = np.random.default_rng(len(quarters))
    counts = {(r, s, q): int(n + rng.integers(-5, 6)) for (r, s), n in sizes.items() for q in quarters}
    return _records(counts, arrived=arrived, prefix=prefix)


def _release(version: int, published: str, first: str, through: str) -> rel.Release:
    return rel.Release(version, dt.datetime.fromisoformat(published), first, through, LEVELS, rel.METHOD, 0)


# --------------------------------------------------------------------------------------------- pure
def test_late_records_are_counted_in_the_next_release_first_quarter() -> None:
    releases = [_release(1, "2025-07-10", "2025-T1", "2025-T2"), _release(2, "2026-01-10", "2025-T3", "2025-T4")]
    records = pd.DataFrame({
        "period": ["2025-T1", "2025-T1", "2025-T2", "2025-T4", "2026-T1", "2025-T3"],
        "arrived_at": pd.to_datetime(["2025-04-01", "2025-08-01", "2026-02-01", "2025-08-01", "2026-03-01",
                                      "2026-01-10"]),
    })
    got = rel.reporting_periods(records, releases=releases).tolist()
    assert got == ["2025-T1", "2025-T3", "2026-T1", "2025-T4", "2026-T1", "2025-T3"]
    # a record's quarter does not move when later releases are added
    before_second = records["arrived_at"] <= pd.Timestamp("2026-01-10")
    first_only = rel.reporting_periods(records[before_second], releases=releases[:1])
    assert first_only.tolist() == [g for g, keep in zip(got, before_second, strict=True) if keep]
    assert rel.reporting_periods(records, releases=[]).tolist() == records["period"].tolist()
    with pytest.raises(ValueError, match=r"records: expected columns \['arrived_at'\]"):
        rel.reporting_periods(records[["period"]], releases=releases)


def test_next_quarter() -> None:
    assert rel.next_quarter("2025-T4") == "2026-T1"
    assert rel.next_quarter("2025-T1") == "2025-T2"


def test_block_cells_publish_only_safe_perturbed_bins() -> None:
    records = _network(["2025-T1", "2025-T2", "2025-T3", "2025-T4"], arrived="2026-01-02")
    tiny = _records({("84", "69266", "2025-T3"): 7}, arrived="2026-01-02", prefix="tiny")
    cells = rel.block_cells(pd.concat([records, tiny], ignore_index=True), levels=LEVELS, first="2025-T1",
                            through="2025-T4", secret=SECRET)
    shown = cells.dropna(subset=["households"])
    assert (shown["households"] >= privacy.THRESHOLD).all()
    hidden = cells[cells["households"].isna()]
    assert "84|69266" in hidden["group_key"].tolist()
    assert set(hidden["reason"]) <= set(timebins.REASONS)
    france = shown[shown["group_key"] == "*|*"]
    assert france["households"].sum() == pytest.approx(len(records) + 7, abs=2 * len(france))
    again = rel.block_cells(pd.concat([tiny, records], ignore_index=True).sample(frac=1, random_state=1),
                            levels=LEVELS, first="2025-T1", through="2025-T4", secret=SECRET)
    pd.testing.assert_frame_equal(cells.sort_values(["group_key", "code"]).reset_index(drop=True),
                                  again.sort_values(["group_key", "code"]).reset_index(drop=True))


def _doors(records: pd.DataFrame, *, per_household: int) -> pd.DataFrame:
    """Doors opened: each household's door opened ``per_household`` times in its quarter."""
    doors = records.loc[records.index.repeat(per_household)].copy()
    doors["id"] = [f"opening-{i}" for i in range(len(doors))]
    return doors.reset_index(drop=True)


def test_block_cells_publish_doors_opened_in_the_households_bins() -> None:
    records = _network(["2025-T1", "2025-T2", "2025-T3", "2025-T4"], arrived="2026-01-02")
    tiny = _records({("84", "69266", "2025-T3"): 4}, arrived="2026-01-02", prefix="tiny")
    households = pd.concat([records, tiny], ignore_index=True)
    # every household opened twice, the small site's four households three times: 12 doors, 4 households
    doors = pd.concat([_doors(records, per_household=2), _doors(tiny, per_household=3).assign(
        id=lambda f: "tiny-" + f["id"])], ignore_index=True)
    cells = rel.block_cells(households, levels=LEVELS, first="2025-T1", through="2025-T4", secret=SECRET,
                            doors=doors)
    shown = cells.dropna(subset=["households"])
    assert shown["doors_opened"].notna().all()
    assert cells.loc[cells["households"].isna(), "doors_opened"].isna().all()  # hidden with the households
    assert (shown["doors_opened"] >= shown["households"]).all()
    assert (shown["doors_opened"] >= privacy.THRESHOLD).all()
    small = cells[cells["group_key"] == "84|69266"]
    assert len(small) and small["doors_opened"].isna().all(), "12 doors of 4 households must stay hidden"
    france = shown[shown["group_key"] == "*|*"]
    max_noise = 2 * len(france)
    assert abs(int(france["doors_opened"].sum()) - len(doors)) <= max_noise
    # the doors are perturbed with their own keys, not copied from the households
    assert not (shown["doors_opened"] == 2 * shown["households"]).all()
    # without door records a release publishes no doors (as before)
    assert rel.block_cells(households, levels=LEVELS, first="2025-T1", through="2025-T4",
                           secret=SECRET)["doors_opened"].isna().all()


# --------------------------------------------------------------------------------------------- store
def test_release_cycle_freezes_cells_and_defers_late_data(store: rel.ReleaseStore) -> None:
    day_1 = _network(["2025-T1", "2025-T2"], arrived="2025-07-01")
    first = rel.create_release(store, day_1, levels=LEVELS, through="2025-T2", secret=SECRET,
                               published_at=dt.datetime(2025, 7, 10))
    assert (first.version, first.first_period, first.through_period) == (1, "2025-T1", "2025-T2")
    download_1 = store.cells()
    assert set(download_1["code"]) <= {"2025-T1", "2025-T2", "2025-S1"}
    assert (download_1["households"].dropna() >= privacy.THRESHOLD).all()
    # late data for a released quarter, then the next quarters
    late = _records({("84", "69266", "2025-T2"): 7}, arrived="2025-08-01", prefix="late")
    day_2 = pd.concat([day_1, late, _network(["2025-T3", "2025-T4"], arrived="2026-01-05", prefix="next")],
                      ignore_index=True)
    pd.testing.assert_frame_equal(store.cells(), download_1)  # nothing moves before the next release
    second = rel.create_release(store, day_2, levels=LEVELS, through="2025-T4", secret=SECRET,
                                published_at=dt.datetime(2026, 1, 10))
    assert (second.version, second.first_period) == (2, "2025-T3")
    download_2 = store.cells()
    old = download_2[download_2["version"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, download_1)                 # never revised
    pd.testing.assert_frame_equal(store.cells(version=1), download_1)
    assert set(download_2.loc[download_2["version"] == 2, "code"]) <= {"2025-T3", "2025-T4", "2025-S2"}
    # the 7 late households are in 2025-T3 of release 2, with that quarter's other households
    reporting = rel.reporting_periods(day_2, releases=store.releases()[:1])
    assert (reporting[day_2["id"].str.startswith("late")] == "2025-T3").all()
    france = store.series(())
    assert france["code"].tolist() == ["2025-T1", "2025-T2", "2025-T3", "2025-T4"]
    assert france["cumulative"].iat[-1] == france["households"].sum()
    assert abs(france["cumulative"].iat[-1] - len(day_2)) <= 2 * len(france)
    assert store.series((), version=1)["code"].tolist() == ["2025-T1", "2025-T2"]


def test_publish_refuses_overlaps_gaps_and_revisions(store: rel.ReleaseStore) -> None:
    records = _network(["2025-T1", "2025-T2", "2025-T3"], arrived="2025-07-01")
    rel.create_release(store, records, levels=LEVELS, through="2025-T2", secret=SECRET,
                       published_at=dt.datetime(2025, 7, 10))
    cells = rel.block_cells(records, levels=LEVELS, first="2025-T3", through="2025-T3", secret=SECRET,
                            releases=store.releases())
    later = dt.datetime(2025, 10, 10)
    with pytest.raises(rel.ReleaseError, match=r"first: expected 2025-T3 \(the quarter after release 1"):
        store.publish(cells, levels=LEVELS, first="2025-T2", through="2025-T3", published_at=later)
    with pytest.raises(rel.ReleaseError, match="first: expected 2025-T3"):
        store.publish(cells.iloc[:0], levels=LEVELS, first="2025-T4", through="2025-T4", published_at=later)
    with pytest.raises(rel.ReleaseError, match="published_at: expected a date after release 1"):
        store.publish(cells, levels=LEVELS, first="2025-T3", through="2025-T3",
                      published_at=dt.datetime(2025, 7, 1))
    with pytest.raises(rel.ReleaseError, match=r"levels: expected \('region', 'site'\)"):
        store.publish(cells, levels=("site",), first="2025-T3", through="2025-T3", published_at=later)
    revising = rel.block_cells(records, levels=LEVELS, first="2025-T2", through="2025-T3", secret=SECRET)
    with pytest.raises(rel.ReleaseError, match="cells: expected cells within 2025-T3 … 2025-T3, got '2025-T2'"):
        store.publish(revising, levels=LEVELS, first="2025-T3", through="2025-T3", published_at=later)
    assert [r.version for r in store.releases()] == [1]
    assert store.publish(cells, levels=LEVELS, first="2025-T3", through="2025-T3", published_at=later).version == 2


def test_differencing_two_downloads_around_an_import(store: rel.ReleaseStore) -> None:
    """The attack of the hardening report: a funder downloads, 7 households of site 69266 are imported
    for a released quarter, the funder downloads again -- before and after the next release."""
    quarters = ["2025-T3", "2025-T4", "2026-T1", "2026-T2"]
    day_1 = _network(quarters, arrived="2026-07-01")
    rel.create_release(store, day_1, levels=LEVELS, through="2026-T2", secret=SECRET,
                       published_at=dt.datetime(2026, 7, 5), doors=_doors(day_1, per_household=2))
    download_1 = store.cells()
    added = _records({("84", "69266", "2026-T2"): 7}, arrived="2026-07-20", prefix="import")
    day_2 = pd.concat([day_1, added, _network(["2026-T3"], arrived="2026-10-02", prefix="t3")], ignore_index=True)
    download_2 = store.cells()                       # same release: identical
    pd.testing.assert_frame_equal(download_1, download_2)
    rel.create_release(store, day_2, levels=LEVELS, through="2026-T3", secret=SECRET,
                       published_at=dt.datetime(2026, 10, 5), doors=_doors(day_2, per_household=2))
    download_3 = store.cells()
    common = download_1.merge(download_3, on=[*LEVELS, "code"], suffixes=("_1", "_3"))
    assert len(common) == len(download_1)            # every cell of the first download is still there
    same = common["households_1"].fillna(-1) == common["households_3"].fillna(-1)
    assert same.all()                                # so every difference is 0: nothing revealed
    # a series hidden in the first download stays hidden: no cell of it appears later for those quarters
    hidden_1 = download_1[download_1["households"].isna()]
    for _, row in hidden_1.iterrows():
        later = download_3[(download_3["region"] == row["region"]) & (download_3["site"] == row["site"])
                           & (download_3["start_date"] <= row["end_date"])]
        assert later["households"].isna().all()
    same_doors = common["doors_opened_1"].fillna(-1) == common["doors_opened_3"].fillna(-1)
    assert same_doors.all()                          # doors opened: nothing revised either
    # the imported households are only inside the new quarter, perturbed with that quarter's others
    assert set(download_3["code"]) - set(download_1["code"]) == {"2026-T3"}
    new_site = download_3[(download_3["site"] == "69266")]
    assert new_site["households"].isna().all() and new_site["doors_opened"].isna().all()
    assert download_3["doors_opened"].notna().equals(download_3["households"].notna())
    # the store holds published figures only: no record id, no true count
    with store.engine.connect() as conn:
        stored = [str(v) for row in conn.execute(sa.select(rel.CELLS)).all() for v in row]
    assert not [v for v in stored if v.startswith(("door", "import", "t3-"))]


def test_schema_has_its_own_alembic_chain(store: rel.ReleaseStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {rel.VERSION_TABLE}")).scalar_one() == "release_0002"
        tables = set(sa.inspect(conn).get_table_names())
    assert {"release_versions", "release_cells"} <= tables
    rel.upgrade(store.engine)  # a second upgrade is a no-op
    assert store.latest() is None and store.cells().empty and store.series(()).empty


def test_two_publishers_at_once_make_one_release(store: rel.ReleaseStore) -> None:
    """Two processes publishing the same block together: one release is written, the other is refused."""
    from concurrent.futures import ThreadPoolExecutor

    records = _network(["2025-T1"], arrived="2025-04-02")
    cells = rel.block_cells(records, levels=LEVELS, first="2025-T1", through="2025-T1", secret=SECRET)

    def publish(hour: int) -> str:
        try:
            store.publish(cells, levels=LEVELS, first="2025-T1", through="2025-T1",
                          published_at=dt.datetime(2025, 4, 10, hour))
        except rel.ReleaseError as exc:
            return f"refused: {exc}"
        return "published"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(publish, (9, 10)))
    assert outcomes[0] == "published" and outcomes[1].startswith("refused")
    assert [r.version for r in store.releases()] == [1]
    assert len(store.cells()) == len(cells)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 9), st.integers(0, 2)), min_size=2, max_size=4))
def test_a_published_cell_never_changes_over_a_series_of_releases(tmp_path: Path, plan: list) -> None:
    """Each step: ``span`` new quarters are closed, ``late`` households of a random site arrive for a
    quarter already released, and the release is published. Every cell of every earlier download is
    read unchanged afterwards, and every published bin covers 11 households or more."""
    store = rel.open_releases(f"sqlite:///{tmp_path / f'series-{uuid.uuid4().hex[:8]}.db'}")
    records = pd.DataFrame(columns=["region", "site", "period", "id", "arrived_at"])
    quarter, day, downloads = "2024-T1", dt.datetime(2024, 1, 1), []
    try:
        for step, (span, late, site) in enumerate(plan):
            block = [quarter]
            for _ in range(span - 1):
                block.append(rel.next_quarter(block[-1]))
            day += dt.timedelta(days=95 * span)
            new = _network(block, arrived=f"{day - dt.timedelta(days=3):%Y-%m-%d}", prefix=f"s{step}")
            parts = [records, new]
            if late and downloads:
                sites = [("11", "75056"), ("84", "38185"), ("84", "69266")]
                parts.append(_records({(*sites[site], "2024-T1"): late}, arrived=f"{day - dt.timedelta(days=2):%Y-%m-%d}",
                                      prefix=f"late{step}"))
            records = pd.concat(parts, ignore_index=True)
            rel.create_release(store, records, levels=LEVELS, through=block[-1], secret=SECRET, published_at=day)
            downloads.append(store.cells())
            quarter = rel.next_quarter(block[-1])
        final = store.cells()
        for version, download in enumerate(downloads, start=1):
            kept = final[final["version"] <= version].reset_index(drop=True)
            pd.testing.assert_frame_equal(kept, download.reset_index(drop=True))
        assert (final["households"].dropna() >= privacy.THRESHOLD).all()
        versions = store.releases()
        for before, after in zip(versions, versions[1:], strict=False):
            assert after.first_period == rel.next_quarter(before.through_period)
    finally:
        store.engine.dispose()


def test_releases_made_before_doors_were_published_keep_their_cells(tmp_path: Path) -> None:
    """Migration ``release_0002``: the cells of an older release stay as published, without doors, and the
    funders' total of doors opened is then missing rather than a partial sum."""
    from geo.coverage.release_figures import ReleaseFigures
    from geo.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    rel.upgrade(engine, revision="release_0001")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO release_versions VALUES (1, '2025-07-10 00:00:00', '2025-T1', "
                             "'2025-T2', 'region,site', :m, 1)"), {"m": rel.METHOD})
        conn.execute(sa.text("INSERT INTO release_cells VALUES (1, '*|*', '2025-S1', '2025-01-01', '2025-06-30', "
                             "42, NULL)"))
    store = rel.ReleaseStore(engine)  # migrates to the head
    cells = store.cells()
    assert cells["households"].tolist() == [42] and cells["doors_opened"].isna().all()
    figures = ReleaseFigures.from_store(store)
    assert figures.total(()) == 42 and figures.doors_total(()) is None
    engine.dispose()
