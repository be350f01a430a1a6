"""Aggregation on hand-made visits with answers known by hand, and against a naive pandas computation."""

from __future__ import annotations

import datetime as dt

import h3
import numpy as np
import pandas as pd
import pytest

from geo.coverage import aggregate as agg

NORD = (2.375, 48.652)  # inside the square QPV QN09901M
SUD = (2.375, 48.643)  # inside QN09902M
DEHORS = (2.40, 48.66)  # outside both


def _visit(day: str, outcome: str, where: tuple[float, float], *, building: str, door: str = "",
           campaign: str = "A", site: str = "91286", hour: int = 18) -> dict:
    return {"visited_at": pd.Timestamp(f"{day} {hour}:00"), "outcome": outcome, "lon": where[0], "lat": where[1],
            "building": building, "door": door, "campaign": campaign, "site": site, "demo": False}


@pytest.fixture
def events() -> pd.DataFrame:
    rows = [
        _visit("2025-03-03", "absent", NORD, building="B1", door="d1"),
        _visit("2025-03-10", "ouvert", NORD, building="B1", door="d1"),
        _visit("2025-03-03", "a_revoir", NORD, building="B1", door="d2"),
        _visit("2025-03-03", "ne_pas_deranger", NORD, building="B1", door="d3"),
        _visit("2025-03-04", "absent", NORD, building="B1", door="d4"),
        _visit("2025-03-04", "ouvert", SUD, building="B2"),
        _visit("2025-03-04", "ouvert", SUD, building="B2", hour=19),
        _visit("2025-03-11", "refus", SUD, building="B2"),
        _visit("2025-04-01", "ouvert", DEHORS, building="B3", campaign="B", site="59350"),
        _visit("2025-04-02", "a_revoir", DEHORS, building="B3", door="x", campaign="A", site="59350"),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def prep(events: pd.DataFrame, square_qpv) -> agg.PreparedEvents:  # noqa: ANN001
    return agg.prepare_events(events.sample(frac=1.0, random_state=3), qpv=square_qpv)


def test_prepare_codes_buildings_doors_and_qpv(prep: agg.PreparedEvents) -> None:
    assert prep.n_events == 10 and prep.n_buildings == 3
    assert prep.n_doors == 5 + 4  # d1..d4 and x, then one door per unlabelled visit (three in B2, one in B3)
    assert np.all(np.diff(prep.day) >= 0)  # time order
    assert set(prep.qpv_codes) == {"QN09901M", "QN09902M"}
    labels = dict(zip(prep.b_label, prep.b_qpv, strict=True))
    assert labels["B3"] == -1
    assert prep.campaigns == ("A", "B", "A") and prep.sites == ("59350", "91286")


def test_qpv_coverage(prep: agg.PreparedEvents, square_qpv) -> None:  # noqa: ANN001
    frame = agg.aggregate_qpv(prep, qpv=square_qpv).set_index("code_qp")
    nord, sud = frame.loc["QN09901M"], frame.loc["QN09902M"]
    assert (nord["visits"], nord["ouvert"], nord["households_reached"], nord["doors_knocked"]) == (5, 1, 1, 4)
    assert nord["open_rate"] == pytest.approx(1 / 4)  # the "do not disturb" door is not a knock
    assert nord["coverage_rate"] == pytest.approx(1 / 1000)
    assert nord["remaining_households"] == 999
    assert (sud["visits"], sud["households_reached"]) == (3, 2)
    assert sud["coverage_rate"] == pytest.approx(2 / 500)
    assert list(frame.index) == ["QN09901M", "QN09902M"]  # most remaining households first
    assert agg.outside_qpv(prep) == {"visits": 2, "households_reached": 1}


def test_qpv_include_lists_unvisited_qpv(prep: agg.PreparedEvents, square_qpv) -> None:  # noqa: ANN001
    mask = agg.select(prep, sites=["59350"])
    frame = agg.aggregate_qpv(prep, mask, qpv=square_qpv, include=["QN09902M"])
    assert frame["code_qp"].tolist() == ["QN09902M"]
    assert frame["visits"].tolist() == [0] and frame["remaining_households"].tolist() == [500]


def test_buildings_and_last_outcome(prep: agg.PreparedEvents) -> None:
    frame = agg.aggregate_buildings(prep).set_index("building")
    assert frame.loc["B1", "last_outcome"] == "ouvert"
    assert frame.loc["B1", "last_visit"] == pd.Timestamp("2025-03-10")
    assert frame.loc["B2", ["visits", "ouvert", "refus", "households_reached"]].tolist() == [3, 2, 1, 2]
    assert pd.isna(frame.loc["B3", "code_qp"])
    assert frame.loc["B1", "lon"] == pytest.approx(NORD[0])


def test_revisit_layer(prep: agg.PreparedEvents) -> None:
    layer = agg.revisit_layer(prep).set_index("building")
    assert layer["doors_to_revisit"].to_dict() == {"B1": 1, "B3": 1}
    assert layer.loc["B1", "doors"] == "d2"
    with_absent = agg.revisit_layer(prep, include_absent=True).set_index("building")
    assert with_absent.loc["B1", "doors_to_revisit"] == 2  # d2 (à revoir) and d4 (absent); d1 was opened later
    assert with_absent.loc["B1", "doors"] == "d2, d4"
    # a door later marked "do not disturb" never comes back
    assert "d3" not in with_absent.loc["B1", "doors"]


def test_campaigns_keep_sites_apart(prep: agg.PreparedEvents) -> None:
    frame = agg.aggregate_campaigns(prep)
    assert frame[["campaign", "site", "visits", "households_reached", "buildings"]].values.tolist() == [
        ["B", "59350", 1, 1, 1], ["A", "59350", 1, 0, 1], ["A", "91286", 8, 3, 2]]  # by site, then start
    assert frame["first_visit"].tolist()[2] == pd.Timestamp("2025-03-03")


def test_weekly_progress(prep: agg.PreparedEvents) -> None:
    frame = agg.aggregate_periods(prep, agg.select(prep, sites=["91286"]))
    assert frame["period_start"].tolist() == [pd.Timestamp("2025-03-03"), pd.Timestamp("2025-03-10")]
    assert frame["visits"].tolist() == [6, 2]
    assert frame["households_reached"].tolist() == [2, 1]
    assert frame["new_households_reached"].tolist() == [2, 1]
    assert frame["cumulative_households_reached"].tolist() == [2, 3]
    months = agg.aggregate_periods(prep, freq="month")
    assert months["period_start"].tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2025-04-01")]
    quarters = agg.aggregate_periods(prep, freq="quarter")
    assert quarters["period_start"].tolist() == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")]
    assert quarters["cumulative_households_reached"].tolist() == [3, 4]


def test_select_filters(prep: agg.PreparedEvents) -> None:
    assert agg.select(prep, sites=["59350"]).sum() == 2
    assert agg.select(prep, campaigns=["A"]).sum() == 9
    assert agg.select(prep, start="2025-03-10", end=dt.date(2025, 3, 31)).sum() == 2
    assert agg.select(prep, outcomes=["ouvert"]).sum() == 4
    assert agg.select(prep, qpv=["QN09902M"]).sum() == 3
    assert agg.select(prep, bbox=(2.37, 48.649, 2.38, 48.655)).sum() == 5
    assert agg.select(prep, sites=["nulle part"]).sum() == 0


def test_cells(prep: agg.PreparedEvents) -> None:
    cells = agg.aggregate_cells(prep, resolution=10)
    assert cells["visits"].sum() == 10
    assert set(cells["cell"]) == {h3.latlng_to_cell(lat, lon, 10) for lon, lat in (NORD, SUD, DEHORS)}
    coarse = agg.aggregate_cells(prep, resolution=7)
    assert coarse["visits"].sum() == 10 and len(coarse) <= 3
    geojson = agg.cells_geojson(cells)
    assert len(geojson["features"]) == len(cells)
    ring = geojson["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert 2.3 < ring[0][0] < 2.5  # lon first


def test_viewport(prep: agg.PreparedEvents, square_qpv) -> None:  # noqa: ANN001
    view = agg.viewport(prep, bbox=(2.36, 48.63, 2.39, 48.66), zoom=16, qpv=square_qpv, sites=["91286"])
    assert view.resolution == 10
    assert view.cells["visits"].sum() == 8
    assert set(view.buildings["building"]) == {"B1", "B2"}
    assert view.summary["visits"] == 8 and view.summary["households_reached"] == 3
    assert view.summary["demo"] is False
    far = agg.viewport(prep, bbox=(3.0, 50.0, 3.1, 50.1), zoom=12, qpv=square_qpv, sites=["91286"])
    assert far.buildings is None and far.cells.empty and far.resolution == 8
    assert far.summary["visits"] == 8  # totals follow the filters, not the map
    heat = agg.viewport(prep, bbox=(2.36, 48.63, 2.39, 48.66), zoom=14, outcomes=["ouvert"])
    assert heat.cells["visits"].sum() == 3 and heat.summary["visits"] == 10


def test_summary(prep: agg.PreparedEvents) -> None:
    summary = agg.summarise(prep)
    assert summary["visits"] == 10 and summary["ouvert"] == 4 and summary["households_reached"] == 4
    assert summary["buildings"] == 3 and summary["qpv"] == 2 and summary["outside_qpv_visits"] == 2
    assert summary["first_visit"] == "2025-03-03" and summary["last_visit"] == "2025-04-02"
    empty = agg.summarise(prep, np.zeros(prep.n_events, dtype=bool))
    assert empty["visits"] == 0 and empty["open_rate"] is None and empty["first_visit"] is None
    assert agg.aggregate_periods(prep, np.zeros(prep.n_events, dtype=bool)).empty


def test_prepare_uses_stored_qpv_codes_without_a_layer(events: pd.DataFrame) -> None:
    events = events.assign(code_qp=["QN1"] * 5 + ["QN2"] * 3 + [None, None])
    prep = agg.prepare_events(events)
    frame = agg.aggregate_qpv(prep)
    assert frame.set_index("code_qp")["visits"].to_dict() == {"QN1": 5, "QN2": 3}


def test_assign_qpv(square_qpv) -> None:  # noqa: ANN001
    codes = agg.assign_qpv(np.array([NORD[0], SUD[0], DEHORS[0], np.nan]),
                           np.array([NORD[1], SUD[1], DEHORS[1], 1.0]), square_qpv)
    assert codes.tolist() == ["QN09901M", "QN09902M", None, None]


def test_argument_errors(prep: agg.PreparedEvents, events: pd.DataFrame, square_qpv) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="events: expected the columns"):
        agg.prepare_events(events.drop(columns="outcome"))
    with pytest.raises(ValueError, match=r"events: expected outcomes in .* got \['porte'\]"):
        agg.prepare_events(events.assign(outcome="porte"))
    with pytest.raises(ValueError, match="outcomes: expected values in"):
        agg.select(prep, outcomes=["fermé"])
    with pytest.raises(TypeError, match="sites: expected a list of names, got the string '91286'"):
        agg.select(prep, sites="91286")
    with pytest.raises(ValueError, match="start, end: expected start <= end"):
        agg.select(prep, start="2025-05-01", end="2025-04-01")
    with pytest.raises(ValueError, match="start: expected a date"):
        agg.select(prep, start="hier")
    with pytest.raises(ValueError, match=r"bbox: expected \(west, south, east, north\)"):
        agg.select(prep, bbox=(1, 2, 3))
    with pytest.raises(ValueError, match="bbox: expected south <= north"):
        agg.select(prep, bbox=(2, 49, 3, 48))
    with pytest.raises(ValueError, match="resolution: expected one of"):
        agg.aggregate_cells(prep, resolution=12)
    with pytest.raises(ValueError, match="freq: expected one of"):
        agg.aggregate_periods(prep, freq="day")
    with pytest.raises(ValueError, match="mask: expected a boolean array of 10 events"):
        agg.summarise(prep, np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="qpv: expected EPSG:4326"):
        agg.assign_qpv(np.array([1.0]), np.array([1.0]), square_qpv.to_crs(2154))
    with pytest.raises(ValueError, match=r"qpv: expected the columns \['code_qp', 'households'\]"):
        agg.aggregate_qpv(prep, qpv=square_qpv.drop(columns="households"))


def _random_events(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_b = 200
    b_lon = 2.37 + rng.random(n_b) * 0.02
    b_lat = 48.638 + rng.random(n_b) * 0.02
    b = rng.integers(0, n_b, n)
    return pd.DataFrame({
        "visited_at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24 * 60, n), unit="min"),
        "outcome": rng.choice(agg.OUTCOMES, n, p=[0.4, 0.35, 0.1, 0.1, 0.05]),
        "lon": b_lon[b], "lat": b_lat[b], "building": [f"b{i}" for i in b],
        "door": np.where(rng.random(n) < 0.8, [f"p{k}" for k in rng.integers(0, 30, n)], ""),
        "campaign": rng.choice(["C1", "C2", "C3"], n), "site": rng.choice(["91286", "91521"], n),
    })


@pytest.mark.parametrize("seed", [1, 2])
def test_matches_a_naive_pandas_computation(seed: int, square_qpv) -> None:  # noqa: ANN001
    events = _random_events(3000, seed)
    prep = agg.prepare_events(events, qpv=square_qpv)
    mask = agg.select(prep, sites=["91286"], start="2025-03-01", end="2025-08-31")
    fast = agg.aggregate_cells(prep, mask, resolution=9).set_index("cell").sort_index()

    e = events[(events["site"] == "91286") & (events["visited_at"] >= "2025-03-01")
               & (events["visited_at"] < "2025-09-01")].copy()
    e["cell"] = [h3.latlng_to_cell(y, x, 9) for x, y in zip(e["lon"], e["lat"], strict=True)]
    e["door_key"] = np.where(e["door"] != "", e["building"] + "|" + e["door"], "visit" + e.index.astype(str))
    naive = e.groupby("cell").agg(visits=("outcome", "size"), ouvert=("outcome", lambda s: (s == "ouvert").sum()))
    opened = e[e["outcome"] == "ouvert"].groupby("cell")["door_key"].nunique()
    naive["households_reached"] = opened.reindex(naive.index).fillna(0).astype(int)
    naive = naive.sort_index()
    assert fast.index.tolist() == naive.index.tolist()
    assert fast["visits"].tolist() == naive["visits"].tolist()
    assert fast["ouvert"].tolist() == naive["ouvert"].tolist()
    assert fast["households_reached"].tolist() == naive["households_reached"].tolist()

    weeks = agg.aggregate_periods(prep, mask)
    e["week"] = e["visited_at"].dt.to_period("W-SUN").dt.start_time
    naive_weeks = e.groupby("week")["outcome"].size()
    got = weeks.set_index("period_start")["visits"]
    assert got[got > 0].to_dict() == {k: v for k, v in naive_weeks.to_dict().items()}
    first = e[e["outcome"] == "ouvert"].sort_values("visited_at").drop_duplicates("door_key")
    assert weeks["cumulative_households_reached"].iat[-1] == len(first)


def test_a_building_sits_at_the_median_of_its_visits() -> None:
    """One mistyped coordinate (a digit slipped) does not drag the building across town."""
    rows = [_visit("2025-03-03", "ouvert", NORD, building="B1", door=f"d{i}") for i in range(4)]
    rows.append(_visit("2025-03-03", "ouvert", (NORD[0] + 0.5, NORD[1] - 0.3), building="B1", door="d9"))
    prep = agg.prepare_events(pd.DataFrame(rows))
    assert prep.n_buildings == 1
    assert (prep.b_lon[0], prep.b_lat[0]) == NORD  # the mean would be 0.1 degree (7 km) east


def test_group_median_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    groups = rng.integers(0, 50, 3000)
    values = rng.normal(size=3000)
    got = agg.group_median(groups, values, n_groups=52)  # two groups without values
    expected = [np.median(values[groups == g]) if (groups == g).any() else np.nan for g in range(52)]
    np.testing.assert_allclose(got, expected)
    with pytest.raises(ValueError, match="groups, values: expected arrays of the same shape"):
        agg.group_median(groups, values[:5], n_groups=52)
