"""Fixtures for the web app: one Dash app per test session (Dash registers page callbacks globally)."""

from __future__ import annotations

import sys
from pathlib import Path

import dash
import pytest

from geo import config

# tests/ is on sys.path (rootdir conftest without __init__.py), so the folder tests/app would shadow the
# package app/ (the editable install's finder comes after the path finder): put the checkout first.
if sys.path[:1] != [str(config.PROJECT_ROOT)]:
    sys.path.insert(0, str(config.PROJECT_ROOT))
if "app" in sys.modules and getattr(sys.modules["app"], "__file__", None) is None:
    del sys.modules["app"]  # a namespace package picked up from tests/app


@pytest.fixture(scope="session")
def dash_app(processed_dir: Path) -> dash.Dash:
    """The app built on the national processed data."""
    from app.main import create_app

    return create_app(data_dir=processed_dir)


@pytest.fixture(scope="session")
def client(dash_app: dash.Dash):
    """A Flask test client of the app."""
    return dash_app.server.test_client()
