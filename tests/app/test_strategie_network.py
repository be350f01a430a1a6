"""Stratégie page: a scenario run on an uploaded sites network says so in its address, is saved with its
validated sites (not the file, not its name) and reopens with them; robustness is computed by the page
itself — on the national data, through the callbacks."""

from __future__ import annotations

import base64
import sys

import dash
import pytest

from app import i18n
from app.scenario_params import Scenario, network_id
from geo.auth.scenarios import ScenarioStore
from geo.auth.store import UserStore
from tests.app.test_app_server import _walk
from tests.app.test_strategie_scenarios import _controls
from tests.plugins.app_session import call_callback

SITES = "code;name;opening_year;kind\n93066;Saint-Denis;2018;site\n69256;Vaulx-en-Velin;2019;site\n"


def _upload(client, text=SITES, filename="reseau_partenaire.csv"):
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    out = call_callback(client, "strategie-upload-error.children",
                        inputs={"strategie-upload.contents": contents, "strategie-sites-reset.n_clicks": 0},
                        state={"strategie-upload.filename": filename})
    return out["strategie-sites"]["data"]


def _restore(client, url, stored):
    return call_callback(client, "strategie-network-msg.children", inputs={"strategie-url-network.data": url},
                         state={"strategie-sites.data": stored})


def _store(dash_app):
    from app.security.session import accounts_url

    with dash_app.server.test_request_context("/"):
        url = accounts_url()
    return ScenarioStore(url), UserStore(url).get_by_name("admin-tests")


def test_the_network_id_is_a_digest_of_the_validated_sites_and_travels_in_the_url():
    records = [{"code": "93066", "name": "Saint-Denis", "opening_year": 2018, "kind": "site"}]
    same = [{"kind": "site", "opening_year": 2018, "name": "Saint-Denis", "code": "93066"}]  # key order is no matter
    assert network_id(records) == network_id(same) and network_id(records).startswith("custom-")
    assert network_id(records) != network_id([{**records[0], "opening_year": 2019}])
    assert network_id(None) is None
    scen = Scenario.from_query("k=4").with_sites(records)
    assert f"network={network_id(records)}" in scen.to_query()
    assert Scenario.from_query(scen.to_query()) == scen
    assert Scenario.from_query("k=4&network=../../etc").network is None  # anything else is ignored


def test_a_saved_scenario_on_an_uploaded_network_reopens_with_its_sites(dash_app, client):
    stored = _upload(client)
    assert stored["filename"] == "reseau_partenaire.csv" and len(stored["records"]) == 2
    store, admin = _store(dash_app)
    query = Scenario.from_query("k=4").with_sites(stored["records"]).to_query()
    out = call_callback(client, "strategie-save-msg.children", inputs={"strategie-save.n_clicks": 1},
                        state={"strategie-save-name.value": "Réseau partenaire", "strategie-query.data": query,
                               "strategie-sites.data": stored}, triggered="strategie-save.n_clicks")
    assert "Réseau partenaire" in out["strategie-save-msg"]["children"]
    saved = store.get(admin.id, "Réseau partenaire")
    assert saved.sites == stored["records"]  # the validated sites, never the file's name
    assert "reseau_partenaire" not in repr(saved)
    assert f"network={network_id(stored['records'])}" in saved.query

    href = call_callback(client, "strategie-nav.href",
                         inputs={"strategie-saved-open.value": "Réseau partenaire"})["strategie-nav"]["href"]
    reopened = Scenario.from_query(href.split("?", 1)[1])
    assert reopened.k == 4 and reopened.network == network_id(stored["records"])
    # a fresh tab (no sites in it) on that address gets the saved sites back, named after the scenario
    out = _restore(client, {"query": True, "network": reopened.network}, None)
    assert out["strategie-sites"]["data"] == {"records": stored["records"], "saved": "Réseau partenaire"}
    assert out["strategie-network-msg"]["children"] == ""
    # the plan then runs on those two sites, and the label says where they come from
    with dash_app.server.test_request_context("/"):
        plan_out = sys.modules["app.pages._strategie_plan"].recommend(
            *_controls(reopened), out["strategie-sites"]["data"], True, None)
    assert plan_out[5] == "2 sites du scénario enregistré « Réseau partenaire »"
    assert Scenario.from_query(plan_out[7]).network == reopened.network
    store.delete(admin.id, "Réseau partenaire")


