"""Web-app fixtures shared by every test folder (registered by the root ``conftest.py``).

Dash registers page callbacks globally: one app per test session.
"""

from __future__ import annotations

from pathlib import Path

import dash
import pytest


@pytest.fixture(scope="session")
def dash_app(processed_dir: Path) -> dash.Dash:
    """The app built on the national processed data."""
    from app.main import create_app

    return create_app(data_dir=processed_dir)


@pytest.fixture(scope="session")
def client(dash_app: dash.Dash):
    """A Flask test client of the app."""
    return dash_app.server.test_client()


@pytest.fixture(scope="session")
def live_url(dash_app: dash.Dash):
    """Base URL of the app served from a thread, without background tiles (no internet in tests)."""
    import os

    from app.testing import serve_in_thread
    from app.warmup import warm_up

    previous = os.environ.get("VOISINMAP_TILES_URL")
    os.environ["VOISINMAP_TILES_URL"] = "none"
    warm_up(data_dir=dash_app.server.config.get("VOISINMAP_DATA_DIR"))
    try:
        with serve_in_thread(dash_app) as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop("VOISINMAP_TILES_URL", None)
        else:
            os.environ["VOISINMAP_TILES_URL"] = previous


@pytest.fixture(scope="session")
def driver():
    """A headless Chromium (Debian's chromium + chromedriver)."""
    from app.testing import chrome

    with chrome(window=(1400, 900)) as d:
        yield d


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (git-ignored)."""
    from geo import config as cfg

    folder = cfg.PROJECT_ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
