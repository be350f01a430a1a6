"""Every page, callback, download and route of the app, called as each role, against the access rules.

The pages, callbacks and routes are enumerated from the running app (``dash.page_registry``,
``app.callback_map``, the Flask URL map, the registered downloads), so pages added later are covered.
The expected answers come from :data:`RULES` (the issue's rules, written out here); a page not listed
there is held to its declared ``roles`` and to the door-level rule.

The whole module runs twice (the ``clients`` fixture is parametrized): in-process, with Flask test clients,
and against a real multi-worker server (``voisinmap serve``: gunicorn, 2 preloaded workers with threads, the
shared filesystem cache), over the same database, accounts and door visits, with per-role HTTP sessions
signed in through the real form, each request on a new connection so either worker may answer it. With
``VOISINMAP_TEST_REDIS_URL`` set, a third run serves from a Redis-backed shared cache. The observed
matrices are written to ``test-artifacts/access-matrix.md``, ``access-matrix-served.md`` (and
``access-matrix-served-redis.md``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash
import pytest

from tests.auth import served
from tests.auth.conftest import PASSWORD, ROLES, SITE_A, SITE_B, SMALL_SITE, WHO, AccessEnv

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


#: How the matrix reaches the app: in-process, served (and served from Redis when a test Redis is given).
MODES = [served.IN_PROCESS, pytest.param(served.SERVED, marks=pytest.mark.slow)] + (
    [pytest.param(served.SERVED_REDIS, marks=pytest.mark.slow)] if os.environ.get(served.REDIS_ENV) else [])
MATRIX_FILES = {served.IN_PROCESS: "access-matrix.md", served.SERVED: "access-matrix-served.md",
                served.SERVED_REDIS: "access-matrix-served-redis.md"}


@pytest.fixture(scope="module", params=MODES)
def clients(request: pytest.FixtureRequest, clients: dict[str, Any], dash_app: dash.Dash, access_env: AccessEnv,
            processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[served.RoleClients]:
    """One client per role (``anonymous``: none signed in), in-process or on a real 2-worker server."""
    from app import cache
    from app.security import settings
    from tests.plugins.app_session import sign_in

    MATRIX.clear()
    for seen in SEEN.values():
        seen.clear()
    if request.param == served.IN_PROCESS:
        def clear_cache() -> None:
            with dash_app.server.app_context():
                cache.CACHE.clear()

        yield served.RoleClients(request.param, clients, clear_cache=clear_cache, log_lines=served.in_process_log)
        return
    cache_url = os.environ[served.REDIS_ENV] if request.param == served.SERVED_REDIS else None
    folder = tmp_path_factory.mktemp(request.param)
    env = served.environment(db_url=access_env.url, data_dir=processed_dir, folder=folder, cache_url=cache_url)
    env[settings.ENV_PROXY_FIX] = "0"  # clients connect directly, as for the in-process app
    with served.serve(env, folder=folder) as server:
        http: dict[str, Any] = {"anonymous": served.ServedClient(server.url, server=server)}
        health = http["anonymous"].get("/healthz").get_json()
        assert health["cache"] == ("redis" if cache_url else "filesystem") and len(server.workers()) == 2, health
        for name in ROLES:
            http[name] = served.ServedClient(server.url, server=server)
            response = sign_in(http[name], name.replace("_", "-"), PASSWORD)
            assert response.status_code == 303, f"{name} could not sign in on the served app"
        yield served.RoleClients(request.param, http, clear_cache=server.clear_cache, log_lines=server.log_lines,
                                 server=server)
        # both workers answered: after the whole module (some 180 requests since the workers were last
        # replaced), each used several times the CPU of an idle worker (0.05 s in 25 s)
        if server.requests >= 150:  # a few tests picked with -k may not load both
            busy = server.cpu_seconds()
            assert len(busy) == 2 and min(busy.values()) > 0.25, (busy, server.requests)
    assert server.killed == [], "gunicorn did not stop its workers on TERM: they were killed"


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


def test_cached_impact_reports_never_cross_scopes(warmed: dash.Dash, clients: served.RoleClients) -> None:
    """Each role's scope reads its own Impact report from the shared cache, never another scope's."""
    from app import data
    from tests.plugins.app_session import call_callback

    first: dict[str, str] = {}
    again: dict[str, str] = {}
    for answers in (first, again):
        if answers is again and clients.server is not None:
            clients.server.fresh_workers()  # served: workers that computed nothing read the second pass
        for who in ("manager_a", "manager_b", "admin"):
            data._REPORTS.clear()  # in-process, a fresh worker: the report comes from the shared cache (second pass)
            out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": "*"})
            tables = call_callback(clients[who], "impact-sites-table.children",  # « Télécharger » opened
                                   inputs={"impact-downloads-summary.n_clicks": 1, "impact-region.value": "*"})
            answers[who] = json.dumps([out, tables], sort_keys=True, ensure_ascii=False)
    assert again == first  # read back from the shared cache, equal
    assert len({first["manager_a"], first["manager_b"], first["admin"]}) == 3
    assert f'"{SITE_B}"' not in first["manager_a"] and f'"{SITE_A}"' not in first["manager_b"]
    assert f'"{SITE_A}"' in first["manager_a"] and f'"{SITE_B}"' in first["manager_b"]


def test_memoized_impact_page_never_crosses_scopes(warmed: dash.Dash, clients: served.RoleClients) -> None:
    """The whole Impact answer is memoized per scope: a second call of the same scope is read from the shared
    cache (not built again), and a manager's cached page never reaches another manager nor a funder.

    Served, the builds are read from the server's log (its workers log at INFO, ``voisinmap -v serve``)."""
    from tests.plugins.app_session import call_callback

    clients.clear_cache()
    who_all = ("manager_a", "manager_b", "financeur", "strategie", "admin")
    answers: dict[str, list[str]] = {who: [] for who in who_all}
    with clients.log_lines("app.pages.impact") as messages:
        for _ in range(2):
            for who in who_all:
                out = call_callback(clients[who], "impact-kpis.children", inputs={"impact-region.value": "*"})
                answers[who].append(json.dumps(out, sort_keys=True, ensure_ascii=False))
    built = [m for m in messages if m.startswith("impact page built")]
    assert len(built) == len(who_all), "each scope builds its page once, the second call reads the cache"
    for who in who_all:
        assert answers[who][0] == answers[who][1]
    first = {who: pages[0] for who, pages in answers.items()}
    assert len({first["manager_a"], first["manager_b"], first["financeur"], first["admin"]}) == 4
    assert f'"{SITE_B}"' not in first["manager_a"] and f'"{SITE_A}"' not in first["manager_b"]
    for funder in ("financeur", "strategie"):
        assert first[funder] not in (first["manager_a"], first["manager_b"])
    # a value that is not a territory is keyed as France: random inputs cannot fill the cache
    with clients.log_lines("app.pages.impact") as messages:
        call_callback(clients["manager_a"], "impact-kpis.children", inputs={"impact-region.value": "x" * 300})
    assert not [m for m in messages if m.startswith("impact page built")]


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


