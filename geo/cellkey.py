"""The cell-key method: consistent perturbation of published counts, against differencing between releases.

Why
---
Suppression (:mod:`geo.privacy`) protects one table. Two tables published at different dates are two
tables: the Île-de-France total of Monday subtracted from Tuesday's, after 7 households of a new site were
imported, gives those 7 households exactly, although the site itself is hidden on both days. The cell-key
method of the Australian Bureau of Statistics (TableBuilder, 2011 Census) and of the Office for National
Statistics (2021 Census) adds a small noise to every published count, chosen so that

* the **same cell always gets the same noise**: the noise depends only on *which records* the cell holds,
  through a key, never on the query, the release, the order of rows or a random draw -- asking again,
  or asking through another view, gives nothing new, and a cell whose content did not change keeps its
  published value from release to release;
* two cells that differ by a few records get **independent** noises, so the difference of two published
  counts is the true difference plus the difference of two noises: an attacker reading 1193 - 1186 = 7
  cannot tell whether 7 households were added, or 5, or 9.

How
---
1. **Record key.** Each record (a household, i.e. a door met) gets a fixed pseudo-random integer
   ``rkey`` in ``[0, 2**32)``: the first 4 bytes of ``HMAC-SHA-256(secret, stable id)``. Without the
   secret the keys cannot be computed (the noise cannot be removed by someone who knows the ids); with
   it, the same id always has the same key.
2. **Cell key.** A cell's key is the sum of its records' keys modulo ``2**32`` -- that is, the sum of
   the record keys scaled to ``[0, 1)`` modulo 1, computed exactly in integers so that it does not
   depend on the order of the records. A parent's key is the sum of its children's keys modulo ``2**32``.
3. **Perturbation table** (:class:`PTable`, built by :func:`make_ptable`). For a cell of ``n`` records
   and key ``u = ckey / 2**32``, the row of ``n`` splits ``[0, 1)`` into intervals, one per noise ``d``,
   of length ``p(d | n)``; the published count is ``n + d`` for the interval holding ``u``. Rows:

   ==================================  ======================================================================
   true count ``n``                    published count
   ==================================  ======================================================================
   0                                   0 (zeros stay zeros)
   1 … ``threshold - 1``               0 with probability ``1 - n / threshold``, ``threshold`` with
                                       probability ``n / threshold`` (never a value in 1 … 10)
   ``threshold`` … ``threshold + D-1`` ``n + d`` with ``d`` in ``[threshold - n, D]``: the base
                                       probabilities of the negative noises kept, those of the positive
                                       ones scaled down until the mean is 0, the rest on ``d = 0``
   ``threshold + D`` and above         ``n + d``, ``d`` in ``[-D, D]`` with the base probabilities
                                       (default ``D = 2``: 0.4 for 0, 0.2 for ±1, 0.1 for ±2)
   ==================================  ======================================================================

   Every row has mean noise 0 (published counts are unbiased), published counts are never negative and
   never in ``1 … threshold - 1``, and ``|d| <= D`` from ``threshold`` on.

Parameters
----------
``secret`` (at least 16 bytes, kept out of the code and the releases: whoever holds it can compute every
noise), ``threshold`` (11, :data:`geo.privacy.THRESHOLD`), ``max_noise`` ``D`` (2) and the base
probabilities of ``|d| = 0, 1, …, D`` (0.4, 0.2, 0.1: noise variance 1.2; the chance that a difference of
two independent cells comes out exact is 0.26).

Limits
------
* Noise is not suppression: a published 11 may be a true 3, which the threshold rule of
  :mod:`geo.privacy` forbids showing; releases apply the suppression first (on true counts) and then
  perturb the visible cells. A reader told the published figures are perturbed must not read a single
  small difference as a fact.
* Published cells no longer add up exactly (France is not exactly the sum of its published régions): each
  cell is perturbed on its own. Totals should be shown as published, not recomputed.
* Averaging defeats noise only when the same cell can be asked under *different* keys; here a cell has
  one key, so repeated queries return the same value. But many *different* cells that differ by the same
  records (e.g. 40 overlapping sums that all contain the 7 new households) each carry independent noise,
  and their mean differences converge to 7: the method bounds what one subtraction reveals, not what an
  unlimited family of overlapping cells reveals; keep the published table fixed (:mod:`geo.privacy`'s
  one cube, no free date ranges).
* A record whose stable id changes gets a new key: ids must be stable (the door's content key).
* Changing the secret or the table changes every published value: do it only with a new series of
  releases, never between two releases compared by readers.

Written here rather than taken from a library: the reference implementations (ABS TableBuilder, the
``cellKey`` / ``ptable`` R packages of sdcTools) are not available in Python; the method itself is the
few lines below.

>>> table = make_ptable()
>>> keys = record_keys([f"door-{i}" for i in range(40)], secret=b"0123456789abcdef")
>>> value = int(perturb([40], [cell_key(keys)], table=table)[0])
>>> value == int(perturb([40], [cell_key(keys[::-1])], table=table)[0]) and abs(value - 40) <= 2
True
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import privacy
from geo.privacy import THRESHOLD

logger = logging.getLogger(__name__)

#: Record and cell keys are integers modulo this (the "mod 1" of the method, scaled).
MODULUS = 2**32
#: Shortest secret accepted, in bytes.
MIN_SECRET_BYTES = 16
#: Default probabilities of |noise| = 0, 1, 2 for counts of threshold + 2 and more.
BASE_PROBABILITIES = (0.4, 0.2, 0.1)


# ------------------------------------------------------------------------------------------- keys
def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_SECRET_BYTES:
        got = f"{len(secret)} bytes" if isinstance(secret, bytes | bytearray) else type(secret).__name__
        raise ValueError(f"secret: expected at least {MIN_SECRET_BYTES} bytes, got {got}")


def record_keys(ids: Iterable[object], *, secret: bytes) -> np.ndarray:
    """The fixed record key of each stable id: 4 bytes of HMAC-SHA-256(secret, id) as an integer.

    Parameters
    ----------
    ids : iterable
        Stable record ids (converted with :func:`str`); the same id always gets the same key.
    secret : bytes
        The key of the HMAC (at least :data:`MIN_SECRET_BYTES` bytes).

    Returns
    -------
    numpy.ndarray of uint64
        Keys in ``[0, MODULUS)``.

    Raises
    ------
    ValueError
        When ``secret`` is too short or an id is missing.
    """
    _check_secret(secret)
    out = []
    for record_id in ids:
        if record_id is None or (isinstance(record_id, float) and np.isnan(record_id)):
            raise ValueError("ids: expected a stable id for every record, got a missing value")
        digest = hmac.new(bytes(secret), str(record_id).encode("utf-8"), hashlib.sha256).digest()
        out.append(int.from_bytes(digest[:4], "big"))
    return np.asarray(out, dtype=np.uint64)


def cell_key(keys: Iterable[int]) -> int:
    """Key of a cell: the sum of its records' keys modulo :data:`MODULUS` (order-independent)."""
    return int(sum(int(k) for k in keys) % MODULUS)


