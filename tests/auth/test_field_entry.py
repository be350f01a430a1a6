"""Field entry through the app (``/saisie/api/…``): idempotent sync, same checks and French messages as
files, CSRF, and a Voisin's answers free of other sites' doors, heatmaps and aggregates."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from tests.auth.conftest import PASSWORD, SITE_A, SITE_B, AccessEnv

ORIGIN = "http://localhost"


def _context(client: Any, campaign: str = "") -> dict[str, Any]:
    response = client.get("/saisie/api/context" + (f"?campaign={campaign}" if campaign else ""))
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return response.get_json()


def _sync(client: Any, entries: list[dict[str, Any]], token: str, **headers: str) -> Any:
    return client.post("/saisie/api/sync", data=json.dumps({"entries": entries}),
                       headers={"Content-Type": "application/json", "X-CSRFToken": token, "Origin": ORIGIN, **headers})


def _entries(ctx: dict[str, Any], n: int, *, outcome: str = "ouvert", door: str = "B-{k}") -> list[dict[str, Any]]:
    now = dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
    buildings = [b["id"] for b in ctx["buildings"]]
    return [{"id": str(uuid.uuid4()), "campaign": ctx["campaign"], "building": buildings[k % len(buildings)],
             "door": door.format(k=k), "outcome": outcome, "language": "arabe", "topics": ["eau"], "at": now}
            for k in range(n)]


def _store_count(url: str, site: str, campaign: str) -> int:
    from geo.coverage.store import load_events, open_store

    engine = open_store(url)
    try:
        return len(load_events(engine, sites=[site], campaigns=[campaign], located_only=False))
    finally:
        engine.dispose()


def _terrain_visits(client: Any, campaign: str) -> int:
    """The « visites » key figure of the Terrain page for site A and ``campaign``, as the manager sees it."""
    from tests.plugins.app_session import call_callback

    out = call_callback(client, "terrain-kpis.children",
                        inputs={"terrain-site.value": SITE_A, "terrain-campaigns.value": [campaign],
                                "terrain-dates.start_date": None, "terrain-dates.end_date": None,
                                "terrain-absent.value": [], "terrain-version.data": None})
    cards = [c["props"] for c in out["terrain-kpis"]["children"]]
    card = next(c for c in cards if c.get("id") == "terrain-visits")
    value = next(v["props"]["children"] for v in card["children"] if v["props"].get("className") == "kpi-value")
    return int(re.sub(r"\D", "", value))


@pytest.fixture()
def voisin(clients: dict[str, Any]) -> Any:
    return clients["voisin_a"]


def test_five_visits_sync_once_and_retries_add_nothing(voisin: Any, clients: dict[str, Any],
                                                       access_env: AccessEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # a worker trusts the data version it read for a while (app.cache.version_ttl, a minute here so that timing
    # plays no part), except after its own sync (app.cache.stores_written): the Terrain figures read right after
    # it already count the visits
    monkeypatch.setenv("VOISINMAP_CACHE_VERSION_TTL", "60")
    ctx = _context(voisin)
    assert ctx["site"] == SITE_A and ctx["voisin"] == "V001" and ctx["campaign"] in ctx["campaigns"]
    campaign = ctx["campaign"]
    before_store = _store_count(access_env.url, SITE_A, campaign)
    before_terrain = _terrain_visits(clients["manager_a"], campaign)
    entries = _entries(ctx, 5)
    first = _sync(voisin, entries, ctx["csrf"])
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert (body["imported"], body["duplicates"], body["rejected"]) == (5, 0, {})
    assert sorted(body["stored"]) == sorted(e["id"] for e in entries)
    assert _store_count(access_env.url, SITE_A, campaign) == before_store + 5
    assert _terrain_visits(clients["manager_a"], campaign) == before_terrain + 5
    again = _sync(voisin, entries, ctx["csrf"]).get_json()
    assert (again["imported"], again["duplicates"]) == (0, 5) and sorted(again["stored"]) == sorted(body["stored"])
    assert _store_count(access_env.url, SITE_A, campaign) == before_store + 5
    assert _terrain_visits(clients["manager_a"], campaign) == before_terrain + 5
    # their own entries of the day come back, under the Voisin code, at the chosen buildings
    today = _context(voisin, campaign)["today"]
    assert {(v["building"], v["door"]) for v in today} >= {(e["building"], e["door"]) for e in entries}


def test_a_sync_cut_after_the_store_loses_and_duplicates_nothing(voisin: Any, dash_app: Any,
                                                                 access_env: AccessEnv) -> None:
    from app.saisie.routes import AFTER_SYNC_KEY

    ctx = _context(voisin)
    before = _store_count(access_env.url, SITE_A, ctx["campaign"])
    entries = _entries(ctx, 3, door="C-{k}")

    def drop(_result: Any) -> None:
        raise ConnectionResetError("connection dropped before the answer")

    dash_app.server.config[AFTER_SYNC_KEY] = drop
    try:
        cut = _sync(voisin, entries, ctx["csrf"])
        assert cut.status_code == 500 and b"stored" not in cut.data  # no confirmation reaches the phone
    finally:
        dash_app.server.config.pop(AFTER_SYNC_KEY)
    assert _store_count(access_env.url, SITE_A, ctx["campaign"]) == before + 3  # stored before the cut
    retried = _sync(voisin, entries, ctx["csrf"]).get_json()  # the phone never got the answer: it sends again
    assert (retried["imported"], retried["duplicates"], len(retried["stored"])) == (0, 3, 3)
    assert _store_count(access_env.url, SITE_A, ctx["campaign"]) == before + 3


def test_entries_get_the_checks_and_french_messages_of_files(voisin: Any, access_env: AccessEnv) -> None:
    from geo.coverage.errors import row_message

    ctx = _context(voisin)
    good = _entries(ctx, 1, door="D-1")[0]
    named = {**good, "id": str(uuid.uuid4()), "door": "Mme Diallo"}
    language = {**good, "id": str(uuid.uuid4()), "language": "klingon"}
    unknown = {**good, "id": str(uuid.uuid4()), "building": "PAS-DANS-LA-LISTE"}
    future = {**good, "id": str(uuid.uuid4()), "at": (dt.date.today() + dt.timedelta(days=3)).isoformat() + "T10:00"}
    other_site = {**good, "id": str(uuid.uuid4()), "site": SITE_B, "voisin": "LIL-V09"}  # ignored keys
    answer = _sync(voisin, [named, language, unknown, future, other_site], ctx["csrf"]).get_json()
    rejected = answer["rejected"]
    assert row_message("door", "fr") in rejected[named["id"]]
    assert row_message("language", "fr") in rejected[language["id"]]
    assert "bâtiment hors de la liste de la campagne : choisissez un bâtiment de la liste" in rejected[unknown["id"]]
    assert any(m.startswith("date hors période") or "date" in m for m in rejected[future["id"]])
    assert answer["stored"] == [other_site["id"]] and answer["imported"] == 1
    from geo.coverage.store import VISITS, open_store

    engine = open_store(access_env.url)
    with engine.connect() as conn:
        import sqlalchemy as sa

        row = conn.execute(sa.select(VISITS.c.site, VISITS.c.voisin).where(VISITS.c.door == "D-1")).one()
    engine.dispose()
    assert tuple(row) == (SITE_A, "V001"), "site and Voisin come from the account, never from the phone"


def test_sync_needs_token_origin_and_json(voisin: Any) -> None:
    ctx = _context(voisin)
    entry = _entries(ctx, 1, door="E-1")
    assert _sync(voisin, entry, "not-a-token").status_code == 400
    assert _sync(voisin, entry, ctx["csrf"], Origin="https://evil.example").status_code == 403
    no_origin = voisin.post("/saisie/api/sync", data=json.dumps({"entries": entry}),
                            headers={"Content-Type": "application/json", "X-CSRFToken": ctx["csrf"]})
    assert no_origin.status_code == 403
    form = voisin.post("/saisie/api/sync", data="entries=x", headers={"X-CSRFToken": ctx["csrf"], "Origin": ORIGIN,
                                                                      "Content-Type": "text/plain"})
    assert form.status_code == 415
    shape = _sync(voisin, [{"id": "1", "door": "A-1"}], ctx["csrf"])
    assert shape.status_code == 400 and "UUID" in shape.get_json()["error"]


def test_a_voisin_sees_no_other_site_no_heatmap_no_aggregate(voisin: Any, dash_app: Any,
                                                            access_env: AccessEnv) -> None:
    from geo.auth.store import UserStore
    from geo.coverage.store import load_events, open_store

    engine = open_store(access_env.url)
    site_b = load_events(engine, sites=[SITE_B])
    engine.dispose()
    doors_b = {(round(a, 5), round(b, 5)) for a, b in zip(site_b["lat"], site_b["lon"], strict=True)}
    seen: list[str] = [voisin.get("/saisie").get_data(as_text=True)]
    ctx = _context(voisin)
    for campaign in ctx["campaigns"]:
        seen.append(json.dumps(_context(voisin, campaign)))
    seen.append(json.dumps(_context(voisin, "campagne d'un autre site")))
    # another Voisin of the same site records a visit today: not in this Voisin's « today »
    UserStore(access_env.url).add_user("voisin-deux", PASSWORD, role="voisin", sites=[SITE_A])
    from tests.plugins import app_session

    other = dash_app.server.test_client()
    assert app_session.sign_in(other, "voisin-deux", PASSWORD).status_code == 303
    other_ctx = _context(other)
    mine = _sync(other, _entries(other_ctx, 1, door="Z-99"), other_ctx["csrf"]).get_json()
    assert mine["imported"] == 1
    again = _context(voisin, other_ctx["campaign"])
    assert all(v["door"] != "Z-99" for v in again["today"])
    seen.append(json.dumps(again))
    # no door of site B, anywhere
    leaks = []
    for text in seen:
        for a, b in re.findall(r"(-?\d{1,3}\.\d{4,})\s*,\s*\"?(?:lon\"?:\s*)?(-?\d{1,3}\.\d{4,})", text):
            x, y = round(float(a), 5), round(float(b), 5)
            if (x, y) in doors_b or (y, x) in doors_b:
                leaks.append((a, b))
    assert leaks == []
    positions = [(round(b["lat"], 5), round(b["lon"], 5)) for b in again["buildings"] if b["lat"] is not None]
    assert positions and not set(positions) & doors_b
    # only what the page needs: no counts, no heatmap, no aggregate
    assert set(again) == {"site", "voisin", "campaigns", "campaign", "buildings", "walk", "today", "languages",
                          "topics", "csrf"}
    assert all(set(w) == {"building", "address", "doors"} for w in again["walk"])
    assert all(set(b) == {"id", "address", "lat", "lon"} for b in again["buildings"])
    for path in ("/terrain", "/impact", "/donnees", "/saisie/equipe", "/download/impact-regions.csv",
                 "/_voisinmap/layers/qpv.pbf"):
        assert voisin.get(path).status_code == 403, path


def test_a_manager_creates_voisin_accounts_for_their_site_only(clients: dict[str, Any], access_env: AccessEnv) -> None:
    from geo.auth.store import UserStore
    from tests.plugins.app_session import call_callback

    state = {"equipe-site.value": SITE_A, "equipe-name.value": "voisine-trois",
             "equipe-password.value": "une phrase de passe longue", "equipe-code.value": "GRI-V07"}
    out = call_callback(clients["manager_a"], "equipe-result.children", inputs={"equipe-create.n_clicks": 1},
                        state=state)
    assert out["equipe-result"]["children"] == "Compte « voisine-trois » créé, code Voisin GRI-V07."
    assert out["equipe-password"]["value"] == ""
    created = UserStore(access_env.url).get_by_name("voisine-trois")
    assert (created.role, created.sites, created.voisin_code) == ("voisin", (SITE_A,), "GRI-V07")
    again = call_callback(clients["manager_a"], "equipe-result.children", inputs={"equipe-create.n_clicks": 2},
                          state={**state, "equipe-name.value": "voisine-quatre"})
    assert "déjà pris" in again["equipe-result"]["children"]
    refused = call_callback(clients["manager_b"], "equipe-result.children", inputs={"equipe-create.n_clicks": 1},
                            state={**state, "equipe-name.value": "intrus"})
    assert getattr(refused, "status_code", None) == 403
    assert UserStore(access_env.url).get_by_name("intrus") is None
