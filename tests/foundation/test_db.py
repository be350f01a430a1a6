"""The database plumbing both stores share (:mod:`geo.db`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from geo import db


def _pragmas(engine: sa.Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}


def test_both_stores_get_the_same_sqlite_settings(tmp_path: Path) -> None:
    from geo.auth.store import UserStore
    from geo.coverage.store import open_store

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    accounts = UserStore(url).engine
    visits = open_store(url)
    expected = {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": db.BUSY_TIMEOUT_MS}
    assert _pragmas(accounts) == expected  # synchronous=1 is NORMAL
    assert _pragmas(visits) == expected
    accounts.dispose()
    visits.dispose()


def test_a_bare_postgresql_url_gets_the_psycopg_driver() -> None:
    engine = db.make_engine("postgresql://u@127.0.0.1:1/x")
    assert engine.url.drivername == "postgresql+psycopg"


def test_unsupported_database_is_refused_in_the_callers_language() -> None:
    from geo.coverage.errors import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="database “mysql” not supported"):
        db.make_engine("mysql://u@127.0.0.1/db", lang="en")


def test_the_migration_lock_serialises_two_processes_on_one_file(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    order: list[str] = []
    first_in = threading.Event()

    def hold() -> None:
        with db.migration_lock(engine):
            order.append("first in")
            first_in.set()
            time.sleep(0.3)
            order.append("first out")

    worker = threading.Thread(target=hold)
    worker.start()
    first_in.wait(5)
    with db.migration_lock(engine):
        order.append("second in")
    worker.join()
    assert order == ["first in", "first out", "second in"]
    assert (tmp_path / "l.db.migrate-lock").is_file()
    engine.dispose()


def test_migrate_is_a_no_op_at_head(tmp_path: Path) -> None:
    from geo.coverage.store import MIGRATIONS_DIR, VERSION_TABLE

    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    head = db.head_revision(MIGRATIONS_DIR)
    assert db.current_revision(engine, VERSION_TABLE) is None
    assert db.migrate(engine, MIGRATIONS_DIR, VERSION_TABLE) == head
    assert db.current_revision(engine, VERSION_TABLE) == head
    assert db.migrate(engine, MIGRATIONS_DIR, VERSION_TABLE) == head
    engine.dispose()
