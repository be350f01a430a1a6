"""``GET /healthz``: readiness and data version, for load balancers, process managers and the bench.

The answer is JSON, needs no session and holds no personal data: readiness (the warm-up is done), the
data version the cached results are keyed on (:func:`app.cache.data_version`: digests of the processed
data manifest, of the door store's version and of the code), the build date of the processed data and
the kind of shared cache. Status 200 when ready, 503 while warming up or when the data cannot be read.

It is answered by a small WSGI middleware in front of the Flask app rather than a Flask route: a probe
must be answered while the app warms up, opens no session, and is not counted by the sign-in limiter.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import flask

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"

_READY = threading.Event()


def mark_ready() -> None:
    """Record that the warm-up is done (this process and the workers forked from it are ready)."""
    _READY.set()


def is_ready() -> bool:
    """Whether :func:`mark_ready` was called in this process (or before it forked)."""
    return _READY.is_set()


def report(server: flask.Flask) -> tuple[int, dict[str, Any]]:
    """The health report of ``server``: ``(HTTP status, JSON body)``."""
    from app import cache
    from app.main import DATA_DIR_KEY
    from app.security.settings import DB_KEY
    from geo import config, schema

    folder = server.config.get(DATA_DIR_KEY)
    body: dict[str, Any] = {"ready": is_ready(), "cache": server.config.get("VOISINMAP_CACHE_BACKEND")}
    try:
        body["data_version"] = cache.data_version(data_dir=folder, db_url=server.config.get(DB_KEY))
        manifest = json.loads((config.data_dir(folder) / schema.MANIFEST).read_text(encoding="utf-8"))
        body["data_built_at"] = manifest.get("built_at")
    except Exception as exc:  # noqa: BLE001 - any failure to read the data means "not ready", named by kind
        logger.warning("health: data not readable (%s)", type(exc).__name__)
        body["ready"] = False
        body["error"] = type(exc).__name__
    body["status"] = "ready" if body["ready"] else "starting" if "error" not in body else "error"
    return (200 if body["ready"] else 503), body


class HealthMiddleware:
    """WSGI middleware answering ``GET``/``HEAD`` :data:`HEALTH_PATH` and passing anything else on."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], server: flask.Flask) -> None:
        self.wsgi_app = wsgi_app
        self.server = server

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer the probe, or hand the request to the app."""
        if environ.get("PATH_INFO") != HEALTH_PATH or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        status, body = report(self.server)
        payload = json.dumps(body, sort_keys=True).encode()
        start_response(f"{status} {'OK' if status == 200 else 'Service Unavailable'}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ])
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [payload]


def init_app(server: flask.Flask) -> None:
    """Answer :data:`HEALTH_PATH` in front of ``server``."""
    server.wsgi_app = HealthMiddleware(server.wsgi_app, server)  # type: ignore[method-assign]
