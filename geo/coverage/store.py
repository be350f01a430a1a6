"""The SQL store of door visits (SQLAlchemy 2): SQLite in WAL mode by default, PostgreSQL by URL.

>>> engine = open_store("sqlite:///data/voisinmap.db")   # migrates to the latest schema   # doctest: +SKIP

* The URL comes from the caller (``--db``), else ``$DATABASE_URL``, else :func:`geo.config.database_url`.
* The schema is versioned with Alembic (``geo/coverage/migrations``, version table
  ``coverage_alembic_version``); :func:`open_store` upgrades it, under a lock (a file lock for SQLite, an
  advisory lock for PostgreSQL) so that several processes starting together migrate once.
* Writes of one file happen in one transaction. On SQLite it starts with ``BEGIN IMMEDIATE`` (the write
  lock is taken first, so concurrent importers queue instead of failing); a busy timeout of 60 s applies.
* Visits are inserted with ``ON CONFLICT (content_key) DO NOTHING``: a visit already stored is counted as a
  duplicate, on both databases, also under concurrent imports.
* Stored per visit: campaign, site, date-time, building address or coordinates, building id, door mark,
  outcome, language, topics, pseudonymous Voisin id, location status and QPV code. Never a resident's
  name, phone number or e-mail (the schema refuses them). Nothing here logs row content.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo import config
from geo.coverage.errors import StoreUnavailableError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "coverage_alembic_version"
BUSY_TIMEOUT_MS = 60_000
_PG_LOCK_KEY = 0x766F6973  # "vois"

#: Location status of a visit.
LOCATION_PROVIDED = "fourni"  # coordinates given in the file
LOCATION_GEOCODED = "geocode"  # found by the address API
LOCATION_PENDING = "en_attente"  # address only, geocoding not done yet (offline)
LOCATION_FAILED = "echec"  # the address API found no reliable match
LOCATION_STATUSES = (LOCATION_PROVIDED, LOCATION_GEOCODED, LOCATION_PENDING, LOCATION_FAILED)

#: QPV status of a located visit.
QPV_INSIDE = "dans_qpv"
QPV_OUTSIDE = "hors_qpv"
QPV_UNKNOWN = "inconnu"  # not located yet, or the QPV layer was not available

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of the coverage tables."""


class ImportRecord(Base):
    """One imported file (or demo batch)."""

    __tablename__ = "coverage_imports"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    file_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    file_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    file_format: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    imported_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(), nullable=False)
    n_rows: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    n_imported: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    n_duplicates: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    n_rejected: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    n_pending: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    demo: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Visit(Base):
    """One knock on one door."""

    __tablename__ = "door_visits"
    __table_args__ = (
        sa.UniqueConstraint("content_key", name="uq_door_visits_content_key"),
        sa.Index("ix_door_visits_site_campaign", "site", "campaign"),
        sa.Index("ix_door_visits_visited_at", "visited_at"),
        sa.Index("ix_door_visits_location_status", "location_status"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    content_key: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    import_id: Mapped[int] = mapped_column(_BigId, sa.ForeignKey("coverage_imports.id"), nullable=False)
    campaign: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    site: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    visited_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(), nullable=False)
    time_known: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    street_number: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")
    street: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    postcode: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="")
    city: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    building: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    door: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    lat: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    location_status: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    geocode_score: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    code_qp: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    qpv_status: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    outcome: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    language: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    topics: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    voisin: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    demo: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class GeocodeCacheEntry(Base):
    """A cached answer of the address API, keyed by a hash of the normalised query."""

    __tablename__ = "geocode_cache"

    query_key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    lat: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    score: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    result_type: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    citycode: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(), nullable=False)


VISITS = Visit.__table__
IMPORTS = ImportRecord.__table__
GEOCODE_CACHE = GeocodeCacheEntry.__table__


# --------------------------------------------------------------------------------------------- engine
def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all
        return "<URL invalide>"


def make_engine(url: str | None = None) -> Engine:
    """Create the engine of the store (no schema change).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://user@host:port/db``); default
        :func:`geo.config.database_url`.

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    StoreUnavailableError
        When the URL cannot be parsed or names an unsupported database.
    """
    url = config.database_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreUnavailableError(safe_url(url), "URL invalide (attendu sqlite:///chemin.db ou "
                               "postgresql+psycopg://utilisateur@hôte/base)") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise StoreUnavailableError(safe_url(url), f"base « {backend} » non prise en charge (SQLite ou PostgreSQL)")


