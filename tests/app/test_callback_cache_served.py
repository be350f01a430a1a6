"""Whole callback answers from the shared cache, on a real multi-worker server (``voisinmap serve --workers 2``).

* Workers that never computed an answer serve it from the shared cache, byte for byte (the workers that
  computed it are retired first: ``TTIN``/``TTOU`` to the gunicorn master). Their first requests arrive
  four at once: each must see every callback of the app (Dash's first-request set-up is done in the
  master, :func:`app.server.finish_dash_setup`).
* No cached answer crosses a scope: two managers of the same site share one; an admin, a manager of
  another site and a funder never read it (a manager of another site is refused before the cache).
* An import of visits invalidates the Terrain answers, not the recommendation; a new build of the
  processed data invalidates the recommendation.

The server runs on a copy of the session's processed data (its manifest is rewritten here) with the
fictitious demo visits (``voisinmap demo``).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.callback_cache import HIT_HEADER
from bench.bench_load import RECOMMEND_STATE, HttpClient, recommend_inputs, terrain_inputs, voisinmap
from tests.auth.served import environment, fresh_workers, serve

PASSWORD = "un mot de passe de test assez long"
SITE_A, SITE_B = "91286", "59350"  # Grigny, Lille: demo sites
ACCOUNTS = {"admin": ("admin", None), "strategie": ("strategie", None), "manager_a": ("manager", SITE_A), "manager_a_bis": ("manager", SITE_A),
            "manager_b": ("manager", SITE_B), "financeur": ("financeur", None)}

pytestmark = [pytest.mark.slow, pytest.mark.national]


class Client(HttpClient):
    """A signed-in browser that keeps the headers of its last answer."""

    last: Any = None

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST, keeping the answer."""
        self.last = super().post(path, **kwargs)
        return self.last


def answer(client: Client, output: str, inputs: dict[str, Any]) -> tuple[int, str, str]:
    """``(status, hit or miss, body)`` of one callback."""
    from tests.plugins.app_session import call_callback

    state = RECOMMEND_STATE if output == "strategie-results.children" else None
    call_callback(client, output, inputs=inputs, state=state)
    reply = client.last
    return reply.status_code, reply.headers.get(HIT_HEADER, ""), reply.data.decode()


@pytest.fixture(scope="module")
def served(processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("callback-cache")
    data = folder / "processed"
    shutil.copytree(processed_dir, data, ignore=shutil.ignore_patterns("prepared", "cache"))
    url = f"sqlite:///{folder / 'voisinmap.db'}"
    env = {**environment(db_url=url, data_dir=data, folder=folder), "VOISINMAP_CACHE_VERSION_TTL": "0"}
    for name, (role, site) in ACCOUNTS.items():
        voisinmap("users", "add", name, "--role", role, *(["--site", site] if site else []), env=env,
                  stdin=PASSWORD + "\n")
    voisinmap("demo", env=env)
    with serve(env, folder=folder) as server:
        yield {"url": server.url, "proc": server.proc, "data": data, "db": url}


def signed_in(base: str, name: str) -> Client:
    from tests.plugins.app_session import sign_in

    client = Client(base)
    assert sign_in(client, name, PASSWORD).status_code == 303
    return client


def test_fresh_workers_serve_answers_they_never_computed_and_scopes_stay_apart(served: dict[str, Any]) -> None:
    base, master = served["url"], served["proc"].pid
    clients = {name: signed_in(base, name) for name in ACCOUNTS}
    plan_inputs = recommend_inputs(12)
    summary = terrain_inputs(SITE_A, view=False)
    status, state, plan = answer(clients["admin"], "strategie-results.children", plan_inputs)
    assert (status, state) == (200, "miss")
    status, state, grigny = answer(clients["manager_a"], "terrain-kpis.children", summary)
    assert (status, state) == (200, "miss")

    new = fresh_workers(master)
    assert len(new) == 2

    def from_new_workers(name: str, output: str, inputs: dict[str, Any]) -> list[tuple[int, str, str]]:
        def one(_i: int) -> tuple[int, str, str]:
            client = signed_in(base, name)  # a new connection: either worker may answer
            return answer(client, output, inputs)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(8)))

    # the recommendation depends on no one's scope: the strategy team reads the admin's answer
    assert from_new_workers("strategie", "strategie-results.children", plan_inputs) == [(200, "hit", plan)] * 8
    # the same scope (another manager of Grigny) shares the answer, byte for byte
    assert from_new_workers("manager_a_bis", "terrain-kpis.children", summary) == [(200, "hit", grigny)] * 8
    # another scope computes its own: the admin (same figures, its own key), never a hit on Grigny's
    status, state, admin_view = answer(clients["admin"], "terrain-kpis.children", summary)
    assert (status, state) == (200, "miss") and json.loads(admin_view) == json.loads(grigny)
    # a manager of Lille is refused Grigny before any cache is read, then gets Lille's own figures
    status, state, _ = answer(clients["manager_b"], "terrain-kpis.children", summary)
    assert status == 403 and state == ""
    status, state, lille = answer(clients["manager_b"], "terrain-kpis.children", terrain_inputs(SITE_B, view=False))
    assert (status, state) == (200, "miss") and lille != grigny
    # funders may not reach the Terrain callbacks at all, cached or not
    assert answer(clients["financeur"], "terrain-kpis.children", summary)[0] == 403


