"""The page « Terrain » (/terrain): access, callbacks on a store holding two demo sites, upload, browser."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coverage_helpers import visit_rows

PASSWORD = "mot de passe de test assez long"
GRIGNY, LILLE = "91286", "59350"
USERS = {"terrain-admin": ("admin", ()), "terrain-grigny": ("manager", (GRIGNY,)), "terrain-lille": ("manager", (LILLE,)),
         "terrain-financeur": ("financeur", ())}
GRIGNY_VIEW = [[48.640, 2.355], [48.665, 2.405]]


@pytest.fixture(scope="module")
def terrain_db(dash_app, processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store with the demo history of Grigny and Lille and one account per role; the app points at it."""
    from app.security import settings
    from geo.auth.store import UserStore
    from geo.coverage import demo, importer, store
    from geo.load import load_arrondissements, load_qpv

    url = f"sqlite:///{tmp_path_factory.mktemp('terrain') / 'voisinmap.db'}"
    qpv = load_qpv(data_dir=processed_dir)
    sites = tuple(s for s in demo.SITES if s.code in (GRIGNY, LILLE))
    rows = demo.generate_demo(qpv, arrondissements=load_arrondissements(data_dir=processed_dir), sites=sites)
    engine = store.open_store(url)
    importer.import_frame(rows, name="démo", engine=engine, qpv=qpv, demo=True)
    engine.dispose()
    users = UserStore(url)
    for name, (role, codes) in USERS.items():
        users.add_user(name, PASSWORD, role=role, sites=codes)
    previous = dash_app.server.config.get(settings.DB_KEY)
    dash_app.server.config[settings.DB_KEY] = url
    try:
        yield url
    finally:
        dash_app.server.config[settings.DB_KEY] = previous


