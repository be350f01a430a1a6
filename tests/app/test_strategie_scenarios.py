"""Stratégie page as a decision room: scenario URL, region view, exports, refused files, saved scenarios,
comparison, search, 404 and Données texts — on the national data, through the callbacks."""

from __future__ import annotations

import base64
import io
import math
import os
import sys

import dash
import openpyxl
import pytest

from app import scenario
from app.components import results
from app.scenario_params import Scenario
from geo import siting
from geo.auth.scenarios import ScenarioNameError, ScenarioStore
from geo.auth.store import UserStore
from geo.i18n import has_message
from tests.app.test_app_server import _walk
from tests.plugins.app_session import call_callback

ENGLISH = ("row", "column", "expected", "got", "file", "needs", "whole commune", "refused")


def plan_page():
    return sys.modules["app.pages._strategie_plan"]


def saved_page():
    return sys.modules["app.pages._strategie_saved"]


def _by_id(layout, id_):
    return next(c for c in _walk(layout) if getattr(c, "id", None) == id_)


# ------------------------------------------------------------------------------------------ the URL


def test_scenario_round_trips_through_the_query_string():
    s = Scenario.from_query("k=6&radius=2.5&capacity=40000&pace=3&mode=plan&cities=24&regions=8&quota=84,28&main6=1")
    assert (s.k, s.radius_km, s.capacity, s.pace, s.mode, s.cities, s.regions) == (6, 2.5, 40000, 3.0, "plan", 24, 8)
    assert s.quota_regions == ("28", "84") and s.main6
    assert Scenario.from_query(s.to_query()) == s
    assert s.quota_specs() == ["main6=1", "28=1", "84=1"]


def test_a_bad_or_hostile_query_falls_back_to_defaults_or_bounds():
    s = Scenario.from_query("k=abc&radius=99&capacity=-5&mode=evil&w_poverty_rate=7")
    assert s.k == Scenario().k and s.radius_km == 10.0 and s.capacity == 5000 and s.mode == "k"
    assert dict(s.weights)["poverty_rate"] == 1.0


def test_page_layout_restores_the_controls_from_the_url(dash_app):
    page = sys.modules["app.pages.strategie"]
    with dash_app.server.test_request_context("/?k=6&radius=2.5&capacity=40000"):
        layout = page.layout(k="6", radius="2.5", capacity="40000", pace="3")
    assert _by_id(layout, "strategie-k").value == 6
    assert _by_id(layout, "strategie-k-slider").value == 6
    assert _by_id(layout, "strategie-radius").value == 2.5
    assert _by_id(layout, "strategie-capacity").value == 40000
    assert _by_id(layout, "strategie-pace").value == 3.0
    assert "k=6" in _by_id(layout, "strategie-query").data
    assert _by_id(layout, "strategie-k").debounce is True  # Enter or blur commits the value


def _controls(scen: Scenario) -> list:
    weights = dict(scen.weights)
    return [scen.mode, scen.k, scen.cities, scen.regions, scen.capacity, scen.pace, scen.radius_km, scen.target_pct,
            *[weights[k] for k in siting.INDICATORS], ["main6"] if scen.main6 else [], scen.max_per_region,
            list(scen.quota_regions)]


def _run(dash_app, scen: Scenario, stored=None):
    with dash_app.server.test_request_context("/"):
        return plan_page().recommend(*_controls(scen), stored, True, None)


def test_the_callback_writes_the_scenario_query_and_a_capacitated_plan(dash_app):
    scen = Scenario.from_query("k=6&radius=2.5&capacity=40000")
    head, regions, sites_area, _, recommended, _, error, query = _run(dash_app, scen)
    assert error == "" and Scenario.from_query(query) == scen
    table = _by_id(sites_area, "strategie-table")
    assert len(table.data) == 6
    assert max(r["residents_served"] for r in table.data) <= 40000 + 1  # capacity-limited
    kpis = [c for c in _walk(head) if getattr(c, "className", None) == "kpi"]
    assert len(kpis) == 5 and all(k.title and "Source" in k.title or "source" in k.title.lower() for k in kpis[:2])
    assumptions = _by_id(head, "strategie-assumptions")
    text = " ".join(str(c.children) for c in _walk(assumptions) if isinstance(getattr(c, "children", None), str))
    assert "2,5 km" in text and "40\u202f000" in text and "2,0 ouvertures" in text


