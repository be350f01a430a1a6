"""Impact for funders through the running app: the public page /public/impact (no account), the funder's
page and downloads read the latest release (an import changes nothing they see), compression and long
caching of Dash's bundles, and the page in headless Chromium (chart, public page, compressed Plotly)."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

PASSWORD = "mot de passe impact assez long"
ADMIN, FUNDER, MANAGER = "admin-impact", "financeur-impact", "manager-impact"
SECRET = b"impact-tests-cellkey-secret-0123"


@dataclass
class ImpactEnv:
    url: str
    doors: set[tuple[float, float]]
    processed_dir: Path


@pytest.fixture(scope="module")
def impact_env(dash_app, processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImpactEnv]:
    """The app on a store with two demo sites and a small (hidden) one, one release published."""
    from app.security import settings
    from geo.auth.store import UserStore
    from geo.coverage import demo
    from geo.coverage.importer import import_frame
    from geo.coverage.release_publish import publish_from_store
    from geo.coverage.store import load_events, open_store
    from geo.load import load_arrondissements, load_qpv
    from tests.auth.conftest import SITE_A, SITE_B, _small_site_rows

    url = f"sqlite:///{tmp_path_factory.mktemp('impact') / 'voisinmap.db'}"
    qpv = load_qpv(data_dir=processed_dir)
    sites = tuple(s for s in demo.SITES if s.code in (SITE_A, SITE_B))
    engine = open_store(url)
    import_frame(demo.generate_demo(qpv, arrondissements=load_arrondissements(data_dir=processed_dir), sites=sites),
                 name="demo", engine=engine, qpv=qpv, demo=True)
    import_frame(_small_site_rows(qpv), name="petit-site", engine=engine, qpv=qpv, demo=True)
    events = load_events(engine)
    engine.dispose()
    publish_from_store(db=url, data_dir=processed_dir, secret=SECRET)
    users = UserStore(url)
    users.add_user(ADMIN, PASSWORD, role="admin")
    users.add_user(FUNDER, PASSWORD, role="financeur")
    users.add_user(MANAGER, PASSWORD, role="manager", sites=(SITE_A,))
    previous = dash_app.server.config.get(settings.DB_KEY)
    dash_app.server.config[settings.DB_KEY] = url
    try:
        yield ImpactEnv(url, {(round(a, 5), round(b, 5)) for a, b in zip(events["lat"], events["lon"], strict=True)},
                        processed_dir)
    finally:
        dash_app.server.config[settings.DB_KEY] = previous


def _client(dash_app, name: str | None) -> Any:
    from tests.plugins import app_session

    client = dash_app.server.test_client()
    if name:
        assert app_session.sign_in(client, name, PASSWORD).status_code == 303
    return client


def _figures_in(page: str) -> list[int]:
    """Every household count the public page shows: key figure, régions, chart axes and map tooltips."""
    texts = re.findall(r'<b class="hh">([^<]*)</b>', page) + re.findall(r"<td class='n hh'>([^<]*)</td>", page)
    texts += re.findall(r'class="hh"[^>]*>([^<]*)</text>', page)
    texts += re.findall(r"<title>[^<]*?(\d[\d\u202f\u00a0 ]*) ménages rencontrés</title>", page)
    out = []
    for text in texts:
        if "%" in text or not re.search(r"\d", text):
            continue
        out.append(int(re.sub(r"\D", "", text)))
    return out


def test_public_impact_opens_without_an_account(dash_app, impact_env: ImpactEnv) -> None:
    response = _client(dash_app, None).get("/public/impact")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert len(response.data) < 1_000_000
    figures = _figures_in(page)
    assert len(figures) >= 8 and min(figures) >= 11, figures
    assert not re.search(r"\d+\.\d{4,}", page), "a coordinate with more than 3 decimals"
    assert "Site de Saint-Denis" not in page, "the hidden small site is drawn on the public map"
    for lat, lon in impact_env.doors:
        assert f"{lat:.5f}" not in page and f"{lon:.5f}" not in page
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    again = _client(dash_app, None).get("/public/impact", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    english = _client(dash_app, None).get("/public/impact?lang=en").get_data(as_text=True)
    assert "households met" in english and "Publication n°" not in english


def test_frame_ancestors_setting() -> None:
    from app.security.headers import ConfigurationError, frame_ancestors

    assert frame_ancestors({}) == ["'self'"]
    assert frame_ancestors({"VOISINMAP_FRAME_ANCESTORS": "'self' https://www.voisin-malin.fr, https://*.voisin-malin.fr"}) \
        == ["'self'", "https://www.voisin-malin.fr", "https://*.voisin-malin.fr"]
    with pytest.raises(ConfigurationError, match="VOISINMAP_FRAME_ANCESTORS: expected origins"):
        frame_ancestors({"VOISINMAP_FRAME_ANCESTORS": "https://ok.fr; script-src *"})


def _workbook(client: Any) -> dict[str, pd.DataFrame]:
    response = client.get("/download/impact-tableaux.xlsx?lang=fr")
    assert response.status_code == 200
    return pd.read_excel(io.BytesIO(response.data), sheet_name=None)


def test_funder_figures_do_not_move_with_an_import(dash_app, impact_env: ImpactEnv) -> None:
    """Issue 15's attack through the app: download, import 7 opened doors for the hidden site, download again."""
    from geo.coverage.importer import import_frame
    from geo.coverage.store import open_store
    from tests.auth.conftest import SMALL_SITE, _small_site_rows
    from tests.plugins.app_session import call_callback

    funder = _client(dash_app, FUNDER)
    before = _workbook(funder)
    page_before = _client(dash_app, None).get("/public/impact").data
    kpis_before = call_callback(funder, "impact-kpis.children", inputs={"impact-region.value": "*"})
    sites = before["Sites"]
    small = sites[sites["Code site"].astype(str) == SMALL_SITE]
    assert small.empty or small["Ménages rencontrés"].isna().all()
    from geo.load import load_qpv

    late = _small_site_rows(load_qpv(data_dir=impact_env.processed_dir)).assign(
        batiment=lambda f: "TARD-" + f["batiment"], date="2025-03-20")
    engine = open_store(impact_env.url)
    try:
        assert import_frame(late, name="sept-portes", engine=engine).imported == 7
    finally:
        engine.dispose()
    after = _workbook(funder)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    assert _client(dash_app, None).get("/public/impact").data == page_before
    kpis_after = call_callback(funder, "impact-kpis.children", inputs={"impact-region.value": "*"})
    assert json.dumps(kpis_after["impact-kpis"], sort_keys=True) == json.dumps(kpis_before["impact-kpis"],
                                                                               sort_keys=True)
    # the admin's live view does move: the import is real
    admin = _client(dash_app, ADMIN)
    live = call_callback(admin, "impact-kpis.children", inputs={"impact-region.value": "*"})
    assert live["impact-caption"]["children"] != kpis_after["impact-caption"]["children"]


