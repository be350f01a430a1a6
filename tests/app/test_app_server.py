"""The app on the national data, through the Flask test client and direct callback calls."""

from __future__ import annotations

import base64
import gzip
import json
import sys

import dash
import geobuf
import pytest

from app import i18n, scenario
from geo import siting
from geo.load import load_manifest
from tests.plugins.app_session import call_callback


def strategie():
    return sys.modules["app.pages.strategie"]


def test_pages_are_registered_with_their_paths_and_roles(dash_app):
    by_path = {p["path"]: p for p in dash.page_registry.values()}
    assert by_path["/"]["module"] == "app.pages.strategie"
    assert by_path["/"]["roles"] == ("strategie", "admin")
    assert by_path["/donnees"]["nav_key"] == "nav.donnees"


def test_shell_layout_follows_the_language_cookie(dash_app, client):
    fr = json.dumps(client.get("/_dash-layout").get_json(), ensure_ascii=False)
    assert "Stratégie" in fr and "Données" in fr
    client.set_cookie(i18n.LANG_COOKIE, "en")
    try:
        en = json.dumps(client.get("/_dash-layout").get_json(), ensure_ascii=False)
    finally:
        client.delete_cookie(i18n.LANG_COOKIE)
    assert "Strategy" in en and '"Data"' in en and "Stratégie" not in en