# ------------------------------------------------------------------------------------- region view


def test_region_view_ranks_urban_regions_and_lists_the_cities_of_one(dash_app):
    _, regions, *_ = _run(dash_app, Scenario())
    data = regions.data
    assert data[0]["added_residents"] >= data[1]["added_residents"]
    names = [r["urban_region"] for r in data]
    assert {"Paris", "Marseille", "Lille", "Lyon"} <= set(names)
    assert not any(name.isdigit() for name in names)  # words, not codes
    paris = names.index("Paris")
    with dash_app.server.test_request_context("/"):
        cities, bounds = plan_page().show_region([paris], data, Scenario().to_query(), None)
    text = str(cities)
    assert "Grigny" in text and "Montreuil" in text
    (south, west), (north, east) = bounds
    assert 48.0 < south < 48.9 < north < 49.4 and 1.4 < west < 2.35 < east < 3.2


# ----------------------------------------------------------------------------------------- exports


def _export(client, fmt: str, query: str):
    inputs = {f"strategie-export-{f}.n_clicks": int(f == fmt) for f in plan_page().EXPORT_FORMATS}
    out = call_callback(client, "strategie-download.data", inputs=inputs, triggered=f"strategie-export-{fmt}.n_clicks",
                        state={"strategie-query.data": query, "strategie-sites.data": None, "strategie-robust.data": None})
    return out["strategie-download"]["data"]


def test_xlsx_export_holds_the_parameters_network_and_data_version(client):
    query = Scenario.from_query("k=6&radius=2.5&capacity=40000").to_query()
    out = _export(client, "xlsx", query)
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(out["content"])))
    assert book.sheetnames == ["Scénario", "Sites", "Régions urbaines", "Feuille de route"]
    head = {row[0]: row[1] for row in book["Scénario"].iter_rows(min_row=2, values_only=True)}
    assert head["Nouveaux sites (k)"] == "6" and head["Rayon d'action (km)"] == "2.5"
    assert head["Capacité par site (habitants)"] == "40000"
    assert "11 sites" in head["Réseau actuel utilisé"] and "T" in head["Version des données (construction · code)"]
    assert book["Sites"].max_row == 7  # header + 6 sites


def test_csv_export_is_french(client):
    out = _export(client, "csv", Scenario.from_query("k=5").to_query())
    raw = base64.b64decode(out["content"])
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    text = raw.decode("utf-8-sig")
    head, body = text.split("\n\n", 1)
    assert head.startswith("# Mode;") and "# Nouveaux sites (k);5" in head
    lines = body.strip().splitlines()
    assert lines[0].split(";")[:3] == ["rank", "insee_code", "name"] and len(lines) == 6
    assert "," in lines[1].split(";")[-2] and "." not in lines[1].split(";")[-2]  # decimal comma


def test_brief_exports_carry_the_header_and_the_engine_brief(client):
    md = _export(client, "md", Scenario.from_query("k=5").to_query())["content"]
    assert md.startswith("# Note de scénario VoisinMalin") and "| Nouveaux sites (k) | 5 |" in md
    html = _export(client, "html", Scenario.from_query("k=5").to_query())["content"]
    assert "<table>" in html and "<h1>" in html


# --------------------------------------------------------------------------------- refused sites file


def _upload(client, text: str, filename="mes_sites.csv"):
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    return call_callback(client, "strategie-sites.data",
                         inputs={"strategie-upload.contents": contents, "strategie-sites-reset.n_clicks": 0},
                         state={"strategie-upload.filename": filename})


@pytest.mark.parametrize("text, needle", [
    ("code;name;opening_year;kind\n75056;Paris;2020;site\n", "Ligne 1, colonne code : 75056 désigne toute la commune de Paris"),
    ("code;name;opening_year;kind\n93066;Saint-Denis;1850;site\n", "Ligne 1, colonne opening_year"),
    ("code;name;opening_year;kind\n99999;Nulle part;2020;site\n", "Ligne 1, colonne code"),
])
def test_a_refused_file_keeps_the_sites_and_speaks_french(client, text, needle):
    out = _upload(client, text)
    assert "strategie-sites" not in out  # the previous sites (and so the results and their label) stay
    message = out["strategie-upload-error"]["children"]
    assert message.startswith("Fichier refusé") and needle in message, message
    assert not any(f" {w} " in f" {message.lower()} " for w in ENGLISH), message