def test_public_page_shows_the_funders_figures(dash_app, impact_env: ImpactEnv) -> None:
    from tests.plugins.app_session import call_callback

    funder = call_callback(_client(dash_app, FUNDER), "impact-kpis.children", inputs={"impact-region.value": "*"})
    text = json.dumps(funder["impact-kpis"], ensure_ascii=False)
    headline = re.search(r'"children": "([\d\u202f]+)", "className": "kpi-value"', text).group(1)
    page = _client(dash_app, None).get("/public/impact").get_data(as_text=True)
    assert f'<b class="hh">{headline}</b>' in page
    figure = funder["impact-trend"]["figure"]
    assert all(v >= 11 for v in figure["data"][0]["y"])
    assert figure["data"][1]["y"][-1] == int(re.sub(r"\D", "", headline))


def test_manager_page_says_whose_sites_and_shows_their_own_share(dash_app, impact_env: ImpactEnv) -> None:
    from tests.plugins.app_session import call_callback, find_prop

    client = _client(dash_app, MANAGER)
    layout = call_callback(client, "_pages_content.children",
                           inputs={"_pages_location.pathname": "/impact", "_pages_location.search": ""})
    scope = find_prop(layout, "impact-scope", "children")
    assert scope.startswith("Périmètre : vos sites (Grigny (Grigny 2; La Grande Borne))") and "France entière" not in scope
    out = call_callback(client, "impact-kpis.children", inputs={"impact-region.value": "*"})
    text = json.dumps(out, ensure_ascii=False)
    assert "des ménages de vos QPV rencontrés" in text and "à portée d'un site" not in text, "the network's reach"
    assert out["impact-region"]["options"][0]["label"] == "Vos sites"
    tables = call_callback(client, "impact-sites-table.children",  # the section « Télécharger » opened
                           inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": "*"})
    rows = find_prop(tables["impact-sites-table"], "impact-sites-datatable", "data")
    assert {r["Code site"] for r in rows} == {"91286"}
    funder = call_callback(_client(dash_app, FUNDER), "_pages_content.children",
                           inputs={"_pages_location.pathname": "/impact", "_pages_location.search": ""})
    assert "dernière publication" in find_prop(funder, "impact-scope", "children")


def test_admin_publishes_and_others_cannot(dash_app, impact_env: ImpactEnv) -> None:
    from tests.plugins.app_session import call_callback

    refused = call_callback(_client(dash_app, FUNDER), "impact-publish-status.children",
                            inputs={"impact-publish.n_clicks": 1}, state={"impact-region.value": "*"})
    assert "administrateur" in refused["impact-publish-status"]["children"]
    done = call_callback(_client(dash_app, ADMIN), "impact-publish-status.children",
                         inputs={"impact-publish.n_clicks": 1}, state={"impact-region.value": "*"})
    assert "Rien à publier" in done["impact-publish-status"]["children"]  # the closed quarters are released


def _plotly_url() -> str:
    import os

    import plotly
    from dash.fingerprint import build_fingerprint

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return "/_dash-component-suites/plotly/" + build_fingerprint("package_data/plotly.min.js", plotly.__version__,
                                                                 int(os.stat(path).st_mtime))


def test_bundles_compressed_and_cached_for_a_year(dash_app, impact_env: ImpactEnv) -> None:
    client = _client(dash_app, None)
    response = client.get(_plotly_url(), headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert len(response.data) < 1_500_000  # 4.8 MB uncompressed
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    gzip = client.get(_plotly_url(), headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["Content-Encoding"] == "gzip"
    data = client.post("/_dash-update-component", json={}, headers={"Accept-Encoding": "br"})
    assert "immutable" not in data.headers.get("Cache-Control", "")


@pytest.mark.browser
def test_impact_in_a_browser(dash_app, impact_env: ImpactEnv, live_url: str, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import chrome, wait_for

    with chrome(window=(1400, 900)) as driver:
        app_session.browser_sign_in(driver, live_url, ADMIN, PASSWORD)
        driver.get(live_url + "/impact")
        wait_for(lambda: driver.execute_script(
            "const g = document.querySelector('#impact-trend .js-plotly-plot');"
            "return g && g.data && g.data.length === 2 && g.data[0].x.length > 0;"), timeout=60, message="the chart")
        bars, cumulative = driver.execute_script(
            "const g = document.querySelector('#impact-trend .js-plotly-plot'); return [g.data[0].y, g.data[1].y];")
        assert bars and all(v is not None and v >= 11 for v in bars), bars
        headline = driver.find_element(By.CSS_SELECTOR, "#impact-kpi-households .kpi-value").text
        assert cumulative[-1] == int(re.sub(r"\D", "", headline))
        encoding = driver.execute_script(
            "const r = performance.getEntriesByType('resource').find(e => e.name.includes('plotly.min'));"
            "return r ? [r.encodedBodySize, r.decodedBodySize] : null;")
        assert encoding and encoding[0] < encoding[1] / 2, f"Plotly not compressed: {encoding}"
        time.sleep(2.5)  # the map flies to the territory
        driver.save_screenshot(str(artifacts / "impact-1400.png"))
        driver.set_window_size(1400, 3200)
        time.sleep(1.0)
        driver.save_screenshot(str(artifacts / "impact-1400-full.png"))
        driver.set_window_size(390, 844)
        time.sleep(1.5)
        driver.save_screenshot(str(artifacts / "impact-390.png"))
    with chrome(window=(1400, 900)) as driver:  # no session at all
        driver.get(live_url + "/public/impact")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".kpi b"), timeout=20, message="the public page")
        size = driver.execute_script(
            "const n = performance.getEntriesByType('navigation')[0]; return n.transferSize || n.encodedBodySize;")
        assert 0 < size < 1_000_000
        assert min(_figures_in(driver.page_source)) >= 11
        driver.save_screenshot(str(artifacts / "public-impact.png"))


def test_the_national_map_fits_france_and_a_manager_map_fits_their_sites(dash_app, impact_env: ImpactEnv) -> None:
    from app.pages.impact import METRO_BOUNDS
    from tests.plugins.app_session import call_callback

    for name in (ADMIN, FUNDER):
        out = call_callback(_client(dash_app, name), "impact-kpis.children", inputs={"impact-region.value": "*"})
        assert out["impact-map"]["viewport"]["bounds"] == METRO_BOUNDS, name
    out = call_callback(_client(dash_app, MANAGER), "impact-kpis.children", inputs={"impact-region.value": "*"})
    (south, west), (north, east) = out["impact-map"]["viewport"]["bounds"]
    assert (north - south) < 2 and (east - west) < 2  # around the manager's own site, not all of France


def test_public_map_draws_the_overseas_territories_of_the_data(dash_app, impact_env: ImpactEnv) -> None:
    """Every territory outside metropolitan France that holds QPV in the data gets an inset, inside the
    drawing, and the note under the map names what it covers."""
    import html

    from geo.load import load_qpv, load_regions

    regions = load_regions(data_dir=impact_env.processed_dir)
    with_qpv = set(load_qpv(data_dir=impact_env.processed_dir)["insee_reg"].astype(str))
    overseas = regions[(regions["zone"] != "metro") & regions["code"].astype(str).isin(with_qpv)]
    assert len(overseas) >= 5  # the five overseas régions at least (QPV 2024)
    page = _client(dash_app, None).get("/public/impact").get_data(as_text=True)
    width, height = map(float, re.search(r'<svg viewBox="0 0 ([\d.]+) ([\d.]+)" role="img" aria-label="Où', page)
                        .groups())
    frames = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fff"', page)
    assert len(frames) == len(overseas)
    for x, y, w, h in (map(float, f) for f in frames):
        assert x + w <= width and y + h <= height and y >= 520
    note = html.unescape(re.search(r'<p class="note" id="map-coverage">([^<]*)</p>', page).group(1))
    assert "France métropolitaine" in note
    for name in overseas["nom"]:
        assert f">{html.escape(name)}</text>" in page and name in note
    english = _client(dash_app, None).get("/public/impact?lang=en").get_data(as_text=True)
    assert "metropolitan France and, in insets" in english


def test_overseas_insets_on_hand_drawn_territories() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from app.public import insets

    regions = gpd.GeoDataFrame({"code": ["11", "04", "03"], "nom": ["Île-de-France", "La Réunion", "Guyane"],
                                "zone": ["metro", "drom", "drom"]},
                               geometry=[box(1.4, 48.1, 3.6, 49.2), box(55.2, -21.4, 55.9, -20.8),
                                         box(-54.6, 2.1, -51.6, 5.8)], crs="EPSG:4326")
    qpv = pd.DataFrame({"insee_reg": ["11", "04", "04"], "rep_lon": [2.3, 55.45, 55.6],
                        "rep_lat": [48.8, -20.9, -21.2]})
    out = insets.overseas_insets(regions, qpv)
    assert [i.code for i in out] == ["04"]  # Guyane has no QPV here: no inset
    reunion = out[0]
    x0, y0, w, h = reunion.frame
    for lon, lat in zip(qpv["rep_lon"][1:], qpv["rep_lat"][1:], strict=True):
        x, y = reunion.project(lon, lat)
        assert x0 <= x <= x0 + w and y0 <= y <= y0 + h
    north_x, north_y = reunion.project(55.45, -20.9)
    south_x, south_y = reunion.project(55.6, -21.2)
    assert north_y < south_y and north_x < south_x  # north up, east right
    assert reunion.path.startswith("M") and insets.height(1) > insets.ORIGIN[1]
    assert insets.overseas_insets(None, qpv) == []
    with pytest.raises(ValueError, match=r"qpv: expected the columns \['rep_lat'\]"):
        insets.overseas_insets(regions, qpv.drop(columns="rep_lat"))


#: Elements wider than the viewport, or starting left of it, that no scrolling container holds.
OVERFLOW_JS = """
const vw = document.documentElement.clientWidth;
const wide = [];
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.bottom < -100) continue;  // hidden, or Plotly's off-screen tester
  let p = el.parentElement, held = false;
  while (p) {
    if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) { held = true; break; }
    p = p.parentElement;
  }
  if (!held && (r.right > vw + 1 || r.left < -1)) wide.push([el.tagName, el.id, Math.round(r.left), Math.round(r.right)]);
}
return {vw: vw, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 10)};
"""


def _phone(driver: Any) -> None:
    """A 390×844 phone screen (headless Chromium windows are at least 500 px wide)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["fr", "en"])
def test_impact_on_a_phone(dash_app, impact_env: ImpactEnv, live_url: str, artifacts: Path, lang: str) -> None:
    """At 390×844, FR and EN: nothing wider than the screen (top bar included), the key figures readable on
    the first screens, the chart and the map within the width; the public page too."""
    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import chrome, wait_for

    with chrome(window=(500, 900)) as driver:
        _phone(driver)
        app_session.browser_sign_in(driver, live_url, FUNDER, PASSWORD)
        driver.get(live_url + "/login")  # the language cookie is set on the app's origin
        driver.add_cookie({"name": "voisinmap_lang", "value": lang, "path": "/"})
        driver.get(live_url + "/impact")
        wait_for(lambda: driver.execute_script(
            "const g = document.querySelector('#impact-trend .js-plotly-plot');"
            "return g && g.data && g.data.length === 2 && g.data[0].x.length > 0;"), timeout=60, message="the chart")
        time.sleep(2.0)  # the map flies to the territory
        driver.save_screenshot(str(artifacts / f"impact-{lang}-390.png"))
        seen = driver.execute_script(OVERFLOW_JS)
        assert seen["vw"] == 390 and seen["scroll"] <= 390 and seen["wide"] == [], seen
        top = driver.find_element(By.ID, "shell-topbar").rect
        assert top["x"] >= 0 and top["x"] + top["width"] <= 390
        kpis = driver.find_elements(By.CSS_SELECTOR, ".impact-kpi .kpi-value")
        assert len(kpis) == 4  # households, doors opened, QPV, share within reach
        for value in kpis:
            box = value.rect
            assert value.is_displayed() and value.text and box["x"] >= 0 and box["x"] + box["width"] <= 390
            assert float(value.value_of_css_property("font-size").removesuffix("px")) >= 16
        first = driver.find_element(By.ID, "impact-kpi-households").rect
        assert first["y"] + first["height"] <= 2 * 844, "the headline is within the first two screens"
        for ident in ("impact-trend", "impact-map"):
            box = driver.find_element(By.ID, ident).rect
            assert box["x"] >= 0 and 300 <= box["width"] <= 390 and box["height"] >= 250, (ident, box)
        _phone(driver)
        driver.get(live_url + f"/public/impact?lang={lang}")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".kpi b"), timeout=20, message="the public page")
        seen = driver.execute_script(OVERFLOW_JS)
        assert seen["scroll"] <= 390 and seen["wide"] == [], seen
        driver.save_screenshot(str(artifacts / f"public-impact-{lang}-390.png"))


def test_warm_up_loads_what_impact_reads_before_the_first_request(dash_app, impact_env: ImpactEnv,
                                                                  caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's warm-up hook builds the funders' view and the public pages: the first request reads
    them from memory (nothing is built then)."""
    import logging

    from app import public
    from app.components import impact_refresh
    from app.public import funder_view

    def built() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("cache ")
                and ": building" in r.getMessage()]

    with dash_app.server.app_context():
        funder_view._VIEWS.clear()  # a fresh process
        public._PAGES.clear()
        with caplog.at_level(logging.DEBUG, logger="app.data"):
            assert impact_refresh.warm_up() > 0
            assert any("funder views" in m for m in built()) and any("public pages" in m for m in built())
            caplog.clear()
            funder_view.latest_view()
            public.rendered("fr")
            public.rendered("en")
            assert built() == [], "the first request built again what the warm-up should have built"
        monkeypatch.setenv(impact_refresh.ENV_PRECOMPUTE, "0")
        assert impact_refresh.warm_up() == 0.0
