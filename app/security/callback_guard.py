"""The Dash callback checks, which no library does: a callback body is checked against the server-side
definition, never trusted as sent.

* :func:`callback_mismatch`: the ids and properties of every input, state and output must match the
  definition (``app.callback_map``) position by position, so a browser cannot rename a site selector
  or disguise a door-level callback's outputs;
* :func:`callback_sites`: the site codes asked for, read by position from the definition;
* :func:`malformed_input`: values of a shape no component sends (an object as a ``value``, a text as
  ``n_clicks``...) are answered 400 before the callback runs;
* :func:`check_upload`: type and size of ``dcc.Upload`` contents;
* :func:`on_callback_error`: an exception raised by a callback on list or object ``value`` inputs (a
  single-choice dropdown sent ``["11"]``) is answered 400 instead of 500; other exceptions stay 500.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import flask

from app.security.errors import json_error
from app.security.settings import max_upload_bytes

logger = logging.getLogger(__name__)

#: Properties whose value is a click count: an integer or nothing.
COUNT_PROPS: frozenset[str] = frozenset({"n_clicks", "n_submit", "n_blur", "n_clicks_timestamp", "n_intervals"})
#: Properties whose value is a text or nothing.
TEXT_PROPS: frozenset[str] = frozenset({"pathname", "search", "hash", "href"})
#: Properties whose value is a text, a list of texts, or nothing (``dcc.Upload``).
FILE_PROPS: frozenset[str] = frozenset({"contents", "filename"})
#: Exceptions a callback raises when an input has an unexpected shape.
INPUT_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, KeyError, IndexError, AttributeError)
_SCALARS = (str, int, float, bool, type(None))


def body_items(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """The ``inputs`` or ``state`` items of a callback body, pattern-matching lists flattened."""
    out: list[dict[str, Any]] = []
    for item in body.get(key) or []:
        if isinstance(item, list):
            out.extend(i for i in item if isinstance(i, dict))
        elif isinstance(item, dict):
            out.append(item)
    return out


def body_outputs(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outputs a callback body names (one or several), as sent by the browser."""
    outputs = body.get("outputs")
    if isinstance(outputs, dict):
        return [outputs]
    if isinstance(outputs, list):
        flat: list[dict[str, Any]] = []
        for o in outputs:
            flat.extend(x for x in (o if isinstance(o, list) else [o]) if isinstance(x, dict))
        return flat
    return []


def parse_id(text: Any) -> Any:
    """A component id: the dict of a pattern-matching id written as JSON, else the value unchanged."""
    if isinstance(text, str) and text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


_WILDCARDS = ("ALL", "ALLSMALLER", "MATCH")


def _wild(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and value[0] in _WILDCARDS


def _id_matches(defined: Any, sent: Any) -> bool:
    """Whether a component id sent by the browser is an instance of the id of the definition."""
    defined = parse_id(defined)
    if isinstance(defined, dict):
        if not isinstance(sent, dict) or set(sent) != set(defined):
            return False
        return all(_wild(v) or sent[k] == v for k, v in defined.items())
    return isinstance(sent, str) and sent == defined


def definition_outputs(key: str) -> list[dict[str, Any]]:
    """Outputs of a callback, read from its server-side ``callback_map`` key."""
    parts = key[2:-2].split("...") if key.startswith("..") and key.endswith("..") else [key]
    out = []
    for part in parts:
        ident, _, prop = part.split("@")[0].rpartition(".")
        out.append({"id": ident, "property": prop})
    return out


def _slot_ok(spec: Mapping[str, Any], item: Any) -> bool:
    pattern = parse_id(spec["id"])
    multi = isinstance(pattern, dict) and any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values())
    if multi:
        if not isinstance(item, list):
            return False
        members = item
    else:
        if not isinstance(item, dict):
            return False
        members = [item]
    return all(isinstance(m, dict) and m.get("property") == spec["property"] and _id_matches(spec["id"], m.get("id"))
               for m in members)