def test_every_cached_terrain_callback_stays_in_its_scope(served: dict[str, Any]) -> None:
    base = served["url"]
    clients = {name: signed_in(base, name) for name in ("manager_a", "manager_a_bis", "manager_b", "strategie")}
    for output, inputs in (("terrain-campaigns.options", {"terrain-site.value": SITE_A}),
                           ("terrain-kpis.children", terrain_inputs(SITE_A, view=False)),
                           ("terrain-cells.data", terrain_inputs(SITE_A, view=True))):
        own = answer(clients["manager_a"], output, inputs)
        assert own[0] == 200 and own[1] in ("hit", "miss"), output
        assert answer(clients["manager_a_bis"], output, inputs) == (200, "hit", own[2]), output
        for outsider in ("manager_b", "strategie"):  # refused before any cache is read
            assert answer(clients[outsider], output, inputs)[:2] == (403, ""), (output, outsider)


def test_an_import_invalidates_door_answers_and_a_build_the_recommendation(served: dict[str, Any]) -> None:
    from geo.coverage import importer
    from geo.coverage.store import open_store
    from tests.coverage.coverage_helpers import visit_rows

    admin = signed_in(served["url"], "admin")
    plan_inputs = recommend_inputs(7)
    summary = terrain_inputs(SITE_A, view=False)
    cells = terrain_inputs(SITE_A, view=True)
    first = {out: answer(admin, out, inputs) for out, inputs in (
        ("strategie-results.children", plan_inputs), ("terrain-kpis.children", summary),
        ("terrain-cells.data", cells))}
    again = {out: answer(admin, out, inputs) for out, inputs in (
        ("strategie-results.children", plan_inputs), ("terrain-kpis.children", summary),
        ("terrain-cells.data", cells))}
    assert {out: a[1] for out, a in again.items()} == dict.fromkeys(first, "hit")

    engine = open_store(served["db"])
    try:  # 40 more doors opened in Grigny
        importer.import_frame(visit_rows(40, site=SITE_A, campaign="Cache 2025"), name="visites", engine=engine,
                              today=dt.date(2026, 1, 1))
    finally:
        engine.dispose()
    after_import = {out: answer(admin, out, inputs) for out, inputs in (
        ("strategie-results.children", plan_inputs), ("terrain-kpis.children", summary),
        ("terrain-cells.data", cells))}
    assert after_import["strategie-results.children"] == again["strategie-results.children"]  # still a hit
    assert after_import["terrain-kpis.children"][1] == "miss"
    assert after_import["terrain-kpis.children"][2] != first["terrain-kpis.children"][2]  # the new visits count
    assert after_import["terrain-cells.data"][1] == "miss"

    manifest = served["data"] / "manifest.json"
    built = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**built, "built_at": dt.datetime.now(dt.UTC).isoformat()}), encoding="utf-8")
    status, state, plan = answer(admin, "strategie-results.children", plan_inputs)
    assert (status, state) == (200, "miss") and json.loads(plan) == json.loads(first["strategie-results.children"][2])
    assert answer(admin, "strategie-results.children", plan_inputs)[1] == "hit"
