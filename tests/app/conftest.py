"""Fixtures for the web app: one Dash app per test session (Dash registers page callbacks globally)."""

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
