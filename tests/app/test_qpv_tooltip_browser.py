"""The light QPV layer in headless Chromium: hovering a quartier fetches its figures on demand
(« Chargement… » first), formatted in the page's language; a click opens its panel."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.plugins.browser import console_errors, qpv_feature_count, resource_requests, wait_for

pytestmark = pytest.mark.browser

CODE = "QN00101M"  # Grande Reyssouze Terre Des Fleurs, Bourg-en-Bresse: 6,399 residents, poverty rate 46 %

#: Records every text a tooltip shows, from now on.
WATCH_TOOLTIPS = """
window.__tips = [];
new MutationObserver(() => document.querySelectorAll('.leaflet-tooltip').forEach(
    (e) => window.__tips.push(e.textContent))).observe(document.body, {subtree: true, childList: true, characterData: true});
"""


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def _point_of(driver, lat: float, lon: float) -> tuple[float, float]:
    return driver.execute_script(
        "const p = window.voisinmap.maps[0].latLngToContainerPoint([arguments[0], arguments[1]]); return [p.x, p.y];",
        lat, lon)


def _hover(driver, lat: float, lon: float) -> None:
    """Move the real pointer over (lat, lon) of the map, in small steps as a hand does."""
    element = driver.find_element(By.ID, "strategie-map")
    x, y = _point_of(driver, lat, lon)
    size = element.size
    chain = ActionChains(driver).move_to_element(element).move_by_offset(int(x - size["width"] / 2) - 3,
                                                                          int(y - size["height"] / 2))
    for _ in range(3):
        chain.move_by_offset(1, 0)
    chain.perform()


def _open_at(driver, live_url: str, quartier) -> None:
    """The Stratégie page, zoomed on the quartier above the symbols' threshold (the polygons are drawn)."""
    driver.get(live_url + "/")
    driver.get_log("browser")
    wait_for(lambda: qpv_feature_count(driver) >= 1584, timeout=60, message="the QPV layer")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#strategie-table tbody tr"), timeout=30,
             message="the ranked table")
    driver.execute_script("window.voisinmap.maps[0].setView([arguments[0], arguments[1]], 13, {animate: false});",
                          float(quartier["rep_lat"]), float(quartier["rep_lon"]))
    wait_for(lambda: driver.execute_script("return window.voisinmap.maps[0].getPane('vm-qpv').style.display !== 'none';"),
             message="the polygons pane")
    time.sleep(0.5)


def _tooltip_text(driver, name: str) -> str | None:
    tips = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip") if e.is_displayed()]
    return next((_plain(t) for t in tips if name in t), None)


@pytest.fixture(scope="module")
def quartier(processed_dir):
    from geo.load import load_qpv

    qpv = load_qpv(data_dir=processed_dir)
    return qpv[qpv["code_qp"] == CODE].iloc[0]


def test_hovering_a_qpv_fetches_its_figures_and_a_click_opens_its_panel(driver, live_url, quartier, artifacts):
    _open_at(driver, live_url, quartier)
    assert resource_requests(driver, f"/api/qpv/{CODE}") == []  # nothing asked before the pointer comes
    driver.execute_script(WATCH_TOOLTIPS)
    _hover(driver, float(quartier["rep_lat"]), float(quartier["rep_lon"]))

    def tooltip_text():
        return _tooltip_text(driver, "Grande Reyssouze")

    text = wait_for(tooltip_text, timeout=15, message="the tooltip with the quartier's figures")
    assert "Bourg-en-Bresse" in text and CODE in text
    assert "Population : 6 399" in text  # Intl.NumberFormat("fr-FR")
    assert "46 %" in text and "48,8 %" in text
    seen = driver.execute_script("return window.__tips;")
    assert any("Chargement…" in t for t in seen), seen[:5]  # shown until the figures arrived
    assert len(resource_requests(driver, f"/api/qpv/{CODE}")) == 1
    driver.save_screenshot(str(artifacts / "strategie-tooltip.png"))
    # hovering again: the figures come from the page, no second request
    ActionChains(driver).move_by_offset(0, 200).perform()
    _hover(driver, float(quartier["rep_lat"]), float(quartier["rep_lon"]))
    wait_for(tooltip_text, timeout=10, message="the tooltip again")
    assert len(resource_requests(driver, f"/api/qpv/{CODE}")) == 1
    # a click selects the quartier: its panel opens with its name
    ActionChains(driver).click().perform()
    panel = wait_for(lambda: driver.find_element(By.ID, "strategie-panel-name"), timeout=15, message="the QPV panel")
    assert panel.text == "Grande Reyssouze Terre Des Fleurs"
    assert console_errors(driver) == []


def test_tooltip_figures_follow_the_page_language(driver, live_url, quartier):
    from app import i18n

    driver.get(live_url + "/login")
    driver.add_cookie({"name": i18n.LANG_COOKIE, "value": "en", "path": "/"})
    try:
        _open_at(driver, live_url, quartier)
        _hover(driver, float(quartier["rep_lat"]), float(quartier["rep_lon"]))
        text = wait_for(lambda: _tooltip_text(driver, "Grande Reyssouze"), timeout=15, message="the English tooltip")
        assert "Population: 6,399" in text  # Intl.NumberFormat("en-GB"), English colon
        assert "46%" in text and "48.8%" in text
        assert console_errors(driver) == []
    finally:
        driver.delete_cookie(i18n.LANG_COOKIE)
