"""The funders' figures read from a release: totals, trend series and notes of every published group.

Pure functions over :meth:`geo.coverage.releases.ReleaseStore.cells` (the cells as published, already
suppressed and perturbed): nothing here sees a true count. A group's total is the sum of its published
bins, so the cumulative line of its trend ends exactly at the figure shown beside it. A group hidden in
a block (a series below 11 households over the whole block) adds nothing for that block; the notes say so.

>>> figures = ReleaseFigures.from_store(store)                 # doctest: +SKIP
>>> figures.total(()), figures.series(("11",), lang="fr")      # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from geo import privacy, timebins
from geo.coverage import release_records
from geo.coverage.releases import Release, ReleaseStore
from geo.i18n import format_date, format_number, normalise_lang, t

logger = logging.getLogger(__name__)


#: Note of a bin by (series hidden, reason).
NOTES: dict[tuple[bool, str], str] = {
    (True, timebins.REASON_SMALL): "release.note.hidden_small",
    (True, timebins.REASON_PROTECTION): "release.note.hidden_protection",
    (False, timebins.REASON_SMALL): "release.note.merged_small",
    (False, timebins.REASON_PROTECTION): "release.note.merged_protection",
}


@dataclass(frozen=True)
class ReleaseFigures:
    """Cells of the latest release (every block published so far).

    Attributes
    ----------
    release : Release or None
        The latest release; None before the first one (every figure is then missing).
    cells : pandas.DataFrame
        :meth:`ReleaseStore.cells`.
    """

    release: Release | None
    cells: pd.DataFrame

    @classmethod
    def from_store(cls, store: ReleaseStore, *, version: int | None = None) -> ReleaseFigures:
        """The figures of ``store`` as of ``version`` (default: the latest release)."""
        releases = store.releases()
        if not releases:
            return cls(None, pd.DataFrame(columns=["code", "start_date", "end_date", "households", "doors_opened",
                                                   "reason", "version"]))
        release = releases[-1] if version is None else next(r for r in releases if r.version == int(version))
        return cls(release, store.cells(release.version))

    @property
    def levels(self) -> tuple[str, ...]:
        """Group levels of the release (coarsest first)."""
        return self.release.levels if self.release else ()

    @property
    def empty(self) -> bool:
        """True before the first release."""
        return self.release is None or self.cells.empty

    def _mask(self, group: Sequence[str]) -> pd.Series:
        codes = [str(c) for c in group]
        if len(codes) > len(self.levels):
            raise ValueError(f"group: expected at most {len(self.levels)} codes ({self.levels}), got {codes!r}")
        key = codes + [privacy.TOTAL] * (len(self.levels) - len(codes))
        mask = pd.Series(True, index=self.cells.index)
        for level, code in zip(self.levels, key, strict=True):
            mask &= self.cells[level] == code
        return mask

    def series(self, group: Sequence[str] = (), *, lang: str = "fr") -> pd.DataFrame:
        """Published bins of a group in time order: ``code, label, start_date, end_date, households,
        cumulative, doors_opened, reason, version`` (hidden blocks left out; ``doors_opened`` missing in
        the blocks of releases made before doors were published)."""
        lang = normalise_lang(lang)
        columns = ["code", "label", "start_date", "end_date", "households", "cumulative", "doors_opened", "reason",
                   "version"]
        if self.empty:
            return pd.DataFrame(columns=columns)
        frame = self.cells[self._mask(group) & self.cells["households"].notna()]
        frame = frame.sort_values("start_date").reset_index(drop=True)
        frame["households"] = frame["households"].astype(int)
        frame["cumulative"] = frame["households"].cumsum().astype(int)
        frame.insert(1, "label", [timebins.bin_label(c, lang) for c in frame["code"]])
        if "doors_opened" not in frame.columns:
            frame["doors_opened"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
        return frame[columns]

    def total(self, group: Sequence[str] = ()) -> int | None:
        """Households met by a group over every released block (sum of its published bins), None when
        the group has no published bin."""
        series = self.series(group)
        return None if series.empty else int(series["cumulative"].iat[-1])

    def doors_total(self, group: Sequence[str] = ()) -> int | None:
        """Doors opened by a group over every released block (sum of its published bins), None when the
        group has no published bin or a block of it was released before doors were published (a partial
        sum would read as the whole)."""
        series = self.series(group)
        if series.empty or series["doors_opened"].isna().any():
            return None
        return int(series["doors_opened"].astype("Int64").sum())

    def groups(self, depth: int, *, within: Sequence[str] = ()) -> pd.DataFrame:
        """Groups of one depth (1: régions, 2: sites, 3: QPV) under ``within``, each with its total.

        Returns
        -------
        pandas.DataFrame
            The first ``depth`` level columns and ``households`` (``Int64``, missing when the group has
            no published bin).
        """
        if self.empty:
            return pd.DataFrame(columns=[*release_records.LEVELS[:depth], "households"])
        if not 1 <= depth <= len(self.levels):
            raise ValueError(f"depth: expected 1 to {len(self.levels)}, got {depth!r}")
        names = list(self.levels[:depth])
        frame = self.cells
        deeper = list(self.levels[depth:])
        mask = (frame[names[-1]] != privacy.TOTAL)
        for level in deeper:
            mask &= frame[level] == privacy.TOTAL
        for level, code in zip(names, within, strict=False):
            mask &= frame[level] == str(code)
        rows = frame[mask]
        totals = rows.groupby(names, sort=True)["households"].sum(min_count=1).astype("Int64").reset_index()
        return totals

    def notes(self, group: Sequence[str] = (), *, lang: str = "fr") -> list[str]:
        """Why some periods of a group are merged or missing, one sentence per reason, and the release."""
        lang = normalise_lang(lang)
        if self.empty:
            return []
        frame = self.cells[self._mask(group)].sort_values("start_date")
        threshold = format_number(privacy.THRESHOLD, lang)
        out = []
        for row in frame.itertuples(index=False):
            if pd.isna(row.reason):
                continue
            msgid = NOTES[(pd.isna(row.households), str(row.reason))]
            out.append(t(msgid, lang, bin=timebins.bin_label(row.code, lang), threshold=threshold))
        out.append(self.caption(lang))
        return out

    def caption(self, lang: str = "fr") -> str:
        """« Publication n° 3 du 1 avril 2026, périodes 2024-T1 à 2026-T1 ; chiffres légèrement perturbés »."""
        lang = normalise_lang(lang)
        if self.release is None:
            return t("release.none", lang)
        first = self.cells["start_date"].min() if len(self.cells) else None
        start = timebins.bin_label(_quarter_of(first), lang) if first is not None else self.release.first_period
        return t("release.caption", lang, version=self.release.version,
                 date=format_date(self.release.published_at.date(), lang), start=start,
                 end=timebins.bin_label(self.release.through_period, lang))


def _quarter_of(day: object) -> str:
    stamp = pd.Timestamp(day)
    return timebins.quarter_code(stamp.year, (stamp.month - 1) // 3 + 1)