def test_a_refused_file_in_english(client):
    from app import i18n

    client.set_cookie(i18n.LANG_COOKIE, "en")
    try:
        out = _upload(client, "code;name;opening_year;kind\n75056;Paris;2020;site\n")
    finally:
        client.delete_cookie(i18n.LANG_COOKIE)
    assert "Row 1, column code: 75056 is the whole commune of Paris" in out["strategie-upload-error"]["children"]


# --------------------------------------------------------------------------------- saved scenarios


def _stores(tmp_path):
    urls = [f"sqlite:///{tmp_path / 'saved.db'}"]
    if os.environ.get("VOISINMAP_TEST_PG_URL"):
        urls.append(os.environ["VOISINMAP_TEST_PG_URL"])
    return urls


def test_saved_scenarios_are_per_user_and_replace_by_name(tmp_path):
    for url in _stores(tmp_path):
        users = UserStore(url)
        a = users.get_by_name("strat-a") or users.add_user("strat-a", "un mot de passe assez long", role="strategie")
        b = users.get_by_name("strat-b") or users.add_user("strat-b", "un mot de passe assez long", role="strategie")
        store = ScenarioStore(url)
        for user in (a, b):
            for s in store.list(user.id):
                store.delete(user.id, s.name)
        store.save(a.id, "  Plan   20 villes ", "mode=plan&cities=20")
        store.save(a.id, "Plan 20 villes", "mode=plan&cities=22")
        store.save(b.id, "Autre", "k=3", sites=[{"code": "69256", "name": "Vaulx-en-Velin"}])
        assert [(s.name, s.query) for s in store.list(a.id)] == [("Plan 20 villes", "mode=plan&cities=22")]
        assert store.list(b.id)[0].sites == [{"code": "69256", "name": "Vaulx-en-Velin"}]
        with pytest.raises(ScenarioNameError, match="name: expected 1 to 80"):
            store.save(a.id, "   ", "k=1")


def test_the_migration_creates_the_table_on_both_engines(tmp_path):
    import sqlalchemy as sa

    for url in _stores(tmp_path):
        store = ScenarioStore(url)
        assert "auth_saved_scenarios" in sa.inspect(store.engine).get_table_names()


def test_two_saved_scenarios_compare_side_by_side(dash_app, client):
    from app.security.session import accounts_url

    with dash_app.server.test_request_context("/"):
        url = accounts_url()
    store, admin = ScenarioStore(url), UserStore(url).get_by_name("admin-tests")
    store.save(admin.id, "k5", Scenario.from_query("k=5").to_query())
    store.save(admin.id, "k8 large", Scenario.from_query("k=8&capacity=70000").to_query())
    out = call_callback(client, "strategie-comparison.children",
                        inputs={"strategie-compare-a.value": "k5", "strategie-compare-b.value": "k8 large"})
    text = str(out["strategie-comparison"]["children"])
    assert "A · k5" in text and "B · k8 large" in text
    assert "seulement B" in text and "Année où l'objectif est atteint" in text and "strategie-compare-map" in text
    opened = call_callback(client, "strategie-nav.href", inputs={"strategie-saved-open.value": "k8 large"})
    assert Scenario.from_query(opened["strategie-nav"]["href"].split("?", 1)[1]) == Scenario.from_query("k=8&capacity=70000")
    listed = call_callback(client, "strategie-saved-open.options", inputs={"strategie-save.n_clicks": 0},
                           state={"strategie-save-name.value": None, "strategie-query.data": "", "strategie-sites.data": None})
    assert {"k5", "k8 large"} <= {o["value"] for o in listed["strategie-saved-open"]["options"]}


# ------------------------------------------------------------------------------------------- misc


def test_overlapping_markers_are_fanned_apart_at_national_zoom(dash_app):
    plan = scenario.plan_for(Scenario.from_query("k=20"), data_dir=dash_app.server.config["VOISINMAP_DATA_DIR"])
    lat, lon = plan.table["lat"].tolist(), plan.table["lon"].tolist()
    offsets = results.fan_offsets(lat, lon)
    zoom = 5.5
    scale = 256 * 2 ** zoom

    def pixel(i):
        x = (lon[i] + 180) / 360 * scale
        y = (1 - math.log(math.tan(math.radians(lat[i])) + 1 / math.cos(math.radians(lat[i]))) / math.pi) / 2 * scale
        return x + offsets[i][0], y + offsets[i][1]

    points = [pixel(i) for i in range(len(lat))]
    closest = min(math.dist(p, q) for i, p in enumerate(points) for q in points[i + 1:])
    assert closest >= results.MARKER_PX - 4, closest


