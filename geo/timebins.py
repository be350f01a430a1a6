"""Adaptive time bins: quarters merged into half-years, then years, until every published bin is safe.

The problem
-----------
A chart of households met per quarter, for France, a région or a site, must follow the secrecy rule of
:mod:`geo.privacy`: no published figure may cover fewer than :data:`geo.privacy.THRESHOLD` (11)
households, and no hidden figure may be recovered by subtracting published ones (France minus the
published régions, a year minus its published quarters...). Blanking the small quarters leaves holes in
the chart and a cumulative line that stops short of the headline figure.

The method
----------
1. The counts are completed to one row per finest group (e.g. site) and quarter, from the group's first
   to its last quarter (a quarter inside that span with no row counts 0 households).
2. One hierarchical table is built and protected with :func:`geo.privacy.build_cube` and
   :func:`geo.privacy.protect`: geography (France > the ``levels`` given, e.g. région > site) ×
   calendar (whole span > year > half-year > quarter). Every cell of that table is treated as published
   by the audit, so *any* choice among its visible cells is safe, whichever views are put side by side.
3. Each group then shows, year by year, the finest visible calendar cells: its quarters when all the
   quarters of a half-year are visible, else that half-year, else the whole year; when one of its years
   is hidden, the group falls back to one bin over its whole span; when even that is hidden, the group is
   hidden and the reason is given. Bins never straddle a year boundary, except in that last fallback.
4. The cumulative is computed on the published bins, so it ends at the group's total.

Every merge is reported with its reason -- ``"small"`` (a merged period covers fewer than 11 households)
or ``"protection"`` (merged so that a hidden figure elsewhere cannot be recovered by subtraction) -- and
:func:`notes` turns them into the sentence shown under the chart (catalogue ids ``timebins.*``).

Periods are quarter codes ``"2025-T3"``; bins get codes ``"2025-T3"``, ``"2025-S2"``, ``"2025"`` or a
range ``"2024-T3/2025-T4"`` or ``"2024/2025"``, and readable labels in each language through :func:`bin_label`.

Written here rather than taken from a library: statistical-disclosure packages (sdcMicro, tau-Argus) do
not choose temporal aggregation levels; this module only orders calendar cells, and leaves the
suppression itself to :mod:`geo.privacy`.

>>> import pandas as pd
>>> frame = pd.DataFrame({"site": ["A"] * 4, "period": ["2025-T1", "2025-T2", "2025-T3", "2025-T4"],
...                       "households": [30, 25, 4, 20]})
>>> result = adaptive_bins(frame, levels=("site",))
>>> result.series(()).loc[:, ["code", "households", "cumulative"]].values.tolist()
[['2025-T1', 30, 30], ['2025-T2', 25, 55], ['2025-S2', 24, 79]]
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from babel.lists import format_list

from geo import privacy
from geo.i18n import LOCALES, format_number, normalise_lang, t

logger = logging.getLogger(__name__)

#: Why periods were merged or a series hidden.
REASON_SMALL = "small"
REASON_PROTECTION = "protection"
REASONS = (REASON_SMALL, REASON_PROTECTION)

_QUARTER = re.compile(r"^(\d{4})-T([1-4])$")
_TIME = ("_year", "_half", "_quarter")
#: More merged quarters than this are written as a range in the notes.
_LIST_MAX = 4


@dataclass(frozen=True)
class Merge:
    """Quarters published together as one bin.

    Attributes
    ----------
    group : tuple of str
        Codes of the group's levels (:data:`geo.privacy.TOTAL` above its depth; all TOTAL = France).
    periods : tuple of str
        The quarter codes merged, in order.
    into : str
        Code of the bin they form.
    reason : {"small", "protection"}
    """

    group: tuple[str, ...]
    periods: tuple[str, ...]
    into: str
    reason: str


@dataclass(frozen=True)
class HiddenSeries:
    """A group with no published bin: even its whole span cannot be shown."""

    group: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class TimeBins:
    """Published bins of every group, the merges made and the series hidden.

    Attributes
    ----------
    bins : pandas.DataFrame
        One row per published bin: the level columns (:data:`geo.privacy.TOTAL` above the group's depth),
        ``code``, ``start`` and ``end`` (dates), ``quarters`` (tuple of quarter codes), ``households``
        and ``cumulative`` (on the published bins of the group, ending at its total).
    merges : tuple of Merge
    hidden : tuple of HiddenSeries
    levels : tuple of str
    cube : geo.privacy.Cube
        The protected table the bins were read from (geography × calendar); a report that publishes
        other figures of the same data should read them from this cube too.
    """

    bins: pd.DataFrame
    merges: tuple[Merge, ...]
    hidden: tuple[HiddenSeries, ...]
    levels: tuple[str, ...]
    cube: privacy.Cube

    def _key(self, group: Sequence[str]) -> tuple[str, ...]:
        codes = tuple(str(c) for c in group)
        if len(codes) > len(self.levels):
            raise ValueError(f"group: expected at most {len(self.levels)} codes ({self.levels}), got {codes!r}")
        return codes + (privacy.TOTAL,) * (len(self.levels) - len(codes))

    def series(self, group: Sequence[str] = (), *, lang: str | None = None) -> pd.DataFrame:
        """The published bins of one group, in time order.

        Parameters
        ----------
        group : sequence of str
            Codes from the coarsest level down (``()`` for France, ``("11",)`` for région 11,
            ``("11", "A")`` for site A of région 11).
        lang : {"fr", "en"}, optional
            When given, a ``label`` column holds each bin's label in that language (:func:`bin_label`).

        Returns
        -------
        pandas.DataFrame
            Empty when the group is hidden or unknown.
        """
        key = self._key(group)
        mask = pd.Series(True, index=self.bins.index)
        for level, code in zip(self.levels, key, strict=True):
            mask &= self.bins[level] == code
        out = self.bins[mask].reset_index(drop=True)
        if lang is not None:
            out.insert(out.columns.get_loc("code") + 1, "label", [bin_label(c, lang) for c in out["code"]])
        return out

    def merges_of(self, group: Sequence[str] = ()) -> list[Merge]:
        """The merges made in one group's series."""
        key = self._key(group)
        return [m for m in self.merges if m.group == key]

    def hidden_reason(self, group: Sequence[str] = ()) -> str | None:
        """Why the group's series is hidden, or None when it is published."""
        key = self._key(group)
        return next((h.reason for h in self.hidden if h.group == key), None)


# ------------------------------------------------------------------------------------------- periods
def parse_quarter(code: str) -> tuple[int, int]:
    """``"2025-T3"`` -> ``(2025, 3)``.

    Raises
    ------
    ValueError
        When ``code`` is not a quarter code.
    """
    match = _QUARTER.match(str(code).strip())
    if not match:
        raise ValueError(f"period: expected a quarter code such as '2025-T3', got {code!r}")
    return int(match.group(1)), int(match.group(2))


def quarter_code(year: int, quarter: int) -> str:
    """``(2025, 3)`` -> ``"2025-T3"``."""
    return f"{year}-T{quarter}"


def _quarter_index(year: int, quarter: int) -> int:
    return year * 4 + quarter - 1


def _from_index(index: int) -> tuple[int, int]:
    return index // 4, index % 4 + 1


def bin_code(quarters: Sequence[str]) -> str:
    """Code of the bin made of consecutive ``quarters``: a quarter, a half-year, a year or a range.

    >>> bin_code(["2025-T3", "2025-T4"]), bin_code(["2024-T1", "2024-T2", "2024-T3", "2024-T4"])
    ('2025-S2', '2024')
    >>> bin_code(["2024-T4", "2025-T1"]), bin_code([f"{y}-T{q}" for y in (2024, 2025) for q in range(1, 5)])
    ('2024-T4/2025-T1', '2024/2025')
    """
    if not quarters:
        raise ValueError("quarters: expected at least one quarter code, got none")
    parsed = sorted(parse_quarter(q) for q in quarters)
    (y0, q0), (y1, q1) = parsed[0], parsed[-1]
    if len(parsed) == 1:
        return quarter_code(y0, q0)
    if y0 == y1 and (q0, q1) in ((1, 2), (3, 4)) and len(parsed) == 2:
        return f"{y0}-S{(q0 + 1) // 2}"
    if (q0, q1) == (1, 4) and len(parsed) == 4 * (y1 - y0 + 1):
        return str(y0) if y0 == y1 else f"{y0}/{y1}"
    return f"{quarter_code(y0, q0)}/{quarter_code(y1, q1)}"


def bin_label(code: str, lang: str = "fr") -> str:
    """Readable label of a bin code in ``lang`` (``"2025-S2"`` -> ``2025-S2`` / ``2025-H2``)."""
    lang = normalise_lang(lang)
    if "/" in code:
        start, end = code.split("/", 1)
        return t("timebins.label.range", lang, start=bin_label(start, lang), end=bin_label(end, lang))
    if re.fullmatch(r"\d{4}", code):
        return t("timebins.label.year", lang, year=code)
    match = re.fullmatch(r"(\d{4})-([TS])([1-4])", code)
    if not match:
        raise ValueError(f"code: expected a bin code such as '2025-T3', '2025-S2' or '2025', got {code!r}")
    msgid = "timebins.label.quarter" if match.group(2) == "T" else "timebins.label.half"
    return t(msgid, lang, year=match.group(1), number=match.group(3))


def bin_bounds(quarters: Sequence[str]) -> tuple[dt.date, dt.date]:
    """First and last day of the quarters (``["2025-T3", "2025-T4"]`` -> 1 July and 31 December 2025)."""
    parsed = sorted(parse_quarter(q) for q in quarters)
    (y0, q0), (y1, q1) = parsed[0], parsed[-1]
    start = dt.date(y0, 3 * q0 - 2, 1)
    end = dt.date(y1 + 1, 1, 1) if q1 == 4 else dt.date(y1, 3 * q1 + 1, 1)
    return start, end - dt.timedelta(days=1)


# ------------------------------------------------------------------------------------------- input
def _check_frame(frame: pd.DataFrame, levels: tuple[str, ...], period: str, count: str) -> None:
    missing = [c for c in (*levels, period, count) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame: expected columns {missing!r}, got {list(frame.columns)!r}")
    if len(set(levels)) != len(levels) or set(levels) & {period, count, *_TIME}:
        raise ValueError(f"levels: expected distinct group columns other than {period!r} and {count!r}, "
                         f"got {levels!r}")
    values = pd.to_numeric(frame[count], errors="coerce")
    if values.isna().any() or (values < 0).any() or (values != values.round()).any():
        raise ValueError(f"frame[{count!r}]: expected non-negative whole numbers of households, "
                         "got missing, negative or fractional values")


def _leaf_table(frame: pd.DataFrame, levels: tuple[str, ...], period: str, count: str) -> pd.DataFrame:
    """One row per finest group and quarter, from the group's first to its last quarter (0 when absent)."""
    base = frame[[*levels, period, count]].copy()
    for level in levels:
        base[level] = base[level].astype(str)
    base["_q"] = [_quarter_index(*parse_quarter(p)) for p in base[period]]
    base[count] = pd.to_numeric(base[count]).astype(int)
    sums = base.groupby([*levels, "_q"], sort=True)[count].sum()
    rows = []
    for group, series in sums.groupby(level=list(range(len(levels))), sort=True):
        group = group if isinstance(group, tuple) else (group,)
        quarters = series.index.get_level_values("_q")
        for q in range(int(quarters.min()), int(quarters.max()) + 1):
            rows.append((*group, q, int(series.get((*group, q), 0))))
    leaf = pd.DataFrame(rows, columns=[*levels, "_q", count])
    year, quarter = leaf["_q"] // 4, leaf["_q"] % 4 + 1
    leaf["_year"] = year.astype(str)
    leaf["_half"] = "S" + ((quarter + 1) // 2).astype(str)
    leaf["_quarter"] = "T" + quarter.astype(str)
    return leaf


# ------------------------------------------------------------------------------------------- bins
@dataclass
class _GroupCells:
    """The calendar cells of one group: time key -> (households, suppressed, primary)."""

    cells: dict[tuple[str, str, str], tuple[int, bool, bool]]

    def get(self, year: str = privacy.TOTAL, half: str = privacy.TOTAL,
            quarter: str = privacy.TOTAL) -> tuple[int, bool, bool]:
        return self.cells[(year, half, quarter)]

    def children(self, year: str = privacy.TOTAL, half: str = privacy.TOTAL) -> list[tuple[str, str, str]]:
        """Keys of the cells one calendar level below (years of the span, halves of a year...)."""
        if year == privacy.TOTAL:
            return sorted(k for k in self.cells if k[0] != privacy.TOTAL and k[1] == privacy.TOTAL)
        if half == privacy.TOTAL:
            return sorted(k for k in self.cells if k[0] == year and k[1] != privacy.TOTAL and k[2] == privacy.TOTAL)
        return sorted(k for k in self.cells if k[0] == year and k[1] == half and k[2] != privacy.TOTAL)

    def quarters(self, year: str = privacy.TOTAL, half: str = privacy.TOTAL) -> list[tuple[str, str, str]]:
        """Quarter keys under a calendar cell, in order."""
        return sorted(k for k in self.cells if k[2] != privacy.TOTAL
                      and year in (privacy.TOTAL, k[0]) and half in (privacy.TOTAL, k[1]))

    def hidden(self, key: tuple[str, str, str]) -> bool:
        return self.cells[key][1]

    def any_primary_under(self, year: str = privacy.TOTAL, half: str = privacy.TOTAL) -> bool:
        """Whether a cell under (or equal to) a calendar cell is below the threshold."""
        return any(v[2] for k, v in self.cells.items() if year in (privacy.TOTAL, k[0]) and half in (privacy.TOTAL, k[1]))


def _quarter_codes(keys: Sequence[tuple[str, str, str]]) -> tuple[str, ...]:
    return tuple(f"{y}-{q}" for y, _h, q in keys)


def _choose(cells: _GroupCells) -> list[tuple[tuple[str, str, str], tuple[str, ...]]]:
    """The published calendar cells of a group, each with its quarters (empty list: hidden)."""
    if cells.hidden((privacy.TOTAL,) * 3):
        return []
    years = cells.children()
    if any(cells.hidden(y) for y in years):
        return [((privacy.TOTAL,) * 3, _quarter_codes(cells.quarters()))]
    chosen = []
    for year_key in years:
        year = year_key[0]
        halves = cells.children(year)
        if any(cells.hidden(h) for h in halves):
            chosen.append((year_key, _quarter_codes(cells.quarters(year))))
            continue
        for half_key in halves:
            quarters = cells.quarters(year, half_key[1])
            if any(cells.hidden(q) for q in quarters):
                chosen.append((half_key, _quarter_codes(quarters)))
            else:
                chosen.extend((q, _quarter_codes([q])) for q in quarters)
    return chosen


def _reason(cells: _GroupCells, key: tuple[str, str, str]) -> str:
    return REASON_SMALL if cells.any_primary_under(key[0], key[1]) else REASON_PROTECTION


def _group_cells(cube: privacy.Cube, levels: tuple[str, ...]) -> dict[tuple[str, ...], _GroupCells]:
    frame = cube.cells
    out: dict[tuple[str, ...], _GroupCells] = {}
    columns = [*levels, *_TIME, cube.count, "suppressed", "primary"]
    for row in frame[columns].itertuples(index=False, name=None):
        group, time = tuple(row[:len(levels)]), tuple(row[len(levels):len(levels) + 3])
        value, suppressed, primary = row[len(levels) + 3:]
        out.setdefault(group, _GroupCells({})).cells[time] = (int(round(value)), bool(suppressed), bool(primary))
    return out


def _series_rows(group: tuple[str, ...], cells: _GroupCells,
                 chosen: list[tuple[tuple[str, str, str], tuple[str, ...]]]) -> tuple[list[dict], list[Merge]]:
    rows, merges = [], []
    cumulative = 0
    for key, quarters in chosen:
        households = cells.get(*key)[0]
        cumulative += households
        code = bin_code(quarters)
        start, end = bin_bounds(quarters)
        rows.append({"code": code, "start": start, "end": end, "quarters": quarters,
                     "households": households, "cumulative": cumulative})
        if len(quarters) > 1:
            merges.append(Merge(group, quarters, code, _reason(cells, key)))
    return rows, merges


def adaptive_bins(frame: pd.DataFrame, *, levels: Sequence[str], period: str = "period",
                  count: str = "households", threshold: int = privacy.THRESHOLD) -> TimeBins:
    """Merge quarters into half-years and years until every published bin of every group is safe.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy counts: the group columns ``levels``, a quarter code per row in ``period`` (``"2025-T3"``)
        and the households first met in ``count`` (several rows of one group and quarter are added up).
    levels : sequence of str
        The group hierarchy from the coarsest to the finest level, e.g. ``("region", "site")``: a
        parent is the sum of its children (households counted once, where first met). France, the
        total of everything, is always a group.
    period : str
        Column of quarter codes.
    count : str
        Column of household counts (non-negative whole numbers).
    threshold : int
        Households every published bin covers (default :data:`geo.privacy.THRESHOLD`, 11).

    Returns
    -------
    TimeBins
        Every published bin has at least ``threshold`` households, the bins of a group are disjoint
        and cover its span, their sum is the group's total; no hidden figure of the protected table
        can be narrowed below ``threshold`` households from all the published ones.

    Raises
    ------
    ValueError
        When a column is missing, a period is not a quarter code or a count is not a non-negative
        whole number.
    """
    levels = tuple(levels)
    if not levels:
        raise ValueError("levels: expected one or more group columns (e.g. ('region', 'site')), got none")
    _check_frame(frame, levels, period, count)
    if frame.empty:
        raise ValueError(f"frame: expected household counts, got no rows (columns {list(frame.columns)!r})")
    leaf = _leaf_table(frame, levels, period, count)
    cube = privacy.protect(privacy.build_cube(leaf, dims=(levels, _TIME), count=count, threshold=threshold))
    rows: list[dict] = []
    merges: list[Merge] = []
    hidden: list[HiddenSeries] = []
    for group, cells in sorted(_group_cells(cube, levels).items()):
        chosen = _choose(cells)
        if not chosen:
            reason = REASON_SMALL if cells.get()[2] else REASON_PROTECTION
            hidden.append(HiddenSeries(group, reason))
            continue
        series, group_merges = _series_rows(group, cells, chosen)
        rows.extend({**dict(zip(levels, group, strict=True)), **row} for row in series)
        merges.extend(group_merges)
    bins = pd.DataFrame(rows, columns=[*levels, "code", "start", "end", "quarters", "households", "cumulative"])
    logger.info("time bins: %d bin(s) over %d group(s), %d merge(s), %d series hidden", len(bins),
                bins[list(levels)].drop_duplicates().shape[0], len(merges), len(hidden))
    return TimeBins(bins, tuple(merges), tuple(hidden), levels, cube)


# ------------------------------------------------------------------------------------------- notes
def _periods_text(periods: Sequence[str], lang: str) -> str:
    if len(periods) > _LIST_MAX:
        return t("timebins.periods.range", lang, start=bin_label(periods[0], lang),
                 end=bin_label(periods[-1], lang))
    return format_list([bin_label(p, lang) for p in periods], locale=LOCALES[lang])


def merge_note(merge: Merge, lang: str = "fr", *, threshold: int = privacy.THRESHOLD) -> str:
    """The sentence explaining one merge (« 2025-T3 et 2025-T4 regroupés en 2025-S2 : moins de 11 ménages »)."""
    lang = normalise_lang(lang)
    if merge.reason not in REASONS:
        raise ValueError(f"merge.reason: expected one of {REASONS}, got {merge.reason!r}")
    return t(f"timebins.note.merged_{merge.reason}", lang, periods=_periods_text(merge.periods, lang),
             bin=bin_label(merge.into, lang), threshold=format_number(threshold, lang))


def notes(result: TimeBins, group: Sequence[str] = (), *, lang: str = "fr") -> list[str]:
    """The notes shown under a group's chart: one sentence per merge, or why the series is hidden.

    Parameters
    ----------
    result : TimeBins
    group : sequence of str
        As in :meth:`TimeBins.series` (``()`` for France).
    lang : {"fr", "en"}

    Returns
    -------
    list of str
        Empty when every quarter of the group is published as it is.
    """
    lang = normalise_lang(lang)
    threshold = result.cube.threshold
    reason = result.hidden_reason(group)
    if reason is not None:
        return [t(f"timebins.note.hidden_{reason}", lang, threshold=format_number(threshold, lang))]
    return [merge_note(m, lang, threshold=threshold) for m in result.merges_of(group)]
