"""Releases: the funders' figures as frozen, versioned snapshots of closed periods.

Why
---
A live table read twice, before and after an import, gives the imported households by subtraction, and
a suppression pattern recomputed on new data publishes cells hidden the day before. Funders' figures
therefore come from **releases**:

* a release (:class:`Release`) has a version (1, 2, …), a date, and covers a **block** of closed
  quarters, ``first_period`` … ``through_period``, that follows the previous release's block with
  neither gap nor overlap;
* its cells -- the adaptive time bins of :mod:`geo.timebins` of every group (France, régions, sites)
  over that block, their household counts perturbed by the cell-key method of :mod:`geo.cellkey` -- are
  written once and **never revised**: the store has no update or delete, and a later release only adds
  the cells of its own block. The latest release shows every block published so far;
* **late data** for quarters already released waits for the next release, where it is counted in the
  first quarter of that release's block (:func:`reporting_periods`), mixed with that quarter's other
  households and protected like them. A record's reporting quarter depends only on its quarter, its
  arrival time and the release dates, so it never moves from one release to the next;
* blocks are protected independently (suppression within the block's own geography × calendar table,
  then perturbation); no published cell spans two blocks, so no sum links a hidden cell of one block to
  the cells of another, and the cumulative of a series is the running sum of its published bins.

What is stored: per release, its dates and parameters; per cell, the group's codes, the bin code and
dates, the published (perturbed) household count and count of doors opened, and the reason a bin was
merged or a series hidden.
No visit, door, record id, true count or secret is stored, and nothing here logs them.

Tables ``release_versions`` and ``release_cells`` live in the door-visit store's database, with their own
Alembic chain (``geo/coverage/release_migrations``, version table :data:`VERSION_TABLE`), so their
schema evolves independently of the visits' and the accounts'.

Limits: a block with a single quarter cannot merge quarters (a small site's quarter is hidden rather than
merged): release yearly or half-yearly blocks for small networks. A group hidden in one block has no bin
there and its cumulative skips it (the note says so).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import cellkey, privacy, timebins
from geo._errors import VoisinmapError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "release_migrations"
#: Alembic version table of the releases schema.
VERSION_TABLE = "voisinmap_release_version"
#: Separator of the group codes in a stored group key (codes may not contain it).
KEY_SEPARATOR = "|"
#: Name of the protection method, stored with each release.
METHOD = "adaptive-bins+cellkey"

metadata = sa.MetaData()

RELEASES = sa.Table(
    "release_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.Column("first_period", sa.String(7), nullable=False),
    sa.Column("through_period", sa.String(7), nullable=False),
    sa.Column("levels", sa.String(255), nullable=False),
    sa.Column("method", sa.String(64), nullable=False),
    sa.Column("n_cells", sa.Integer, nullable=False),
)

#: One published bin (or one hidden series, ``households`` NULL) of a release's block; ``doors_opened`` is
#: NULL where hidden and in the cells of releases published before it was (migration ``release_0002``).
CELLS = sa.Table(
    "release_cells",
    metadata,
    sa.Column("version", sa.Integer, sa.ForeignKey("release_versions.version"), primary_key=True),
    sa.Column("group_key", sa.String(255), primary_key=True),
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("households", sa.Integer, nullable=True),
    sa.Column("reason", sa.String(16), nullable=True),
    sa.Column("doors_opened", sa.Integer, nullable=True),
)


class ReleaseError(VoisinmapError, ValueError):
    """A release that would overlap, leave a gap, change the groups or revise a published cell."""


@dataclass(frozen=True)
class Release:
    """One release: its version, date and block of quarters."""

    version: int
    published_at: dt.datetime
    first_period: str
    through_period: str
    levels: tuple[str, ...]
    method: str
    n_cells: int


# ------------------------------------------------------------------------------------------- periods
def next_quarter(code: str) -> str:
    """The quarter after ``code`` (``"2025-T4"`` -> ``"2026-T1"``)."""
    year, quarter = timebins.parse_quarter(code)
    return timebins.quarter_code(year + quarter // 4, quarter % 4 + 1)


def reporting_periods(records: pd.DataFrame, *, releases: Sequence[Release], period: str = "period",
                      arrived: str = "arrived_at") -> pd.Series:
    """The quarter each record is counted in: its own, or the next release's first quarter when it arrived
    after its quarter was released.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per record with its quarter code in ``period`` and its arrival time (import time) in
        ``arrived``.
    releases : sequence of Release
        The releases already published.
    period, arrived : str
        Column names.

    Returns
    -------
    pandas.Series of str
        Quarter codes, aligned with ``records``.
    """
    missing = [c for c in (period, arrived) if c not in records.columns]
    if missing:
        raise ValueError(f"records: expected columns {missing!r}, got {list(records.columns)!r}")
    codes = records[period].astype(str)
    for code in codes.unique():
        timebins.parse_quarter(code)
    if not releases:
        return codes.rename("reporting_period")
    ordered = sorted(releases, key=lambda r: r.version)
    dates = np.array([np.datetime64(r.published_at) for r in ordered])
    firsts = np.array([r.first_period for r in ordered] + [next_quarter(ordered[-1].through_period)])
    arrival = pd.to_datetime(records[arrived]).to_numpy(dtype="datetime64[us]")
    # the first release published at or after the record's arrival (or the next one, not yet published)
    floor = firsts[np.searchsorted(dates, arrival, side="left")]
    own = codes.to_numpy(dtype=str)
    return pd.Series(np.where(own < floor, floor, own), index=records.index, name="reporting_period")


# ------------------------------------------------------------------------------------------- cells
def _group_key(codes: Sequence[str]) -> str:
    bad = [c for c in codes if KEY_SEPARATOR in str(c)]
    if bad:
        raise ValueError(f"group codes: expected codes without {KEY_SEPARATOR!r}, got {bad!r}")
    return KEY_SEPARATOR.join(str(c) for c in codes)


def _bin_counts(records: pd.DataFrame, bins: pd.DataFrame, levels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Records of each bin (its group and quarters) and the bin's cell key, the sum of their record keys."""
    keys = records["record_key"].to_numpy(dtype=np.uint64)
    counts = np.zeros(len(bins), dtype=np.int64)
    out = np.zeros(len(bins), dtype=np.int64)
    for i, (group, quarters) in enumerate(zip(bins[list(levels)].itertuples(index=False, name=None),
                                              bins["quarters"], strict=True)):
        mask = records["reporting_period"].isin(quarters).to_numpy()
        for level, code in zip(levels, group, strict=True):
            if code != privacy.TOTAL:
                mask = mask & (records[level] == code).to_numpy()
        counts[i] = int(mask.sum())
        out[i] = cellkey.cell_key(keys[mask])
    return counts, out


