"""Adaptive time bins: every published bin covers 11 households or more, the bins of a series add up to
its total, and no hidden figure can be narrowed below 11 households from everything published.

The attacker here is independent of :mod:`geo.privacy`: its unknowns are the households of each finest
group and quarter, its constraints every published bin of every series (France, régions, sites) and
non-negativity, and it solves for the smallest and largest value of each small calendar cell.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geo import i18n, privacy, timebins

LEVELS = ("region", "site")
NBSP = "\u00a0"


def _frame(series: dict[tuple[str, str], list[int]], *, first: tuple[int, int] = (2024, 1)) -> pd.DataFrame:
    """Tidy counts: one row per (région, site) and quarter, starting at ``first``."""
    rows = []
    start = first[0] * 4 + first[1] - 1
    for (region, site), values in series.items():
        for i, value in enumerate(values):
            year, quarter = divmod(start + i, 4)
            rows.append((region, site, f"{year}-T{quarter + 1}", value))
    return pd.DataFrame(rows, columns=["region", "site", "period", "households"])


def _truth(frame: pd.DataFrame) -> pd.DataFrame:
    """Households per finest group and quarter index (the attacker's unknowns), with the group span."""
    out = frame.copy()
    out["q"] = [y * 4 + q - 1 for y, q in map(timebins.parse_quarter, out["period"])]
    return out.groupby(["region", "site", "q"], as_index=False)["households"].sum()


def _group_mask(frame: pd.DataFrame, group: tuple[str, ...]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for level, code in zip(LEVELS, group, strict=False):
        if code != privacy.TOTAL:
            mask &= (frame[level] == code).to_numpy()
    return mask


def _quarter_indices(quarters: tuple[str, ...]) -> set[int]:
    return {y * 4 + q - 1 for y, q in map(timebins.parse_quarter, quarters)}


def _check_invariants(frame: pd.DataFrame, result: timebins.TimeBins) -> None:
    truth = _truth(frame)
    groups = result.bins[list(LEVELS)].drop_duplicates().itertuples(index=False, name=None)
    assert (result.bins["households"] >= privacy.THRESHOLD).all()
    for group in groups:
        bins = result.series(group)
        in_group = truth[_group_mask(truth, group)]
        total = int(in_group["households"].sum())
        assert bins["households"].sum() == total
        assert bins["cumulative"].iat[-1] == total
        assert (np.diff(bins["cumulative"]) > 0).all()
        covered = [q for quarters in bins["quarters"] for q in _quarter_indices(quarters)]
        assert len(covered) == len(set(covered)), f"overlapping bins in {group}"
        assert set(covered) >= set(in_group.loc[in_group["households"] > 0, "q"])
        assert (bins["start"].to_numpy()[1:] > bins["end"].to_numpy()[:-1]).all()
        one_year = ~bins["code"].str.contains("/")
        assert all(s.year == e.year for s, e in zip(bins.loc[one_year, "start"], bins.loc[one_year, "end"],
                                                     strict=True))


def _attacker_ranges(frame: pd.DataFrame, result: timebins.TimeBins) -> list[tuple[int, float, float]]:
    """(true value, min, max) of every small calendar cell of every series given all published bins."""
    leaves = _truth(frame)
    spans = leaves.groupby(["region", "site"])["q"].agg(["min", "max"])
    keys = [(r, s, q) for (r, s), row in spans.iterrows() for q in range(row["min"], row["max"] + 1)]
    index = {k: i for i, k in enumerate(keys)}
    value = np.zeros(len(keys))
    for r, s, q, n in leaves.itertuples(index=False, name=None):
        value[index[(r, s, q)]] = n

    def row_of(group: tuple[str, ...], quarters: set[int]) -> np.ndarray:
        vec = np.zeros(len(keys))
        for (r, s, q), i in index.items():
            if q in quarters and all(c in (privacy.TOTAL, v) for c, v in zip(group, (r, s), strict=True)):
                vec[i] = 1.0
        return vec

    published = result.bins
    a_eq = np.array([row_of(tuple(b[list(LEVELS)]), _quarter_indices(b["quarters"]))
                     for _, b in published.iterrows()]).reshape(-1, len(keys))
    b_eq = published["households"].to_numpy(float)
    targets = []
    groups = {(privacy.TOTAL, privacy.TOTAL)} | {(r, privacy.TOTAL) for r, _s, _q in keys} | {
        (r, s) for r, s, _q in keys}
    all_q = sorted({q for _r, _s, q in keys})
    periods = [{q} for q in all_q] + [{q for q in all_q if q // 2 == h} for h in {q // 2 for q in all_q}] + [
        {q for q in all_q if q // 4 == y} for y in {q // 4 for q in all_q}]
    for group in groups:
        for period in periods:
            vec = row_of(group, period)
            true = float(vec @ value)
            if vec.any() and true < privacy.THRESHOLD:
                targets.append((true, vec))
    out = []
    for true, vec in targets:
        lo = linprog(vec, A_eq=a_eq if len(a_eq) else None, b_eq=b_eq if len(a_eq) else None,
                     bounds=(0, None), method="highs")
        hi = linprog(-vec, A_eq=a_eq if len(a_eq) else None, b_eq=b_eq if len(a_eq) else None,
                     bounds=(0, None), method="highs")
        out.append((true, lo.fun, -hi.fun if hi.status == 0 else np.inf))
    return out


def _assert_protected(frame: pd.DataFrame, result: timebins.TimeBins) -> None:
    ranges = _attacker_ranges(frame, result)
    for true, lo, hi in ranges:
        assert lo - 1e-6 <= true <= hi + 1e-6
        assert hi - lo >= privacy.THRESHOLD - 1e-6, f"a cell of {true:g} households is pinned to [{lo:g}, {hi:g}]"


# --------------------------------------------------------------------------------------------- cases
def test_one_small_quarter_among_large_ones_merges_its_half_year() -> None:
    frame = _frame({("11", "A"): [40, 35, 60, 50, 45, 38, 4, 30],
                    ("11", "B"): [80, 90, 70, 85, 75, 95, 88, 90],
                    ("32", "C"): [60, 65, 70, 75, 80, 85, 90, 95]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    site = result.series(("11", "A"))
    assert site["code"].tolist() == ["2024-T1", "2024-T2", "2024-T3", "2024-T4", "2025-T1", "2025-T2",
                                     "2025-S2"]
    assert site["households"].iat[-1] == 34
    assert result.series(("11", "A"), lang="en")["label"].tolist()[-2:] == ["2025-Q2", "2025-H2"]
    assert site["start"].iat[-1] == dt.date(2025, 7, 1) and site["end"].iat[-1] == dt.date(2025, 12, 31)
    assert timebins.notes(result, ("11", "A"), lang="fr") == [
        f"2025-T3 et 2025-T4 regroupés en 2025-S2{NBSP}: moins de 11 ménages"]
    assert timebins.notes(result, ("11", "A"), lang="en") == [
        "2025-Q3 and 2025-Q4 merged into 2025-H2: fewer than 11 households"]
    # France keeps its eight quarters: A's small quarter is hidden by a sibling, not by a blank bar
    france = result.series(())
    assert len(france) == 8 and france["cumulative"].iat[-1] == frame["households"].sum()
    assert timebins.notes(result, (), lang="fr") == []
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_complement_is_merged_for_protection_with_its_own_reason() -> None:
    """Région 11 = A + B: A's small 2025-T3 forces B's 2025-T3 to be hidden too (else 11 minus B gives A)."""
    frame = _frame({("11", "A"): [40, 35, 60, 50, 45, 38, 4, 30],
                    ("11", "B"): [80, 90, 70, 85, 75, 95, 88, 90]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    reasons = {m.group: m.reason for m in result.merges}
    assert reasons[("11", "A")] == timebins.REASON_SMALL
    assert timebins.REASON_PROTECTION in reasons.values()
    protected = next(m for m in result.merges if m.reason == timebins.REASON_PROTECTION)
    assert timebins.merge_note(protected, "fr").endswith("pour qu'aucun chiffre masqué ne puisse être retrouvé "
                                                         "par différence")
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_all_small_quarters_merge_up_to_years() -> None:
    """Every quarter of every site is small; France's quarters are too, its half-years are not all."""
    frame = _frame({("11", "A"): [2, 3, 1, 4, 3, 2, 2, 5],
                    ("11", "B"): [1, 2, 2, 1, 3, 1, 2, 2],
                    ("32", "C"): [4, 1, 3, 2, 2, 3, 1, 1]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    france = result.series(())
    assert france["households"].sum() == frame["households"].sum() == 53
    assert all(not code.endswith(("T1", "T2", "T3", "T4")) for code in france["code"])
    assert result.merges_of(())
    assert all(m.reason in timebins.REASONS for m in result.merges)
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_site_whose_every_quarter_is_small_falls_back_to_one_bin_or_is_hidden() -> None:
    frame = _frame({("11", "A"): [60, 70, 80, 90, 65, 75, 85, 95],
                    ("11", "B"): [3, 2, 4, 1, 2, 3, 1, 2],     # 18 in all: one bin over the whole span
                    ("11", "C"): [1, 0, 2, 1, 0, 1, 1, 0],     # 6 in all: hidden
                    ("11", "F"): [0, 1, 1, 2, 1, 0, 1, 1],     # 7 in all: hidden (C and F hide each other)
                    ("32", "D"): [50, 55, 60, 65, 70, 75, 80, 85],
                    ("32", "E"): [45, 40, 42, 44, 46, 48, 50, 52]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    site_b = result.series(("11", "B"))
    assert site_b[["code", "households", "cumulative"]].values.tolist() == [["2024/2025", 18, 18]]
    assert timebins.notes(result, ("11", "B"), lang="fr") == [
        f"les trimestres de 2024-T1 à 2025-T4 regroupés en 2024 – 2025{NBSP}: moins de 11 ménages"]
    for site in ("C", "F"):
        assert result.series(("11", site)).empty
        assert result.hidden_reason(("11", site)) == timebins.REASON_SMALL
    assert timebins.notes(result, ("11", "C"), lang="en") == [
        "Series not published: fewer than 11 households over the whole period (statistical secrecy)"]
    assert result.hidden_reason(("11", "A")) is None
    assert len(result.series(("11",))) == 8  # the région keeps its quarters
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_a_lone_tiny_site_hides_a_sibling_series_for_protection() -> None:
    """Région 11 = A + B + C with C's 6 households hidden: one sibling total must go too (else 11 - A - B
    gives C); that sibling's series is withheld with the protection reason, never shown with a blank."""
    frame = _frame({("11", "A"): [60, 70, 80, 90, 65, 75, 85, 95],
                    ("11", "B"): [3, 2, 4, 1, 2, 3, 1, 2],
                    ("11", "C"): [1, 0, 2, 1, 0, 1, 1, 0]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    assert result.hidden_reason(("11", "C")) == timebins.REASON_SMALL
    assert result.hidden_reason(("11", "B")) == timebins.REASON_PROTECTION
    assert timebins.notes(result, ("11", "B"), lang="fr") == [
        f"Série non publiée{NBSP}: elle permettrait de retrouver par différence un chiffre masqué "
        "(secret statistique)"]
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_a_site_opened_mid_year_and_a_quarter_with_no_row() -> None:
    """B opens in 2024-T3 (no bar before); its 2025-T1 has no row: it counts 0 and is merged, not blank."""
    frame = _frame({("11", "A"): [60, 70, 80, 90, 65, 75, 85, 95]})
    b = _frame({("11", "B"): [30, 40]}, first=(2024, 3))
    b2 = _frame({("11", "B"): [25, 33, 41]}, first=(2025, 2))
    frame = pd.concat([frame, b, b2], ignore_index=True)
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    site = result.series(("11", "B"))
    assert site["code"].tolist()[:2] == ["2024-T3", "2024-T4"]
    assert "2025-S1" in site["code"].tolist()
    assert site["start"].iat[0] == dt.date(2024, 7, 1)
    _check_invariants(frame, result)
    _assert_protected(frame, result)


def test_rows_of_one_group_and_quarter_are_added() -> None:
    frame = pd.DataFrame({"region": ["11", "11"], "site": ["A", "A"], "period": ["2025-T1", "2025-T1"],
                          "households": [6, 7]})
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    assert result.series(("11", "A"))["households"].tolist() == [13]


@pytest.mark.parametrize(("change", "message"), [
    ({"period": "2025-Q3"}, r"period: expected a quarter code such as '2025-T3', got '2025-Q3'"),
    ({"households": -1}, r"frame\['households'\]: expected non-negative whole numbers"),
    ({"households": 2.5}, r"frame\['households'\]: expected non-negative whole numbers"),
])
def test_bad_input_names_the_argument(change: dict, message: str) -> None:
    frame = pd.DataFrame({"region": ["11"], "site": ["A"], "period": ["2025-T3"], "households": [20]})
    for column, value in change.items():
        frame[column] = [value]
    with pytest.raises(ValueError, match=message):
        timebins.adaptive_bins(frame, levels=LEVELS)


def test_missing_column_and_levels() -> None:
    frame = pd.DataFrame({"site": ["A"], "period": ["2025-T3"], "households": [20]})
    with pytest.raises(ValueError, match=r"frame: expected columns \['region'\]"):
        timebins.adaptive_bins(frame, levels=LEVELS)
    with pytest.raises(ValueError, match="levels: expected one or more group columns"):
        timebins.adaptive_bins(frame, levels=())


def test_codes_and_labels() -> None:
    assert timebins.bin_code(["2025-T3"]) == "2025-T3"
    assert timebins.bin_code(["2025-T1", "2025-T2"]) == "2025-S1"
    assert timebins.bin_code(["2025-T2", "2025-T3"]) == "2025-T2/2025-T3"
    assert timebins.bin_code(["2024-T3", "2024-T4", "2025-T1", "2025-T2"]) == "2024-T3/2025-T2"
    assert timebins.bin_label("2025-S2", "fr") == "2025-S2"
    assert timebins.bin_label("2025-S2", "en") == "2025-H2"
    assert timebins.bin_label("2024-T3/2025-T2", "en") == "2024-Q3 – 2025-Q2"
    assert timebins.bin_label("2024", "en") == "2024"
    with pytest.raises(ValueError, match="code: expected a bin code"):
        timebins.bin_label("2025-X1")


def test_every_text_is_in_both_catalogues() -> None:
    ids = ["timebins.label.quarter", "timebins.label.half", "timebins.label.year", "timebins.label.range",
           "timebins.periods.range", *[f"timebins.note.merged_{r}" for r in timebins.REASONS],
           *[f"timebins.note.hidden_{r}" for r in timebins.REASONS]]
    for lang in i18n.LANGS:
        assert [m for m in ids if not i18n.has_message(m, lang)] == []


# --------------------------------------------------------------------------------------------- properties
@st.composite
def _tables(draw: st.DrawFn) -> pd.DataFrame:
    n_regions = draw(st.integers(1, 2))
    series = {}
    for r in range(n_regions):
        for s in range(draw(st.integers(1, 3))):
            length = draw(st.integers(1, 8))
            values = draw(st.lists(st.sampled_from([0, 1, 2, 4, 7, 12, 30, 90]), min_size=length,
                                   max_size=length))
            series[(f"{r + 1}", f"{r + 1}-{s}")] = values
    frame = _frame(series)
    return frame[frame["households"] > 0] if draw(st.booleans()) else frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_properties_on_generated_tables(frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    result = timebins.adaptive_bins(frame, levels=LEVELS)
    _check_invariants(frame, result)
    shown = {tuple(g) for g in result.bins[list(LEVELS)].drop_duplicates().itertuples(index=False)}
    hidden = {h.group for h in result.hidden}
    assert not shown & hidden
    for group in hidden:
        assert timebins.notes(result, group, lang="fr")
    _assert_protected(frame, result)
