"""Pytest plugin: talk to the app as a browser does — callbacks, the sign-in form, a signed-in Chromium.

Registered by ``tests/conftest.py`` (``pytest_plugins``). Used by the tests and ``bench/bench_app.py``;
nothing here ships with the app.
"""

from __future__ import annotations

from typing import Any


def call_callback(client: Any, output: str, *, inputs: dict[str, Any], state: dict[str, Any] | None = None,
                  triggered: str | None = None) -> Any:
    """POST one callback to a running app's ``/_dash-update-component``, as the browser does.

    Parameters
    ----------
    client : flask.testing.FlaskClient
        A test client of the app's server (carrying cookies, e.g. a session or the language).
    output : str
        ``"component-id.property"`` of one output of the callback (the callback is found in
        ``/_dash-dependencies``).
    inputs, state : dict
        ``"component-id.property"`` -> value, for every input / state of the callback. For a
        pattern-matching input, the key is the pattern as ``/_dash-dependencies`` writes it (e.g.
        ``'{"key":["ALL"],"type":"strategie-jump"}.n_clicks'``) and the value a list of
        ``{"id": {...concrete id...}, "value": v}``.
    triggered : str, optional
        The input that changed (default: the first); for a pattern id, its JSON with sorted keys and
        compact separators, then ``.property``.

    Returns
    -------
    dict
        The JSON ``response`` (component id -> property -> value); on an HTTP error, the response.
    """
    deps = client.get("/_dash-dependencies").get_json()
    target = next((d for d in deps if any(o.split("@")[0] == output for o in _outputs(d["output"]))), None)
    if target is None:
        raise ValueError(f"output: expected an output of a registered callback, got {output!r}")

    def spec(items: list[dict[str, Any]], values: dict[str, Any], kind: str) -> list[Any]:
        out = []
        for item in items:
            key = f"{item['id']}.{item['property']}"
            if key not in values:
                raise ValueError(f"{kind}: missing value for {key!r}")
            if item["id"].startswith("{"):
                out.append([{"id": v["id"], "property": item["property"], "value": v["value"]}
                            for v in values[key]])
            else:
                out.append({"id": item["id"], "property": item["property"], "value": values[key]})
        return out

    outputs = []
    for o in _outputs(target["output"]):
        ident, prop = o.split("@")[0].rsplit(".", 1)
        outputs.append({"id": ident, "property": prop})
    payload = {
        "output": target["output"],
        "outputs": outputs if target["output"].startswith("..") else outputs[0],
        "inputs": spec(target["inputs"], inputs, "inputs"),
        "state": spec(target.get("state", []), state or {}, "state"),
        "changedPropIds": [triggered or f"{target['inputs'][0]['id']}.{target['inputs'][0]['property']}"],
    }
    response = client.post("/_dash-update-component", json=payload)
    if response.status_code == 204:  # every output was no_update
        return {}
    if response.status_code != 200:
        return response
    return response.get_json().get("response", {}) if response.data else {}


def _outputs(output: str) -> list[str]:
    return output.strip(".").split("...") if output.startswith("..") else [output]


def find_prop(tree: Any, component_id: str, prop: str) -> Any:
    """The property ``prop`` of the component ``component_id`` in a layout tree (JSON), or None."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props.get(prop)
        for value in tree.values():
            found = find_prop(value, component_id, prop)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for value in tree:
            found = find_prop(value, component_id, prop)
            if found is not None:
                return found
    return None


def form_token(client: Any, *, path: str = "/login", field_id: str = "login-csrf") -> str:
    """The CSRF token the page ``path`` puts in its form, as a browser would get it (tests, benches)."""
    out = call_callback(client, "_pages_content.children",
                        inputs={"_pages_location.pathname": path, "_pages_location.search": ""})
    token = find_prop(out, field_id, "value")
    if not token:
        raise RuntimeError(f"form_token: no {field_id!r} field on {path}")
    return token


def sign_in(client: Any, username: str, password: str, *, next_path: str = "") -> Any:
    """Sign a Flask test client in through the real form (CSRF token included); returns the response."""
    token = form_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_path})


def browser_sign_in(driver: Any, base_url: str, username: str, password: str, *, timeout: float = 20.0) -> None:
    """Sign a selenium-driven browser in through the ``/login`` form."""
    from selenium.webdriver.common.by import By

    from tests.plugins.browser import wait_for

    driver.get(base_url.rstrip("/") + "/login")
    field = wait_for(lambda: driver.find_element(By.ID, "login-username"), timeout=timeout, message="login form")
    field.send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(lambda: "/login" not in driver.current_url, timeout=timeout, message="sign-in redirect")
