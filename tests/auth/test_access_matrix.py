"""Every page, callback, download and route of the app, called as each role, against the access rules.

The pages, callbacks and routes are enumerated from the running app (``dash.page_registry``,
``app.callback_map``, the Flask URL map, the registered downloads), so pages added later are covered.
The expected answers come from :data:`RULES` (the issue's rules, written out here); a page not listed
there is held to its declared ``roles`` and to the door-level rule. The observed matrix is written to
``test-artifacts/access-matrix.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dash
import pytest

from tests.auth.conftest import ROLES, SITE_A, SITE_B, SMALL_SITE, WHO, AccessEnv

#: Signed-in staff: every role but the Voisins, who reach only the field entry page (``/saisie``).
SIGNED_IN = set(ROLES) - {"voisin_a"}
#: page name -> who may open it (and call its callbacks).
RULES: dict[str, set[str]] = {
    "login": set(WHO),
    "strategie": {"strategie", "admin"},
    "donnees": SIGNED_IN,
    "impact": SIGNED_IN,
    "terrain": {"manager_a", "manager_b", "admin"},
    "equipe": {"manager_a", "manager_b", "admin"},
}
#: Pages whose content is door-level data: never to funders or strategists, whatever they declare.
DOOR_PAGES = {"terrain"}
ROUTER = {"_pages_content", "_pages_store"}
MATRIX: dict[str, dict[str, str]] = {}
SEEN: dict[str, list[str]] = {who: [] for who in WHO}


def _rule(page: dict[str, Any]) -> set[str]:
    name = page["module"].split(".")[-1]
    if name in RULES:
        return RULES[name]
    roles = page.get("roles")
    allowed = SIGNED_IN if roles is None else {w for w in SIGNED_IN if ROLES[w][0] in roles} | {"admin"}
    if name in DOOR_PAGES or page.get("access_level") == "door":
        allowed &= {"manager_a", "manager_b", "admin"}
    return allowed


def _pages() -> dict[str, dict[str, Any]]:
    return {p["module"].split(".")[-1]: p for p in dash.page_registry.values()}


def _record(resource: str, who: str, response: Any) -> None:
    status = response.status_code
    cell = str(status)
    if status in (301, 302, 303):
        cell += " →" + ("login" if "/login" in response.headers.get("Location", "") else
                        response.headers.get("Location", "?"))
    MATRIX.setdefault(resource, {})[who] = cell
    if response.data:
        SEEN[who].append(_text(response))


def _text(response: Any) -> str:
    """The body as text; an XLSX workbook as the XML of its sheets; a PNG as nothing (pixels only)."""
    data = response.data
    if data[:4] == b"PK\x03\x04":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ""
    return data.decode("utf-8", "replace")


def _prefix(component_id: str) -> str:
    if component_id.startswith("{"):
        component_id = json.loads(component_id).get("type", "")
    return re.split(r"[-.]", component_id, maxsplit=1)[0]


def _outputs(key: str) -> list[dict[str, str]]:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    out = []
    for part in parts:
        ident, prop = part.split("@")[0].rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})
    return out


def _payload(key: str, spec: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, Any]:
    values = values or {}

    def items(entries: list[dict[str, Any]]) -> list[Any]:
        out = []
        for e in entries:
            if str(e["id"]).startswith("{"):
                out.append([])
            else:
                out.append({"id": e["id"], "property": e["property"], "value": values.get(e["id"])})
        return out

    outputs = _outputs(key)
    first = spec["inputs"][0]
    return {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": items(spec["inputs"]), "state": items(spec.get("state", [])),
            "changedPropIds": [f"{first['id']}.{first['property']}"]}


def _server_callbacks(dash_app: dash.Dash) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in dash_app.callback_map.items() if "callback" in v}


@pytest.fixture(scope="module")
def warmed(dash_app: dash.Dash, clients: dict[str, Any]) -> dash.Dash:
    clients["admin"].get("/_dash-dependencies")  # the pages router is registered on the first request
    return dash_app


def test_every_page_as_every_role(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    from tests.plugins.app_session import call_callback

    pages = _pages()
    assert {"login", "strategie", "donnees", "impact"} <= set(pages)
    for name, page in pages.items():
        allowed = _rule(page)
        for who in WHO:
            client = clients[who]
            response = client.get(page["path"])
            _record(f"page {page['path']}", who, response)
            if who in allowed:
                assert response.status_code == 200, (name, who, response.status_code)
            elif who == "anonymous":
                assert response.status_code == 302 and "/login?next=" in response.headers["Location"], (name, who)
            elif page["path"] == "/":
                assert response.status_code == 302 and response.headers["Location"] != "/", (name, who)
            else:
                assert response.status_code == 403, (name, who, response.status_code)
            rendered = call_callback(client, "_pages_content.children",
                                     inputs={"_pages_location.pathname": page["path"], "_pages_location.search": ""})
            text = json.dumps(rendered)
            SEEN[who].append(text)
            assert ("auth-denied" in text) == (who not in allowed), (name, who)


def test_every_callback_as_every_role(warmed: dash.Dash, clients: dict[str, Any], access_env: AccessEnv) -> None:
    pages = _pages()
    callbacks = _server_callbacks(warmed)
    assert len(callbacks) >= 8
    unclassified = []
    for key, spec in callbacks.items():
        prefixes = {_prefix(o["id"] if isinstance(o["id"], str) else json.dumps(o["id"])) for o in _outputs(key)}
        if prefixes <= ROUTER:
            continue  # the router: covered page by page above
        owners = [pages.get(p) for p in prefixes]
        if any(o is None for o in owners):
            unclassified.append(key)
            continue
        allowed = set.intersection(*[_rule(o) for o in owners])
        for who in WHO:
            response = clients[who].post("/_dash-update-component", json=_payload(key, spec))
            _record(f"callback {key[:70]}", who, response)
            if who in allowed:
                assert response.status_code not in (401, 403), (key, who, response.get_data(as_text=True)[:200])
            else:
                assert response.status_code == (401 if who == "anonymous" else 403), (key, who, response.status_code)
    assert unclassified == [], f"callbacks whose outputs belong to no page: {unclassified}"


def test_door_level_callbacks_are_scoped_to_the_managers_sites(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    from app.security import callback_guard, resources

    door_page = {"module": "app.pages.terrain", "roles": ("manager", "admin"), "path": "/terrain"}
    body = {"outputs": {"id": "terrain-map", "property": "children"},
            "inputs": [{"id": "terrain-site", "property": "value", "value": SITE_A}]}
    from geo.auth.policy import Principal, decide

    resource = resources.page_resource(door_page, kind="callback", sites=callback_guard.callback_sites(body))
    assert resource.sites == (SITE_A,) and resource.level == "door"
    assert decide(Principal("a", "manager", (SITE_A,)), resource)
    assert not decide(Principal("b", "manager", ("59350",)), resource)
    assert not decide(Principal("f", "financeur"), resource)
    # against the running app: every callback of a door-level page with a site input
    checked = 0
    for key, spec in _server_callbacks(warmed).items():
        site_inputs = [e["id"] for e in spec["inputs"] + spec.get("state", [])
                       if isinstance(e["id"], str) and re.search(r"-sites?$", e["id"]) and e["property"] == "value"]
        prefix = {_prefix(o["id"]) for o in _outputs(key) if isinstance(o["id"], str)}
        if not site_inputs or not prefix & (DOOR_PAGES | {n for n, p in _pages().items() if p.get("access_level") == "door"}):
            continue
        for site_id in site_inputs:
            value = [SITE_A] if site_id.endswith("-sites") else SITE_A
            payload = _payload(key, spec, {site_id: value})
            assert clients["manager_a"].post("/_dash-update-component", json=payload).status_code not in (401, 403)
            refused = clients["manager_b"].post("/_dash-update-component", json=payload)
            _record(f"callback {key[:60]} site={SITE_A}", "manager_b", refused)
            assert refused.status_code == 403, key
            checked += 1
    MATRIX.setdefault("door-level callbacks with a site input (checked)", {})["manager_b"] = str(checked)


def test_downloads_as_every_role(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    from app.security import downloads

    families = downloads.downloads()
    assert "impact" in families
    names = [f"impact-{t}.{f}" for t in ("regions", "quarters", "sites", "qpv") for f in ("csv", "xlsx")]
    names += ["impact-tableaux.xlsx", "impact-carte.html", "impact-carte.png", "impact-carte.geojson"]
    for name in names:
        spec = downloads.find_download(name)
        assert spec is not None, name
        for who in WHO:
            response = clients[who].get(f"/download/{name}?region=11")
            _record(f"download {name}", who, response)
            if who == "anonymous":
                assert response.status_code == 401
            elif who == "voisin_a":
                assert response.status_code == 403, (name, who)  # no aggregate of any site for a Voisin
            else:
                assert response.status_code == 200, (name, who)
                assert "attachment" in response.headers["Content-Disposition"]


def test_every_flask_route_signed_out(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    public = ("/_dash-component-suites/", "/assets/", "/_dash-layout", "/_dash-dependencies", "/_reload-hash",
              "/_favicon.ico", "/saisie/static/", "/saisie-sw.js", "/saisie.webmanifest",
              "/public/")  # /public/impact: released figures only (test_public_impact_*)
    for rule in warmed.server.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: {"name": "qpv", "path": "page-inconnue"}.get(m.group(1), "x"),
                      rule.rule)
        for method in methods:
            if path in ("/login", "/logout", "/_dash-update-component") or path.startswith("/download/"):
                continue  # tested on their own
            response = clients["anonymous"].open(path, method=method)
            _record(f"route {method} {rule.rule}", "anonymous", response)
            if path.startswith(public) or path == "/_dash-layout":
                assert response.status_code not in (302, 401, 403), (rule.rule, response.status_code)
            else:
                assert response.status_code in (302, 401), (rule.rule, method, response.status_code)
            signed = clients["financeur"].open(path, method=method)
            _record(f"route {method} {rule.rule}", "financeur", signed)
            assert signed.status_code != 401


def test_no_door_coordinate_reaches_funders_or_strategists(warmed: dash.Dash, clients: dict[str, Any],
                                                            access_env: AccessEnv) -> None:
    from tests.plugins.app_session import call_callback

    # make sure the funders' page was fully rendered, with its map, for both roles, France and regions
    for who in ("financeur", "strategie"):
        for region in ("*", "11", "32"):
            out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": region})
            SEEN[who].append(json.dumps(out))
            tables = call_callback(clients[who], "impact-sites-table.children",  # « Télécharger » opened
                                   inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": region})
            SEEN[who].append(json.dumps(tables))
    for who in ("financeur", "strategie"):
        assert len(SEEN[who]) > 20, "the other tests of this module must run first"
        leaks = [p for text in SEEN[who] for p in access_env.door_pairs_in(text)]
        assert leaks == [], f"door positions sent to {who}: {leaks[:3]}"
    # the detector itself finds door positions when they are there
    lat, lon = next(iter(access_env.doors))
    probe = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    assert access_env.door_pairs_in(probe)


def test_funder_page_hides_the_small_site(warmed: dash.Dash, clients: dict[str, Any], access_env: AccessEnv) -> None:
    from tests.plugins.app_session import call_callback

    out = call_callback(clients["financeur"], "impact-sites-table.children",  # the section « Télécharger » opened
                        inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": "11"})
    rows = out["impact-sites-table"]["children"]["props"]["data"]
    saint_denis = [r for r in rows if r.get("Code site") == "93066"]
    assert saint_denis and saint_denis[0]["Secret statistique"] == "oui"
    assert saint_denis[0]["Ménages rencontrés"] == "non disponible (secret statistique)"
    hidden = [r for r in rows if r["Secret statistique"] == "oui"]
    assert len(hidden) >= 2, "a single hidden site would be the région total minus the others"


def test_managers_get_their_door_points_and_only_theirs(warmed: dash.Dash, clients: dict[str, Any],
                                                        access_env: AccessEnv) -> None:
    """Positive control of the leak detector: door points do reach the manager of their site."""
    spec_key = next((k for k, v in _server_callbacks(warmed).items()
                     if "terrain-doors.data" in k and "callback" in v), None)
    if spec_key is None:
        pytest.skip("no door-point callback registered (page Terrain absent)")
    spec = warmed.callback_map[spec_key]
    payload = _payload(spec_key, spec, {"terrain-site": SITE_A, "terrain-map": None})
    for item in payload["inputs"]:
        if isinstance(item, dict) and item["id"] == "terrain-map" and item["property"] == "zoom":
            item["value"] = 17
    mine = clients["manager_a"].post("/_dash-update-component", json=payload)
    assert mine.status_code == 200
    assert access_env.door_pairs_in(mine.get_data(as_text=True)), "the manager of the site sees its door points"
    assert clients["manager_b"].post("/_dash-update-component", json=payload).status_code == 403
    assert clients["financeur"].post("/_dash-update-component", json=payload).status_code == 403


def test_field_entry_routes_as_every_role(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    """``/saisie`` and its JSON routes: Voisins only (an admin opens the page, but has no Voisin code)."""
    for who in WHO:
        client = clients[who]
        shell = client.get("/saisie")
        _record("field page /saisie", who, shell)
        context = client.get("/saisie/api/context")
        _record("field route GET /saisie/api/context", who, context)
        sync = client.post("/saisie/api/sync", json={"entries": []})
        _record("field route POST /saisie/api/sync (no token)", who, sync)
        if who == "anonymous":
            assert shell.status_code == 302 and "/login?next=/saisie" in shell.headers["Location"]
            assert (context.status_code, sync.status_code) == (401, 401)
        elif who == "voisin_a":
            assert shell.status_code == 200 and b"s-outcome" in shell.data
            assert context.status_code == 200 and context.get_json()["site"] == SITE_A
            assert sync.status_code in (400, 403)  # signed in, but no CSRF token nor origin
        elif who == "admin":
            assert shell.status_code == 200
            assert context.status_code == 403 and sync.status_code == 403
        else:
            assert (shell.status_code, context.status_code, sync.status_code) == (403, 403, 403), who
            assert b"s-outcome" not in shell.data
    home = clients["voisin_a"].get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/saisie")


def test_write_matrix(artifacts: Path) -> None:
    lines = ["| resource | " + " | ".join(WHO) + " |", "|---|" + "---|" * len(WHO)]
    for resource in sorted(MATRIX):
        lines.append(f"| {resource} | " + " | ".join(MATRIX[resource].get(w, "") for w in WHO) + " |")
    (artifacts / "access-matrix.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(MATRIX) > 10


def test_cached_impact_reports_never_cross_scopes(warmed: dash.Dash, clients: dict[str, Any]) -> None:
    """Each role's scope reads its own Impact report from the shared cache, never another scope's."""
    from app import data
    from tests.plugins.app_session import call_callback

    first: dict[str, str] = {}
    again: dict[str, str] = {}
    for answers in (first, again):
        for who in ("manager_a", "manager_b", "admin"):
            data._REPORTS.clear()  # a fresh worker: the report comes from the shared cache (second pass)
            out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": "*"})
            tables = call_callback(clients[who], "impact-sites-table.children",  # « Télécharger » opened
                                   inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": "*"})
            answers[who] = json.dumps([out, tables], sort_keys=True, ensure_ascii=False)
    assert again == first  # read back from the shared cache, equal
    assert len({first["manager_a"], first["manager_b"], first["admin"]}) == 3
    assert f'"{SITE_B}"' not in first["manager_a"] and f'"{SITE_A}"' not in first["manager_b"]
    assert f'"{SITE_A}"' in first["manager_a"] and f'"{SITE_B}"' in first["manager_b"]


def test_memoized_impact_page_never_crosses_scopes(warmed: dash.Dash, clients: dict[str, Any],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The whole Impact answer is memoized per scope: a second call of the same scope is read from the shared
    cache (not built again), and a manager's cached page never reaches another manager nor a funder."""
    import logging

    from app import cache
    from tests.plugins.app_session import call_callback

    with warmed.server.app_context():
        cache.CACHE.clear()
    who_all = ("manager_a", "manager_b", "financeur", "strategie", "admin")
    answers: dict[str, list[str]] = {who: [] for who in who_all}
    with caplog.at_level(logging.INFO, logger="app.pages.impact"):
        for _ in range(2):
            for who in who_all:
                out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": "*"})
                answers[who].append(json.dumps(out, sort_keys=True, ensure_ascii=False))
    built = [r for r in caplog.records if r.getMessage().startswith("impact page built")]
    assert len(built) == len(who_all), "each scope builds its page once, the second call reads the cache"
    for who in who_all:
        assert answers[who][0] == answers[who][1]
    first = {who: pages[0] for who, pages in answers.items()}
    assert len({first["manager_a"], first["manager_b"], first["financeur"], first["admin"]}) == 4
    assert f'"{SITE_B}"' not in first["manager_a"] and f'"{SITE_A}"' not in first["manager_b"]
    for funder in ("financeur", "strategie"):
        assert first[funder] not in (first["manager_a"], first["manager_b"])
    # a value that is not a territory is keyed as France: random inputs cannot fill the cache
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.pages.impact"):
        call_callback(clients["manager_a"], "impact-kpis.children", inputs={"impact-region.value": "x" * 300})
    assert not [r for r in caplog.records if r.getMessage().startswith("impact page built")]


