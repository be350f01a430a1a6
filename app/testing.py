"""Helpers to drive the app in headless Chromium (browser tests and ``bench/bench_app.py``).

>>> with serve_in_thread(create_app()) as url, chrome() as driver:
...     driver.get(url)
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


def call_callback(client: Any, output: str, *, inputs: dict[str, Any], state: dict[str, Any] | None = None,
                  triggered: str | None = None) -> Any:
    """POST one callback to a running app's ``/_dash-update-component``, as the browser does.

    Parameters
    ----------
    client : flask.testing.FlaskClient
        A test client of the app's server (carrying cookies, e.g. a session or the language).
    output : str
        ``"component-id.property"`` of one output of the callback (the callback is found in
        ``/_dash-dependencies``).
    inputs, state : dict
        ``"component-id.property"`` -> value, for every input / state of the callback. For a
        pattern-matching input, the key is the pattern as ``/_dash-dependencies`` writes it (e.g.
        ``'{"key":["ALL"],"type":"strategie-jump"}.n_clicks'``) and the value a list of
        ``{"id": {...concrete id...}, "value": v}``.
    triggered : str, optional
        The input that changed (default: the first); for a pattern id, its JSON with sorted keys and
        compact separators, then ``.property``.

    Returns
    -------
    dict
        The JSON ``response`` (component id -> property -> value); on an HTTP error, the response.
    """
    deps = client.get("/_dash-dependencies").get_json()
    target = next((d for d in deps if any(o.split("@")[0] == output for o in _outputs(d["output"]))), None)
    if target is None:
        raise ValueError(f"output: expected an output of a registered callback, got {output!r}")

    def spec(items: list[dict[str, Any]], values: dict[str, Any], kind: str) -> list[Any]:
        out = []
        for item in items:
            key = f"{item['id']}.{item['property']}"
            if key not in values:
                raise ValueError(f"{kind}: missing value for {key!r}")
            if item["id"].startswith("{"):
                out.append([{"id": v["id"], "property": item["property"], "value": v["value"]}
                            for v in values[key]])
            else:
                out.append({"id": item["id"], "property": item["property"], "value": values[key]})
        return out

    outputs = []
    for o in _outputs(target["output"]):
        ident, prop = o.split("@")[0].rsplit(".", 1)
        outputs.append({"id": ident, "property": prop})
    payload = {
        "output": target["output"],
        "outputs": outputs if target["output"].startswith("..") else outputs[0],
        "inputs": spec(target["inputs"], inputs, "inputs"),
        "state": spec(target.get("state", []), state or {}, "state"),
        "changedPropIds": [triggered or f"{target['inputs'][0]['id']}.{target['inputs'][0]['property']}"],
    }
    response = client.post("/_dash-update-component", json=payload)
    if response.status_code == 204:  # every output was no_update
        return {}
    if response.status_code != 200:
        return response
    return response.get_json().get("response", {}) if response.data else {}


def _outputs(output: str) -> list[str]:
    return output.strip(".").split("...") if output.startswith("..") else [output]
