"""Field entry in headless Chromium, at phone size, through a proxy that can cut the network.

The browser reaches the app through :class:`CuttableProxy` (a TCP relay on 127.0.0.1): ``down`` drops every
connection (the phone has no network at all, service worker included), ``cut-sync`` lets a sync request
reach the server, waits until the server answers (the visits are stored), then drops the connection
without passing the answer on. The page is also set offline with the Chrome DevTools Protocol
(``Network.emulateNetworkConditions``), so that ``navigator.onLine`` is false as on a phone.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.auth.conftest import PASSWORD, SITE_A, AccessEnv
from tests.auth.test_field_entry import _store_count, _terrain_visits

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


class CuttableProxy:
    """A TCP relay to ``127.0.0.1:target`` whose network can be cut (see the module docstring)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.mode = "up"
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "down":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                _reset(client)
                continue
            pair = {"cut": False}
            self.open |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream, pair, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair: dict[str, bool], outbound: bool) -> None:
        while True:
            try:
                chunk = source.recv(65536)
            except OSError:
                chunk = b""
            if self.mode == "down":
                break
            if not chunk:  # a clean end of this direction: pass it on, the other direction ends by itself
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            if outbound and self.mode == "cut-sync" and b"POST /saisie/api/sync" in chunk:
                pair["cut"] = True
            if not outbound and pair["cut"]:  # the server answered: the sync is stored; drop the answer
                self.cuts += 1
                break
            try:
                sink.sendall(chunk)
            except OSError:
                break
        for s in (source, sink):
            _reset(s)
            self.open.discard(s)

    def drop_all(self) -> None:
        """Close every relayed connection (the browser's kept-alive ones included)."""
        for s in list(self.open):
            _reset(s)
        self.open.clear()

    def close(self) -> None:
        self.drop_all()
        self.listener.close()


def _reset(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not a clean end
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)  # also wakes the relay thread blocked on this socket
    with contextlib.suppress(OSError):
        s.close()


@pytest.fixture(scope="module")
def proxy(live_url: str) -> Iterator[CuttableProxy]:
    relay = CuttableProxy(int(live_url.rsplit(":", 1)[1]))
    yield relay
    relay.close()


@pytest.fixture(scope="module")
def phone() -> Iterator[Any]:
    from tests.plugins.browser import chrome

    with chrome(window=(390, 844)) as d:
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        yield d


def _offline(driver: Any, proxy: CuttableProxy, offline: bool, *, mode: str = "up") -> None:
    proxy.mode = "down" if offline else mode
    if offline:
        proxy.drop_all()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": offline, "latency": 0,
                                                                "downloadThroughput": -1, "uploadThroughput": -1})


def _queued(driver: Any) -> int:
    return int(driver.find_element(By.ID, "s-count").text or 0)


def _record(driver: Any, building_index: int, door: str, outcome: str) -> None:
    from tests.plugins.browser import wait_for

    before = _queued(driver)
    Select(driver.find_element(By.ID, "s-building")).select_by_index(building_index)
    field = driver.find_element(By.ID, "s-door")
    field.clear()
    field.send_keys(door)
    Select(driver.find_element(By.ID, "s-language")).select_by_value("français")
    driver.find_element(By.CSS_SELECTOR, f'button[data-outcome="{outcome}"]').click()
    wait_for(lambda: _queued(driver) == before + 1, message=f"visit {door} queued")


def _ready(driver: Any) -> None:
    from tests.plugins.browser import wait_for

    wait_for(lambda: driver.execute_script("return document.body.dataset.ready") == "1", timeout=30,
             message="field page ready")


def _idle(driver: Any) -> None:
    from tests.plugins.browser import wait_for

    wait_for(lambda: driver.execute_script("return document.body.dataset.syncing") != "1", timeout=30,
             message="sync finished")


def _queue_entries(driver: Any) -> list[dict[str, Any]]:
    return driver.execute_async_script("""
        var done = arguments[arguments.length - 1];
        var req = indexedDB.open("voisinmap-saisie", 1);
        req.onsuccess = function () {
          var get = req.result.transaction("entries").objectStore("entries").getAll();
          get.onsuccess = function () { req.result.close(); done(get.result); };
        };""")


def _put_entries(driver: Any, entries: list[dict[str, Any]]) -> None:
    driver.execute_async_script("""
        var entries = arguments[0], done = arguments[arguments.length - 1];
        var req = indexedDB.open("voisinmap-saisie", 1);
        req.onsuccess = function () {
          var t = req.result.transaction("entries", "readwrite");
          entries.forEach(function (e) { t.objectStore("entries").put(e); });
          t.oncomplete = function () { req.result.close(); done(true); };
        };""", entries)


def _controlled(driver: Any) -> bool:
    """Whether a service worker controls the page: waited for, then once more after a reload (a phone that
    reopens the page), since on a loaded machine the first install may not finish within the script timeout."""
    from selenium.common.exceptions import TimeoutException

    script = """
        var done = arguments[arguments.length - 1];
        navigator.serviceWorker.ready.then(function () {
          (function wait() { if (navigator.serviceWorker.controller) { done(true); } else { setTimeout(wait, 100); } })();
        });"""
    try:
        return bool(driver.execute_async_script(script))
    except TimeoutException:
        driver.refresh()
        _ready(driver)
        return bool(driver.execute_async_script(script))