def combine_keys(cell_keys: Iterable[int]) -> int:
    """Key of a parent cell from its children's keys (the same sum modulo :data:`MODULUS`)."""
    return cell_key(cell_keys)


# ------------------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class PTable:
    """A perturbation table.

    Attributes
    ----------
    rows : pandas.DataFrame
        Columns ``count`` (the row's true count; the last row serves every larger count), ``noise``,
        ``probability``, ``lower`` and ``upper`` (the interval of ``[0, 1)`` of cell keys giving
        that noise).
    threshold : int
    max_noise : int
    """

    rows: pd.DataFrame
    threshold: int
    max_noise: int

    @property
    def last_row(self) -> int:
        """The count from which every row is the same (``threshold + max_noise``)."""
        return self.threshold + self.max_noise

    def distribution(self, count: int) -> pd.Series:
        """Probability of each noise for a cell of ``count`` records."""
        row = self.rows[self.rows["count"] == min(int(count), self.last_row)]
        return row.set_index("noise")["probability"]


def _check_table_options(threshold: int, max_noise: int, probabilities: Sequence[float]) -> None:
    if not isinstance(threshold, int | np.integer) or threshold < 2:
        raise ValueError(f"threshold: expected an integer of 2 or more, got {threshold!r}")
    if not isinstance(max_noise, int | np.integer) or not 1 <= max_noise < threshold:
        raise ValueError(f"max_noise: expected an integer from 1 to threshold - 1, got {max_noise!r}")
    if len(probabilities) != max_noise + 1 or any(p < 0 for p in probabilities):
        raise ValueError(f"probabilities: expected {max_noise + 1} non-negative numbers (|noise| = 0 … "
                         f"{max_noise}), got {tuple(probabilities)!r}")
    total = probabilities[0] + 2 * sum(probabilities[1:])
    if not np.isclose(total, 1.0):
        raise ValueError(f"probabilities: expected p(0) + 2 × (p(1) + … + p({max_noise})) = 1, got {total:g}")


