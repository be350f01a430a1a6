"""Malformed callback inputs answer 400 and paths climbing with ``..`` answer 404 (never 500)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import AccessEnv


@pytest.mark.parametrize("value", [["11"], {"x": 1}, [{"x": 1}], [["11"]]])
def test_malformed_impact_region_answers_400(clients: dict[str, Any], access_env: AccessEnv, value: Any) -> None:
    from tests.plugins.app_session import call_callback

    good = call_callback(clients["financeur"], "impact-kpis.children", inputs={"impact-region.value": "11"})
    assert isinstance(good, dict) and good  # positive control: a region code is answered
    response = call_callback(clients["financeur"], "impact-kpis.children", inputs={"impact-region.value": value})
    assert not isinstance(response, dict), "a malformed value was answered as a valid one"
    assert response.status_code == 400, (value, response.status_code)
    assert response.get_json()["error"].startswith("callback:")
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("prop_value", "expected"), [("7", 400), (-1, 400), ([1], 400), (3, 200)])
def test_click_counts_must_be_counts(clients: dict[str, Any], prop_value: Any, expected: int) -> None:
    """A count sent as a text, a negative number or a list is refused before the callback runs."""
    from app.security.callback_guard import malformed_input

    definition = {"inputs": [{"id": "x-button", "property": "n_clicks"}], "state": []}
    body = {"inputs": [{"id": "x-button", "property": "n_clicks", "value": prop_value}], "state": []}
    assert (malformed_input(body, definition) is None) == (expected == 200)


def test_signed_out_malformed_callback_is_refused_as_signed_out(clients: dict[str, Any]) -> None:
    """Access is decided first: a signed-out visitor learns nothing from the shape check."""
    from tests.plugins.app_session import call_callback

    response = call_callback(clients["anonymous"], "impact-kpis.children", inputs={"impact-region.value": {"x": 1}})
    assert response.status_code == 401


@pytest.mark.parametrize("path", [
    "/_dash-component-suites/dash/../../../../etc/passwd",
    "/_dash-component-suites/dash/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/assets/../app/security/settings.py",
    "/assets/..%5c..%5capp%5cmain.py",
    "/impact/../../etc/passwd",
    "/download/../../etc/passwd",
])
@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_paths_with_parent_segments_answer_404(clients: dict[str, Any], path: str, who: str) -> None:
    response = clients[who].get(path)
    assert response.status_code == 404, (path, who, response.status_code)
    body = response.get_data(as_text=True)
    assert "root:" not in body and "import" not in body and "Traceback" not in body


def test_dotted_names_that_do_not_climb_are_not_refused(clients: dict[str, Any]) -> None:
    from app.security.access import has_parent_segment

    assert not has_parent_segment("/assets/app..css") and not has_parent_segment("/download/impact-regions.csv")
    assert has_parent_segment("/a/../b") and has_parent_segment("/a\\..\\b") and has_parent_segment("/..")
    assert clients["admin"].get("/download/impact-regions.csv").status_code == 200


def test_a_list_for_a_single_choice_is_answered_400_by_the_error_handler(clients: dict[str, Any],
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """``["11"]`` has the shape of a multiple choice: it passes the shape check, the callback fails on
    it, and the app-wide error handler answers 400 (logging the exception class, not the value)."""
    from tests.plugins.app_session import call_callback

    with caplog.at_level("WARNING", logger="app.security.callback_guard"):
        response = call_callback(clients["financeur"], "impact-kpis.children",
                                 inputs={"impact-region.value": ["11"]})
    assert response.status_code == 400
    assert response.get_json()["error"] == "callback: an input has an unexpected type"
    assert "unexpected type" in caplog.text and "'11'" not in caplog.text
