"""The roll-up of door visits per (building, week, outcome, campaign), kept in step with the visits.

>>> with write_transaction(engine) as conn:                       # doctest: +SKIP
...     refresh_rollup(conn, keys=["b|91286|B12"])

Every write of :mod:`geo.coverage.store.visits` (import, demo removal, geocoding) calls
:func:`refresh_rollup` for the buildings it touched, inside its own transaction: the roll-up rows of those
buildings are deleted and counted again from the visits, in SQL (one ``INSERT ... SELECT`` with a window
function, the same statement on SQLite and PostgreSQL). A failed write therefore leaves both the visits and
the roll-up as they were, and a re-import that adds nothing touches nothing.

Recounting whole buildings (rather than adding the new visits' counts) keeps ``new_doors`` exact: a
door's first visit may be an older visit found in a later file. On PostgreSQL concurrent writers take a
transaction-level advisory lock before the recount, so the last one to commit counts every visit
committed before it; on SQLite ``BEGIN IMMEDIATE`` already serialises writers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geo.coverage.keys import day_numbers
from geo.coverage.store.models import ROLLUP, VISITS

#: Key of the PostgreSQL advisory lock that serialises roll-up recounts ("doorroll" in ASCII).
PG_ROLLUP_LOCK = 0x646F6F72726F6C6C
#: Buildings recounted per statement (keeps the number of bound parameters low on SQLite).
KEY_BATCH = 500

_COLUMNS = ("building_key", "week_start", "outcome", "campaign", "site", "located", "visits", "new_doors")
_RECOUNT = """
INSERT INTO door_rollup (building_key, week_start, outcome, campaign, site, located, visits, new_doors)
SELECT building_key, week_start, outcome, campaign, site, located, COUNT(*), SUM(is_first)
FROM (
    SELECT building_key, week_start, outcome, campaign, site, (lat IS NOT NULL) AS located,
           CASE WHEN ROW_NUMBER() OVER (
               PARTITION BY building_key, (lat IS NOT NULL), door, CASE WHEN door = '' THEN id ELSE 0 END, outcome
               ORDER BY visited_at, id) = 1 THEN 1 ELSE 0 END AS is_first
    FROM door_visits {where}
) AS counted
GROUP BY building_key, week_start, outcome, campaign, site, located
"""


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_ROLLUP_LOCK})


def refresh_rollup(conn: Connection, *, keys: Iterable[str] | None = None) -> int:
    """Count the roll-up rows of some buildings (or of all) again from the visits, in the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection inside :func:`geo.db.write_transaction`.
    keys : iterable of str, optional
        Building keys (:func:`geo.coverage.keys.building_keys`) whose visits changed; ``None`` recounts
        the whole roll-up.

    Returns
    -------
    int
        Roll-up rows written.
    """
    _lock(conn)
    if keys is None:
        conn.execute(sa.delete(ROLLUP))
        return int(conn.exec_driver_sql(_RECOUNT.format(where="")).rowcount or 0)
    keys = sorted(set(keys))
    written = 0
    for start in range(0, len(keys), KEY_BATCH):
        batch = keys[start:start + KEY_BATCH]
        conn.execute(sa.delete(ROLLUP).where(ROLLUP.c.building_key.in_(batch)))
        recount = sa.text(_RECOUNT.format(where="WHERE building_key IN :keys")).bindparams(
            sa.bindparam("keys", expanding=True))
        written += int(conn.execute(recount, {"keys": batch}).rowcount or 0)
    return written


def refresh_rollup_of_import(conn: Connection, *, import_id: int) -> int:
    """Count the roll-up rows of the buildings one import added visits to again, in the caller's transaction.

    The same recount as :func:`refresh_rollup` for the keys of :func:`keys_of_import`, in two statements
    whatever their number (the buildings are picked in SQL, not bound one by one): on PostgreSQL a hash join
    instead of one index search per building, about twice as fast for a million visits.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection inside :func:`geo.db.write_transaction`.
    import_id : int
        The import (``coverage_imports.id``) whose visits were just inserted.

    Returns
    -------
    int
        Roll-up rows written.
    """
    _lock(conn)
    touched = "building_key IN (SELECT building_key FROM door_visits WHERE import_id = :import_id)"
    conn.execute(sa.text(f"DELETE FROM door_rollup WHERE {touched}"), {"import_id": import_id})
    recount = sa.text(_RECOUNT.format(where=f"WHERE {touched}"))
    return int(conn.execute(recount, {"import_id": import_id}).rowcount or 0)


def keys_of_import(conn: Connection, import_id: int) -> list[str]:
    """Building keys of the visits stored by one import."""
    query = sa.select(VISITS.c.building_key).where(VISITS.c.import_id == import_id).distinct()
    return [row[0] for row in conn.execute(query)]


def load_rollup(source: Engine | Connection, *, sites: Sequence[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None,
                located_only: bool = True) -> pd.DataFrame:
    """Read the roll-up (filtered on its indexed columns: site and week).

    Parameters
    ----------
    source : sqlalchemy.engine.Engine or Connection
        The store (a connection reads inside the caller's transaction, e.g. beside :func:`load_events`).
    sites : sequence of str, optional
        Keep only these sites.
    start, end : datetime.date, optional
        Keep the roll-up weeks that begin within this inclusive range.
    located_only : bool
        Keep only visits with coordinates.

    Returns
    -------
    pandas.DataFrame
        Columns ``building_key, week_start, outcome, campaign, site, located, visits, new_doors``
        (``week_start`` in days since 1970-01-01, int32; counts int32; text columns categorical).
    """
    r = ROLLUP.c
    query = sa.select(*(r[name] for name in _COLUMNS))
    if sites:
        query = query.where(r.site.in_(list(sites)))
    if start is not None:
        query = query.where(r.week_start >= int(day_numbers(pd.Series([pd.Timestamp(start)]))[0]))
    if end is not None:
        query = query.where(r.week_start <= int(day_numbers(pd.Series([pd.Timestamp(end)]))[0]))
    if located_only:
        query = query.where(r.located.is_(True))
    if isinstance(source, Connection):
        rows = source.execute(query).all()
    else:
        with source.connect() as conn:
            rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    for name in ("week_start", "visits", "new_doors"):
        frame[name] = frame[name].astype("int32")
    frame["located"] = frame["located"].astype(bool)
    for name in ("building_key", "outcome", "campaign", "site"):
        frame[name] = frame[name].astype("str").astype("category")
    return frame