def _slots(body: Mapping[str, Any], definition: Mapping[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    """(definition entry, body item) of every input then state, by position."""
    pairs = []
    for key in ("inputs", "state"):
        specs = list(definition.get(key) or [])
        items = body.get(key) or []
        items = list(items) if isinstance(items, list) else []
        pairs.extend(zip(specs, items + [None] * (len(specs) - len(items)), strict=False))
    return pairs


def callback_mismatch(body: Mapping[str, Any], key: str, definition: Mapping[str, Any]) -> str | None:
    """Why a callback body does not match its server-side definition (``None`` if it does).

    Parameters
    ----------
    body : mapping
        The JSON body sent by the browser.
    key : str
        The ``callback_map`` key (``body["output"]``).
    definition : mapping
        ``app.callback_map[key]``.
    """
    for kind in ("inputs", "state"):
        items = body.get(kind) or []
        if not isinstance(items, list) or len(items) != len(definition.get(kind) or []):
            return f"{kind}: expected {len(definition.get(kind) or [])} items, got {len(items) if isinstance(items, list) else '?'}"
    for spec, item in _slots(body, definition):
        if not _slot_ok(spec, item):
            return f"input {spec['id']}.{spec['property']}: the request does not match the callback"
    outputs = definition_outputs(key)
    sent = body.get("outputs")
    sent_list = sent if key.startswith("..") else [sent]
    if not isinstance(sent_list, list) or len(sent_list) != len(outputs):
        return "outputs: the request does not match the callback"
    for spec, item in zip(outputs, sent_list, strict=True):
        if isinstance(item, dict) and isinstance(item.get("id"), str) and str(item["id"]).startswith("{"):
            item = {**item, "id": parse_id(item["id"])}
        if isinstance(item, dict) and isinstance(item.get("property"), str):
            item = {**item, "property": item["property"].split("@")[0]}
        if isinstance(parse_id(spec["id"]), dict) and isinstance(item, dict) and isinstance(item.get("id"), dict) \
                and _id_matches(spec["id"], item["id"]) and item.get("property") == spec["property"]:
            continue  # a pattern output written as its pattern
        if not _slot_ok(spec, item):
            return f"output {spec['id']}.{spec['property']}: the request does not match the callback"
    return None


def callback_sites(body: Mapping[str, Any], definition: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """Site codes a callback asks for: values of inputs and states whose id ends with ``-site(s)``.

    With ``definition`` (the server-side entry of ``app.callback_map``), the site inputs are those of the
    definition, read **by position** in the body (which :func:`callback_mismatch` has checked against it),
    so a browser cannot hide a site selector by renaming it."""
    sites: set[str] = set()
    if definition is not None:
        for spec, item in _slots(body, definition):
            cid = spec["id"]
            if not isinstance(item, dict) or not isinstance(cid, str) or spec["property"] != "value":
                continue
            if cid.endswith("-site") or cid.endswith("-sites"):
                value = item.get("value")
                values = value if isinstance(value, list) else [value]
                sites.update(str(v) for v in values if v not in (None, ""))
        return tuple(sorted(sites))
    for item in body_items(body, "inputs") + body_items(body, "state"):
        cid = item.get("id")
        cid = cid.get("type", "") if isinstance(cid, dict) else str(cid or "")
        if not (cid.endswith("-site") or cid.endswith("-sites")) or item.get("property") != "value":
            continue
        value = item.get("value")
        values = value if isinstance(value, list) else [value]
        sites.update(str(v) for v in values if v not in (None, ""))
    return tuple(sorted(sites))


#: File types accepted in ``dcc.Upload`` contents: extension -> accepted MIME types of the data URL.
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "csv": ("text/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream", ""),
    "txt": ("text/plain", "text/csv", "application/octet-stream", ""),
    "tsv": ("text/tab-separated-values", "text/plain", "application/octet-stream", ""),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream", ""),
    "json": ("application/json", "text/plain", "application/octet-stream", ""),
    "geojson": ("application/geo+json", "application/json", "text/plain", "application/octet-stream", ""),
}


def check_upload(body: Mapping[str, Any], definition: Mapping[str, Any]) -> flask.Response | None:
    """Type and size of the files of a callback, read by position from its server-side definition
    (``contents`` slots, and the ``filename`` slot of the same component)."""
    slots = _slots(body, definition)
    names: dict[str, Any] = {json.dumps(spec["id"]): item.get("value") for spec, item in slots
                             if spec["property"] == "filename" and isinstance(item, dict)}
    limit = int(flask.current_app.config.get("MAX_CONTENT_LENGTH") or max_upload_bytes())
    for spec, item in slots:
        if spec["property"] != "contents" or not isinstance(item, dict) or item.get("value") in (None, ""):
            continue
        contents = item["value"] if isinstance(item["value"], list) else [item["value"]]
        filenames = names.get(json.dumps(spec["id"]))
        filenames = filenames if isinstance(filenames, list) else [filenames] * len(contents)
        if len(filenames) < len(contents):
            return json_error(415, "upload: expected a file name for every file")
        for data, filename in zip(contents, filenames, strict=False):
            if not isinstance(data, str) or not data.startswith("data:") or "," not in data:
                return json_error(415, "upload: expected a data URL from a file input")
            header, payload = data.split(",", 1)
            mime = header[5:].split(";")[0].strip().lower()
            ext = str(filename or "").rsplit(".", 1)[-1].lower() if "." in str(filename or "") else ""
            if ext not in UPLOAD_TYPES or mime not in UPLOAD_TYPES[ext]:
                return json_error(415, f"upload: expected a file of type {', '.join(sorted(UPLOAD_TYPES))}, "
                                        f"got .{ext or '?'} ({mime or 'no type'})")
            if len(payload) * 3 // 4 > limit:
                return json_error(413, f"upload: expected at most {limit // (1024 * 1024)} MB")
            if ext == "xlsx":
                head = base64.b64decode(payload[:8] + "=" * (-len(payload[:8]) % 4), validate=False)
                if not head.startswith(b"PK"):
                    return json_error(415, "upload: the .xlsx file is not a workbook")
    return None


def callback_definition(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The server-side definition of the callback a body names (``app.callback_map``), if any."""
    key = body.get("output")
    if not isinstance(key, str):
        return None
    dash_app = flask.current_app.extensions.get("voisinmap_dash")
    callback_map = getattr(dash_app, "callback_map", None) or {}
    definition = callback_map.get(key)
    if definition is None or "callback" not in definition:
        return None  # unknown, or a clientside callback (never called on the server)
    return key, definition


def _is_scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, _SCALARS) for v in value)


def _shape_error(prop: str, value: Any) -> str | None:
    """Why ``value`` cannot be the value of property ``prop`` of a Dash component (None if it can)."""
    if prop == "value" and not (isinstance(value, _SCALARS) or _is_scalar_list(value)):
        return "expected a value or a list of values"
    if prop in COUNT_PROPS and not (value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                                                       and value >= 0)):
        return "expected a count"
    if prop in TEXT_PROPS and not isinstance(value, str | type(None)):
        return "expected a text"
    if prop in FILE_PROPS and not (isinstance(value, str | type(None))
                                   or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
        return "expected a text or a list of texts"
    return None


def malformed_input(body: Mapping[str, Any], definition: Mapping[str, Any]) -> str | None:
    """Why an input or state value of a callback body has a shape no component sends (None if none).

    Parameters
    ----------
    body : mapping
        The JSON body, already matched against ``definition`` by :func:`callback_mismatch`.
    definition : mapping
        ``app.callback_map[body["output"]]``.
    """
    for spec, item in _slots(body, definition):
        members = item if isinstance(item, list) else [item]
        for member in members:
            if not isinstance(member, dict):
                continue
            problem = _shape_error(spec["property"], member.get("value"))
            if problem is not None:
                return f"input {spec['id']}.{spec['property']}: {problem}"
    return None


def _has_collection_value(body: Mapping[str, Any]) -> bool:
    """Whether a ``value`` input or state of the body holds a list or an object."""
    for item in body_items(body, "inputs") + body_items(body, "state"):
        if item.get("property") == "value" and isinstance(item.get("value"), list | dict):
            return True
    return False


def on_callback_error(previous: Callable[[Exception], Any] | None = None) -> Callable[[Exception], Any]:
    """A Dash ``on_error`` handler: 400 for an input-shaped exception on list or object ``value`` inputs.

    Parameters
    ----------
    previous : callable, optional
        The app's handler before this one, called for every other exception (none: re-raised, so 500).
    """

    def handle(error: Exception) -> Any:
        body = flask.request.get_json(silent=True) if flask.has_request_context() else None
        if isinstance(error, INPUT_ERRORS) and isinstance(body, dict) and _has_collection_value(body):
            logger.warning("callback %s refused: %s on an input of an unexpected type",
                           str(body.get("output"))[:120], type(error).__name__)
            flask.abort(json_error(400, "callback: an input has an unexpected type"))
        if previous is not None:
            return previous(error)
        raise error

    return handle


def guard_callback() -> tuple[flask.Response | None, dict[str, Any] | None, dict[str, Any] | None]:
    """Check the ``/_dash-update-component`` request: ``(refusal, body, definition)``.

    The refusal is None when the body is a JSON object naming a server callback, matching its
    definition, with acceptable uploads (the shape of input values is checked by :func:`malformed_input`
    once access is granted).
    """
    request = flask.request
    if not request.is_json:
        return json_error(415, "callback: expected a JSON body"), None, None
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_error(400, "callback: expected a JSON object"), None, None
    found = callback_definition(body)
    if found is None:
        logger.info("callback refused: no such server callback")
        return json_error(403, "callback: no such callback"), body, None
    key, definition = found
    mismatch = callback_mismatch(body, key, definition)
    if mismatch is not None:
        logger.info("callback refused: the request does not match its definition")
        return json_error(403, f"callback: {mismatch}"), body, definition
    refused = check_upload(body, definition)
    if refused is not None:
        logger.info("upload refused (%s)", refused.status_code)
    return refused, body, definition
