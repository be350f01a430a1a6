"""Shared fixtures.

``processed_dir`` builds the national processed data once per test session from the offline mirror
(``../shared/data``), into a temporary folder of the session (never the checkout's ``data/processed``),
and returns that folder.

Tests that need the mirror (those using the ``mirror`` fixture, directly or through ``processed_dir`` or
the app fixtures) carry the ``national`` marker, added at collection. Without a mirror they are skipped
with the reason, unless ``VOISINMAP_REQUIRE_NATIONAL=1`` (CI), where they fail -- like the browser and
PostgreSQL tests with ``VOISINMAP_REQUIRE_BROWSER`` and ``VOISINMAP_REQUIRE_POSTGRES``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo import config

pytest_plugins = ["tests.app_fixtures", "tests.plugins.app_session", "tests.plugins.browser"]


NO_MIRROR = "no data mirror: set VOISINMAP_DATA_MIRROR or place the project beside shared/data"


def _have_mirror() -> bool:
    path = config.mirror_dir()
    return path is not None and path.is_dir()


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selection, so that ``-m national`` sees the added markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:  # noqa: ARG001
    """Mark mirror-dependent tests ``national``; skip national / browser / PostgreSQL tests when their
    data or service is absent, unless CI requires them."""
    import shutil

    have_browser = shutil.which("chromium") and shutil.which("chromedriver")
    require_browser = os.environ.get("VOISINMAP_REQUIRE_BROWSER") == "1"
    have_pg = bool(os.environ.get("VOISINMAP_TEST_PG_URL"))
    require_pg = os.environ.get("VOISINMAP_REQUIRE_POSTGRES") == "1"
    have_mirror = _have_mirror()
    require_national = os.environ.get("VOISINMAP_REQUIRE_NATIONAL") == "1"
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.national)
        if "national" in item.keywords and not have_mirror and not require_national:
            item.add_marker(pytest.mark.skip(reason=NO_MIRROR))
        if "browser" in item.keywords and not have_browser and not require_browser:
            item.add_marker(pytest.mark.skip(reason="chromium / chromedriver not installed"))
        if "postgres" in item.keywords and not have_pg and not require_pg:
            item.add_marker(pytest.mark.skip(reason="VOISINMAP_TEST_PG_URL not set"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror of the official files (``../shared/data``)."""
    if not _have_mirror():
        if os.environ.get("VOISINMAP_REQUIRE_NATIONAL") == "1":
            pytest.fail(NO_MIRROR)
        pytest.skip(NO_MIRROR)
    return config.mirror_dir()


@pytest.fixture(scope="session")
def processed_dir(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ARG001
    """Folder of the processed national data, built once per session in a temporary folder."""
    from geo.build import build

    out = tmp_path_factory.mktemp("processed")
    build(data_dir=out)
    return out