@pytest.mark.browser
def test_offline_entry_reload_sync_and_cut_sync(proxy: CuttableProxy, phone: Any, clients: dict[str, Any],
                                                access_env: AccessEnv, artifacts: Path) -> None:
    from tests.plugins import app_session
    from tests.plugins.browser import console_errors, wait_for

    driver = phone
    app_session.browser_sign_in(driver, proxy.url, "voisin-a", PASSWORD)
    driver.get(proxy.url + "/saisie")
    _ready(driver)
    campaign = Select(driver.find_element(By.ID, "s-campaign")).first_selected_option.get_attribute("value")
    assert campaign
    # the service worker controls the page and holds the shell
    assert _controlled(driver)
    cached = driver.execute_async_script("""
        var done = arguments[arguments.length - 1];
        caches.keys().then(function (names) { return caches.open(names[0]); })
          .then(function (c) { return c.keys(); }).then(function (keys) { done(keys.map(function (r) { return r.url; })); });""")
    assert any(u.endswith("/saisie") for u in cached) and any("saisie.js" in u for u in cached), cached
    assert [e for e in console_errors(driver) if "favicon" not in e["message"]] == []
    # Chrome finds the page installable (manifest, icons, service worker with a fetch handler)
    assert driver.execute_cdp_cmd("Page.getInstallabilityErrors", {})["installabilityErrors"] == []
    # the nearest buildings, from a position the phone gives (never sent to the server)
    first = driver.execute_script("return Array.from(document.querySelectorAll('#s-building option'))"
                                  ".map(function (o) { return o.value; })")[5]
    ctx = clients["voisin_a"].get(f"/saisie/api/context?campaign={campaign}").get_json()
    spot = next(b for b in ctx["buildings"] if b["id"] == first)
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": proxy.url, "permissions": ["geolocation"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride", {"latitude": spot["lat"], "longitude": spot["lon"],
                                                                "accuracy": 5})
    driver.find_element(By.ID, "s-near").click()
    wait_for(lambda: Select(driver.find_element(By.ID, "s-building")).first_selected_option.get_attribute("value")
             == first, message="nearest building selected")

    store_before = _store_count(access_env.url, SITE_A, campaign)
    terrain_before = _terrain_visits(clients["manager_a"], campaign)

    # 1. offline: five visits, kept on the phone
    _offline(driver, proxy, True)
    wait_for(lambda: driver.execute_script("return navigator.onLine") is False, message="navigator offline")
    for k, outcome in enumerate(("ouvert", "absent", "a_revoir", "refus", "ouvert"), start=1):
        _record(driver, k, f"A-0{k}-1{k}", outcome)
    _idle(driver)
    assert _queued(driver) == 5
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.save_screenshot(str(artifacts / "saisie.png"))

    # 2. reloaded offline: the service worker serves the shell, the visits are still queued
    driver.refresh()
    _ready(driver)
    assert _queued(driver) == 5
    assert "s-outcome" in driver.page_source and proxy.mode == "down"
    queue = _queue_entries(driver)
    assert len(queue) == 5 and len({e["id"] for e in queue}) == 5
    assert _store_count(access_env.url, SITE_A, campaign) == store_before

    # 3. back online: they sync; the manager's figures rise by exactly 5
    _offline(driver, proxy, False)
    driver.find_element(By.ID, "s-sync").click()
    wait_for(lambda: _queued(driver) == 0, timeout=30, message="queue sent")
    assert _store_count(access_env.url, SITE_A, campaign) == store_before + 5
    assert _terrain_visits(clients["manager_a"], campaign) == terrain_before + 5
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#s-today li:not(.s-empty)")) >= 5,
             message="own entries of the day")
    driver.execute_script("document.getElementById('s-status').scrollIntoView()")
    driver.save_screenshot(str(artifacts / "saisie-envoyee.png"))

    # 4. the same queue synced again adds nothing
    _put_entries(driver, queue)
    driver.refresh()
    _ready(driver)
    wait_for(lambda: _queued(driver) == 0, timeout=30, message="same queue sent again")
    assert _store_count(access_env.url, SITE_A, campaign) == store_before + 5
    assert _terrain_visits(clients["manager_a"], campaign) == terrain_before + 5

    # 5. a sync whose connection drops after the server stored it: nothing lost, nothing twice
    _offline(driver, proxy, True)
    _record(driver, 2, "B-01-11", "ouvert")
    _record(driver, 3, "B-01-12", "absent")
    _idle(driver)
    _offline(driver, proxy, False, mode="cut-sync")
    proxy.drop_all()
    driver.find_element(By.ID, "s-sync").click()
    wait_for(lambda: proxy.cuts >= 1, timeout=30, message="sync cut")
    _idle(driver)
    assert _queued(driver) == 2, "the phone got no confirmation: it keeps the visits"
    assert _store_count(access_env.url, SITE_A, campaign) == store_before + 7  # stored before the cut
    proxy.mode = "up"
    driver.find_element(By.ID, "s-sync").click()
    wait_for(lambda: _queued(driver) == 0, timeout=30, message="queue sent after the cut")
    time.sleep(0.5)
    assert _store_count(access_env.url, SITE_A, campaign) == store_before + 7
    assert _terrain_visits(clients["manager_a"], campaign) == terrain_before + 7
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