def test_layer_route_serves_gzipped_geobuf_with_etag(client):
    response = client.get("/_voisinmap/layers/qpv.pbf", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "application/x-protobuf"
    decoded = geobuf.decode(gzip.decompress(response.get_data()))
    assert len(decoded["features"]) == 1584 == int(response.headers["X-Feature-Count"])
    again = client.get("/_voisinmap/layers/qpv.pbf", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    traversal = client.get("/_voisinmap/layers/..%2Fmanifest.json.pbf")  # not a layer: the app's HTML shell
    assert traversal.headers["Content-Type"].startswith("text/html") and b"sha256" not in traversal.data
    assert client.get("/_voisinmap/layers/nope.pbf").status_code == 404


@pytest.mark.parametrize("name,count", [("regions", 18), ("departements", 101), ("npnru", 457)])
def test_other_layers_hold_the_expected_features(client, name, count):
    response = client.get(f"/_voisinmap/layers/{name}.pbf")
    assert len(geobuf.decode(response.get_data())["features"]) == count


def test_restyle_changes_only_hideout_and_legend(dash_app):
    with dash_app.server.test_request_context("/"):
        hideout, legend, symbols = strategie().restyle("employment_rate", None)  # + the national symbols' hideout
        binary, _, _ = strategie().restyle("npnru", "QN00101M")
    assert symbols["prop"] == hideout["prop"] and symbols["breaks"] == hideout["breaks"]
    assert hideout["prop"] == "employment_rate"
    assert len(hideout["colors"]) == len(hideout["breaks"]) + 1
    assert hideout["breaks"] == sorted(hideout["breaks"])
    assert binary["binary"] and binary["selected"] == "QN00101M"
    assert "non disponible" in str(legend)


JUMPS = '{"key":["ALL"],"type":"strategie-jump"}.n_clicks'


def _jumps(clicked: str | None = None) -> list[dict]:
    return [{"id": {"type": "strategie-jump", "key": k}, "value": int(k == clicked)} for k in strategie().TERRITORIES]


def test_search_and_zoom_to_a_commune(dash_app, client):
    with dash_app.server.test_request_context("/"):
        options = strategie().search_options("grigny", None)
    assert options[0]["value"] == "commune:91286" and options[0]["label"].startswith("Commune · Grigny")
    with dash_app.server.test_request_context("/", headers={"Cookie": "voisinmap_lang=en"}):
        english = strategie().search_options("grigny", None)
    assert english[0]["label"].startswith("Municipality · Grigny")  # the kind in the page's language
    out = call_callback(client, "strategie-map.viewport",
                        inputs={"strategie-search.value": "commune:91286", JUMPS: _jumps()},
                        triggered="strategie-search.value")
    (south, west), (north, east) = out["strategie-map"]["viewport"]["bounds"]
    assert 48.6 < south < north < 48.7 and 2.3 < west < east < 2.45
    assert "strategie-selected" not in out  # a commune selects no QPV
    out = call_callback(client, "strategie-map.viewport",
                        inputs={"strategie-search.value": "qpv:QN09125M", JUMPS: _jumps()},
                        triggered="strategie-search.value")
    assert out["strategie-selected"]["data"] == "QN09125M"


def test_territory_jumps_go_overseas(client):
    trig = json.dumps({"key": "reunion", "type": "strategie-jump"}, separators=(",", ":")) + ".n_clicks"
    out = call_callback(client, "strategie-map.viewport",
                        inputs={"strategie-search.value": None, JUMPS: _jumps("reunion")}, triggered=trig)
    (south, west), (north, east) = out["strategie-map"]["viewport"]["bounds"]
    assert -21.5 < south < north < -20.8 and 55.1 < west < east < 55.9


def test_panel_of_a_qpv_links_to_its_official_page(dash_app):
    with dash_app.server.test_request_context("/"):
        children, hidden = strategie().show_panel("QN00101M")
    texts = [c.children for c in _walk(children) if isinstance(getattr(c, "children", None), str)]
    links = [c.href for c in _walk(children) if type(c).__name__ == "A"]
    assert not hidden
    assert links == ["https://sig.ville.gouv.fr/territoire/QN00101M"]
    assert "Grande Reyssouze Terre Des Fleurs" in texts
    assert "6\u202f399" in texts  # population, French format


def plan_callbacks():
    return sys.modules["app.pages._strategie_plan"]


def _recommend(dash_app, *, k=5, stored=None, main6=False, quota_regions=(), max_per_region=None):
    """(results head + sites area, current-site layer, recommended layer, sites label, error) of the callback."""
    weights = [siting.DEFAULT_WEIGHTS.get(key, 0.0) for key in siting.INDICATORS]
    with dash_app.server.test_request_context("/"):
        head, _regions, sites_area, current, recommended, info, error, _query = plan_callbacks().recommend(
            "k", k, 20, 6, 50000, 2, 3.0, 20, *weights, ["main6"] if main6 else [], max_per_region, list(quota_regions), stored, True, None)
    body = dash.no_update if head is dash.no_update else [head, sites_area]
    return body, current, recommended, info, error


def test_recommend_callback_renders_k_sites(dash_app):
    body, current, recommended, info, _ = _recommend(dash_app, k=7)
    markers = [c for c in recommended if type(c).__name__ == "DivMarker"]
    assert [m.id["rank"] for m in markers] == list(range(1, 8))
    table = next(c for c in _walk(body) if getattr(c, "id", None) == "strategie-table")
    assert len(table.data) == 7
    assert [r["rank"] for r in table.data] == list(range(1, 8))
    assert table.sort_action == "native"  # « Exporter » (XLSX, French CSV, brief) replaced the table's own CSV
    shares = [r["cumulative_presence"] for r in table.data]
    assert shares == sorted(shares)
    assert "11 sites" in info
    assert sum(type(c).__name__ == "CircleMarker" for c in current) == 11  # every site placed, EPCI ones too


def test_recommend_callback_reports_bad_quotas(dash_app):
    # no new site allowed in any région but k=3 asked: a French message naming the constraint, and the
    # previous results stay
    body, _, recommended, _, error = _recommend(dash_app, k=3, max_per_region=0)
    assert "contraintes" in error, error
    assert not any(w in error for w in ("needs", "expected", "got", "site(s) but")), error
    assert recommended is dash.no_update and body is dash.no_update


def _upload(client, contents: str, filename: str) -> dict:
    return call_callback(client, "strategie-sites.data",
                         inputs={"strategie-upload.contents": contents, "strategie-sites-reset.n_clicks": 0},
                         state={"strategie-upload.filename": filename})


def test_uploaded_sites_replace_the_network(dash_app, client):
    csv = "code;name;opening_year;kind;source\n69256;Vaulx-en-Velin;2020;site;test\n"
    contents = "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()
    out = _upload(client, contents, "mes_sites.csv")
    stored = out["strategie-sites"]["data"]
    assert out["strategie-upload-error"]["children"] == ""
    assert stored["records"][0]["code"] == "69256"
    _, current, _, info, _ = _recommend(dash_app, stored=stored)
    assert "mes_sites.csv" in info
    assert sum(type(c).__name__ == "CircleMarker" for c in current) == 1


def test_upload_errors_are_explained(client):
    bad = "code,name,opening_year,kind\n12,X,2020,site\n"
    contents = "data:text/csv;base64," + base64.b64encode(bad.encode()).decode()
    out = _upload(client, contents, "x.csv")
    assert "strategie-sites" not in out  # the current sites stay
    error = out["strategie-upload-error"]["children"]
    assert "Fichier refusé" in error and "Ligne 1, colonne code" in error


def test_parse_sites_upload_refuses_unusable_files():
    def url(data: bytes) -> str:
        return "data:text/csv;base64," + base64.b64encode(data).decode()

    with pytest.raises(siting.SitesError, match="expected a .csv file"):
        scenario.parse_sites_upload(url(b"x"), "sites.xlsx")
    with pytest.raises(siting.SitesError, match="expected at most 1000 kB"):
        scenario.parse_sites_upload(url(b"a" * (scenario.MAX_UPLOAD_BYTES + 1)), "big.csv")
    with pytest.raises(siting.SitesError, match="binary content"):
        scenario.parse_sites_upload(url(b"\x00\x01\x02"), "bin.csv")
    with pytest.raises(siting.SitesError, match="base64 data URL"):
        scenario.parse_sites_upload("not a data url", "a.csv")
    latin = "code;name;opening_year;kind\n93066;Saint-Denis é;2021;site\n".encode("latin-1")
    assert scenario.parse_sites_upload(url(latin), "latin.csv")["name"].iloc[0] == "Saint-Denis é"


def test_quota_and_weight_controls():
    assert scenario.quota_specs(main6=True, max_per_region=2, extra="11=2; 93=:1") == ["main6=1", "*=:2", "11=2", "93=:1"]
    assert scenario.quota_specs(main6=False, max_per_region=None, extra=None) == []
    assert scenario.weights_from_controls({"poverty_rate": 0, "npnru": None}) is None
    assert scenario.weights_from_controls({"poverty_rate": 0.5, "npnru": 0}) == {"poverty_rate": 0.5, "npnru": 0.0}


def test_donnees_page_shows_the_manifest(dash_app, processed_dir):
    page = sys.modules["app.pages.donnees"]
    manifest = load_manifest(data_dir=processed_dir)
    with dash_app.server.test_request_context("/donnees"):
        layout = page.layout()
    tables = {c.id: c for c in _walk(layout) if type(c).__name__ == "DataTable"}
    assert len(tables["donnees-sources"].data) == len(manifest["sources"])
    rows = {r["layer"]: r["rows"] for r in tables["donnees-layers"].data}
    assert rows["qpv"] == 1584
    joins = {r["join"]: r for r in tables["donnees-joins"].data}
    assert joins["qpv_metro_population"]["rate"] == "100,0\u202f%"
    assert "sur" in joins["npnru_to_qpv2024"]["detail"]


def _walk(component):
    if isinstance(component, list | tuple):
        for item in component:
            yield from _walk(item)
        return
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_ranked_table_chart_and_progress_speak_french_numbers(dash_app):
    from app.components import results

    body, *_ = _recommend(dash_app, k=5)
    table = next(c for c in _walk(body) if getattr(c, "id", None) == "strategie-table")
    ids = [c["id"] for c in table.columns]
    assert ids.index("weighted_served") == ids.index("residents_served") + 1
    assert table.locale_format == {"group": "\u202f", "decimal": ","}
    fmt = {c["id"]: c["format"].to_plotly_json() for c in table.columns if "format" in c}
    assert fmt["cumulative_presence"]["specifier"] == "$,.1f"
    assert fmt["cumulative_presence"]["locale"]["symbol"] == ["", "\u202f%"]
    assert fmt["residents_served"]["specifier"] == ",.0f"
    assert all(isinstance(r["residents_served"], float | int) for r in table.data)  # numeric sorting
    titles = [c.children for c in _walk(body) if type(c).__name__ == "H3"]
    assert "Nouveaux sites, dans l'ordre d'ouverture" in titles
    graph = next(c for c in _walk(body) if getattr(c, "id", None) == "strategie-roadmap-chart")
    assert graph.figure.layout.separators == ", " and graph.figure.layout.yaxis.tickformat == ",.0f"
    ticks = [c.children for c in _walk(body) if getattr(c, "className", None) == "progress-tick"]
    assert ticks == ["0\u202f%", "10\u202f%", "20\u202f%", "30\u202f%", "40\u202f%"]
    assert results.progress_scale(0.2, 0.35) == 0.4
    assert results.progress_scale(0.5, 0.3) == 0.6


def test_donnees_page_in_english_has_english_labels(dash_app, processed_dir):
    page = sys.modules["app.pages.donnees"]
    with dash_app.server.test_request_context("/donnees", headers={"Cookie": "voisinmap_lang=en"}):
        layout = page.layout()
    texts = {getattr(c, "id", None): c for c in _walk(layout)}
    assert texts["donnees-attribution"].children.startswith("Sources: ")
    strongs = [c.children for c in _walk(layout) if type(c).__name__ == "Strong"]
    assert "Built on: " in strongs
    assert texts["donnees-caveats-note"].children == "(from the build manifest)"
