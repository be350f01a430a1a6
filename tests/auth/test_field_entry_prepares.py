"""A field-entry sync prepares the store's new version in the background (:mod:`app.doors_refresh`): the page
Terrain then maps it instead of preparing it inside a request."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from tests.auth.conftest import PASSWORD, AccessEnv


def test_a_sync_prepares_the_new_version_before_the_page_asks(dash_app: Any, access_env: AccessEnv) -> None:
    from app import doors_refresh, settings
    from geo.coverage import prepared, store
    from tests.plugins import app_session

    client = dash_app.server.test_client()
    assert app_session.sign_in(client, "voisin-a", PASSWORD).status_code == 303
    ctx = client.get("/saisie/api/context").get_json()
    now = dt.datetime.now().strftime("%Y-%m-%dT%H:%M")
    entries = [{"id": str(uuid.uuid4()), "campaign": ctx["campaign"], "building": ctx["buildings"][0]["id"],
                "door": f"P-{k}", "outcome": "ouvert", "language": "arabe", "topics": [], "at": now} for k in range(2)]
    answer = client.post("/saisie/api/sync", data=json.dumps({"entries": entries}),
                         headers={"Content-Type": "application/json", "X-CSRFToken": ctx["csrf"],
                                  "Origin": "http://localhost"})
    assert answer.status_code == 200 and answer.get_json()["imported"] == 2
    with dash_app.server.app_context():
        url, data_dir, folder = settings.store_url(), settings.data_dir(), settings.data_path() / "prepared"
    refresher = doors_refresh._REFRESHERS[(url, data_dir)]
    assert refresher.wait(timeout=300) and refresher.runs >= 1
    engine = store.open_store(url)
    try:
        version = store.data_version(engine)
    finally:
        engine.dispose()
    assert (folder / prepared._folder_name(version, object()) / "meta.json").is_file()
    runs = refresher.runs
    again = client.post("/saisie/api/sync", data=json.dumps({"entries": entries}),
                        headers={"Content-Type": "application/json", "X-CSRFToken": ctx["csrf"],
                                 "Origin": "http://localhost"})
    assert again.get_json()["imported"] == 0 and refresher.wait(timeout=60)
    assert refresher.runs == runs  # a retried sync stores nothing and prepares nothing
