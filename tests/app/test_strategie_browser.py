"""The Stratégie page as a decision room, in headless Chromium: shared scenario links, Enter in a number box,
refused files, the layer legend, search, saved scenarios compared, exports; screenshots of the region
view, the comparison and the national view (``test-artifacts/``)."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.app.test_app_browser import choose, open_map, settle
from tests.app_fixtures import ADMIN
from tests.plugins import app_session
from tests.plugins.browser import chrome, console_errors, qpv_feature_count, wait_for

pytestmark = pytest.mark.browser

ENGLISH = ("row", "column", "expected", "got", "file", "refused", "needs", "whole")


def table_names(driver) -> list[str]:
    # read in one script: the rows may be refreshed (robustness marks) between two WebDriver calls
    return driver.execute_script("""return Array.from(document.querySelectorAll(
        '#strategie-table tbody td[data-dash-column=name]')).map(c => c.innerText.trim());""")


def open_scenario(driver, url: str) -> None:
    driver.get(url)
    driver.get_log("browser")
    wait_for(lambda: qpv_feature_count(driver) >= 1584, timeout=60, message="the QPV layer")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#strategie-table tbody tr"), timeout=60,
             message="the ranked table")


def test_a_copied_scenario_link_reopens_the_same_scenario_in_a_fresh_browser(driver, live_url):
    open_scenario(driver, live_url + "/?k=6&radius=2.5&capacity=40000")
    wait_for(lambda: "radius=2.5" in driver.current_url and "mode=k" in driver.current_url, message="the full URL")
    link, names = driver.current_url, table_names(driver)
    assert len(names) == 6
    with chrome(window=(1400, 900)) as fresh:
        app_session.browser_sign_in(fresh, live_url, *ADMIN)
        open_scenario(fresh, link)
        assert fresh.find_element(By.ID, "strategie-k").get_attribute("value") == "6"
        assert fresh.find_element(By.ID, "strategie-capacity").get_attribute("value") == "40000"
        handle = fresh.find_element(By.CSS_SELECTOR, "#strategie-radius [role=slider]")
        assert handle.get_attribute("aria-valuenow") == "2.5"
        assert table_names(fresh) == names
        assert console_errors(fresh) == []


def test_enter_in_the_k_box_updates_the_table(driver, live_url):
    open_map(driver, live_url)
    box = driver.find_element(By.ID, "strategie-k")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("4", Keys.ENTER)  # no blur: Enter alone commits
    ranks = "#strategie-table tbody td[data-dash-column=rank]"
    wait_for(lambda: [c.text for c in driver.find_elements(By.CSS_SELECTOR, ranks)] == ["1", "2", "3", "4"],
             message="4 rows")
    assert driver.switch_to.active_element.get_attribute("id") == "strategie-k"
    wait_for(lambda: "k=4" in driver.current_url, message="k in the URL")
    assert console_errors(driver) == []


def test_a_refused_file_leaves_the_table_and_speaks_french(driver, live_url, tmp_path):
    open_map(driver, live_url)
    names = table_names(driver)
    label = driver.find_element(By.ID, "strategie-sites-info").text
    bad = tmp_path / "sites_refuses.csv"
    bad.write_text("code;name;opening_year;kind\n75056;Paris;2020;site\n", encoding="utf-8")
    driver.find_element(By.CSS_SELECTOR, "#strategie-upload input[type=file]").send_keys(str(bad))
    message = wait_for(lambda: driver.find_element(By.ID, "strategie-upload-error").text, message="the refusal")
    assert message.startswith("Fichier refusé") and "Ligne 1, colonne code" in message and "75056" in message
    assert not any(f" {w} " in f" {message.lower()} " for w in ENGLISH), message
    time.sleep(1.0)
    assert table_names(driver) == names
    assert driver.find_element(By.ID, "strategie-sites-info").text == label
    assert driver.find_element(By.ID, "strategie-error").text == ""


def test_every_visible_layer_has_a_legend_entry(driver, live_url):
    open_map(driver, live_url)
    names = driver.execute_script("""
        const out = [];
        document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(function (l) {
            const box = l.querySelector('input');
            if (box && box.checked) { out.push(l.textContent.trim()); }
        });
        return out;""")
    legend = [e.get_attribute("data-layer") for e in driver.find_elements(By.CSS_SELECTOR, "#strategie-layer-legend [data-layer]")]
    assert len(names) >= 5
    assert [n for n in names if n not in legend] == []


def test_search_finds_an_arrondissement_first(driver, live_url):
    open_map(driver, live_url)
    driver.find_element(By.ID, "strategie-search").click()
    driver.switch_to.active_element.send_keys("Paris 19e")

    def first():
        shown = [o for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if o.is_displayed()
                 and ":" in (o.find_element(By.TAG_NAME, "input").get_attribute("value") or "")]
        return shown[0] if shown else None

    option = wait_for(first, message="a search result")
    assert option.find_element(By.TAG_NAME, "input").get_attribute("value") == "commune:75119", option.text
    option.click()
    wait_for(lambda: driver.execute_script("return window.voisinmap.maps[0].getZoom();") >= 11, timeout=15,
             message="the map over Paris 19e")


def test_the_xlsx_export_opens_and_holds_the_parameters(driver, live_url, tmp_path):
    open_scenario(driver, live_url + "/?k=5&radius=3&capacity=45000")
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    driver.find_element(By.ID, "strategie-export-xlsx").click()
    path = wait_for(lambda: next(iter(tmp_path.glob("*.xlsx")), None), timeout=30, message="the XLSX download")
    time.sleep(0.5)
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    head = {r[0]: r[1] for r in book["Scénario"].iter_rows(min_row=2, values_only=True)}
    assert head["Nouveaux sites (k)"] == "5" and head["Capacité par site (habitants)"] == "45000"
    assert head["Rayon d'action (km)"] == "3"


def test_region_view_and_its_screenshot(driver, live_url, artifacts):
    open_map(driver, live_url)
    rows = driver.find_elements(By.CSS_SELECTOR, "#strategie-regions-table tbody tr")
    paris = next(r for r in rows if "Paris" in r.text)
    paris.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    cities = wait_for(lambda: "Grigny" in driver.find_element(By.ID, "strategie-region-cities").text and
                      driver.find_element(By.ID, "strategie-region-cities"), message="the cities of Paris")
    assert "Montreuil" in cities.text
    wait_for(lambda: driver.execute_script("return window.voisinmap.maps[0].getZoom();") >= 8, timeout=15,
             message="the map over the Paris region")
    settle(driver)
    driver.execute_script("document.getElementById('strategie-regions-section').scrollIntoView({block: 'end'});")
    time.sleep(0.5)
    driver.save_screenshot(str(artifacts / "strategie-regions.png"))
    assert console_errors(driver) == []


def test_national_view_screenshot(driver, live_url, artifacts):
    open_map(driver, live_url)
    choose(driver, "strategie-indicator", "Popul", value="population")
    settle(driver)
    shown = driver.execute_script("return window.voisinmap.maps[0].getPane('vm-qpv-points').style.display;")
    assert shown == ""  # symbols at national zoom
    driver.save_screenshot(str(artifacts / "strategie-national.png"))
    assert console_errors(driver) == []


def test_two_saved_scenarios_compare(driver, live_url, artifacts):
    for query, name in (("k=5", "Cinq sites"), ("k=9&capacity=70000", "Neuf grands sites")):
        open_scenario(driver, live_url + "/?" + query)
        field = driver.find_element(By.ID, "strategie-save-name")
        field.clear()
        field.send_keys(name)
        driver.find_element(By.ID, "strategie-save").click()
        wait_for(lambda n=name: n in driver.find_element(By.ID, "strategie-save-msg").text, message="saved")
    choose(driver, "strategie-compare-a", "Cinq", value="Cinq sites")
    choose(driver, "strategie-compare-b", "Neuf", value="Neuf grands sites")
    summary = wait_for(lambda: driver.find_element(By.ID, "strategie-compare-summary"), timeout=30, message="comparison")
    assert "A · Cinq sites" in summary.text and "B · Neuf grands sites" in summary.text
    assert "seulement B" in driver.find_element(By.ID, "strategie-compare-cities").text
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#strategie-compare-map path.leaflet-interactive"),
             message="difference markers")
    driver.execute_script("document.getElementById('strategie-compare-section').scrollIntoView({block: 'start'});")
    time.sleep(1.0)
    driver.save_screenshot(str(artifacts / "strategie-comparison.png"))
    assert console_errors(driver) == []


def robustness_labels(driver) -> list[str]:
    return driver.execute_script("""return Array.from(document.querySelectorAll(
        '#strategie-table tbody td[data-dash-column=robustness]')).map(c => c.innerText.trim());""")


def test_robust_and_fragile_picks_appear_without_a_button(driver, live_url):
    open_scenario(driver, live_url + "/?k=7&capacity=45000")
    assert not driver.find_elements(By.ID, "strategie-robust-button")
    labels = wait_for(lambda: (lambda got: got if got and all(got) else None)(robustness_labels(driver)), timeout=60,
                      message="robustness labels in the table")
    assert len(labels) == 7 and all(lab.endswith("/18)") for lab in labels), labels
    marks = driver.execute_script("return Array.from(document.querySelectorAll('.rec-marker')).map(e => e.className);")
    assert len(marks) == 7 and all(("rec-robust" in m or "rec-fragile" in m or "rec-middle" in m) for m in marks), marks
    assert driver.find_element(By.ID, "strategie-robust-status").get_attribute("hidden") is not None  # done
    regions = [c.text for c in driver.find_elements(By.CSS_SELECTOR,
                                                    "#strategie-regions-table tbody td[data-dash-column=robustness]")]
    assert any(r.endswith("/18)") for r in regions)
    assert console_errors(driver) == []


def test_a_scenario_saved_on_an_uploaded_network_reopens_with_it(driver, live_url, tmp_path):
    open_map(driver, live_url)
    good = tmp_path / "reseau_partenaire.csv"
    good.write_text("code;name;opening_year;kind\n93066;Saint-Denis;2018;site\n69256;Vaulx-en-Velin;2019;site\n",
                    encoding="utf-8")
    driver.find_element(By.CSS_SELECTOR, "#strategie-upload input[type=file]").send_keys(str(good))
    wait_for(lambda: "2 sites importés" in driver.find_element(By.ID, "strategie-sites-info").text, timeout=30,
             message="the uploaded network")
    wait_for(lambda: "network=custom-" in driver.current_url, message="the network in the address")
    link, names = driver.current_url, table_names(driver)
    field = driver.find_element(By.ID, "strategie-save-name")
    field.clear()
    field.send_keys("Réseau partenaire")
    driver.find_element(By.ID, "strategie-save").click()
    wait_for(lambda: "Réseau partenaire" in driver.find_element(By.ID, "strategie-save-msg").text, message="saved")
    with chrome(window=(1400, 900)) as fresh:  # the same user in a fresh browser: the saved network comes back
        app_session.browser_sign_in(fresh, live_url, *ADMIN)
        open_scenario(fresh, link)
        wait_for(lambda: "scénario enregistré « Réseau partenaire »" in fresh.find_element(By.ID, "strategie-sites-info").text,
                 timeout=30, message="the restored network")
        wait_for(lambda: table_names(fresh) == names, timeout=30, message="the same table")
        assert fresh.find_element(By.ID, "strategie-network-msg").text == ""
        assert console_errors(fresh) == []
    # an address naming a network nobody saved: said in French, the association's sites are used
    open_scenario(driver, live_url + "/?k=5&network=custom-0123456789ab")
    message = wait_for(lambda: driver.find_element(By.ID, "strategie-network-msg").text, timeout=30,
                       message="the missing-network message")
    assert "réseau de sites importé" in message and "sites actuels de l'association" in message
    wait_for(lambda: "sites de l'association" in driver.find_element(By.ID, "strategie-sites-info").text, timeout=30,
             message="the association's sites")
    assert console_errors(driver) == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_phone_screenshots_of_the_strategie_page(live_url, artifacts, lang):
    from app import i18n

    with chrome(window=(390, 844)) as phone:
        # headless Chromium keeps windows at least 500 px wide: emulate the phone's viewport itself
        phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                              {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        app_session.browser_sign_in(phone, live_url, *ADMIN)
        phone.add_cookie({"name": i18n.LANG_COOKIE, "value": lang, "path": "/"})
        open_scenario(phone, live_url + "/")
        wait_for(lambda: all(robustness_labels(phone)) and robustness_labels(phone), timeout=60,
                 message="robustness labels")
        settle(phone)
        width = phone.execute_script("return document.documentElement.scrollWidth;")
        wide = phone.execute_script("""return Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > 392 && getComputedStyle(e).position !== 'fixed')
            .slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className);""")
        phone.save_screenshot(str(artifacts / f"strategie-phone-{lang}.png"))
        phone.execute_script("document.getElementById('strategie-results').scrollIntoView({block: 'start'});")
        time.sleep(0.5)
        phone.save_screenshot(str(artifacts / f"strategie-phone-{lang}-results.png"))
        assert width <= 390 + 1, f"the page is {width} px wide on a 390 px phone: {wide}"
        assert console_errors(phone) == []