def _sqlite_engine(parsed: sa.engine.URL) -> Engine:
    database = parsed.database
    memory = database in (None, "", ":memory:")
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = sa.pool.StaticPool
    else:
        _check_folder(Path(database).expanduser(), parsed)
    engine = sa.create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # transactions are begun explicitly below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("voisinmap_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _check_folder(path: Path, parsed: sa.engine.URL) -> None:
    """The folder of a SQLite file must exist; only the default location (``data/``) is created."""
    folder = path.parent
    if folder.is_dir():
        return
    default = (config.PROJECT_ROOT / "data").resolve()
    if folder.resolve() == default:
        folder.mkdir(parents=True, exist_ok=True)
        return
    raise StoreUnavailableError(safe_url(parsed.render_as_string(hide_password=True)),
                                f"dossier introuvable : {folder} (vérifiez le chemin de la base, ou créez "
                                f"d'abord ce dossier)")


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite): committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn = conn.execution_options(voisinmap_write=True)
        with conn.begin():
            yield conn


# ------------------------------------------------------------------------------------------ migrations
def _alembic_config(url: str):  # noqa: ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["version_table"] = VERSION_TABLE
    return cfg


def head_revision() -> str:
    """The latest migration revision of the coverage schema."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database (``None`` when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine, conn: Connection) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        return
    database = engine.url.database
    if database in (None, "", ":memory:"):
        yield
        return
    lock_path = Path(database).expanduser().with_name(Path(database).name + ".migrate-lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def upgrade(engine: Engine) -> str:
    """Migrate the database to the latest schema (a no-op when already there).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine

    Returns
    -------
    str
        The revision now in force.
    """
    from alembic import command

    head = head_revision()
    if current_revision(engine) == head:
        return head
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn, _migration_lock(engine, conn):
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    logger.info("coverage store migrated to %s", head)
    return head


def open_store(url: str | None = None) -> Engine:
    """Engine of the store, migrated to the latest schema.

    Parameters
    ----------
    url : str, optional
        Database URL (default :func:`geo.config.database_url`).

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    StoreUnavailableError
        When the database cannot be reached or migrated.
    """
    engine = make_engine(url)
    try:
        upgrade(engine)
    except StoreUnavailableError:
        raise
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        engine.dispose()
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise StoreUnavailableError(safe_url(str(engine.url.render_as_string(hide_password=True))), detail) from exc
    return engine


# ------------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class InsertResult:
    """Counts of one :func:`insert_visits` call."""

    import_id: int
    imported: int
    duplicates: int


_VISIT_FIELDS = ("content_key", "campaign", "site", "visited_at", "time_known", "street_number", "street",
                 "postcode", "city", "building", "door", "lat", "lon", "location_status", "geocode_score",
                 "code_qp", "qpv_status", "outcome", "language", "topics", "voisin")


def _columns(rows: pd.DataFrame) -> dict[str, list]:
    missing = [c for c in _VISIT_FIELDS if c not in rows.columns]
    if missing:
        raise ValueError(f"rows: expected the columns {list(_VISIT_FIELDS)}, missing {missing}")
    cols: dict[str, list] = {}
    for name in _VISIT_FIELDS:
        values = rows[name]
        if name in ("lat", "lon", "geocode_score"):
            arr = values.to_numpy(dtype=float)
            cols[name] = [None if v != v else v for v in arr.tolist()]
        elif name == "visited_at":
            cols[name] = values.to_numpy(dtype="datetime64[s]").astype(object).tolist()
        elif name == "time_known":
            cols[name] = values.to_numpy(dtype=bool).tolist()
        elif name == "code_qp":
            cols[name] = [v if isinstance(v, str) and v else None for v in values.to_numpy(dtype=object).tolist()]
        else:
            cols[name] = [str(v) for v in values.to_numpy(dtype=object).tolist()]
    return cols


def _insert_sqlite(conn: Connection, cols: dict[str, list], import_id: int, demo: bool,
                   progress: Callable[[str, int, int], None] | None) -> int:
    to_db = VISITS.c.visited_at.type.bind_processor(conn.dialect)
    cols = dict(cols)
    if to_db is not None:
        cols["visited_at"] = [to_db(v) for v in cols["visited_at"]]
    n = len(cols["content_key"])
    names = [*_VISIT_FIELDS, "import_id", "demo"]
    rows = list(zip(*(cols[f] for f in _VISIT_FIELDS), [import_id] * n, [demo] * n, strict=True))
    sql = (f"INSERT INTO door_visits ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
           "ON CONFLICT (content_key) DO NOTHING")
    inserted = 0
    for start in range(0, n, 20_000):
        inserted += conn.exec_driver_sql(sql, rows[start:start + 20_000]).rowcount
        if progress is not None:
            progress("write", min(n, start + 20_000), n)
    return inserted


def _insert_postgresql(conn: Connection, cols: dict[str, list], import_id: int, demo: bool) -> int:
    names = list(_VISIT_FIELDS)
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS door_visits_incoming ON COMMIT DROP AS "
                         f"SELECT {', '.join(names)} FROM door_visits WITH NO DATA")
    conn.exec_driver_sql("TRUNCATE door_visits_incoming")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY door_visits_incoming ({', '.join(names)}) FROM STDIN") as copy:
        for row in zip(*(cols[f] for f in names), strict=True):
            copy.write_row(row)
    # a fixed order (by content key) keeps concurrent importers of overlapping files free of deadlocks
    result = conn.exec_driver_sql(
        f"INSERT INTO door_visits ({', '.join(names)}, import_id, demo) "
        f"SELECT {', '.join(names)}, %(import_id)s, %(demo)s FROM door_visits_incoming ORDER BY content_key "
        "ON CONFLICT (content_key) DO NOTHING", {"import_id": import_id, "demo": demo})
    return int(result.rowcount)


def insert_visits(conn: Connection, rows: pd.DataFrame, *, file_sha256: str, file_name: str, file_format: str,
                  n_rows: int, n_rejected: int, demo: bool = False,
                  progress: Callable[[str, int, int], None] | None = None) -> InsertResult:
    """Insert one file's valid visits and its import record, inside the caller's transaction.

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
    cols = _columns(rows)
    import_id = conn.execute(
        sa.insert(IMPORTS).returning(IMPORTS.c.id),
        {"file_sha256": file_sha256, "file_name": file_name[:255], "file_format": file_format,
         "imported_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "n_rows": n_rows, "n_imported": 0,
         "n_duplicates": 0, "n_rejected": n_rejected, "n_pending": 0, "demo": demo},
    ).scalar_one()
    if not len(rows):
        inserted = 0
    elif conn.dialect.name == "postgresql":
        if progress is not None:
            progress("write", 0, len(rows))
        inserted = _insert_postgresql(conn, cols, import_id, demo)
        if progress is not None:
            progress("write", len(rows), len(rows))
    else:
        inserted = _insert_sqlite(conn, cols, import_id, demo, progress)
    duplicates = len(rows) - inserted
    pending = int((rows["location_status"] == LOCATION_PENDING).sum())
    conn.execute(sa.update(IMPORTS).where(IMPORTS.c.id == import_id).values(
        n_imported=inserted, n_duplicates=duplicates, n_pending=pending))
    return InsertResult(import_id=import_id, imported=inserted, duplicates=duplicates)


