"""Database plumbing shared by the stores (door visits, accounts): engines, the migration lock, Alembic.

>>> engine = make_engine("sqlite://")                         # in memory
>>> engine.dialect.name
'sqlite'

* :func:`make_engine` -- one engine recipe for both stores. SQLite: WAL journal, ``synchronous=NORMAL``
  (safe with WAL, much faster than FULL), a busy timeout of :data:`BUSY_TIMEOUT_MS`, foreign keys on,
  transactions begun explicitly (``BEGIN``, or ``BEGIN IMMEDIATE`` inside :func:`write_transaction`, so
  that concurrent writers queue instead of failing); the default data folder is created, a mistyped
  folder is not. PostgreSQL: the psycopg (3) driver, connections checked before use.
* :func:`migration_lock` -- one migration at a time per database: an advisory transaction lock on
  PostgreSQL, a file lock beside the database file on SQLite.
* :func:`migrate` -- upgrade one Alembic chain (its folder and version table) under that lock; a no-op
  when already at head, so processes starting together migrate once.

The stores keep their own tables and chains (:mod:`geo.coverage.models`, :mod:`geo.auth.models`); only
this plumbing is shared. Nothing here logs a password (:func:`safe_url`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from geo import config
from geo.coverage.errors import StoreUnavailableError
from geo.i18n import DEFAULT_LANG, t
from geo.private_file import private_sqlite_file

logger = logging.getLogger(__name__)

#: How long a SQLite connection waits for a lock before failing.
BUSY_TIMEOUT_MS = 60_000
#: PostgreSQL advisory lock key of migrations ("vois").
PG_LOCK_KEY = 0x766F6973
#: Execution option that makes :func:`write_transaction` begin with ``BEGIN IMMEDIATE`` on SQLite.
_WRITE_OPTION = "voisinmap_write"


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all
        return "<URL invalide>"


def make_engine(url: str | None = None, *, lang: str = DEFAULT_LANG) -> Engine:
    """Create an engine on a store's database (no schema change).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL (``sqlite:///path.db``, ``sqlite://`` in memory,
        ``postgresql+psycopg://user@host:port/db``; a bare ``postgresql://`` gets the psycopg driver);
        default :func:`geo.config.database_url`.
    lang : str
        Language of the error message (``"fr"`` or ``"en"``).

    Returns
    -------
    sqlalchemy.engine.Engine

    Raises
    ------
    geo.coverage.errors.StoreUnavailableError
        When the URL cannot be parsed, names an unsupported database, or a SQLite file in a folder that
        does not exist (other than the default ``data/`` folder, which is created).
    """
    url = config.database_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreUnavailableError(safe_url(url), t("db.url_invalid", lang)) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, lang=lang)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise StoreUnavailableError(safe_url(url), t("db.backend_unsupported", lang, backend=backend))


def _sqlite_engine(parsed: sa.engine.URL, *, lang: str) -> Engine:
    database = parsed.database
    memory = database in (None, "", ":memory:")
    kwargs: dict = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = sa.pool.StaticPool
    else:
        _check_folder(Path(database).expanduser(), parsed, lang=lang)
        private_sqlite_file(parsed.render_as_string(hide_password=False))
    engine = sa.create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # transactions are begun explicitly below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not memory:
            _journal_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _journal_wal(cur: sqlite3.Cursor) -> None:
    """Switch a SQLite file to WAL. SQLite answers « locked » at once, without its busy handler, while another
    process opens the same new file; WAL is a property of the file, so retry until one of them has set it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _check_folder(path: Path, parsed: sa.engine.URL, *, lang: str) -> None:
    """The folder of a SQLite file must exist; only the default location (``data/``) is created."""
    folder = path.parent
    if folder.is_dir():
        return
    default = (config.PROJECT_ROOT / "data").resolve()
    if folder.resolve() == default:
        folder.mkdir(parents=True, exist_ok=True)
        return
    raise StoreUnavailableError(safe_url(parsed.render_as_string(hide_password=True)),
                                t("db.folder_missing", lang, folder=str(folder)))


def sqlite_path(engine: Engine) -> str | None:
    """The database file of a SQLite engine (``None`` for PostgreSQL or in-memory databases)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return None
    return os.fspath(Path(engine.url.database).expanduser())


@contextlib.contextmanager
def write_transaction(engine: Engine | Connection) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite): committed on success, rolled back on error.

    Given a connection outside any transaction, the transaction runs on it (so that its temporary tables stay
    in view); given an engine, on a connection of its own.
    """
    if isinstance(engine, Connection):
        conn = engine.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn
        return
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that holds the database's migration lock until it ends.

    PostgreSQL: ``pg_advisory_xact_lock`` (released at commit or rollback). SQLite file: an exclusive
    ``flock`` on ``<database>.migrate-lock`` beside it, so every process using that file shares the
    lock. In-memory SQLite: no lock (one process only). The transaction commits on success.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
            yield conn
        return
    database = sqlite_path(engine)
    if database is None:
        with engine.begin() as conn:
            yield conn
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _alembic_config(script_location: str | os.PathLike[str], version_table: str):  # noqa: ANN202
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", os.fspath(script_location))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["version_table"] = version_table
    return cfg


def head_revision(script_location: str | os.PathLike[str]) -> str:
    """The latest revision of the Alembic chain in ``script_location``."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(script_location, "")).get_current_head()


def current_revision(engine: Engine, version_table: str) -> str | None:
    """The revision recorded in ``version_table`` (``None`` when that chain never ran)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_revision()


def migrate(engine: Engine, script_location: str | os.PathLike[str], version_table: str, *,
            revision: str = "head") -> str:
    """Upgrade one Alembic chain of the database, under :func:`migration_lock`.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        From :func:`make_engine`.
    script_location : str or path-like
        Folder of the chain (``env.py``, ``versions/``).
    version_table : str
        The chain's own version table (several chains share one database).
    revision : str
        Target revision (default the chain's head).

    Returns
    -------
    str
        The revision now in force (``revision``, or the head when ``"head"``).
    """
    from alembic import command

    target = head_revision(script_location) if revision == "head" else revision
    if current_revision(engine, version_table) == target:
        return target
    cfg = _alembic_config(script_location, version_table)
    with migration_lock(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    logger.info("schema of %s migrated to %s (version table %s)", Path(script_location).parent.name, target,
                version_table)
    return target