def test_funders_see_doors_opened_from_the_release_only_above_the_threshold(warmed: dash.Dash,
                                                                            clients: dict[str, Any]) -> None:
    """« Portes ouvertes » reaches funders from the release: every published figure ≥ 11, hidden with the
    households (the small site), and equal to the sum of the release's published bins."""
    from app.public import funder_view
    from tests.plugins.app_session import call_callback

    with warmed.server.app_context():
        view = funder_view.latest_view()
    doors = view.figures.doors_total(())
    assert doors is not None and doors >= view.figures.total(()) >= 11
    cells = view.figures.cells
    assert cells.loc[cells["households"].isna(), "doors_opened"].isna().all()
    assert view.figures.doors_total(("11", SMALL_SITE)) is None
    for who in ("financeur", "strategie"):
        out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": "*"})
        kpis = out["impact-kpis"]["children"]
        card = next(k for k in kpis if k["props"]["id"] == "impact-kpi-doors")
        shown = card["props"]["children"][0]["props"]["children"]
        assert int(re.sub(r"\D", "", shown)) == doors
        tables = call_callback(clients[who], "impact-quarters-table.children",
                               inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": "*"})
        rows = tables["impact-quarters-table"]["children"]["props"]["data"]
        values = [int(re.sub(r"\D", "", r["Portes ouvertes"])) for r in rows if r.get("Portes ouvertes")]
        assert values and min(values) >= 11 and sum(values) == doors