def delete_demo(engine: Engine) -> int:
    """Delete the fictitious demo visits and their import records; returns the visits deleted."""
    with write_transaction(engine) as conn:
        deleted = conn.execute(sa.delete(VISITS).where(VISITS.c.demo.is_(True))).rowcount
        conn.execute(sa.delete(IMPORTS).where(IMPORTS.c.demo.is_(True)))
    return int(deleted or 0)


# ------------------------------------------------------------------------------------------- reading
def data_version(engine: Engine) -> tuple[int, int]:
    """Number of visits and largest visit id: changes whenever visits are imported or deleted.

    Cheap enough to key caches of aggregates on; ``(0, 0)`` for a database never migrated.
    """
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(VISITS.name):
            return (0, 0)
        count, largest = conn.execute(sa.select(sa.func.count(), sa.func.max(VISITS.c.id))).one()
    return (int(count or 0), int(largest or 0))


def count_visits(engine: Engine, *, demo: bool | None = None) -> int:
    """Number of stored visits (all, only demo ones, or only real ones)."""
    query = sa.select(sa.func.count()).select_from(VISITS)
    if demo is not None:
        query = query.where(VISITS.c.demo.is_(demo))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_events(engine: Engine, *, sites: Sequence[str] | None = None, campaigns: Sequence[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None,
                located_only: bool = True) -> pd.DataFrame:
    """Read visits for aggregation (see :func:`geo.coverage.aggregate.prepare_events`).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
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
    with engine.connect() as conn:
        result = conn.execute(query)
        rows = result.all()
        names = list(result.keys())
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
        result = conn.execute(statement, params)
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


# ------------------------------------------------------------------------------------- geocode cache
class SqlGeocodeCache:
    """The geocoding cache kept in the store (table ``geocode_cache``), keyed by query hash."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        """Cached answers for the keys that have one."""
        out: dict[str, dict] = {}
        c = GEOCODE_CACHE.c
        keys = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                for row in conn.execute(sa.select(GEOCODE_CACHE).where(c.query_key.in_(chunk))).mappings():
                    out[row["query_key"]] = {k: row[k] for k in ("lat", "lon", "score", "result_type", "citycode")}
        return out

    def put_many(self, answers: dict[str, dict]) -> None:
        """Store answers (existing keys are kept)."""
        if not answers:
            return
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        records = [{"query_key": k, "lat": a.get("lat"), "lon": a.get("lon"), "score": a.get("score"),
                    "result_type": a.get("result_type") or "", "citycode": a.get("citycode") or "",
                    "created_at": now} for k, a in answers.items()]
        with write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            conn.execute(insert(GEOCODE_CACHE).on_conflict_do_nothing(index_elements=["query_key"]), records)


def sqlite_path(engine: Engine) -> str | None:
    """The database file of a SQLite engine (``None`` for PostgreSQL or in-memory databases)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return os.fspath(Path(engine.url.database).expanduser())