def _prepared(records: pd.DataFrame, *, levels: tuple[str, ...], first: str, through: str, secret: bytes,
              releases: Sequence[Release], id_column: str) -> pd.DataFrame:
    """The records of the block (by reporting quarter) with their record keys."""
    frame = records.copy()
    frame["reporting_period"] = reporting_periods(frame, releases=releases)
    frame = frame[(frame["reporting_period"] >= first) & (frame["reporting_period"] <= through)].copy()
    for level in levels:
        frame[level] = frame[level].astype(str)
    frame["record_key"] = cellkey.record_keys(frame[id_column], secret=secret) if len(frame) else \
        pd.Series([], dtype="uint64")
    return frame


def _published_doors(doors: pd.DataFrame | None, bins: pd.DataFrame, households: np.ndarray, *,
                     levels: tuple[str, ...], table: cellkey.PTable, block: dict) -> list[int | None]:
    """Doors opened of each published bin, perturbed with their own cell keys and never below the bin's
    published households (every household met is a door opened in its bin); None without door records."""
    if doors is None:
        return [None] * len(bins)
    frame = _prepared(doors, levels=levels, **block)
    counts, keys = _bin_counts(frame, bins, levels)
    published = cellkey.perturb(counts, keys, table=table)
    return [int(v) for v in np.maximum(published, households)]