def _row(count: int, threshold: int, base: dict[int, float]) -> dict[int, float]:
    """Noise -> probability for a cell of ``count`` records (zero mean, allowed values only)."""
    if count == 0:
        return {0: 1.0}
    if count < threshold:
        return {-count: 1.0 - count / threshold, threshold - count: count / threshold}
    allowed = {d: p for d, p in base.items() if count + d >= threshold and d != 0}
    negative = -sum(d * p for d, p in allowed.items() if d < 0)
    positive = sum(d * p for d, p in allowed.items() if d > 0)
    scale = min(1.0, negative / positive) if positive else 0.0
    row = {d: (p if d < 0 else p * scale) for d, p in allowed.items()}
    row = {d: p for d, p in row.items() if p > 0}
    row[0] = 1.0 - sum(row.values())
    return dict(sorted(row.items()))


def make_ptable(*, threshold: int = THRESHOLD, max_noise: int = 2,
                probabilities: Sequence[float] = BASE_PROBABILITIES) -> PTable:
    """Build the perturbation table described in the module docstring.

    Parameters
    ----------
    threshold : int
        Smallest published non-zero count (default 11, :data:`geo.privacy.THRESHOLD`).
    max_noise : int
        Largest noise, in records, for counts of ``threshold`` or more (default 2).
    probabilities : sequence of float
        Probabilities of ``|noise| = 0, 1, …, max_noise`` for large counts;
        ``p(0) + 2 × (p(1) + … + p(max_noise))`` must be 1.

    Returns
    -------
    PTable

    Raises
    ------
    ValueError
        When an option is out of range.
    """
    probabilities = tuple(float(p) for p in probabilities)
    _check_table_options(threshold, max_noise, probabilities)
    base = {0: probabilities[0]}
    for size, p in enumerate(probabilities[1:], start=1):
        base[size] = base[-size] = p
    records = []
    for count in range(threshold + max_noise + 1):
        cumulative = 0.0
        for noise, p in _row(count, threshold, base).items():
            records.append((count, noise, p, cumulative, cumulative + p))
            cumulative += p
    rows = pd.DataFrame(records, columns=["count", "noise", "probability", "lower", "upper"])
    rows["upper"] = rows["upper"].where(rows.groupby("count")["upper"].transform("max") != rows["upper"], 1.0)
    return PTable(rows, int(threshold), int(max_noise))


# ------------------------------------------------------------------------------------------- perturbation
def noise(counts: Sequence[int] | np.ndarray, keys: Sequence[int] | np.ndarray, *, table: PTable) -> np.ndarray:
    """The noise of each cell, read in ``table`` at (count, key).

    Parameters
    ----------
    counts : array-like of int
        True counts (non-negative whole numbers).
    keys : array-like of int
        Cell keys in ``[0, MODULUS)``, one per count.
    table : PTable

    Returns
    -------
    numpy.ndarray of int

    Raises
    ------
    ValueError
        When the lengths differ, a count is negative or fractional, or a key is out of range.
    """
    counts = np.asarray(counts, dtype=float)
    keys = np.asarray(keys, dtype=np.float64)
    if counts.shape != keys.shape:
        raise ValueError(f"keys: expected one key per count ({counts.shape}), got {keys.shape}")
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("counts: expected non-negative whole numbers, got negative or fractional values")
    if (keys < 0).any() or (keys >= MODULUS).any():
        raise ValueError(f"keys: expected cell keys in [0, {MODULUS}), got values outside")
    position = keys / MODULUS
    rows = np.minimum(counts.astype(np.int64), table.last_row)
    out = np.zeros(len(counts), dtype=np.int64)
    for count, group in table.rows.groupby("count"):
        mask = rows == count
        if mask.any():
            slot = np.searchsorted(group["upper"].to_numpy(), position[mask], side="right")
            out[mask] = group["noise"].to_numpy()[np.minimum(slot, len(group) - 1)]
    return out


def perturb(counts: Sequence[int] | np.ndarray, keys: Sequence[int] | np.ndarray, *, table: PTable) -> np.ndarray:
    """Published counts: ``count + noise(count, key)`` (see :func:`noise`)."""
    return np.asarray(counts, dtype=np.int64) + noise(counts, keys, table=table)


