"""Pytest plugin: drive the app in headless Chromium (browser tests and ``bench/bench_app.py``).

Registered by ``tests/conftest.py`` (``pytest_plugins``); the helpers are plain functions::

    with serve_in_thread(create_app()) as url, chrome() as driver:
        driver.get(url)
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

CHROME_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-dev-shm-usage", "--window-size=1400,900",
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_in_thread(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve a Dash app (its Flask server) from a thread; yields its base URL, stops on exit."""
    from werkzeug.serving import make_server

    port = port or free_port()
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="voisinmap-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextlib.contextmanager
def chrome(*, window: tuple[int, int] = (1400, 900)) -> Iterator[Any]:
    """A headless Chromium driven by selenium, with the browser console log available.

    Raises
    ------
    RuntimeError
        When chromium or chromedriver is not installed.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not binary or not driver_path:
        raise RuntimeError(f"chrome: expected chromium and chromedriver on PATH, got {binary!r} and {driver_path!r}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.1,
             message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value; returns it.

    Raises
    ------
    TimeoutError
        When ``timeout`` seconds pass first (the message names ``message``).
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - the page may be mid-render
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {message} (last error: {last_error!r})")


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """Browser console entries of level SEVERE since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def resource_requests(driver: Any, fragment: str) -> list[str]:
    """URLs of the page's resource requests (Performance API) that contain ``fragment``."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes(arguments[0]));",
        fragment,
    )


def qpv_feature_count(driver: Any) -> int:
    """Distinct QPV polygons drawn on the first leaflet map of the page."""
    return int(driver.execute_script("return window.voisinmap ? window.voisinmap.countFeatures('code_qp', true) : 0;"))
