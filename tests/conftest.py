"""Shared fixtures.

``processed_dir`` builds the national processed data once per test session from the offline mirror
(``../shared/data``), into the default data folder, and returns that folder. The build is incremental:
with unchanged sources it returns at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo import config

pytest_plugins = ["tests.app_fixtures", "tests.plugins.app_session", "tests.plugins.browser"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:  # noqa: ARG001
    """Mark browser / PostgreSQL tests as skipped when their service is absent, unless CI requires them."""
    import shutil

    have_browser = shutil.which("chromium") and shutil.which("chromedriver")
    require_browser = os.environ.get("VOISINMAP_REQUIRE_BROWSER") == "1"
    have_pg = bool(os.environ.get("VOISINMAP_TEST_PG_URL"))
    require_pg = os.environ.get("VOISINMAP_REQUIRE_POSTGRES") == "1"
    for item in items:
        if "browser" in item.keywords and not have_browser and not require_browser:
            item.add_marker(pytest.mark.skip(reason="chromium / chromedriver not installed"))
        if "postgres" in item.keywords and not have_pg and not require_pg:
            item.add_marker(pytest.mark.skip(reason="VOISINMAP_TEST_PG_URL not set"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline mirror of the official files (``../shared/data``)."""
    path = config.mirror_dir()
    if path is None or not path.is_dir():
        pytest.fail("no data mirror: set VOISINMAP_DATA_MIRROR or place the project beside shared/data")
    return path


@pytest.fixture(scope="session")
def processed_dir(mirror: Path) -> Path:  # noqa: ARG001
    """Folder of the processed national data, built (or found up to date) once per session."""
    from geo.build import build

    out = config.data_dir()
    build(data_dir=out)
    return out
