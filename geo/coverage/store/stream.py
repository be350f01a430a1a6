"""Door visits and roll-up rows read back in chunks, inside one read snapshot, for the prepared arrays.

>>> with snapshot(engine) as conn:                                        # doctest: +SKIP
...     n = count_located(conn)
...     for chunk in iter_events(conn, chunk_size=100_000):
...         coder.add(chunk)

:func:`geo.coverage.store.load_events` and :func:`geo.coverage.store.load_rollup` return every row at once,
as Python objects first; at millions of visits that is gigabytes. Here the rows come through SQLAlchemy's
``yield_per`` (a server-side cursor on PostgreSQL, the cursor's own stepping on SQLite), one frame of
``chunk_size`` rows at a time, with the same columns and types as those two functions, so a reader holds one
chunk of strings at most. :func:`snapshot` keeps every read of a preparation in one transaction (``BEGIN``
on SQLite in WAL mode, ``REPEATABLE READ`` on PostgreSQL): the visits, their count and the roll-up agree.
Nothing here logs row content.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geo.coverage.store.models import ROLLUP, VISITS

#: Rows per chunk by default: about 20 MB of Python objects per chunk of visits.
CHUNK_SIZE = 50_000

_EVENT_COLUMNS = ("id", "campaign", "site", "visited_at", "outcome", "lat", "lon", "building", "door",
                  "street_number", "street", "postcode", "city", "code_qp", "demo")
_ROLLUP_COLUMNS = ("building_key", "week_start", "outcome", "campaign", "site", "located", "visits", "new_doors")


@contextlib.contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection inside one read transaction: every read sees the same committed state."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _located() -> sa.ColumnElement[bool]:
    return sa.and_(VISITS.c.lat.is_not(None), VISITS.c.lon.is_not(None))


def count_located(conn: Connection) -> int:
    """Number of visits with coordinates (those :func:`iter_events` yields)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(VISITS).where(_located())).scalar_one())


def _check_chunk_size(chunk_size: int) -> None:
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a whole number >= 1, got {chunk_size!r}")


def _frame(rows: list, names: tuple[str, ...]) -> pd.DataFrame:
    """A frame of result rows, column by column (pandas would probe every row object for attributes)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in zip(names, columns, strict=True)})


def iter_events(conn: Connection, *, chunk_size: int = CHUNK_SIZE) -> Iterator[pd.DataFrame]:
    """The visits with coordinates, in time order (``visited_at``, then id), ``chunk_size`` rows at a time.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Inside :func:`snapshot`.
    chunk_size : int
        Rows per frame.

    Yields
    ------
    pandas.DataFrame
        Columns ``id, campaign, site, visited_at, outcome, lat, lon, building, door, street_number, street,
        postcode, city, code_qp, demo`` typed as :func:`geo.coverage.store.load_events` types them.
    """
    _check_chunk_size(chunk_size)
    query = (sa.select(*(VISITS.c[name] for name in _EVENT_COLUMNS)).where(_located())
             .order_by(VISITS.c.visited_at, VISITS.c.id))
    result = conn.execution_options(yield_per=chunk_size).execute(query)
    for rows in result.partitions(chunk_size):
        frame = _frame(rows, _EVENT_COLUMNS)
        frame["visited_at"] = pd.to_datetime(frame["visited_at"]).astype("datetime64[s]")
        for name in ("lat", "lon"):
            frame[name] = frame[name].to_numpy(dtype=float)
        frame["demo"] = frame["demo"].astype(bool)
        frame["id"] = frame["id"].astype(np.int64)
        yield frame


def iter_rollup(conn: Connection, *, chunk_size: int = CHUNK_SIZE) -> Iterator[pd.DataFrame]:
    """The roll-up rows of visits with coordinates, ``chunk_size`` rows at a time.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Inside :func:`snapshot`, after the visits were read.
    chunk_size : int
        Rows per frame.

    Yields
    ------
    pandas.DataFrame
        Columns ``building_key, week_start, outcome, campaign, site, located, visits, new_doors``
        (``week_start`` and the counts int32, texts as strings).
    """
    _check_chunk_size(chunk_size)
    query = sa.select(*(ROLLUP.c[name] for name in _ROLLUP_COLUMNS)).where(ROLLUP.c.located.is_(True))
    result = conn.execution_options(yield_per=chunk_size).execute(query)
    for rows in result.partitions(chunk_size):
        frame = _frame(rows, _ROLLUP_COLUMNS)
        for name in ("week_start", "visits", "new_doors"):
            frame[name] = frame[name].astype("int32")
        frame["located"] = frame["located"].astype(bool)
        yield frame