def block_cells(records: pd.DataFrame, *, levels: Sequence[str], first: str, through: str, secret: bytes,
                releases: Sequence[Release] = (), table: cellkey.PTable | None = None,
                threshold: int = privacy.THRESHOLD, id_column: str = "id",
                doors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cells a release publishes for its block ``first`` … ``through`` (pure; nothing stored).

    Parameters
    ----------
    records : pandas.DataFrame
        One row per household met: the ``levels`` columns, ``period`` (quarter first met),
        ``arrived_at`` (import time) and a stable id in ``id_column``.
    levels : sequence of str
        Group hierarchy (e.g. ``("region", "site")``).
    first, through : str
        The block's first and last quarters.
    secret : bytes
        Cell-key secret (:func:`geo.cellkey.record_keys`).
    releases : sequence of Release
        Releases already published (late data is counted in ``first``).
    table : geo.cellkey.PTable, optional
        Perturbation table (default :func:`geo.cellkey.make_ptable` at ``threshold``).
    threshold : int
    id_column : str
    doors : pandas.DataFrame, optional
        One row per door opened (:func:`geo.coverage.release_records.door_records`), columns as
        ``records``. Its counts are published in the households' bins and hidden with them: the same
        cells of the same protected table, so no sum of published door counts isolates a hidden one
        (the households' audit holds for any additive measure of those cells), each perturbed with the
        keys of its own visits.

    Returns
    -------
    pandas.DataFrame
        ``group_key``, ``code``, ``start_date``, ``end_date``, ``households`` (published; None for a
        hidden series), ``doors_opened`` (published; None when hidden or without ``doors``) and ``reason``.
    """
    levels = tuple(levels)
    if through < first:
        raise ReleaseError(f"through: expected a quarter at or after {first}, got {through}")
    table = table or cellkey.make_ptable(threshold=threshold)
    block = {"first": first, "through": through, "secret": secret, "releases": releases, "id_column": id_column}
    frame = _prepared(records, levels=levels, **block)
    columns = ["group_key", "code", "start_date", "end_date", "households", "doors_opened", "reason"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.groupby([*levels, "reporting_period"], as_index=False).size()
    result = timebins.adaptive_bins(counts, levels=levels, period="reporting_period", count="size",
                                    threshold=threshold)
    bins = result.bins
    published = cellkey.perturb(bins["households"].to_numpy(), _bin_counts(frame, bins, levels)[1], table=table)
    opened = _published_doors(doors, bins, published, levels=levels, table=table, block=block)
    reasons = {(m.group, m.into): m.reason for m in result.merges}
    rows = [{"group_key": _group_key(group), "code": code, "start_date": start, "end_date": end,
             "households": int(value), "doors_opened": door, "reason": reasons.get((group, code))}
            for group, code, start, end, value, door in zip(bins[list(levels)].itertuples(index=False, name=None),
                                                            bins["code"], bins["start"], bins["end"], published,
                                                            opened, strict=True)]
    quarters = _quarters(first, through)
    start, end = timebins.bin_bounds(quarters)
    rows += [{"group_key": _group_key(h.group), "code": timebins.bin_code(quarters),
              "start_date": start, "end_date": end, "households": None, "doors_opened": None, "reason": h.reason}
             for h in result.hidden]
    return pd.DataFrame(rows, columns=columns)


def _quarters(first: str, through: str) -> list[str]:
    out = [first]
    while out[-1] < through:
        out.append(next_quarter(out[-1]))
    return out


# ------------------------------------------------------------------------------------------- store
def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Migrate the releases tables to ``revision`` (their own Alembic chain; other tables untouched)."""
    from geo.db import migrate

    migrate(engine, MIGRATIONS_DIR, VERSION_TABLE, revision=revision)
    logger.debug("releases schema at %s (version table %s)", revision, VERSION_TABLE)


def open_releases(url: str | None = None) -> ReleaseStore:
    """The release store of the database at ``url`` (default :func:`geo.config.database_url`), migrated."""
    from geo.db import make_engine

    return ReleaseStore(make_engine(url))


def _release(row: sa.Row) -> Release:
    return Release(int(row.version), row.published_at, row.first_period, row.through_period,
                   tuple(row.levels.split(",")), row.method, int(row.n_cells))


class ReleaseStore:
    """The releases kept in one database (see :func:`open_releases`).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        Engine of the database (the door-visit store's, :func:`geo.db.make_engine`).
    migrate : bool
        Bring the ``release_*`` tables to the latest schema first (default True).
    """

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        self.engine = engine
        if migrate:
            upgrade(engine)

    def releases(self) -> list[Release]:
        """Every release, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(RELEASES).order_by(RELEASES.c.version)).all()
        return [_release(r) for r in rows]

    def latest(self) -> Release | None:
        """The latest release, or None before the first one."""
        releases = self.releases()
        return releases[-1] if releases else None

    def publish(self, cells: pd.DataFrame, *, levels: Sequence[str], first: str, through: str,
                published_at: dt.datetime, method: str = METHOD) -> Release:
        """Freeze the cells of a new block as the next release (one transaction; nothing is revised).

        Parameters
        ----------
        cells : pandas.DataFrame
            From :func:`block_cells`.
        levels : sequence of str
            Group levels of the cells (the same for every release).
        first, through : str
            The block: ``first`` must be the quarter after the previous release's ``through``.
        published_at : datetime.datetime
            Date of the release (naive UTC), after the previous one's.
        method : str

        Returns
        -------
        Release

        Raises
        ------
        ReleaseError
            When the block overlaps or leaves a gap after the previous one, the date goes back, the
            levels change, a cell lies outside the block, or another release was published meanwhile.
        """
        levels = tuple(levels)
        _check_block_cells(cells, first, through)
        from geo.db import write_transaction

        with write_transaction(self.engine) as conn:
            last = conn.execute(sa.select(RELEASES).order_by(RELEASES.c.version.desc()).limit(1)).first()
            previous = _release(last) if last is not None else None
            _check_next(previous, levels=levels, first=first, through=through, published_at=published_at)
            release = Release((previous.version if previous else 0) + 1, published_at, first, through,
                              levels, method, len(cells))
            try:
                conn.execute(RELEASES.insert().values(
                    version=release.version, published_at=published_at, first_period=first,
                    through_period=through, levels=",".join(levels), method=method, n_cells=len(cells)))
            except sa.exc.IntegrityError as exc:
                raise ReleaseError(f"version: expected {release.version} to be free, got a release "
                                   "published meanwhile (publish again)") from exc
            if len(cells):
                rows = cells.assign(version=release.version).astype(object)
                rows = rows.where(pd.notna(rows), None)
                conn.execute(CELLS.insert(), rows.to_dict("records"))
        logger.info("release %d published: %s to %s, %d cell(s)", release.version, first, through, len(cells))
        return release

    def cells(self, version: int | None = None) -> pd.DataFrame:
        """Every cell published up to ``version`` (default: the latest), as published.

        Returns
        -------
        pandas.DataFrame
            The level columns, ``code``, ``start_date``, ``end_date``, ``households`` and ``doors_opened``
            (``Int64``, missing for a hidden series; doors also in releases made before they were published),
            ``reason`` and ``version`` (the release that published the cell).
        """
        releases = self.releases()
        if not releases:
            return pd.DataFrame(columns=["code", "start_date", "end_date", "households", "doors_opened", "reason",
                                         "version"])
        version = releases[-1].version if version is None else int(version)
        known = {r.version for r in releases}
        if version not in known:
            raise ValueError(f"version: expected one of {sorted(known)}, got {version!r}")
        levels = list(releases[-1].levels)
        query = (sa.select(CELLS).where(CELLS.c.version <= version)
                 .order_by(CELLS.c.group_key, CELLS.c.start_date))
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=[c.name for c in CELLS.columns])
        codes = frame["group_key"].str.split(KEY_SEPARATOR, expand=True, regex=False) if len(frame) else None
        for i, level in enumerate(levels):
            frame[level] = codes[i] if codes is not None else pd.Series(dtype=str)
        for measure in ("households", "doors_opened"):
            frame[measure] = pd.to_numeric(frame[measure], errors="coerce").astype("Int64")
        frame["reason"] = frame["reason"].astype("string")
        return frame[[*levels, "code", "start_date", "end_date", "households", "doors_opened", "reason", "version"]]

    def series(self, group: Sequence[str] = (), *, version: int | None = None) -> pd.DataFrame:
        """The published bins of one group across releases, with the cumulative on the published bins.

        Parameters
        ----------
        group : sequence of str
            Codes from the coarsest level (``()`` for France).
        version : int, optional
            Read as of this release (default: the latest).
        """
        latest = self.latest()
        if latest is None:
            return pd.DataFrame(columns=["code", "start_date", "end_date", "households", "cumulative", "reason"])
        codes = [str(c) for c in group]
        key = _group_key(codes + [privacy.TOTAL] * (len(latest.levels) - len(codes)))
        frame = self.cells(version)
        frame = frame[frame[list(latest.levels)].agg(KEY_SEPARATOR.join, axis=1) == key]
        frame = frame.sort_values("start_date").reset_index(drop=True)
        frame["cumulative"] = frame["households"].fillna(0).cumsum().astype(int)
        return frame[["code", "start_date", "end_date", "households", "cumulative", "reason", "version"]]


def _check_block_cells(cells: pd.DataFrame, first: str, through: str) -> None:
    missing = [c for c in ("group_key", "code", "start_date", "end_date", "households", "reason")
               if c not in cells.columns]
    if missing:
        raise ValueError(f"cells: expected columns {missing!r}, got {list(cells.columns)!r}")
    start, end = timebins.bin_bounds([first, through])
    outside = cells[(pd.to_datetime(cells["start_date"]) < pd.Timestamp(start))
                    | (pd.to_datetime(cells["end_date"]) > pd.Timestamp(end))]
    if len(outside):
        raise ReleaseError(f"cells: expected cells within {first} … {through}, got {outside['code'].iat[0]!r} "
                           "(a published cell is never revised)")


def _check_next(previous: Release | None, *, levels: tuple[str, ...], first: str, through: str,
                published_at: dt.datetime) -> None:
    timebins.parse_quarter(first)
    timebins.parse_quarter(through)
    if through < first:
        raise ReleaseError(f"through: expected a quarter at or after {first}, got {through}")
    if previous is None:
        return
    expected = next_quarter(previous.through_period)
    if first != expected:
        raise ReleaseError(f"first: expected {expected} (the quarter after release {previous.version}, "
                           f"through {previous.through_period}), got {first}")
    if levels != previous.levels:
        raise ReleaseError(f"levels: expected {previous.levels} as in release {previous.version}, got {levels}")
    if published_at <= previous.published_at:
        raise ReleaseError(f"published_at: expected a date after release {previous.version} "
                           f"({previous.published_at:%Y-%m-%d %H:%M}), got {published_at:%Y-%m-%d %H:%M}")


def create_release(store: ReleaseStore, records: pd.DataFrame, *, levels: Sequence[str], through: str,
                   secret: bytes, published_at: dt.datetime, first: str | None = None,
                   threshold: int = privacy.THRESHOLD, doors: pd.DataFrame | None = None) -> Release:
    """Compute and freeze the next release, through the closed quarter ``through``.

    Records that arrived after ``published_at`` wait for the next release; records of quarters already
    released that arrived since are counted in this release's first quarter.

    Parameters
    ----------
    store : ReleaseStore
    records : pandas.DataFrame
        As in :func:`block_cells`.
    levels : sequence of str
    through : str
        Last (closed) quarter of the new block.
    secret : bytes
        Cell-key secret, the same for every release.
    published_at : datetime.datetime
        Date of the release (naive UTC).
    first : str, optional
        First quarter of the first release (default: the earliest quarter of ``records``); later
        releases start after the previous one.
    threshold : int
    doors : pandas.DataFrame, optional
        Doors opened, as in :func:`block_cells` (the same arrival rule applies).

    Returns
    -------
    Release
    """
    releases = store.releases()
    if releases:
        first = next_quarter(releases[-1].through_period)
    elif first is None:
        first = str(records["period"].min())
    arrived = pd.to_datetime(records["arrived_at"]) <= pd.Timestamp(published_at)
    if doors is not None:
        doors = doors[(pd.to_datetime(doors["arrived_at"]) <= pd.Timestamp(published_at)).to_numpy()]
    cells = block_cells(records[arrived.to_numpy()], levels=levels, first=first, through=through, secret=secret,
                        releases=releases, threshold=threshold, doors=doors)
    return store.publish(cells, levels=levels, first=first, through=through, published_at=published_at)
