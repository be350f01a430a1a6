"""Callback bodies are checked against the server-side definition, never trusted as sent.

A browser chooses the ids and properties it sends: renaming the site selector, disguising the outputs
of a door-level callback as the router's or Impact's, or renaming an upload's ``contents`` must not get
past the access layer.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.auth.conftest import SITE_A, AccessEnv


def _definition(client: Any, output: str) -> dict[str, Any]:
    deps = client.get("/_dash-dependencies").get_json()
    return next(d for d in deps if output in d["output"])


def _outputs(key: str) -> list[dict[str, str]]:
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    return [{"id": p.split("@")[0].rsplit(".", 1)[0], "property": p.split("@")[0].rsplit(".", 1)[1]} for p in parts]


def _map_body(dep: dict[str, Any], *, rename: dict[str, str] | None = None) -> dict[str, Any]:
    rename = rename or {}
    values = {"terrain-site.value": SITE_A, "terrain-absent.value": ["x"]}
    inputs = [{"id": rename.get(i["id"], i["id"]), "property": i["property"],
               "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]]
    outs = _outputs(dep["output"])
    return {"output": dep["output"], "outputs": outs if dep["output"].startswith("..") else outs[0],
            "inputs": inputs, "state": [], "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}


@pytest.fixture(scope="module")
def map_dep(clients: dict[str, Any]) -> dict[str, Any]:
    return _definition(clients["admin"], "terrain-cells.data")


def test_renamed_site_input_is_refused(clients: dict[str, Any], access_env: AccessEnv, map_dep: dict[str, Any]) -> None:
    normal = _map_body(map_dep)
    own = clients["manager_a"].post("/_dash-update-component", json=normal)
    assert own.status_code == 200 and access_env.door_pairs_in(own.get_data(as_text=True))  # positive control
    assert clients["manager_b"].post("/_dash-update-component", json=normal).status_code == 403
    renamed = _map_body(map_dep, rename={"terrain-site": "terrain-sitex"})
    response = clients["manager_b"].post("/_dash-update-component", json=renamed)
    assert response.status_code == 403
    assert not access_env.door_pairs_in(response.get_data(as_text=True))


@pytest.mark.parametrize("outputs", [
    [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
    [{"id": "impact-kpis", "property": "children"}] * 5,
    [{"id": {"type": "impact-x", "z": "terrain-cells"}, "property": "data"}] * 5,
])
def test_disguised_outputs_are_refused(clients: dict[str, Any], access_env: AccessEnv, map_dep: dict[str, Any],
                                       outputs: list[dict[str, Any]]) -> None:
    for who in ("financeur", "strategie", "anonymous"):
        body = _map_body(map_dep)
        body["outputs"] = outputs
        response = clients[who].post("/_dash-update-component", json=body)
        assert response.status_code in (401, 403), (who, response.status_code)
        assert not access_env.door_pairs_in(response.get_data(as_text=True))


def test_unknown_or_clientside_callback_is_refused(clients: dict[str, Any]) -> None:
    body = {"output": "impact-nothing.children", "outputs": {"id": "impact-nothing", "property": "children"},
            "inputs": [{"id": "impact-region", "property": "value", "value": "*"}], "state": []}
    assert clients["financeur"].post("/_dash-update-component", json=body).status_code == 403
    body = {"output": "lang.data", "outputs": {"id": "lang", "property": "data"},
            "inputs": [{"id": "lang-fr", "property": "n_clicks", "value": 1},
                       {"id": "lang-en", "property": "n_clicks", "value": None}], "state": []}
    assert clients["admin"].post("/_dash-update-component", json=body).status_code == 403


@pytest.mark.parametrize(("prop", "filename", "mime"), [
    ("contents", "x.exe", "application/x-msdownload"),
    ("contentsX", "x.exe", "application/x-msdownload"),
    ("contentsX", "x.html", "text/html"),
])
def test_upload_checks_cannot_be_bypassed_by_renaming(clients: dict[str, Any], prop: str, filename: str,
                                                      mime: str) -> None:
    dep = _definition(clients["admin"], "terrain-upload-result")
    data = ("campagne;site;date;heure;latitude;longitude;batiment;porte;resultat;langue;sujets;voisin\n"
            "X;59350;2025-03-12;18:00;50.6;3.05;B1;A-01;ouvert;français;eau;V1\n").encode()
    body = {"output": dep["output"], "outputs": _outputs(dep["output"]),
            "inputs": [{"id": "terrain-upload", "property": prop,
                        "value": f"data:{mime};base64," + base64.b64encode(data).decode()}],
            "state": [{"id": "terrain-upload", "property": "filename", "value": filename}],
            "changedPropIds": ["terrain-upload.contents"]}
    response = clients["manager_b"].post("/_dash-update-component", json=body)
    assert response.status_code in (403, 415), response.status_code
