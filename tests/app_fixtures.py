"""Web-app fixtures shared by every test folder (registered by the root ``conftest.py``).

Dash registers page callbacks globally: one app per test session.
"""

from __future__ import annotations

import os
from pathlib import Path

import dash
import pytest

#: The administrator account of the session app (every page and callback is open to it).
ADMIN = ("admin-tests", "mot de passe des tests assez long")


@pytest.fixture(scope="session")
def dash_app(processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dash.Dash:
    """The app built on the national processed data, with its own database holding one admin account."""
    from app.main import create_app
    from app.security import settings
    from geo.auth.store import UserStore

    previous = os.environ.get(settings.ENV_PROXY_FIX)
    os.environ[settings.ENV_PROXY_FIX] = "0"  # test clients connect directly: lock-out by address on
    try:
        app = create_app(data_dir=processed_dir)
    finally:
        if previous is None:
            os.environ.pop(settings.ENV_PROXY_FIX)
        else:
            os.environ[settings.ENV_PROXY_FIX] = previous
    url = f"sqlite:///{tmp_path_factory.mktemp('app-db') / 'voisinmap.db'}"
    app.server.config[settings.DB_KEY] = url
    UserStore(url).add_user(ADMIN[0], ADMIN[1], role="admin")
    app.server.test_client().get("/_dash-dependencies")  # Dash's first-request set-up, before any thread
    return app


@pytest.fixture(scope="session")
def client(dash_app: dash.Dash):
    """A Flask test client of the app, signed in as the administrator."""
    from tests.plugins import app_session

    test_client = dash_app.server.test_client()
    response = app_session.sign_in(test_client, *ADMIN)
    assert response.status_code in (302, 303), response.status_code
    return test_client


@pytest.fixture(scope="session")
def live_url(dash_app: dash.Dash):
    """Base URL of the app served from a thread, without background tiles (no internet in tests)."""
    import os

    from app.warmup import warm_up
    from tests.plugins.browser import serve_in_thread

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
def driver(live_url: str):
    """A headless Chromium (Debian's chromium + chromedriver), signed in as the administrator."""
    from tests.plugins import app_session
    from tests.plugins.browser import chrome

    with chrome(window=(1400, 900)) as d:
        app_session.browser_sign_in(d, live_url, *ADMIN)
        yield d


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (git-ignored)."""
    from geo import config as cfg

    folder = cfg.PROJECT_ROOT / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