def perturbed_counts(records: pd.DataFrame, *, by: Sequence[str], key: str = "record_key",
                     table: PTable) -> pd.DataFrame:
    """Count records per cell and perturb the counts.

    Parameters
    ----------
    records : pandas.DataFrame
        One row per record (household), with its record key in ``key`` (:func:`record_keys`).
    by : sequence of str
        Columns defining the cells (``()`` for the grand total).
    key : str
        Column of record keys.
    table : PTable

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``count`` (true), ``cell_key`` and ``published``.
    """
    by = list(by)
    missing = [c for c in [*by, key] if c not in records.columns]
    if missing:
        raise ValueError(f"records: expected columns {missing!r}, got {list(records.columns)!r}")
    keys = records[key].astype("uint64")
    if by:
        grouped = keys.groupby([records[c] for c in by], sort=True, observed=True)
        cells = pd.DataFrame({"count": grouped.size(), "cell_key": grouped.agg(cell_key)}).reset_index()
    else:
        cells = pd.DataFrame({"count": [len(records)], "cell_key": [cell_key(keys)]})
    cells["cell_key"] = cells["cell_key"].astype("int64")
    cells["published"] = perturb(cells["count"].to_numpy(), cells["cell_key"].to_numpy(), table=table)
    return cells


def cube_cell_keys(cube: privacy.Cube, leaf_keys: pd.DataFrame, *, key: str = "cell_key") -> np.ndarray:
    """The key of every cell of a :class:`geo.privacy.Cube`, from the keys of its finest cells.

    Parameters
    ----------
    cube : geo.privacy.Cube
    leaf_keys : pandas.DataFrame
        One row per finest cell (or per record): every level column of the cube and its key in ``key``.
        Rows of one cell are combined (sum modulo :data:`MODULUS`).
    key : str

    Returns
    -------
    numpy.ndarray of int64
        One key per row of ``cube.cells``, in order.
    """
    missing = [c for c in [*cube.levels, key] if c not in leaf_keys.columns]
    if missing:
        raise ValueError(f"leaf_keys: expected columns {missing!r}, got {list(leaf_keys.columns)!r}")
    base = leaf_keys[[*cube.levels, key]].copy()
    for level in cube.levels:
        base[level] = base[level].astype(str)
    base[key] = base[key].astype("int64") % MODULUS
    depth_cols = [f"depth_{i}" for i in range(len(cube.dims))]
    out = np.zeros(len(cube.cells), dtype=np.int64)
    for depth, rows in cube.cells.groupby(depth_cols, sort=False):
        depth = depth if isinstance(depth, tuple) else (depth,)
        cols = [lvl for dim, k in zip(cube.dims, depth, strict=True) for lvl in dim[:k]]
        if cols:
            sums = base.groupby(cols, sort=False)[key].sum() % MODULUS
            index = pd.MultiIndex.from_frame(rows[cols]) if len(cols) > 1 else pd.Index(rows[cols[0]])
            out[rows.index.to_numpy()] = sums.reindex(index).fillna(0).to_numpy(dtype=np.int64)
        else:
            out[rows.index.to_numpy()] = int(base[key].sum()) % MODULUS
    return out


def perturb_cube(cube: privacy.Cube, leaf_keys: pd.DataFrame, *, table: PTable,
                 key: str = "cell_key") -> pd.DataFrame:
    """Published household counts of a protected cube: suppressed cells hidden, the others perturbed.

    Suppression is decided on the true counts (:func:`geo.privacy.protect`); the visible cells then get
    their cell-key noise, so that the same cell always reads the same and a difference between two
    releases is blurred.

    Parameters
    ----------
    cube : geo.privacy.Cube
        A protected cube (its count measure is a number of records).
    leaf_keys : pandas.DataFrame
        As in :func:`cube_cell_keys`.
    table : PTable
    key : str

    Returns
    -------
    pandas.DataFrame
        The cube's level and depth columns, ``suppressed`` and ``published`` (NaN when suppressed).
    """
    keys = cube_cell_keys(cube, leaf_keys, key=key)
    counts = cube.cells[cube.count].to_numpy(dtype=float)
    published = perturb(np.round(counts), keys, table=table).astype(float)
    suppressed = cube.cells["suppressed"].to_numpy(dtype=bool)
    depth_cols = [f"depth_{i}" for i in range(len(cube.dims))]
    out = cube.cells[[*cube.levels, *depth_cols, "suppressed"]].copy()
    out["published"] = np.where(suppressed, np.nan, published)
    return out
