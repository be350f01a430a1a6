"""WSGI entry point: ``gunicorn app.wsgi:server``."""

from __future__ import annotations

from app.main import create_app

app = create_app()
server = app.server
