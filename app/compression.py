"""Compression and browser caching of the app's responses (one :func:`init_compression` call in
:func:`app.main.create_app`).

* **Flask-Compress** compresses text responses (scripts, styles, JSON callbacks, pages) with Brotli or
  gzip, whichever the browser accepts (Brotli first). ``plotly.min.js`` (4.8 MB) travels as ~1 MB.
* The compressed bytes of **versioned static files** (Dash's fingerprinted component suites, assets
  with their ``?m=`` stamp) are kept in memory once per worker (:class:`StaticCompressedCache`), so a
  large bundle is compressed once, not on every request; so are the compressed **callback answers**
  served from the shared cache (:mod:`app.callback_cache`), under their versioned key, in a bounded
  least-recently-used table; nothing else is cached.
* **Long cache headers**: a fingerprinted bundle (``….v4_4_1m1712345678.min.js``) or an asset with its
  modification stamp never changes under the same URL: ``Cache-Control: public, max-age=31536000,
  immutable``. A reload then asks nothing for them (the goal: ≤ 300 KB transferred on a reload).

Switch both off with ``VOISINMAP_COMPRESSION=0`` (the "before" of ``bench/bench_impact.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict

import flask
from dash.fingerprint import check_fingerprint

logger = logging.getLogger(__name__)

ENV_COMPRESSION = "VOISINMAP_COMPRESSION"
ONE_YEAR = 31_536_000
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"
SUITES_PREFIX = "/_dash-component-suites/"
ASSETS_PREFIX = "/assets/"
#: Compressed static files kept per worker, at most (bytes of compressed content).
CACHE_BYTES = 64 * 1024 * 1024
#: Compressed callback answers kept per worker, at most (least recently used dropped first).
ANSWER_BYTES = 32 * 1024 * 1024
#: ``flask.g`` attribute holding the shared-cache key of a callback answer (:data:`app.callback_cache.G_KEY`).
CALLBACK_G_KEY = "voisinmap_callback_key"


def enabled() -> bool:
    """Whether compression and long caching are on (``$VOISINMAP_COMPRESSION`` not ``0``)."""
    return os.environ.get(ENV_COMPRESSION, "1").strip() not in ("0", "false", "no", "off")


def versioned(path: str, args: flask.Request | None = None) -> bool:
    """Whether a URL names one version of a static file forever (fingerprinted or ``?m=`` stamped)."""
    if path.startswith(SUITES_PREFIX):
        return check_fingerprint(path)[1]
    if path.startswith(ASSETS_PREFIX):
        return args is not None and bool(args.args.get("m"))
    return False


class StaticCompressedCache:
    """The Flask-Compress cache backend: keeps versioned static files (keys ``…;static:<url>``) until the
    budget is spent, and the compressed answers of cached callbacks (keys ``…;callback:<key>``, versioned
    by the data, see :mod:`app.callback_cache`) in a bounded least-recently-used table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, bytes] = {}
        self._size = 0
        self._answers: OrderedDict[str, bytes] = OrderedDict()
        self._answers_size = 0

    def get(self, key: str) -> bytes | None:
        """The compressed bytes of ``key``, None when absent or not a kept key."""
        with self._lock:
            if ";callback:" in key:
                found = self._answers.get(key)
                if found is not None:
                    self._answers.move_to_end(key)
                return found
            return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        """Keep ``value`` when ``key`` names a versioned static file or a cached callback answer."""
        if ";callback:" in key:
            self._keep_answer(key, value)
            return
        if ";static:" not in key:
            return
        with self._lock:
            if key in self._data or self._size + len(value) > CACHE_BYTES:
                return
            self._data[key] = value
            self._size += len(value)

    def _keep_answer(self, key: str, value: bytes) -> None:
        if len(value) > ANSWER_BYTES // 4:
            return
        with self._lock:
            if key in self._answers:
                return
            self._answers[key] = value
            self._answers_size += len(value)
            while self._answers_size > ANSWER_BYTES:
                _, dropped = self._answers.popitem(last=False)
                self._answers_size -= len(dropped)


def _cache_key(request: flask.Request) -> str:
    if versioned(request.path, request):
        return f"static:{request.full_path}"
    callback = flask.g.get(CALLBACK_G_KEY)
    if callback:  # a callback answer served from the shared cache: same key, same bytes
        return f"callback:{callback}"
    return f"dynamic:{id(request)}"


def _cache_headers(response: flask.Response) -> flask.Response:
    request = flask.request
    if response.status_code == 200 and versioned(request.path, request):
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers.pop("Expires", None)
    return response


def init_compression(server: flask.Flask) -> None:
    """Attach Flask-Compress (Brotli, gzip) and the long cache headers of versioned files to ``server``."""
    if not enabled():
        logger.info("compression and long caching off (%s=0)", ENV_COMPRESSION)
        return
    from flask_compress import Compress

    server.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    server.config.setdefault("COMPRESS_BR_LEVEL", 5)
    server.config.setdefault("COMPRESS_LEVEL", 6)
    server.config.setdefault("COMPRESS_STREAMS", False)
    server.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    server.config.setdefault("COMPRESS_CACHE_BACKEND", StaticCompressedCache)
    server.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
        "application/x-javascript", "application/json", "application/geo+json", "image/svg+xml"])
    server.after_request(_cache_headers)  # registered before Compress: runs after it (Flask runs them in reverse)
    Compress(server)
    logger.info("compression on (%s), versioned static files cached for a year",
                ", ".join(server.config["COMPRESS_ALGORITHM"]))