def test_an_address_whose_network_is_missing_says_so(client):
    lost = "custom-0123456789ab"
    out = _restore(client, {"query": True, "network": lost}, None)
    assert "strategie-sites" not in out or out["strategie-sites"]["data"] is None
    message = out["strategie-network-msg"]["children"]
    assert "réseau de sites importé" in message and "sites actuels de l'association" in message
    client.set_cookie(i18n.LANG_COOKIE, "en")
    try:
        english = _restore(client, {"query": True, "network": lost}, None)["strategie-network-msg"]["children"]
    finally:
        client.delete_cookie(i18n.LANG_COOKIE)
    assert "imported sites network" in english and "association's current sites" in english


def test_the_tab_keeps_or_drops_its_uploaded_sites_as_the_address_says(client):
    stored = _upload(client)
    mine = network_id(stored["records"])
    assert "strategie-sites" not in _restore(client, {"query": False, "network": None}, stored)  # plain « / »
    assert "strategie-sites" not in _restore(client, {"query": True, "network": mine}, stored)  # a reload
    dropped = _restore(client, {"query": True, "network": None}, stored)  # a scenario on the shipped sites
    assert dropped["strategie-sites"]["data"] is None and dropped["strategie-network-msg"]["children"] == ""


def test_robustness_follows_the_recommendation_and_marks_the_tables_and_the_map(dash_app):
    robust_page = sys.modules["app.pages._strategie_robust"]
    scen = Scenario.from_query("k=5")
    query = scen.to_query()
    with dash_app.server.test_request_context("/"):
        assert robust_page.compute_robustness(None, None, None) is dash.no_update  # no recommendation yet
        key = robust_page.compute_robustness(query, None, None)
        assert key == query
        assert robust_page.compute_robustness(query, None, key) is dash.no_update  # already shown
        # sites that do not match the address: the next recommendation brings the right scenario
        assert robust_page.compute_robustness(query, {"records": [{"code": "93066"}]}, None) is dash.no_update
        table, regions, layer = robust_page.show_marks(key, query, None)
        assert robust_page.show_marks(key, Scenario.from_query("k=6").to_query(), None) == (dash.no_update,) * 3
        plan_out = sys.modules["app.pages._strategie_plan"].recommend(*_controls(scen), None, True, key)
    assert len(table) == 5 and all(r["robustness"].endswith("/18)") for r in table)
    assert {r["urban_region"]: r["robustness"] for r in regions}["Paris"] == "robuste (18/18)"
    classes = [m.iconOptions["className"] for m in layer if type(m).__name__ == "DivMarker"]
    assert len(classes) == 5 and all(c.split()[-1] in ("rec-robust", "rec-fragile", "rec-middle") for c in classes)
    # a scenario seen before: the recommendation itself shows the same marks (robustness read as a state)
    rows = next(c for c in _walk(plan_out[2]) if getattr(c, "id", None) == "strategie-table").data
    assert [r["robustness"] for r in rows] == [r["robustness"] for r in table] and plan_out[6] == ""


@pytest.mark.parametrize("lang, text", [("fr", "Robustesse en cours de calcul"), ("en", "Computing robustness")])
def test_the_page_shows_a_robustness_status_instead_of_a_button(dash_app, lang, text):
    page = sys.modules["app.pages.strategie"]
    with dash_app.server.test_request_context("/", headers={"Cookie": f"{i18n.LANG_COOKIE}={lang}"}):
        layout = page.layout()
    ids = {c.id for c in _walk(layout) if isinstance(getattr(c, "id", None), str)}
    assert "strategie-robust-button" not in ids
    status = next(c for c in _walk(layout) if getattr(c, "id", None) == "strategie-robust-status")
    assert status.hidden is True and text in str(status.children)
