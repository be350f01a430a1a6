"""Door visits in the store: write one file's visits in one transaction, read them back for aggregation.

>>> with write_transaction(engine) as conn:                       # doctest: +SKIP
...     insert_visits(conn, rows, file_sha256=h, file_name="a.csv", file_format="csv", n_rows=10, n_rejected=0)

* Writes of one file happen in one transaction (:func:`geo.db.write_transaction`: on SQLite it starts
  with ``BEGIN IMMEDIATE``, so concurrent importers queue instead of failing).
* Visits are staged in a temporary table, then inserted with ``ON CONFLICT (content_key) DO NOTHING``
  (:mod:`geo.coverage.store.staging`): a visit already stored is counted as a duplicate, on both databases,
  also under concurrent imports.
* Each visit is stored with its building key and roll-up week (:mod:`geo.coverage.keys`), and every write
  recounts the roll-up of the buildings it touched in the same transaction
  (:mod:`geo.coverage.store.rollup`).
* Nothing here logs row content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geo.coverage.store.models import (
    IMPORTS,
    LOCATION_PENDING,
    LOCATION_STATUSES,
    QPV_INSIDE,
    QPV_OUTSIDE,
    QPV_UNKNOWN,
    VISITS,
)
from geo.coverage.store.rollup import refresh_rollup
from geo.coverage.store.staging import VisitStaging
from geo.db import write_transaction


# ------------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class InsertResult:
    """Counts of one :func:`insert_visits` call."""

    import_id: int
    imported: int
    duplicates: int


def insert_visits(conn: Connection, rows: pd.DataFrame, *, file_sha256: str, file_name: str, file_format: str,
                  n_rows: int, n_rejected: int, demo: bool = False,
                  progress: Callable[[str, int, int], None] | None = None) -> InsertResult:
    """Insert one small batch of valid visits and its import record, inside the caller's write transaction.

    Large files go through :class:`geo.coverage.store.staging.VisitStaging` chunk by chunk
    (:mod:`geo.coverage.importer`); this is the same path with one chunk.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection inside :func:`write_transaction`.
    rows : pandas.DataFrame
        Visits with the columns ``content_key, campaign, site, visited_at, time_known, street_number,
        street, postcode, city, building, door, lat, lon, location_status, geocode_score, code_qp,
        qpv_status, outcome, language, topics, voisin``; content keys unique within the frame.
    file_sha256, file_name, file_format : str
        The file's hash, name (no folder) and format.
    n_rows, n_rejected : int
        Data rows read and rows rejected by validation.
    demo : bool
        True for the fictitious demo history.
    progress : callable, optional
        ``progress("write", done, total)`` as rows are written.

    Returns
    -------
    InsertResult
        The import id, the visits inserted and those already stored (duplicates).
    """
    if rows["content_key"].duplicated().any():
        raise ValueError("rows: expected unique content keys within one insert, got duplicates")
    staging = VisitStaging(conn, progress=progress)
    try:
        staging.add(rows)
        import_id, inserted = staging.publish(
            file_sha256=file_sha256, file_name=file_name, file_format=file_format, n_rows=n_rows,
            n_rejected=n_rejected, n_pending=int((rows["location_status"] == LOCATION_PENDING).sum()), demo=demo)
    finally:
        staging.drop()
    return InsertResult(import_id=import_id, imported=inserted, duplicates=len(rows) - inserted)


def delete_demo(engine: Engine) -> int:
    """Delete the fictitious demo visits, their import records and their roll-up; returns the visits deleted."""
    with write_transaction(engine) as conn:
        keys = [row[0] for row in conn.execute(
            sa.select(VISITS.c.building_key).where(VISITS.c.demo.is_(True)).distinct())]
        deleted = conn.execute(sa.delete(VISITS).where(VISITS.c.demo.is_(True))).rowcount
        conn.execute(sa.delete(IMPORTS).where(IMPORTS.c.demo.is_(True)))
        if keys:
            refresh_rollup(conn, keys=keys)
    return int(deleted or 0)


# ------------------------------------------------------------------------------------------- reading
def data_version(engine: Engine | Connection) -> tuple[int, int]:
    """Number of visits and largest visit id: changes whenever visits are imported or deleted.

    Cheap enough to key caches of aggregates on; ``(0, 0)`` for a database never migrated. A connection
    reads inside the caller's transaction.
    """
    if not isinstance(engine, Connection):
        with engine.connect() as conn:
            return data_version(conn)
    if not sa.inspect(engine).has_table(VISITS.name):
        return (0, 0)
    count, largest = engine.execute(sa.select(sa.func.count(), sa.func.max(VISITS.c.id))).one()
    return (int(count or 0), int(largest or 0))


def count_visits(engine: Engine, *, demo: bool | None = None) -> int:
    """Number of stored visits (all, only demo ones, or only real ones)."""
    query = sa.select(sa.func.count()).select_from(VISITS)
    if demo is not None:
        query = query.where(VISITS.c.demo.is_(demo))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_events(engine: Engine | Connection, *, sites: Sequence[str] | None = None, campaigns: Sequence[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None,
                located_only: bool = True) -> pd.DataFrame:
    """Read visits for aggregation (see :func:`geo.coverage.aggregate.prepare_events`).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine or Connection
        The store (a connection reads inside the caller's transaction, e.g. beside :func:`load_rollup`).
    sites, campaigns : sequence of str, optional
        Keep only these.
    start, end : datetime.date, optional
        Inclusive date range.
    located_only : bool
        Leave out visits without coordinates (pending or failed geocoding).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, campaign, site, visited_at, outcome, lat, lon, building, door, street_number,
        street, postcode, city, code_qp, qpv_status, location_status, demo``.
    """
    v = VISITS.c
    query = sa.select(v.id, v.campaign, v.site, v.visited_at, v.outcome, v.lat, v.lon, v.building, v.door,
                      v.street_number, v.street, v.postcode, v.city, v.code_qp, v.qpv_status, v.location_status,
                      v.demo).order_by(v.visited_at, v.id)
    if sites:
        query = query.where(v.site.in_(list(sites)))
    if campaigns:
        query = query.where(v.campaign.in_(list(campaigns)))
    if start is not None:
        query = query.where(v.visited_at >= dt.datetime.combine(start, dt.time()))
    if end is not None:
        query = query.where(v.visited_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    if located_only:
        query = query.where(v.lat.is_not(None))
    if isinstance(engine, Connection):
        result = engine.execute(query)
        rows, names = result.all(), list(result.keys())
    else:
        with engine.connect() as conn:
            result = conn.execute(query)
            rows, names = result.all(), list(result.keys())
    frame = pd.DataFrame(rows, columns=names)
    if frame.empty:
        frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in names})
    frame["visited_at"] = pd.to_datetime(frame["visited_at"]).astype("datetime64[s]")
    for name in ("lat", "lon"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    frame["demo"] = frame["demo"].astype(bool)
    frame["id"] = frame["id"].astype(np.int64)
    return frame


def pending_addresses(engine: Engine, *, limit: int | None = None,
                      statuses: Sequence[str] = (LOCATION_PENDING,)) -> pd.DataFrame:
    """Distinct addresses of the visits awaiting geocoding.

    Returns
    -------
    pandas.DataFrame
        Columns ``street_number, street, postcode, city, n_visits``.
    """
    v = VISITS.c
    query = (sa.select(v.street_number, v.street, v.postcode, v.city, sa.func.count().label("n_visits"))
             .where(v.location_status.in_(list(statuses)))
             .group_by(v.street_number, v.street, v.postcode, v.city)
             .order_by(v.postcode, v.street, v.street_number))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def set_locations(engine: Engine, located: pd.DataFrame) -> int:
    """Write geocoding results onto the pending visits of each address (one transaction).

    Parameters
    ----------
    located : pandas.DataFrame
        Columns ``street_number, street, postcode, city, lat, lon, geocode_score, location_status,
        code_qp, qpv_status``.

    Returns
    -------
    int
        Visits updated.
    """
    v = VISITS.c
    statement = (sa.update(VISITS)
                 .where(v.location_status == LOCATION_PENDING, v.street_number == sa.bindparam("b_number"),
                        v.street == sa.bindparam("b_street"), v.postcode == sa.bindparam("b_postcode"),
                        v.city == sa.bindparam("b_city"))
                 .values(lat=sa.bindparam("b_lat"), lon=sa.bindparam("b_lon"),
                         geocode_score=sa.bindparam("b_score"), location_status=sa.bindparam("b_status"),
                         code_qp=sa.bindparam("b_qp"), qpv_status=sa.bindparam("b_qpv_status")))
    params = []
    for row in located.itertuples(index=False):
        lat = None if row.lat != row.lat else float(row.lat)
        lon = None if row.lon != row.lon else float(row.lon)
        score = None if row.geocode_score != row.geocode_score else float(row.geocode_score)
        code = row.code_qp if isinstance(row.code_qp, str) and row.code_qp else None
        params.append({"b_number": row.street_number, "b_street": row.street, "b_postcode": row.postcode,
                       "b_city": row.city, "b_lat": lat, "b_lon": lon, "b_score": score,
                       "b_status": row.location_status, "b_qp": code, "b_qpv_status": row.qpv_status})
    if not params:
        return 0
    with write_transaction(engine) as conn:
        # geocoding moves visits into the located part of their building's roll-up
        keys = [row[0] for row in conn.execute(
            sa.select(v.building_key).where(v.location_status == LOCATION_PENDING).distinct())]
        result = conn.execute(statement, params)
        refresh_rollup(conn, keys=keys)
        return int(result.rowcount or 0)


def set_qpv(engine: Engine, ids: np.ndarray, codes: Sequence[str | None]) -> int:
    """Record the QPV of located visits whose QPV status was unknown (one transaction)."""
    v = VISITS.c
    statement = (sa.update(VISITS).where(v.id == sa.bindparam("b_id"))
                 .values(code_qp=sa.bindparam("b_qp"), qpv_status=sa.bindparam("b_status")))
    params = [{"b_id": int(i), "b_qp": c or None, "b_status": QPV_INSIDE if c else QPV_OUTSIDE}
              for i, c in zip(ids, codes, strict=True)]
    if not params:
        return 0
    with write_transaction(engine) as conn:
        conn.execute(statement, params)
    return len(params)


def stats(engine: Engine) -> pd.DataFrame:
    """Visits per site and campaign, with outcomes, location and QPV status counts and date range."""
    v = VISITS.c
    cols = [v.site, v.campaign, sa.func.count().label("visites"),
            sa.func.min(v.visited_at).label("debut"), sa.func.max(v.visited_at).label("fin")]
    for outcome in ("ouvert", "absent", "refus", "a_revoir", "ne_pas_deranger"):
        cols.append(sa.func.sum(sa.case((v.outcome == outcome, 1), else_=0)).label(outcome))
    for status in LOCATION_STATUSES:
        cols.append(sa.func.sum(sa.case((v.location_status == status, 1), else_=0)).label(f"loc_{status}"))
    cols.append(sa.func.sum(sa.case((v.qpv_status == QPV_OUTSIDE, 1), else_=0)).label("hors_qpv"))
    cols.append(sa.func.max(sa.case((v.demo.is_(True), 1), else_=0)).label("demo"))
    query = sa.select(*cols).group_by(v.site, v.campaign).order_by(v.site, v.campaign)
    with engine.connect() as conn:
        result = conn.execute(query)
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    return frame


def unknown_qpv(engine: Engine) -> pd.DataFrame:
    """Located visits whose QPV was never checked: columns ``id, lat, lon``."""
    v = VISITS.c
    query = sa.select(v.id, v.lat, v.lon).where(v.qpv_status == QPV_UNKNOWN, v.lat.is_not(None))
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))