@pytest.fixture(scope="module")
def job_worker(terrain_db: str, processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The embedded job worker on the store (as in a served process), uploads kept in a temporary folder."""
    import os

    from app.server import start_job_worker

    previous = os.environ.get("VOISINMAP_UPLOAD_DIR")
    os.environ["VOISINMAP_UPLOAD_DIR"] = str(tmp_path_factory.mktemp("uploads"))
    stop = start_job_worker(data_dir=processed_dir, store_url=terrain_db)
    try:
        yield
    finally:
        stop.set()
        if previous is None:
            os.environ.pop("VOISINMAP_UPLOAD_DIR", None)
        else:
            os.environ["VOISINMAP_UPLOAD_DIR"] = previous


def _upload_outcome(client: Any, contents: str, name: str, *, timeout: float = 60) -> dict[str, Any]:
    """Upload as the browser does, then poll the queued import job until the page shows its report."""
    import time

    from tests.plugins.app_session import call_callback

    started = call_callback(client, "terrain-upload-job.data", inputs={"terrain-upload.contents": contents},
                            state={"terrain-upload.filename": name})
    job_id = started["terrain-upload-job"]["data"]
    deadline = time.monotonic() + timeout
    while True:
        out = call_callback(client, "terrain-upload-result.children",
                            inputs={"terrain-upload-job.data": job_id, "terrain-upload-poll.n_intervals": 1},
                            state={"terrain-upload.filename": name}, triggered="terrain-upload-poll.n_intervals")
        if out["terrain-upload-poll"]["disabled"] or time.monotonic() > deadline:
            return {**started, **out}
        time.sleep(0.3)


@pytest.fixture(scope="module")
def signed(dash_app, terrain_db: str) -> dict[str, Any]:
    from tests.plugins import app_session

    out = {}
    for name in USERS:
        client = dash_app.server.test_client()
        assert app_session.sign_in(client, name, PASSWORD).status_code == 303
        client.get("/_dash-dependencies")
        out[name] = client
    return out


def _summary(client: Any, site: str | None, **extra: Any) -> Any:
    from tests.plugins.app_session import call_callback

    inputs = {"terrain-site.value": site, "terrain-campaigns.value": [], "terrain-dates.start_date": None,
              "terrain-dates.end_date": None, "terrain-absent.value": [], "terrain-version.data": None}
    inputs.update(extra)
    return call_callback(client, "terrain-kpis.children", inputs=inputs)


def _map(client: Any, site: str | None, *, zoom: float = 16, bounds: Any = GRIGNY_VIEW, outcomes: list[str] | None = None,
         ) -> Any:
    from tests.plugins.app_session import call_callback

    return call_callback(client, "terrain-cells.data", inputs={
        "terrain-site.value": site, "terrain-campaigns.value": [], "terrain-dates.start_date": None,
        "terrain-dates.end_date": None, "terrain-outcomes.value": outcomes or [], "terrain-absent.value": [],
        "terrain-map.bounds": bounds, "terrain-map.zoom": zoom, "terrain-version.data": None})


def test_page_access_by_role(signed: dict[str, Any], dash_app) -> None:  # noqa: ANN001
    assert signed["terrain-grigny"].get("/terrain").status_code == 200
    assert _map(signed["terrain-financeur"], GRIGNY).status_code == 403
    assert _summary(signed["terrain-lille"], GRIGNY).status_code == 403  # a manager of another site
    anonymous = dash_app.server.test_client()
    assert _map(anonymous, GRIGNY).status_code == 401


def _text(response: Any) -> str:
    """The body of any answer: a callback's JSON, or an HTTP response (refusals included)."""
    import json

    if isinstance(response, dict | list):
        return json.dumps(response, ensure_ascii=False)
    return response.get_data(as_text=True)


def _door_coordinates(text: str) -> list[str]:
    """Numbers of 4 decimals or more that fall where the Grigny and Lille demo doors are."""
    import re

    found = []
    for number in re.findall(r"-?[0-9]{1,3}\.[0-9]{4,}", text):
        value = float(number)
        if 48.60 <= value <= 48.70 or 2.30 <= value <= 2.45 or 50.55 <= value <= 50.70 or 2.95 <= value <= 3.15:
            found.append(number)
    return found


def test_the_funder_gets_no_door_level_data(signed: dict[str, Any]) -> None:
    """Whatever the funder asks of the page « Terrain », no answer holds its map, its sites or a door."""
    from tests.plugins.app_session import call_callback

    funder = signed["terrain-financeur"]
    page = funder.get("/terrain")
    layout = call_callback(funder, "_pages_content.children",
                           inputs={"_pages_location.pathname": "/terrain", "_pages_location.search": ""})
    campaigns = call_callback(funder, "terrain-campaigns.options", inputs={"terrain-site.value": GRIGNY})
    answers = {"page": page, "layout": layout, "campaigns": campaigns, "summary": _summary(funder, GRIGNY),
               "map": _map(funder, GRIGNY), "map (all France)": _map(funder, None, bounds=[[41, -5], [51, 9]])}
    for name, answer in answers.items():
        text = _text(answer)
        assert "terrain-map" not in text, name
        assert "terrain-site" not in text and "Grigny (91286)" not in text, name  # no site options
        assert GRIGNY not in text and LILLE not in text, name
        assert not _door_coordinates(text), (name, _door_coordinates(text)[:3])
    # the same answers hold door-level data for Grigny's manager (so the checks above can fail)
    manager = _text(_map(signed["terrain-grigny"], GRIGNY))
    assert _door_coordinates(manager) and "terrain-cells" in manager


def test_site_scope_fails_closed_outside_a_signed_in_request(terrain_db: str) -> None:
    from app.pages import terrain

    assert terrain.site_scope() == ()
    data = terrain.TerrainData(prep=_prep_of(terrain_db), qpv=None, names={})
    assert set(data.prep.sites) >= {GRIGNY, LILLE}
    assert terrain.allowed_sites(data) == []
    assert terrain._check_site(GRIGNY, data) is None


def _prep_of(url: str) -> Any:
    from geo.coverage import aggregate, store

    engine = store.open_store(url)
    try:
        return aggregate.prepare_events(store.load_events(engine))
    finally:
        engine.dispose()


def test_door_points_carry_outcome_labels(signed: dict[str, Any]) -> None:
    from tests.plugins.app_session import call_callback, find_prop

    for lang, label in (("fr", "ne pas déranger"), ("en", "do not disturb")):
        signed["terrain-grigny"].set_cookie("voisinmap_lang", lang)
        out = call_callback(signed["terrain-grigny"], "_pages_content.children",
                            inputs={"_pages_location.pathname": "/terrain", "_pages_location.search": ""})
        hideout = find_prop(out, "terrain-doors", "hideout")
        assert hideout["outcomes"]["ne_pas_deranger"] == label
    signed["terrain-grigny"].set_cookie("voisinmap_lang", "fr")


def test_layout_offers_only_the_managers_sites(signed: dict[str, Any]) -> None:
    from tests.plugins.app_session import call_callback

    def site_options(client: Any) -> list[str]:
        out = call_callback(client, "_pages_content.children",
                            inputs={"_pages_location.pathname": "/terrain", "_pages_location.search": ""})
        from tests.plugins.app_session import find_prop

        return [o["value"] for o in find_prop(out, "terrain-site", "options")]

    assert site_options(signed["terrain-grigny"]) == [GRIGNY]
    assert sorted(site_options(signed["terrain-admin"])) == [LILLE, GRIGNY] or \
        set(site_options(signed["terrain-admin"])) == {GRIGNY, LILLE}


def _layout_map(client: Any) -> dict[str, Any]:
    from tests.plugins.app_session import call_callback, find_prop

    out = call_callback(client, "_pages_content.children",
                        inputs={"_pages_location.pathname": "/terrain", "_pages_location.search": ""})
    return {prop: find_prop(out, "terrain-map", prop) for prop in ("bounds", "center", "zoom")} | {
        "site": find_prop(out, "terrain-site", "value")}


def _visit_box(url: str, site: str) -> tuple[float, float, float, float]:
    """(south, west, north, east) of the buildings a site's visits touch, straight from the store."""
    from geo.coverage import aggregate

    prep = _prep_of(url)
    b = np.unique(prep.building[aggregate.select(prep, sites=[site])])
    return (float(prep.b_lat[b].min()), float(prep.b_lon[b].min()), float(prep.b_lat[b].max()),
            float(prep.b_lon[b].max()))


@pytest.mark.parametrize("user", ["terrain-lille", "terrain-grigny", "terrain-admin"])
def test_map_opens_on_the_default_site(signed: dict[str, Any], terrain_db: str, user: str) -> None:
    """The first view is the default site's visits (a Lille manager lands on Lille, not on Grigny)."""
    view = _layout_map(signed[user])
    site = view["site"]
    if user != "terrain-admin":
        assert site == USERS[user][1][0]
    south, west, north, east = _visit_box(terrain_db, site)
    (b_south, b_west), (b_north, b_east) = view["bounds"]
    assert b_south <= south and b_west <= west and b_north >= north and b_east >= east  # all visits in view
    assert b_north - b_south < 0.5 and b_east - b_west < 0.5  # and not all of France
    lat, lon = view["center"]
    assert b_south < lat < b_north and b_west < lon < b_east
    assert 10 <= view["zoom"] <= 17
    if site == LILLE:
        assert 50.5 < lat < 50.8 and 2.9 < lon < 3.2
    # the callback of the site dropdown also sends the map to the same site on load
    out = _summary(signed[user], site)
    assert out["terrain-map"]["viewport"]["bounds"] == view["bounds"]


def test_initial_view_without_site_is_france() -> None:
    from app.components import coverage_map as terrain

    assert terrain.initial_view(None) == {"center": [46.6, 2.5], "zoom": 6}
    view = terrain.initial_view([[50.60, 3.00], [50.66, 3.10]])
    assert view["center"] == pytest.approx([50.63, 3.05]) and 12 <= view["zoom"] <= 14


def test_progress_chart_has_a_height_a_legend_above_and_local_formats(signed: dict[str, Any]) -> None:
    from app.components import progress as terrain

    fr = _summary(signed["terrain-grigny"], GRIGNY)["terrain-progress"]["figure"]["layout"]
    assert fr["height"] >= 300 and fr["margin"]["t"] >= 30 and fr["margin"]["l"] >= 60 and fr["margin"]["r"] >= 60
    assert fr["legend"]["y"] >= 1 and fr["legend"]["yanchor"] == "bottom"  # above the plot, not over the dates
    assert fr["separators"] == ", " and fr["yaxis"]["tickformat"] == ",d"
    months = set(terrain.FRENCH_MONTHS)
    assert fr["xaxis"]["ticktext"] and all(label.split(" ")[1] in months for label in fr["xaxis"]["ticktext"])
    assert terrain.week_label("2025-02-03", "fr") == "3 févr. 2025"
    assert terrain.week_label("2025-02-03", "en") == "Feb 3, 2025"
    signed["terrain-grigny"].set_cookie("voisinmap_lang", "en")
    try:
        en = _summary(signed["terrain-grigny"], GRIGNY)["terrain-progress"]["figure"]["layout"]
    finally:
        signed["terrain-grigny"].set_cookie("voisinmap_lang", "fr")
    assert en["separators"] == ".," and not months & {w for label in en["xaxis"]["ticktext"] for w in label.split()}
    assert len(en["xaxis"]["ticktext"]) == len(en["xaxis"]["tickvals"]) <= 9


def test_summary_figures_and_qpv_ranking(signed: dict[str, Any]) -> None:
    out = _summary(signed["terrain-grigny"], GRIGNY)
    rows = out["terrain-qpv-table"]["data"]
    assert {r["code"] for r in rows} == {"QN09125M", "QN09126M"}  # La Grande Borne, Grigny 2
    remaining = [r["remaining_sort"] for r in rows]
    assert remaining == sorted(remaining, reverse=True)
    assert out["terrain-demo"]["hidden"] is False  # "données fictives" shown
    features = out["terrain-qpv-layer"]["data"]["features"]
    assert {f["properties"]["code_qp"] for f in features} == {"QN09125M", "QN09126M"}
    assert all(0 < f["properties"]["coverage_rate"] < 1 for f in features)
    assert out["terrain-map"]["viewport"]["bounds"][0][0] > 48.6
    figure = out["terrain-progress"]["figure"]
    assert len(figure["data"]) == 2 and figure["data"][1]["y"] == sorted(figure["data"][1]["y"])
    assert out["terrain-revisit-table"]["data"], "the demo has doors to revisit"


def test_campaign_and_date_filters(signed: dict[str, Any]) -> None:
    from tests.plugins.app_session import call_callback

    options = call_callback(signed["terrain-grigny"], "terrain-campaigns.options",
                            inputs={"terrain-site.value": GRIGNY})["terrain-campaigns"]["options"]
    names = [o["value"] for o in options]
    assert len(names) == 4 and all("données fictives" in n for n in names)

    def visits(**extra: Any) -> str:
        out = _summary(signed["terrain-grigny"], GRIGNY, **extra)
        return _kpi(out["terrain-kpis"]["children"], "visits")

    total = _number(visits())
    one = _number(visits(**{"terrain-campaigns.value": names[:1]}))
    year = _number(visits(**{"terrain-dates.start_date": "2025-01-01", "terrain-dates.end_date": "2025-12-31"}))
    assert 0 < one < total and 0 < year < total


def _kpi(children: list[dict], name: str) -> str:
    for child in children:
        if child["props"]["id"] == f"terrain-{name}":
            return child["props"]["children"][0]["props"]["children"]
    raise KeyError(name)


def _number(text: str) -> int:
    return int(text.replace("\u202f", "").replace(",", ""))


def test_map_layers_follow_viewport_zoom_and_outcomes(signed: dict[str, Any]) -> None:
    close = _map(signed["terrain-grigny"], GRIGNY, zoom=16)
    cells = close["terrain-cells"]["data"]["features"]
    doors = close["terrain-doors"]["data"]["features"]
    assert cells and doors
    assert all(2.355 <= f["geometry"]["coordinates"][0] <= 2.405 for f in doors)
    far = _map(signed["terrain-grigny"], GRIGNY, zoom=13)
    assert far["terrain-doors"]["data"]["features"] == []  # no door points below zoom 16
    assert len(far["terrain-cells"]["data"]["features"]) < len(cells)  # coarser cells
    opened = _map(signed["terrain-grigny"], GRIGNY, zoom=16, outcomes=["ouvert"])
    total = sum(f["properties"]["value"] for f in cells)
    only_open = sum(f["properties"]["value"] for f in opened["terrain-cells"]["data"]["features"])
    assert 0 < only_open < total
    assert opened["terrain-cells"]["hideout"]["title"].startswith("Visites « porte ouverte »")
    elsewhere = _map(signed["terrain-grigny"], GRIGNY, bounds=[[50.6, 3.0], [50.7, 3.1]])
    assert elsewhere["terrain-cells"]["data"]["features"] == []  # Lille's visits never reach Grigny's manager


def test_template_download(signed: dict[str, Any]) -> None:
    from tests.plugins.app_session import call_callback

    out = call_callback(signed["terrain-grigny"], "terrain-template-download.data",
                        inputs={"terrain-template-csv.n_clicks": 1, "terrain-template-xlsx.n_clicks": 0},
                        triggered="terrain-template-csv.n_clicks")
    data = out["terrain-template-download"]["data"]
    assert data["filename"] == "modele_visites.csv"
    assert base64.b64decode(data["content"]).decode("utf-8-sig").startswith("campagne;site;date")


def test_upload_imports_own_sites_only(signed: dict[str, Any], terrain_db: str, job_worker: None) -> None:
    from geo.coverage import store
    from tests.plugins.app_session import call_callback

    rows = visit_rows(6, campaign="Import de test", site=GRIGNY).assign(
        commentaire="Mme Diallo 06.98.76.54.32 diallo@example.fr")  # an unknown column: never echoed
    rows.loc[5, "site"] = LILLE
    buffer = io.StringIO()
    rows.to_csv(buffer, sep=";", index=False)
    contents = "data:text/csv;base64," + base64.b64encode(buffer.getvalue().encode()).decode()
    engine = store.open_store(terrain_db)
    before = store.count_visits(engine)
    out = _upload_outcome(signed["terrain-grigny"], contents, "v.csv")
    text = out["terrain-upload-result"]["children"][0]["props"]["children"]
    assert "5 visite(s) importée(s)" in text and "1 ligne(s) rejetée(s)" in text
    assert store.count_visits(engine) == before + 5
    engine.dispose()
    report = out["terrain-report"]["data"]
    assert "site hors de votre périmètre" in report["csv"]
    assert "commentaire" not in report["csv"] and "Diallo" not in report["csv"] and "06.98" not in report["csv"]
    assert out["terrain-report-button"]["hidden"] is False
    download = call_callback(signed["terrain-grigny"], "terrain-report-download.data",
                             inputs={"terrain-report-button.n_clicks": 1}, state={"terrain-report.data": report})
    assert download["terrain-report-download"]["data"]["filename"] == "v.rejets.csv"
    refused = _upload_outcome(signed["terrain-grigny"], "data:text/csv;base64,"
                              + base64.b64encode(b"nom;telephone\nX;Y\n").decode(), "w.csv")
    assert "Fichier refusé" in str(refused["terrain-upload-result"]["children"])


@pytest.mark.browser
def test_terrain_page_in_a_browser(dash_app, terrain_db: str, live_url: str, artifacts: Path) -> None:  # noqa: ANN001
    """In its own browser (the session's one stays signed in as the administrator of the app's database)."""
    from tests.plugins.browser import chrome

    with chrome() as driver:
        _terrain_page_in(driver, live_url, artifacts)


def _terrain_page_in(driver: Any, live_url: str, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import console_errors, wait_for

    app_session.browser_sign_in(driver, live_url, "terrain-grigny", PASSWORD)
    driver.get_log("browser")
    driver.get(live_url + "/terrain")
    wait_for(lambda: driver.find_element(By.ID, "terrain-map"), message="the Terrain map")
    cells = wait_for(lambda: driver.execute_script(
        "return window.voisinmap && window.voisinmap.countFeatures ? window.voisinmap.countFeatures('cell', true) : 0;"),
        timeout=30, message="H3 cells on the map")
    assert cells > 0
    qpv = wait_for(lambda: driver.execute_script("return window.voisinmap.countFeatures('coverage_rate', true);"),
                   timeout=30, message="QPV coverage polygons")
    assert qpv == 2  # the two QPV of Grigny
    banner = driver.find_element(By.ID, "terrain-demo")
    assert banner.is_displayed() and "Données fictives" in banner.text
    wait_for(lambda: driver.find_element(By.ID, "terrain-kpis").text, message="key figures")
    driver.save_screenshot(str(artifacts / "terrain.png"))
    labels = driver.execute_script(
        "const ns = window.voisinmap; return [ns.terrainOutcomeLabel('ne_pas_deranger', {lang: 'fr'}), "
        "ns.terrainOutcomeLabel('a_revoir', {lang: 'en'}), ns.terrainOutcomeLabel('ouvert', {outcomes: {ouvert: 'X'}})];")
    assert labels == ["ne pas déranger", "to revisit", "X"]
    # door points from zoom 16: their tooltips name the last outcome in words, never by its code
    driver.execute_script("window.voisinmap.maps[0].setView([48.652, 2.375], 17, {animate: false});")
    tips = wait_for(lambda: driver.execute_script(
        "const out = []; window.voisinmap.maps[0].eachLayer(function (l) { if (l.feature && "
        "l.feature.properties && l.feature.properties.last_outcome && l.getTooltip()) { "
        "out.push(String(l.getTooltip().getContent())); } }); return out;"), timeout=30, message="door points")
    assert not any(code in tip for tip in tips for code in ("ne_pas_deranger", "a_revoir"))
    assert any(label in tip for tip in tips for label in ("porte ouverte", "absent", "refus", "à revoir",
                                                          "ne pas déranger"))
    graph = driver.execute_script("return document.getElementById('terrain-progress').getBoundingClientRect().height;")
    assert graph >= 300, graph  # the weekly chart is not collapsed
    errors = [e for e in console_errors(driver) if "tile" not in e.get("message", "")]
    assert not errors, errors


# ------------------------------------------------------------------------ issue 12: the map, the walk list
def test_class_limits_are_fixed_per_site_and_campaign(signed: dict[str, Any]) -> None:
    """The heat layer's limits do not change with zoom or pan (the same place keeps its colour)."""
    at14 = _map(signed["terrain-grigny"], GRIGNY, zoom=14)["terrain-cells"]["hideout"]
    at16 = _map(signed["terrain-grigny"], GRIGNY, zoom=16)["terrain-cells"]["hideout"]
    corner = _map(signed["terrain-grigny"], GRIGNY, zoom=16, bounds=[[48.645, 2.36], [48.65, 2.37]])
    assert len(at14["breaks"]) >= 3
    assert at14["breaks"] == at16["breaks"] == corner["terrain-cells"]["hideout"]["breaks"]
    assert at14["colors"] == at16["colors"]


def _legend_symbols(tree: Any) -> dict[str, str]:
    """``data-symbol`` -> ``data-colour`` of every legend line of a callback answer."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", node)
            if isinstance(props, dict) and "data-symbol" in props:
                found[props["data-symbol"]] = props["data-colour"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


def test_legend_has_an_entry_for_every_symbol(signed: dict[str, Any]) -> None:
    from app.components import coverage_map

    out = _map(signed["terrain-grigny"], GRIGNY, zoom=17)
    symbols = _legend_symbols(out["terrain-legend"]["children"])
    assert {f"door-{o}" for o in coverage_map.OUTCOME_COLOURS} | {"revisit"} <= set(symbols)
    assert {symbols[f"cell-{i}"] for i in range(len(out["terrain-cells"]["hideout"]["colors"]))} == \
        set(out["terrain-cells"]["hideout"]["colors"])
    drawn = {f["properties"]["last_outcome"] for f in out["terrain-doors"]["data"]["features"]}
    assert drawn and all(symbols[f"door-{o}"] == coverage_map.OUTCOME_COLOURS[o] for o in drawn)
    # buildings carry doors knocked, opened and « à revoir »; their labels are permanent from zoom 18
    props = out["terrain-doors"]["data"]["features"][0]["properties"]
    assert {"doors_knocked", "households_reached", "to_revisit", "address"} <= set(props)
    assert out["terrain-doors"]["hideout"]["permanent"] is False
    assert _map(signed["terrain-grigny"], GRIGNY, zoom=18)["terrain-doors"]["hideout"]["permanent"] is True


def _walk(client: Any, button: str) -> Any:
    from tests.plugins.app_session import call_callback

    return call_callback(client, "terrain-walk-download.data", inputs={
        "terrain-walk-csv.n_clicks": 1 if button == "csv" else 0, "terrain-walk-pdf.n_clicks": 1 if button == "pdf" else 0},
        state={"terrain-site.value": GRIGNY, "terrain-campaigns.value": [], "terrain-dates.start_date": None,
               "terrain-dates.end_date": None, "terrain-absent.value": []},
        triggered=f"terrain-walk-{button}.n_clicks")


def test_walk_list_downloads_as_csv_and_pdf(signed: dict[str, Any]) -> None:
    from pypdf import PdfReader

    rows = _summary(signed["terrain-grigny"], GRIGNY)["terrain-revisit-table"]["data"]
    assert [r["order"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    csv_file = _walk(signed["terrain-grigny"], "csv")["terrain-walk-download"]["data"]
    assert csv_file["filename"] == f"tournee_{GRIGNY}.csv"
    raw = base64.b64decode(csv_file["content"])
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").strip().split("\r\n")
    assert lines[0].startswith("Ordre;Adresse;Bâtiment;QPV;Portes à revoir")
    buildings = len(lines) - 1
    assert buildings >= len(rows) > 0
    pdf_file = _walk(signed["terrain-grigny"], "pdf")["terrain-walk-download"]["data"]
    reader = PdfReader(io.BytesIO(base64.b64decode(pdf_file["content"])))
    assert len(reader.pages) == buildings  # one page per building
    first = rows[0]["building"]
    assert first in reader.pages[0].extract_text()
    # another site's manager gets nothing
    assert _walk(signed["terrain-lille"], "csv").status_code == 403


def _wide_elements(driver: Any) -> list[str]:
    """The outermost elements that reach past the right edge of the window (to say what overflows)."""
    return driver.execute_script(
        "const w = window.innerWidth; const clipped = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {"
        " if (p.matches('.leaflet-container, .terrain-kpis, .dash-table-container, .terrain-block')) { return true; } } return false; };"
        "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > w + 1"
        " && !clipped(e)).slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + "
        "Math.round(e.getBoundingClientRect().right));")


def _phone_checks(driver: Any, live_url: str, artifacts: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.plugins.browser import wait_for

    width = driver.execute_script("return document.documentElement.scrollWidth;")
    assert driver.execute_script("return window.innerWidth;") == 390
    assert width <= 390, (width, _wide_elements(driver))
    size = driver.execute_script(
        "const r = document.getElementById('terrain-map').getBoundingClientRect(); return [r.width, r.height];")
    assert size[0] >= 350 and size[1] >= 450, size
    driver.save_screenshot(str(artifacts / "terrain-phone.png"))
    # the legend is below the map, reachable by scrolling
    legend = wait_for(lambda: driver.find_element(By.ID, "terrain-legend-box"), message="the legend")
    driver.execute_script("arguments[0].scrollIntoView();", legend)
    assert legend.is_displayed() and legend.rect["width"] <= 390
    # the controls are a drawer: closed, then open over the page
    side = driver.find_element(By.ID, "terrain-side")
    assert driver.execute_script("return arguments[0].getBoundingClientRect().right;", side) <= 0
    opener = driver.find_element(By.ID, "terrain-drawer-open")
    driver.execute_script("arguments[0].scrollIntoView();", opener)
    assert opener.rect["height"] >= 44
    opener.click()
    wait_for(lambda: driver.execute_script("return arguments[0].getBoundingClientRect().left;", side) >= 0,
             message="the open drawer")
    wait_for(lambda: driver.find_element(By.ID, "terrain-site").is_displayed(), message="the site control")
    small = driver.execute_script(
        "return Array.from(document.querySelectorAll('#terrain-side button, #terrain-side .dash-dropdown, "
        "#terrain-side .terrain-checklist label, #terrain-dates-start')).filter(e => e.offsetParent !== null && "
        "e.getBoundingClientRect().height < 44).map(e => (e.id || e.className) + ' ' + e.getBoundingClientRect().height);")
    assert not small, small  # touch targets of at least 44 px
    driver.save_screenshot(str(artifacts / "terrain-phone-drawer.png"))
    driver.find_element(By.ID, "terrain-drawer-close").click()
    wait_for(lambda: driver.execute_script("return arguments[0].getBoundingClientRect().right;", side) <= 0,
             message="the drawer closed")
    # the walk list: its table scrolls inside its card
    block = driver.find_element(By.CSS_SELECTOR, ".terrain-walk-block")
    driver.execute_script("arguments[0].scrollIntoView();", block)
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#terrain-revisit-table td"), message="walk list rows")
    driver.save_screenshot(str(artifacts / "terrain-walk-phone.png"))
    assert driver.execute_script("return document.documentElement.scrollWidth;") <= 390
    # the top bar is a menu: its links are hidden, then shown
    menu = driver.find_element(By.ID, "shell-menu")
    driver.execute_script("window.scrollTo(0, 0);")
    assert menu.rect["height"] >= 44 and not driver.find_element(By.CSS_SELECTOR, ".nav-links").is_displayed()
    menu.click()
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".nav-links").is_displayed(), message="the menu")
    assert driver.find_element(By.ID, "lang-en").rect["height"] >= 44


@pytest.mark.browser
def test_terrain_on_a_phone_offline(dash_app, terrain_db: str, live_url: str, artifacts: Path) -> None:  # noqa: ANN001
    """At 390×844 with no network: neutral background chosen by itself, no error per tile, phone layout;
    visits imported meanwhile show up in the figures without a reload."""
    import os

    from selenium.webdriver.common.by import By

    from geo.coverage import importer, store
    from tests.plugins import app_session
    from tests.plugins.browser import chrome, console_errors, wait_for

    previous = os.environ.pop("VOISINMAP_TILES_URL", None)  # the default backgrounds: Plan IGN v2, OSM
    try:
        with chrome(window=(390, 844)) as driver:
            # Chromium keeps windows at least 500 px wide: the phone's viewport is emulated exactly
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            app_session.browser_sign_in(driver, live_url, "terrain-grigny", PASSWORD)
            driver.get_log("browser")
            driver.get(live_url + "/terrain")
            wait_for(lambda: driver.find_element(By.ID, "terrain-kpis").text, timeout=30, message="key figures")
            state = wait_for(lambda: (s := driver.execute_script("return window.voisinmap.basemapState();"))
                             and s["state"] == "neutral-offline" and s, timeout=20, message="the neutral background")
            assert state["selected"] == "Fond neutre (hors ligne)"
            assert state["names"][:2] == ["Plan IGN v2", "OpenStreetMap"]
            # QPV names stay on the map without tiles
            names = driver.execute_script(
                "return Array.from(document.querySelectorAll('.terrain-qpv-name')).map(e => e.textContent);")
            assert "Grigny 2" in " ".join(names) or "Grande Borne" in " ".join(names), names
            _phone_checks(driver, live_url, artifacts)
            tile_errors = [e for e in console_errors(driver) if "geopf" in e.get("message", "")
                           or "openstreetmap" in e.get("message", "")]
            assert len(tile_errors) <= 1, tile_errors  # the single probe tile, never one per tile
            other = [e for e in console_errors(driver) if e not in tile_errors]
            assert not other, other
            # visits imported while the page is open raise the figures without a reload
            before = _number(driver.find_element(By.CSS_SELECTOR, "#terrain-visits .kpi-value").text)
            engine = store.open_store(terrain_db)
            try:
                rows = visit_rows(5, campaign="Tournée du soir", site=GRIGNY, start=5000)
                importer.import_frame(rows, name="saisie", engine=engine)
            finally:
                engine.dispose()
            wait_for(lambda: _number(driver.find_element(By.CSS_SELECTOR, "#terrain-visits .kpi-value").text)
                     == before + 5, timeout=30, message="figures raised by 5 without a reload")
    finally:
        if previous is not None:
            os.environ["VOISINMAP_TILES_URL"] = previous


@pytest.mark.browser
def test_terrain_on_a_desk_screenshot(dash_app, terrain_db: str, live_url: str, artifacts: Path) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import chrome, wait_for

    with chrome(window=(1400, 900)) as driver:
        app_session.browser_sign_in(driver, live_url, "terrain-grigny", PASSWORD)
        driver.get(live_url + "/terrain")
        wait_for(lambda: driver.find_element(By.ID, "terrain-kpis").text, timeout=30, message="key figures")
        wait_for(lambda: driver.execute_script("return window.voisinmap.countFeatures('coverage_rate', true);"),
                 timeout=30, message="QPV outlines")
        assert not driver.find_element(By.ID, "terrain-drawer-open").is_displayed()
        assert driver.find_element(By.ID, "terrain-site").is_displayed()
        # the date picker speaks French and opens above the legend
        driver.find_element(By.ID, "terrain-dates-start").click()
        calendar = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".dash-datepicker-calendar"),
                            message="the calendar")
        text = calendar.find_element(By.XPATH, "./ancestor::*[3]").text.lower()
        assert any(m in text for m in ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                                       "septembre", "octobre", "novembre", "décembre")), text
        assert "lu" in text and "mo" not in text.split(), text
        driver.save_screenshot(str(artifacts / "terrain-datepicker.png"))
        driver.find_element(By.TAG_NAME, "h1").click()
        driver.execute_script("window.voisinmap.maps[0].setView([48.6525, 2.3755], 18, {animate: false});")
        wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, ".terrain-building-label"), timeout=30,
                 message="building labels at zoom 18")
        driver.save_screenshot(str(artifacts / "terrain-desk.png"))


def _upload(client: Any, rows: Any, name: str) -> Any:
    buffer = io.StringIO()
    rows.to_csv(buffer, sep=";", index=False)
    contents = "data:text/csv;base64," + base64.b64encode(buffer.getvalue().encode()).decode()
    return _upload_outcome(client, contents, name)


def test_addresses_label_the_walk_list_and_pending_rows_geocode_in_the_background(signed: dict[str, Any],
                                                                                  job_worker: None) -> None:
    """Rows with a street address name their building in the walk list, street by street; rows with an address
    only wait for geocoding, which the manager starts from the page and follows to its end."""
    import time

    from tests.plugins.app_session import call_callback

    manager = signed["terrain-grigny"]
    located = visit_rows(3, campaign="Adresses", site=GRIGNY, start=7000, outcome="a_revoir").assign(
        batiment=["R1", "R2", "R3"], numero=["14", "3", "7"], voie="rue de la Mairie", code_postal="91350",
        ville="Grigny")
    located["latitude"] = ["48.6561", "48.6563", "48.6565"]
    located["longitude"] = ["2.3901", "2.3903", "2.3905"]
    out = _upload(manager, located, "adresses.csv")
    assert "3 visite(s) importée(s)" in str(out["terrain-upload-result"]["children"])
    rows = _summary(manager, GRIGNY, **{"terrain-campaigns.value": ["Adresses"]})["terrain-revisit-table"]["data"]
    assert [r["address"] for r in rows] == [f"{n} rue de la Mairie, 91350 Grigny" for n in ("3", "7", "14")]
    pending = visit_rows(2, campaign="Adresses", site=GRIGNY, start=7100).assign(
        numero=["1", "2"], voie="place aux Herbes", code_postal="91350", ville="Grigny", latitude="", longitude="")
    out = _upload(manager, pending.drop(columns="batiment"), "en_attente.csv")
    text = str(out["terrain-upload-result"]["children"])
    assert "en attente de géocodage" in text and "voisinmap coverage" not in text  # no command line for a manager
    started = call_callback(manager, "terrain-geocode-task.data", inputs={
        "terrain-geocode.n_clicks": 1, "terrain-geocode-poll.n_intervals": None},
        state={"terrain-geocode-task.data": None}, triggered="terrain-geocode.n_clicks")
    task = started["terrain-geocode-task"]["data"]
    assert task and started["terrain-geocode-poll"]["disabled"] is False
    deadline = time.monotonic() + 60
    while True:
        polled = call_callback(manager, "terrain-geocode-task.data", inputs={
            "terrain-geocode.n_clicks": 1, "terrain-geocode-poll.n_intervals": 1},
            state={"terrain-geocode-task.data": task}, triggered="terrain-geocode-poll.n_intervals")
        if polled["terrain-geocode-poll"]["disabled"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    message = str(polled["terrain-geocode-status"]["children"])
    # no network here: the two visits stay pending and the page says so
    assert "Géocodage terminé" in message and "2 toujours en attente" in message, message
    # another manager cannot follow this task
    other = call_callback(signed["terrain-lille"], "terrain-geocode-task.data", inputs={
        "terrain-geocode.n_clicks": 0, "terrain-geocode-poll.n_intervals": 1},
        state={"terrain-geocode-task.data": task}, triggered="terrain-geocode-poll.n_intervals")
    assert "Géocodage" not in str(other)


@pytest.mark.browser
def test_login_and_other_pages_fit_a_phone(dash_app, terrain_db: str, live_url: str, artifacts: Path) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import chrome, wait_for

    with chrome(window=(390, 844)) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        driver.get(live_url + "/login")
        submit = wait_for(lambda: driver.find_element(By.ID, "login-submit"), message="the sign-in form")
        assert driver.execute_script("return document.documentElement.scrollWidth;") <= 390, _wide_elements(driver)
        field = driver.find_element(By.CSS_SELECTOR, "input[name=username]")
        assert submit.rect["height"] >= 44 and field.rect["height"] >= 44, field.rect
        menu = driver.find_element(By.ID, "shell-menu")
        menu.click()
        wait_for(lambda: driver.find_element(By.ID, "lang-en").is_displayed(), message="the language switch")
        driver.save_screenshot(str(artifacts / "login-phone.png"))
        app_session.browser_sign_in(driver, live_url, "terrain-grigny", PASSWORD)
        for path, marker in (("/donnees", "h1"),):
            driver.get(live_url + path)
            wait_for(lambda m=marker: driver.find_elements(By.TAG_NAME, m), timeout=30, message=path)
            width = driver.execute_script("return document.documentElement.scrollWidth;")
            assert width <= 390, (path, width, _wide_elements(driver))


@pytest.mark.browser
def test_tiles_that_load_replace_the_neutral_background(dash_app, terrain_db: str, live_url: str) -> None:  # noqa: ANN001
    """With a tile server that answers (here the app's own icon, same origin), the probe succeeds and the page
    moves from the neutral background to the tiles by itself."""
    import os

    from selenium.webdriver.common.by import By

    from tests.plugins import app_session
    from tests.plugins.browser import chrome, console_errors, wait_for

    previous = os.environ.get("VOISINMAP_TILES_URL")
    os.environ["VOISINMAP_TILES_URL"] = live_url + "/_favicon.ico?z={z}&x={x}&y={y}"
    try:
        with chrome() as driver:
            app_session.browser_sign_in(driver, live_url, "terrain-grigny", PASSWORD)
            driver.get(live_url + "/terrain")
            wait_for(lambda: driver.find_element(By.ID, "terrain-kpis").text, timeout=30, message="key figures")
            state = wait_for(lambda: (s := driver.execute_script("return window.voisinmap.basemapState();"))
                             and s["state"] == "tiles" and s, timeout=20, message="the tiles selected")
            assert state["selected"] == "Fond de carte" and state["names"] == ["Fond de carte",
                                                                                "Fond neutre (hors ligne)"]
            wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#terrain-map img.leaflet-tile-loaded"),
                     message="tiles drawn")
            assert not console_errors(driver)
    finally:
        if previous is None:
            os.environ.pop("VOISINMAP_TILES_URL", None)
        else:
            os.environ["VOISINMAP_TILES_URL"] = previous
