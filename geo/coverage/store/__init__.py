"""The SQL store of door visits (SQLAlchemy 2): SQLite in WAL mode by default, PostgreSQL by URL.

>>> engine = open_store("sqlite:///data/voisinmap.db")   # migrates to the latest schema   # doctest: +SKIP

One module per concept:

* :mod:`geo.coverage.store.models` -- the tables (imports, door visits, geocoding cache) and the status codes;
* :mod:`geo.coverage.store.visits` -- writing one file's visits in one transaction, reading them back;
* :mod:`geo.coverage.store.staging` -- a large file's visits staged chunk by chunk in a temporary table,
  then published in one transaction;
* :mod:`geo.coverage.store.import_transaction` -- one file's import as one transaction: on PostgreSQL its
  chunks inserted as they come inside it, on SQLite staged, then published;
* :mod:`geo.coverage.store.rollup` -- the roll-up per (building, week, outcome, campaign), recounted by
  every write in the same transaction;
* :mod:`geo.coverage.store.geocode_cache` -- the geocoding cache kept in the store;
* this module -- opening the store: the engine (:func:`geo.db.make_engine`, shared with the accounts) and
  the schema, versioned with Alembic (``geo/coverage/migrations``, version table
  ``coverage_alembic_version``), upgraded by :func:`open_store` under :func:`geo.db.migration_lock`.

The URL comes from the caller (``--db``), else ``$DATABASE_URL``, else :func:`geo.config.database_url`.
Every public name of the modules above is importable from here (``from geo.coverage.store import
load_events``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import db
from geo.coverage.errors import StoreUnavailableError
from geo.coverage.store.geocode_cache import SqlGeocodeCache
from geo.coverage.store.import_transaction import PG_IMPORT_LOCK, ImportRecord, ImportTransaction
from geo.coverage.store.models import (
    GEOCODE_CACHE,
    IMPORTS,
    LOCATION_FAILED,
    LOCATION_GEOCODED,
    LOCATION_PENDING,
    LOCATION_PROVIDED,
    LOCATION_STATUSES,
    QPV_INSIDE,
    QPV_OUTSIDE,
    QPV_UNKNOWN,
    ROLLUP,
    VERSION_TABLE,
    VISITS,
    metadata,
)
from geo.coverage.store.rollup import load_rollup, refresh_rollup
from geo.coverage.store.staging import VisitStaging
from geo.coverage.store.visits import (
    InsertResult,
    count_visits,
    data_version,
    delete_demo,
    insert_visits,
    load_events,
    pending_addresses,
    set_locations,
    set_qpv,
    stats,
    unknown_qpv,
)
from geo.db import BUSY_TIMEOUT_MS, make_engine, safe_url, sqlite_path, write_transaction

__all__ = [
    "BUSY_TIMEOUT_MS", "GEOCODE_CACHE", "IMPORTS", "LOCATION_FAILED", "LOCATION_GEOCODED", "LOCATION_PENDING",
    "LOCATION_PROVIDED", "LOCATION_STATUSES", "MIGRATIONS_DIR", "QPV_INSIDE", "QPV_OUTSIDE", "QPV_UNKNOWN",
    "PG_IMPORT_LOCK", "ROLLUP", "VERSION_TABLE", "VISITS", "ImportRecord", "ImportTransaction", "InsertResult", "VisitStaging", "SqlGeocodeCache", "count_visits", "current_revision",
    "data_version", "delete_demo", "head_revision", "insert_visits", "load_events", "load_rollup", "make_engine", "metadata",
    "open_store", "pending_addresses", "refresh_rollup", "safe_url", "set_locations", "set_qpv", "sqlite_path", "stats",
    "unknown_qpv", "upgrade", "write_transaction",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def head_revision() -> str:
    """The latest migration revision of the coverage schema."""
    return db.head_revision(MIGRATIONS_DIR)


def current_revision(engine: Engine) -> str | None:
    """The coverage schema revision of the database (``None`` when never migrated)."""
    return db.current_revision(engine, VERSION_TABLE)


def upgrade(engine: Engine) -> str:
    """Migrate the database to the latest coverage schema (a no-op when already there).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine

    Returns
    -------
    str
        The revision now in force.
    """
    return db.migrate(engine, MIGRATIONS_DIR, VERSION_TABLE)


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
