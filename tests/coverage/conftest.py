"""Fixtures of the door-coverage tests: databases (SQLite and PostgreSQL), small QPV layers, address API."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import sqlalchemy as sa
from coverage_helpers import AddressServer
from shapely.geometry import box

PG_ENV = "VOISINMAP_TEST_PG_URL"


def _fresh_pg_database(base_url: str) -> tuple[str, sa.Engine, str]:
    url = sa.engine.make_url(base_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"vm_cov_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin, name


@contextlib.contextmanager
def _pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database, dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.fail(f"{PG_ENV} is not set (CI exports it; locally start a PostgreSQL server and set it)")
    url, admin, name = _fresh_pg_database(base)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: a SQLite file, or a fresh PostgreSQL database (marker ``postgres``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with _pg_database() as url:
        yield url


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    """The store on a fresh PostgreSQL database, migrated (for tests marked ``postgres``)."""
    from geo.coverage.store import open_store

    with _pg_database() as url:
        eng = open_store(url)
        try:
            yield eng
        finally:
            eng.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """The store on :func:`db_url`, migrated."""
    from geo.coverage.store import open_store

    eng = open_store(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def square_qpv() -> gpd.GeoDataFrame:
    """Two hand-drawn square QPV in Grigny's area (about 1.1 km x 0.7 km each), 1,000 and 500 households."""
    return gpd.GeoDataFrame(
        {"code_qp": ["QN09901M", "QN09902M"], "lib_qp": ["Carré Nord", "Carré Sud"],
         "households": [1000.0, 500.0]},
        geometry=[box(2.37, 48.65, 2.385, 48.656), box(2.37, 48.64, 2.385, 48.646)], crs="EPSG:4326")


@pytest.fixture
def address_server() -> Iterator[AddressServer]:
    """A local HTTP server on 127.0.0.1 that answers like the national address API's CSV endpoint."""
    server = AddressServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def territory(processed_dir: Path):  # noqa: ANN201
    """France's land from the built départements layer (1 km margin)."""
    from geo.coverage.territory import france_territory
    from geo.load import load_departements

    return france_territory(load_departements(data_dir=processed_dir))
