"""JSON error answers of the security layer (``{"error": message}`` with an HTTP status)."""

from __future__ import annotations

import flask


def json_error(status: int, message: str) -> flask.Response:
    """A JSON response ``{"error": message}`` with ``status``; the message names no user value."""
    response = flask.jsonify({"error": message})
    response.status_code = status
    return response
