"""Which callbacks are answered from the shared cache, and how their requests are keyed (``app/callback_cache.py``).

The served behaviour (hits across workers, scopes, invalidation) is tested on a real multi-worker server
in ``tests/app/test_callback_cache_served.py``.
"""

from __future__ import annotations

import pytest

from app import callback_cache


def test_the_pages_mark_the_recommendation_and_the_terrain_callbacks(dash_app, client) -> None:
    client.get("/_dash-dependencies")  # Dash moves the registered callbacks into the app on the first request
    table = callback_cache.policies(dash_app.callback_map)
    by_first_output = {key.strip(".").split("...")[0]: policy for key, policy in table.items()}
    assert by_first_output["strategie-results.children"] == callback_cache.Policy(doors=False, scoped=False)
    for output in ("terrain-kpis.children", "terrain-cells.data", "terrain-campaigns.options"):
        assert by_first_output[output] == callback_cache.Policy(doors=True, scoped=True), output
    # uploads, downloads, polls and jobs are never answered from the cache
    assert not {"terrain-upload-job.data", "terrain-version.data", "terrain-walk-download.data",
                "strategie-download.data", "strategie-sites.data"} & set(by_first_output)


def _body(**changes: object) -> dict:
    body = {"output": "strategie-results.children", "outputs": {"id": "strategie-results", "property": "children"},
            "inputs": [{"id": "strategie-k", "property": "value", "value": 12}],
            "state": [], "changedPropIds": ["strategie-k.value"]}
    return {**body, **changes}


def test_the_digest_follows_everything_the_answer_depends_on() -> None:
    same = _body(inputs=[{"value": 12, "property": "value", "id": "strategie-k"}])  # key order does not matter
    assert callback_cache.body_digest(_body()) == callback_cache.body_digest(same)
    for changed in (_body(inputs=[{"id": "strategie-k", "property": "value", "value": 13}]),
                    _body(changedPropIds=["strategie-radius.value"]),
                    _body(state=[{"id": "strategie-query", "property": "data", "value": "k=12"}])):
        assert callback_cache.body_digest(changed) != callback_cache.body_digest(_body())


def test_marks_are_checked() -> None:
    with pytest.raises(TypeError, match="doors: expected True or False, got str"):
        callback_cache.cached_callback(doors="yes", scoped=False)
    with pytest.raises(TypeError, match="version: expected a function returning a text, got str"):
        callback_cache.cached_callback(doors=True, scoped=True, version="v1")

    @callback_cache.cached_callback(doors=True, scoped=True, version=lambda: "release-3")
    def render(x: int) -> int:
        return x

    assert render(2) == 2  # the function itself, only marked
    assert getattr(render, callback_cache.MARK).version() == "release-3"