def test_not_found_page_is_translated(dash_app):
    page = sys.modules["app.pages.not_found_404"]
    with dash_app.server.test_request_context("/", headers={"Cookie": "voisinmap_lang=fr"}):
        fr = page.layout()
    with dash_app.server.test_request_context("/", headers={"Cookie": "voisinmap_lang=en"}):
        en = page.layout()
    assert _by_id(fr, "not-found-title").children == "Page introuvable"
    assert _by_id(en, "not-found-title").children == "Page not found"


def test_donnees_caveats_follow_the_language(dash_app):
    page = sys.modules["app.pages.donnees"]
    with dash_app.server.test_request_context("/donnees"):
        fr = page.layout()
    items = [li.children for li in _by_id(fr, "donnees-caveats").children]
    assert any(i.startswith("Taux de pauvreté couvert par le secret statistique") for i in items)
    assert _by_id(fr, "donnees-caveats-note").children == "(issu du manifeste de construction)"


def test_runtime_message_ids_exist_in_both_languages():
    from app.components import region_view, scenario_export

    ids = [f"region.col.{c}" for c in ("rank", "urban_region", "added_residents", "network", "in_plan", "cities",
                                       "qpv_residents", "n_qpv", "npnru_qpv", "robustness")]
    ids += [f"export.button.{f}" for f in plan_page().EXPORT_FORMATS] + [f"scen.mode.{m}" for m in ("k", "plan")]
    ids += [f"res.robust.{k}" for k in ("robust", "fragile", "middle")] + [f"col.{c}" for c in results.TABLE_COLUMNS]
    ids += [f"compare.where.{w}" for w in ("a", "b", "both")] + [f"compare.col.{c}" for c in
                                                                  ("name", "urban_region", "where_label", "rank_a", "rank_b")]
    ids += [f"compare.m.{m}" for m in ("radius", "capacity", "new_sites", "presence_now", "presence_plan", "regions",
                                       "households5", "goal_year")]
    assert region_view.MAX_ROWS and scenario_export.SITE_COLUMNS
    missing = [(i, lang) for i in ids for lang in ("fr", "en") if not has_message(i, lang)]
    assert missing == []


def test_robustness_marks_robust_and_fragile_picks(dash_app):
    scen = Scenario.from_query("k=6")
    with dash_app.server.test_request_context("/"):
        key = sys.modules["app.pages._strategie_robust"].compute_robustness(scen.to_query(), None, None)
        _, regions, sites_area, _, recommended, _, error, _ = plan_page().recommend(*_controls(scen), None, True, key)
    assert key == scen.to_query() and error == ""
    labels = [r["robustness"] for r in _by_id(sites_area, "strategie-table").data]
    assert all(lab.endswith("/18)") for lab in labels)
    assert {r["urban_region"]: r["robustness"] for r in regions.data}["Paris"] == "robuste (18/18)"
    classes = [m.iconOptions["className"] for m in recommended if type(m).__name__ == "DivMarker"]
    kinds = {lab.split(" ")[0] for lab in labels}
    assert any(c.endswith(("rec-robust", "rec-fragile", "rec-middle")) for c in classes)
    assert kinds <= {"robuste", "fragile", "intermédiaire"}


def test_quotas_from_named_regions_are_honoured_or_refused_in_french(dash_app):
    # Normandie (28) and Nouvelle-Aquitaine (75) have no site today: with k=4 each gets one
    _, _, sites_area, _, _, _, error, _ = _run(dash_app, Scenario.from_query("k=4&quota=28,75"))
    regions = {r["region"] for r in _by_id(sites_area, "strategie-table").data}
    assert error == "" and {"Normandie", "Nouvelle-Aquitaine"} <= regions
    # with k=1 both cannot be met: one French message, the previous results stay
    head, *_, error, _ = _run(dash_app, Scenario.from_query("k=1&quota=28,75"))
    assert head is dash.no_update and "contraintes" in error
