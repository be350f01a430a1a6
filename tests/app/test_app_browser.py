"""The app in headless Chromium: the map, its layers, restyling, the scenario, the search."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.plugins.browser import console_errors, qpv_feature_count, resource_requests, wait_for

pytestmark = pytest.mark.browser

FILL_OF = """
let colour = null;
window.voisinmap.maps[0].eachLayer(function (l) {
    if (l instanceof L.Polygon && l.feature && l.feature.properties.code_qp === arguments[0]) { colour = l.options.fillColor; }
}.bind(null));
return colour;
"""


def _fill(driver, code: str) -> str | None:
    return driver.execute_script(FILL_OF.replace("arguments[0]", repr(code)))


def open_map(driver, url: str) -> None:
    driver.get(url + "/")
    driver.get_log("browser")  # drop entries of earlier pages
    wait_for(lambda: qpv_feature_count(driver) >= 1584, timeout=60, message="the QPV layer")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#strategie-table tbody tr"), timeout=30,
             message="the ranked table")


def settle(driver, seconds: float = 1.0) -> None:
    """Wait until the map stops moving (fly animations) for ``seconds``."""
    import time

    state = "const m = window.voisinmap.maps[0], c = m.getCenter(); return [m.getZoom(), c.lat, c.lng, !!m._animatingZoom];"
    last, since = None, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = driver.execute_script(state)
        if now != last or now[3]:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.1)


def choose(driver, dropdown_id: str, text: str, *, value: str | None = None) -> None:
    """Open a dcc.Dropdown, type ``text`` and pick the option of ``value`` (default: the first shown)."""
    driver.find_element(By.ID, dropdown_id).click()
    driver.switch_to.active_element.send_keys(text)

    def option():
        shown = [o for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if o.is_displayed()]
        if value is not None:
            shown = [o for o in shown if o.find_element(By.TAG_NAME, "input").get_attribute("value") == value]
        return shown[0] if shown else None

    wait_for(option, timeout=10, message=f"option {value or text!r} of {dropdown_id}").click()


def test_page_loads_without_console_errors_and_holds_every_qpv(driver, live_url):
    open_map(driver, live_url)
    assert qpv_feature_count(driver) == 1584
    assert console_errors(driver) == []
    driver.get(live_url + "/donnees")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#donnees-sources tbody tr"), message="sources table")
    assert console_errors(driver) == []


def test_switching_indicator_restyles_without_fetching_geometry(driver, live_url, processed_dir):
    open_map(driver, live_url)
    assert len(resource_requests(driver, "/layers/qpv.pbf")) == 1
    # QN00101M: poverty rate 46 % (class 43-47), population 6,399 (top class)
    assert _fill(driver, "QN00101M") == "#2a788e"
    choose(driver, "strategie-indicator", "Popul", value="population")
    wait_for(lambda: _fill(driver, "QN00101M") == "#440154", message="the new fill colour")
    legend = driver.find_element(By.ID, "strategie-legend").text.replace("\u202f", " ")
    from app.components.mapstyle import legend_items
    from geo.load import load_qpv

    items = dict(legend_items("population", load_qpv(data_dir=processed_dir), lang="fr"))
    assert "Population" in legend and items["#440154"].replace("\u202f", " ") in legend
    assert "et plus" in items["#440154"]
    assert len(resource_requests(driver, "/layers/qpv.pbf")) == 1  # geometry was not requested again
    assert console_errors(driver) == []


def test_changing_k_updates_table_and_markers(driver, live_url):
    open_map(driver, live_url)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#strategie-table tbody tr")) >= 10
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".rec-marker")) == 10, message="10 markers")
    first_before = driver.find_element(By.CSS_SELECTOR, "#strategie-share-text").text
    box = driver.find_element(By.CSS_SELECTOR, "input#strategie-k")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("4", Keys.TAB)
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".rec-marker")) == 4, message="4 markers")
    rows = driver.find_elements(By.CSS_SELECTOR, "#strategie-table tbody tr td[data-dash-column=rank]")
    assert [r.text for r in rows] == ["1", "2", "3", "4"]
    assert sorted(m.text for m in driver.find_elements(By.CSS_SELECTOR, ".rec-marker")) == ["1", "2", "3", "4"]
    assert driver.find_element(By.CSS_SELECTOR, "#strategie-share-text").text != first_before
    assert console_errors(driver) == []


def test_search_zooms_to_a_commune(driver, live_url, artifacts):
    open_map(driver, live_url)
    zoom_before = driver.execute_script("return window.voisinmap.maps[0].getZoom();")
    choose(driver, "strategie-search", "Vaulx-en-Velin", value="commune:69256")

    def arrived():
        z = driver.execute_script("return window.voisinmap.maps[0].getZoom();")
        c = driver.execute_script("const c = window.voisinmap.maps[0].getCenter(); return [c.lat, c.lng];")
        return z >= 11 and abs(c[0] - 45.78) < 0.05 and abs(c[1] - 4.92) < 0.06

    wait_for(arrived, timeout=15, message="the map over Vaulx-en-Velin")
    assert driver.execute_script("return window.voisinmap.maps[0].getZoom();") > zoom_before
    assert console_errors(driver) == []


def test_screenshot_of_a_selected_qpv(driver, live_url, artifacts):
    open_map(driver, live_url)
    choose(driver, "strategie-search", "QN09126M", value="qpv:QN09126M")  # Grigny 2: selected, panel opens
    panel = wait_for(lambda: driver.find_element(By.ID, "strategie-panel-name"), message="the QPV panel")
    assert panel.text == "Grigny 2"
    link = driver.find_element(By.ID, "strategie-panel-link").get_attribute("href")
    assert link == "https://sig.ville.gouv.fr/territoire/QN09126M"
    wait_for(lambda: _fill(driver, "QN09126M") is not None and
             driver.execute_script("return window.voisinmap.maps[0].getZoom();") >= 12, message="zoom to the QPV")
    settle(driver)
    path = artifacts / "strategie.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 20_000
    assert console_errors(driver) == []


def test_language_switch_and_navigation(driver, live_url):
    open_map(driver, live_url)
    assert "active" in driver.find_element(By.CSS_SELECTOR, "a.nav-link[href='/']").get_attribute("class")
    driver.find_element(By.ID, "lang-en").click()
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "a.nav-link[href='/']").text == "Strategy",
             message="the English navigation bar")
    wait_for(lambda: "Poverty rate" in driver.find_element(By.ID, "strategie-legend").text, message="English legend")
    driver.find_element(By.CSS_SELECTOR, "a.nav-link[href='/donnees']").click()
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#donnees-sources tbody tr"), message="the Data page")
    assert "active" in driver.find_element(By.CSS_SELECTOR, "a.nav-link[href='/donnees']").get_attribute("class")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Data"
    driver.find_element(By.ID, "lang-fr").click()
    wait_for(lambda: driver.find_element(By.TAG_NAME, "h1").text == "Données", message="back to French")
    assert console_errors(driver) == []