def _site_values(spec: dict[str, Any]) -> dict[str, Any]:
    """Values of a callback's inputs naming site A (a site input) and France (a territory input)."""
    values: dict[str, Any] = {}
    for e in spec["inputs"] + spec.get("state", []):
        if isinstance(e["id"], str) and e["property"] == "value":
            if re.search(r"-site$", e["id"]):
                values[e["id"]] = SITE_A
            elif re.search(r"-sites$", e["id"]):
                values[e["id"]] = [SITE_A]
            elif re.search(r"-region$", e["id"]):
                values[e["id"]] = "*"
    return values


def test_cached_scoped_answers_never_cross_scopes(warmed: dash.Dash, clients: served.RoleClients) -> None:
    """Every callback whose whole answer is cached per scope (:mod:`app.callback_cache`), called first as one
    manager on an empty shared cache, then as every other role: each other scope computes its own answer
    (``miss``) or is refused before the cache (no cache header); nobody reads the first scope's answer, and
    the first scope still reads its own afterwards. Served, the calls land on either worker: a cache shared
    by the workers keyed without the scope would hand the first answer to the others."""
    from app.callback_cache import HIT_HEADER, policies

    scoped = {k: p for k, p in policies(warmed.callback_map).items() if p.scoped}
    assert len(scoped) >= 4, sorted(scoped)  # Terrain's three, Impact's page
    compared = 0
    for key in scoped:
        spec = warmed.callback_map[key]
        for values in (_site_values(spec), {}):
            payload = _payload(key, spec, values)
            for first in ("manager_a", "manager_b"):
                clients.clear_cache()
                own = clients[first].post("/_dash-update-component", json=payload)
                if own.status_code != 200:  # refused (the other manager's site): never reaches the cache
                    assert own.status_code == 403 and HIT_HEADER not in own.headers, (key, first)
                    continue
                assert own.headers.get(HIT_HEADER) == "miss", (key, first)
                again = clients[first].post("/_dash-update-component", json=payload)
                assert (again.headers.get(HIT_HEADER), again.data) == ("hit", own.data), (key, first)
                for other in (w for w in WHO if w != first):
                    answer = clients[other].post("/_dash-update-component", json=payload)
                    _record(f"scoped cache {key[:50]} after {first}", other, answer)
                    if answer.status_code in (401, 403):
                        assert HIT_HEADER not in answer.headers, (key, first, other)
                        continue
                    assert answer.status_code == 200, (key, first, other, answer.status_code)
                    assert answer.headers.get(HIT_HEADER) == "miss", (key, first, other)  # its scope's own key
                    repeat = clients[other].post("/_dash-update-component", json=payload)
                    assert (repeat.headers.get(HIT_HEADER), repeat.data) == ("hit", answer.data), (key, other)
                    compared += 1
                last = clients[first].post("/_dash-update-component", json=payload)
                assert (last.headers.get(HIT_HEADER), last.data) == ("hit", own.data), (key, first)
    assert compared >= 8, "other scopes answered too rarely for the check to mean anything"


