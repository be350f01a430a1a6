"""Whole callback answers served from the shared cache: a repeated callback skips Dash altogether.

A page marks a callback whose answer depends only on its inputs, the data, the language and (for
``scoped``) the role's scope, by placing :func:`cached_callback` *under* ``@dash.callback``::

    @dash.callback(Output("terrain-kpis", "children"), Input("terrain-site", "value"), ...)
    @callback_cache.cached_callback(doors=True, scoped=True)
    def site_summary(site, ...): ...

:func:`init_app` wraps Dash's ``/_dash-update-component`` view with **Flask-Caching**'s ``cached`` view
decorator (on the app's one backend, :data:`app.cache.CACHE`, shared by the workers). For a marked
callback the whole HTTP answer is stored, so a hit pays neither the callback, nor Dash's dispatch, nor
the JSON serialization; the compressed bytes of the answer are also kept per worker under the same key
(:mod:`app.compression`), so gzip/Brotli is not redone on every hit. Other callbacks pass through.

The key reads ``callback:<output>:<data version>:<lang>:<scope>:<digest>``:

* ``<data version>``: :func:`app.cache.processed_version` (processed data and code) for an answer that
  reads no door visit (``doors=False``: the Stratégie recommendation), the full
  :func:`app.cache.data_version` (door store too) otherwise: an import of visits invalidates Terrain
  and Impact answers, not the recommendation;
* ``<scope>``: :func:`app.cache.current_scope` (role and sites) when ``scoped``, else ``-``;
* ``<digest>``: SHA-256 of a canonical JSON of the request's inputs, states, outputs and the input that
  changed (``changedPropIds``: a callback may answer differently to what triggered it).

The view is wrapped, not the callback: the access checks of :mod:`app.security` run in a
``before_request`` hook, before the view, so a request refused there never reaches the cache, and a
scoped answer is only ever read back by the scope that computed it. Only ``200`` answers setting no cookie
are stored. Keys hold digests, never the inputs in clear; nothing about the inputs is logged.

``VOISINMAP_CALLBACK_CACHE=0`` turns it off (every answer computed: the « before » of ``bench/bench_load.py``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import flask

from app import cache
from app.compression import CALLBACK_G_KEY as G_KEY

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: Dash's callback route (the app's ``routes_pathname_prefix`` is ``/``).
UPDATE_ENDPOINT = "/_dash-update-component"
#: Attribute a marked callback carries (copied onto Dash's wrapper by ``functools.wraps``).
MARK = "voisinmap_cached_callback"
#: Environment variable: ``0`` (or ``false``, ``no``, ``off``) computes every answer.
ENV_SWITCH = "VOISINMAP_CALLBACK_CACHE"
#: Response header telling whether the answer came from the shared cache (``hit``) or was computed (``miss``).
HIT_HEADER = "X-Voisinmap-Cache"


@dataclasses.dataclass(frozen=True)
class Policy:
    """How the answer of one callback is keyed.

    Attributes
    ----------
    doors : bool
        The answer reads door visits: keyed on the door store's version too.
    scoped : bool
        The answer depends on the role's scope (a manager's sites): keyed on it.
    version : callable, optional
        Returns the version of anything else the answer reads (e.g. the latest funders' release):
        keyed on it too.
    """

    doors: bool
    scoped: bool
    version: Callable[[], str] | None = None


def cached_callback(*, doors: bool, scoped: bool, version: Callable[[], str] | None = None) -> Callable[[F], F]:
    """Decorator (under ``@dash.callback``): serve this callback's answers from the shared cache.

    Parameters
    ----------
    doors : bool
        Whether the answer reads door visits (True: an import of visits invalidates it).
    scoped : bool
        Whether the answer depends on the role's scope (True: keyed on role and sites).
    version : callable, optional
        No-argument function returning the version (a short text) of anything else the answer reads,
        called in the request (e.g. the id of the latest funders' release for the Impact page).

    Returns
    -------
    callable
        A decorator returning the function itself, marked.

    Raises
    ------
    TypeError
        When ``doors`` or ``scoped`` is not a bool.
    """
    for name, value in (("doors", doors), ("scoped", scoped)):
        if not isinstance(value, bool):
            raise TypeError(f"{name}: expected True or False, got {type(value).__name__}")
    if version is not None and not callable(version):
        raise TypeError(f"version: expected a function returning a text, got {type(version).__name__}")

    def mark(func: F) -> F:
        setattr(func, MARK, Policy(doors=doors, scoped=scoped, version=version))
        return func

    return mark


def policies(callback_map: dict[str, dict[str, Any]]) -> dict[str, Policy]:
    """The policy of every marked callback of a Dash app, by its output key (``body["output"]``)."""
    found = {}
    for output, spec in callback_map.items():
        policy = getattr(spec.get("callback"), MARK, None)
        if isinstance(policy, Policy):
            found[output] = policy
    return found


def body_digest(body: dict[str, Any]) -> str:
    """SHA-256 (32 hex) of what an answer depends on in a callback body: outputs, inputs, states and
    the input that changed, in a canonical JSON form (equal bodies, equal digests, in every process)."""
    parts = [body.get(k) for k in ("outputs", "inputs", "state", "changedPropIds")]
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def request_key(table: dict[str, Policy]) -> str | None:
    """The cache key of the current callback request, None when its callback is not marked or the data
    version cannot be read (then the answer is computed, not cached)."""
    from app import i18n

    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return None
    policy = table.get(body["output"])
    if policy is None:
        return None
    try:
        version = cache.current_data_version(doors=policy.doors)
        if policy.version is not None:
            version = f"{version}+{hashlib.sha256(str(policy.version()).encode()).hexdigest()[:12]}"
    except Exception as exc:  # noqa: BLE001 - store unreadable: compute, do not cache
        logger.warning("callback cache: data version unreadable (%s), answer computed", type(exc).__name__)
        return None
    scope = cache.current_scope() if policy.scoped else "-"
    return f"callback:{body['output']}:{version}:{i18n.current_lang()}:{scope}:{body_digest(body)}"


def _cacheable(response: Any) -> bool:
    """A ``200`` answer that sets no cookie (a cookie belongs to one browser, never to a shared answer)."""
    return (isinstance(response, flask.Response) and response.status_code == 200
            and "Set-Cookie" not in response.headers)


def _hit_header(response: flask.Response) -> flask.Response:
    state = flask.g.get("voisinmap_callback_state")
    if state is not None and flask.request.path == UPDATE_ENDPOINT:
        response.headers[HIT_HEADER] = state
    return response


def enabled() -> bool:
    """Whether answers are served from the shared cache (``$VOISINMAP_CALLBACK_CACHE`` not ``0``)."""
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def init_app(server: flask.Flask, callback_map: dict[str, dict[str, Any]]) -> None:
    """Serve the marked callbacks of ``callback_map`` (a Dash app's) from :data:`app.cache.CACHE`.

    Wraps the view of :data:`UPDATE_ENDPOINT` on ``server`` (after :func:`app.cache.init_app`). The
    marks are read on the first callback request, once every page has registered its callbacks.
    """
    if not enabled():
        logger.info("callback cache off (%s=0): every answer is computed", ENV_SWITCH)
        return
    view = server.view_functions.get(UPDATE_ENDPOINT)
    if view is None:
        logger.info("callback cache: no Dash callback route on this server")
        return
    table: dict[str, Policy] | None = None

    def unless() -> bool:
        nonlocal table
        if table is None:
            table = policies(callback_map)
            logger.info("callback cache: %d callbacks answered from the shared cache", len(table))
        key = request_key(table)
        setattr(flask.g, G_KEY, key)
        return key is None

    def make_key() -> str:
        return flask.g.get(G_KEY)

    def computed(response: Any) -> bool:
        flask.g.voisinmap_callback_state = "miss"
        return _cacheable(response)

    cached_view = cache.CACHE.cached(timeout=cache.DEFAULT_TIMEOUT, unless=unless, make_cache_key=make_key,
                                     response_filter=computed)(view)

    def serve() -> Any:
        flask.g.voisinmap_callback_state = None
        response = cached_view()
        if flask.g.get(G_KEY) is not None and flask.g.voisinmap_callback_state is None:
            flask.g.voisinmap_callback_state = "hit"
        return response

    server.view_functions[UPDATE_ENDPOINT] = serve
    server.after_request(_hit_header)