def test_security_headers_on_every_kind_of_answer(warmed: dash.Dash, clients: served.RoleClients) -> None:
    """Pages, redirects, refusals, callbacks, downloads and field routes carry the security headers, whichever
    way the app runs. Served, gunicorn adds transport headers of its own (``Server``, ``Date``, ``Connection``),
    none of which bears on access."""
    answers = {
        "page": clients["admin"].get("/donnees"),
        "sign-in page": clients["anonymous"].get("/login"),
        "redirect to sign in": clients["anonymous"].get("/impact"),
        "refused page": clients["financeur"].get("/terrain"),
        "callback": clients["admin"].post("/_dash-update-component", json={}),
        "download signed out": clients["anonymous"].get("/download/impact-regions.csv?region=11"),
        "download": clients["financeur"].get("/download/impact-regions.csv?region=11"),
        "field route": clients["voisin_a"].get("/saisie/api/context"),
    }
    assert [answers[k].status_code for k in ("redirect to sign in", "refused page", "download signed out")] == \
        [302, 403, 401]
    for kind, response in answers.items():
        h = response.headers
        policy = h.get("Content-Security-Policy", "")
        assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy, kind
        assert "unsafe-eval" not in policy, kind
        assert (h.get("X-Content-Type-Options"), h.get("X-Frame-Options"), h.get("Referrer-Policy")) == \
            ("nosniff", "DENY", "same-origin"), kind
    for kind in ("page", "sign-in page", "refused page", "callback", "download", "field route"):  # data, pages
        assert answers[kind].headers["Cache-Control"] == "no-store", kind


def test_write_matrix(clients: served.RoleClients, artifacts: Path) -> None:
    lines = ["| resource | " + " | ".join(WHO) + " |", "|---|" + "---|" * len(WHO)]
    for resource in sorted(MATRIX):
        lines.append(f"| {resource} | " + " | ".join(MATRIX[resource].get(w, "") for w in WHO) + " |")
    (artifacts / MATRIX_FILES[clients.mode]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(MATRIX) > 10
