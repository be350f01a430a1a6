"""Sign-in, roles and hardening of the web app (the ``app.auth:init_app`` extension of :mod:`app.main`).

What :func:`init_app` adds to the Flask server of the Dash app:

* **sessions**: Flask's signed session cookie (``voisinmap_session``: ``Secure``, ``HttpOnly``,
  ``SameSite=Lax``, 8 hours), holding only the account id and its session version; the secret key comes
  from ``$VOISINMAP_SECRET_KEY`` (with ``VOISINMAP_ENV=production`` a missing or short key stops the
  server; elsewhere a random key is generated and a warning logged);
* **sign-in**: ``POST /login`` (form fields ``username``, ``password``, ``csrf_token``; the form is the
  page ``/login``), ``POST /logout``; CSRF token (Flask-WTF) and same-origin check on both; failed
  attempts are counted per account and per client address (keyed digests, stored in the database) and
  refused with HTTP 429 beyond :data:`MAX_FAILURES_PER_USER` / :data:`MAX_FAILURES_PER_CLIENT` in
  :data:`FAILURE_WINDOW`;
* **access checks on the server, on every request** (:func:`classify` then
  :func:`geo.auth.policy.decide`): page paths (the ``roles=`` of ``dash.register_page``),
  ``/_dash-update-component`` by the id prefix of the callback's outputs (``terrain-…`` is the page
  ``terrain``; door-level callbacks are also checked against the manager's sites found in inputs whose
  id ends with ``-site`` or ``-sites``), downloads (``/download/…``, :func:`register_download`), the
  layer route; anything unknown is refused. Page layouts are wrapped so that a refused page renders a
  clear message and never its content;
* **hardening**: security headers (CSP with the hashes of Dash's inline scripts, no framing, no
  sniffing, HSTS over HTTPS...), request size limit (``$VOISINMAP_MAX_UPLOAD_MB``, default 20 MB),
  upload type checks on ``dcc.Upload`` contents, JSON-only callbacks, ``no-store`` on data responses.
  Logs name accounts by a digest only, never a password, an address or a value sent by the browser.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import dash
import flask
from dash import dcc, html

from app import i18n
from geo import config
from geo.auth import policy
from geo.auth.policy import DOOR, NATIONAL, PUBLIC, Principal, Resource
from geo.auth.store import User, UserStore, name_digest

logger = logging.getLogger(__name__)

ENV_SECRET = "VOISINMAP_SECRET_KEY"
ENV_MODE = "VOISINMAP_ENV"
ENV_COOKIE_SECURE = "VOISINMAP_COOKIE_SECURE"
ENV_MAX_UPLOAD_MB = "VOISINMAP_MAX_UPLOAD_MB"
ENV_PROXY_FIX = "VOISINMAP_PROXY_FIX"
#: Flask config key: database URL of the accounts (default :func:`geo.config.database_url`).
DB_KEY = "VOISINMAP_DATABASE_URL"
SESSION_COOKIE = "voisinmap_session"
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 96
SESSION_HOURS = 8
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)
#: Cookie (path ``/login``) of a browser that signed into an account before, and its lifetime.
DEVICE_COOKIE = "voisinmap_device"
DEVICE_DAYS = 30
DEFAULT_MAX_UPLOAD_MB = 20
#: File types accepted in ``dcc.Upload`` contents: extension -> accepted MIME types of the data URL.
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "csv": ("text/csv", "text/plain", "application/vnd.ms-excel", "application/octet-stream", ""),
    "txt": ("text/plain", "text/csv", "application/octet-stream", ""),
    "tsv": ("text/tab-separated-values", "text/plain", "application/octet-stream", ""),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream", ""),
    "json": ("application/json", "text/plain", "application/octet-stream", ""),
    "geojson": ("application/geo+json", "application/json", "text/plain", "application/octet-stream", ""),
}
#: Paths anyone may reach (static files and the Dash plumbing that carries no data).
PUBLIC_PREFIXES: tuple[str, ...] = ("/_dash-component-suites/", "/assets/", "/_dash-layout", "/_dash-dependencies",
                                    "/_reload-hash", "/_favicon.ico", "/favicon.ico", "/_alive_")
LAYERS_PREFIX = "/_voisinmap/layers/"
DOWNLOAD_PREFIX = "/download/"
#: Pages whose content is door-level data, whatever they declare.
DOOR_PAGES: frozenset[str] = frozenset({"terrain"})
#: Ids of the Dash pages router.
ROUTER_IDS: frozenset[str] = frozenset({"_pages_content", "_pages_store"})
_ID_PREFIX = re.compile(r"^([A-Za-z0-9_]+)")

i18n.register({
    "auth.denied.title": {"fr": "Accès refusé", "en": "Access denied"},
    "auth.denied.role": {
        "fr": "Votre rôle ({role}) ne donne pas accès à cette page. Les données de porte-à-porte ne sont "
              "visibles que des responsables de site, pour leurs propres sites.",
        "en": "Your role ({role}) does not give access to this page. Door-to-door data is visible only to "
              "site managers, for their own sites.",
    },
    "auth.denied.signin": {"fr": "Connectez-vous pour voir cette page.", "en": "Sign in to see this page."},
    "auth.denied.home": {"fr": "Retour à l'accueil", "en": "Back to the home page"},
    "auth.denied.login": {"fr": "Se connecter", "en": "Sign in"},
    "auth.locked": {
        "fr": "Trop de tentatives de connexion. Réessayez dans {minutes} minutes.",
        "en": "Too many sign-in attempts. Try again in {minutes} minutes.",
    },
    "nav.account": {"fr": "Compte", "en": "Account"},
})


class ConfigurationError(RuntimeError):
    """The server is not configured safely enough to start (production mode)."""


# ----------------------------------------------------------------------------------------- settings
def production() -> bool:
    """True when ``$VOISINMAP_ENV`` is ``production``."""
    return os.environ.get(ENV_MODE, "").strip().lower() == "production"


def secret_bits(key: str) -> float:
    """Rough strength of a secret: its length times the Shannon entropy of its characters, in bits
    (``"a" * 32`` → 0; a 64-character ``secrets.token_urlsafe(48)`` → about 350)."""
    if not key:
        return 0.0
    counts = collections.Counter(key)
    n = len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values())


def secret_key() -> str:
    """The session signing key: ``$VOISINMAP_SECRET_KEY``, or a random one outside production.

    Raises
    ------
    ConfigurationError
        In production, when the variable is missing, shorter than 32 characters, or guessable (fewer
        than :data:`MIN_SECRET_BITS` by :func:`secret_bits`, e.g. ``"a" * 32``).
    """
    key = os.environ.get(ENV_SECRET, "")
    if key and len(key) >= MIN_SECRET_LENGTH and secret_bits(key) >= MIN_SECRET_BITS:
        return key
    if production():
        got = ("nothing" if not key else f"{len(key)} characters" if len(key) < MIN_SECRET_LENGTH
               else f"a guessable one ({len(set(key))} distinct characters, about {secret_bits(key):.0f} bits)")
        raise ConfigurationError(
            f"{ENV_SECRET}: expected a secret of at least {MIN_SECRET_LENGTH} characters in production "
            f"({ENV_MODE}=production), got {got}; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    if key:
        logger.warning("%s is shorter than %d characters or guessable: acceptable outside production only",
                       ENV_SECRET, MIN_SECRET_LENGTH)
        return key
    logger.warning("%s not set: a random key is used, sessions end when the server restarts and are not shared "
                   "between worker processes (set it in production)", ENV_SECRET)
    return secrets.token_urlsafe(48)


def cookie_secure() -> bool:
    """``Secure`` session cookie: always in production; elsewhere unless ``$VOISINMAP_COOKIE_SECURE=0``.

    Raises
    ------
    ConfigurationError
        When ``VOISINMAP_COOKIE_SECURE=0`` is asked in production.
    """
    off = os.environ.get(ENV_COOKIE_SECURE, "").strip() in ("0", "false", "no")
    if off and production():
        raise ConfigurationError(f"{ENV_COOKIE_SECURE}: expected 1 in production (cookies over HTTPS only), got 0")
    return not off


def max_upload_bytes() -> int:
    """Largest request body accepted (``$VOISINMAP_MAX_UPLOAD_MB``, default 20 MB)."""
    raw = os.environ.get(ENV_MAX_UPLOAD_MB, "")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_MAX_UPLOAD_MB}: expected a number of megabytes, got {raw!r}") from exc
    if mb <= 0:
        raise ConfigurationError(f"{ENV_MAX_UPLOAD_MB}: expected a positive number of megabytes, got {raw!r}")
    return int(mb * 1024 * 1024)


# ------------------------------------------------------------------------------------------- users
_STORES: dict[str, UserStore] = {}
_STORES_LOCK = threading.Lock()


def _accounts_url() -> str:
    return flask.current_app.config.get(DB_KEY) or config.database_url()


def _db_tag() -> str:
    """A short digest naming the accounts database: a session opened on another database is void."""
    from sqlalchemy.engine import make_url

    url = _accounts_url()
    with contextlib.suppress(Exception):
        url = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def user_store() -> UserStore:
    """The accounts store of the running app (created and migrated on first use)."""
    url = _accounts_url()
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = UserStore(url)
            _STORES[url] = store
    return store


def current_user() -> User | None:
    """The signed-in account of this request, or None (session missing, expired, or revoked)."""
    if not flask.has_request_context():
        return None
    if "voisinmap_user" in flask.g:
        return flask.g.voisinmap_user
    user = None
    uid, version, expires = flask.session.get("uid"), flask.session.get("ver"), flask.session.get("exp")
    if (isinstance(uid, int) and isinstance(version, int) and isinstance(expires, int)
            and time.time() < expires and flask.session.get("db") == _db_tag()):
        found = user_store().get(uid)
        if found is not None and found.active and found.session_version == version:
            user = found
        else:
            flask.session.clear()
    flask.g.voisinmap_user = user
    return user


def current_principal() -> Principal | None:
    """The :class:`~geo.auth.policy.Principal` of this request, or None when signed out."""
    user = current_user()
    return user.principal() if user is not None else None


def site_scope() -> tuple[str, ...] | None:
    """Sites whose door-level data this request may read: ``None`` for all (admin), the manager's
    sites, or ``()`` (nothing) for other roles and when signed out. Pages filter their data with it."""
    principal = current_principal()
    if principal is None:
        return ()
    if principal.role == "admin":
        return None
    return principal.sites if principal.role == "manager" else ()


# -------------------------------------------------------------------------------------- resources
def _pages() -> list[dict[str, Any]]:
    return list(dash.page_registry.values())


def page_name(page: Mapping[str, Any]) -> str:
    """Short name of a registered page (``app.pages.terrain`` -> ``terrain``)."""
    return str(page["module"]).split(".")[-1]


def page_resource(page: Mapping[str, Any], *, kind: str = "page", sites: Iterable[str] = ()) -> Resource:
    """The resource a registered page (or one of its callbacks) is."""
    name = page_name(page)
    if page.get("public"):
        level = PUBLIC
    elif name in DOOR_PAGES or page.get("access_level") == DOOR:
        level = DOOR
    else:
        level = page.get("access_level") or NATIONAL
    roles = page.get("roles")
    return Resource(kind, name, level=level, roles=tuple(roles) if roles is not None else None,
                    sites=tuple(sites))


def page_for_path(path: str) -> dict[str, Any] | None:
    """The registered page of a URL path (exact path, ``path_template``, or first segment), or None."""
    clean = "/" + path.strip("/") if path != "/" else "/"
    pages = _pages()
    for page in pages:
        if page.get("path") == clean or page.get("relative_path") == clean:
            return page
    for page in pages:
        template = page.get("path_template")
        if template:
            pattern = "^" + re.sub(r"<[^>]+>", "[^/]+", template.rstrip("/")) + "/?$"
            if re.match(pattern, clean):
                return page
    head = clean.strip("/").split("/")[0]
    for page in pages:
        if head and (page_name(page) == head or (page.get("path") or "").strip("/") == head):
            return page
    return None


def _id_prefix(component_id: Any) -> str:
    if isinstance(component_id, dict):
        value = component_id.get("type")
        if not isinstance(value, str):
            value = next((v for v in component_id.values() if isinstance(v, str)), "")
        component_id = value
    match = _ID_PREFIX.match(str(component_id or ""))
    text = match.group(1) if match else ""
    return text if text in ROUTER_IDS or text.startswith("_") else text.split("_")[0]


def _items(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in body.get(key) or []:
        if isinstance(item, list):
            out.extend(i for i in item if isinstance(i, dict))
        elif isinstance(item, dict):
            out.append(item)
    return out


def _outputs(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    outputs = body.get("outputs")
    if isinstance(outputs, dict):
        return [outputs]
    if isinstance(outputs, list):
        flat: list[dict[str, Any]] = []
        for o in outputs:
            flat.extend(x for x in (o if isinstance(o, list) else [o]) if isinstance(x, dict))
        return flat
    return []


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
    for item in _items(body, "inputs") + _items(body, "state"):
        cid = item.get("id")
        cid = cid.get("type", "") if isinstance(cid, dict) else str(cid or "")
        if not (cid.endswith("-site") or cid.endswith("-sites")) or item.get("property") != "value":
            continue
        value = item.get("value")
        values = value if isinstance(value, list) else [value]
        sites.update(str(v) for v in values if v not in (None, ""))
    return tuple(sorted(sites))


_WILDCARDS = ("ALL", "ALLSMALLER", "MATCH")


def _parse_id(text: Any) -> Any:
    if isinstance(text, str) and text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _wild(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and value[0] in _WILDCARDS


def _id_matches(defined: Any, sent: Any) -> bool:
    """Whether a component id sent by the browser is an instance of the id of the definition."""
    defined = _parse_id(defined)
    if isinstance(defined, dict):
        if not isinstance(sent, dict) or set(sent) != set(defined):
            return False
        return all(_wild(v) or sent[k] == v for k, v in defined.items())
    return isinstance(sent, str) and sent == defined


def _definition_outputs(key: str) -> list[dict[str, Any]]:
    """Outputs of a callback, read from its server-side ``callback_map`` key."""
    parts = key[2:-2].split("...") if key.startswith("..") and key.endswith("..") else [key]
    out = []
    for part in parts:
        ident, _, prop = part.split("@")[0].rpartition(".")
        out.append({"id": ident, "property": prop})
    return out


def _slot_ok(spec: Mapping[str, Any], item: Any) -> bool:
    pattern = _parse_id(spec["id"])
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
    outputs = _definition_outputs(key)
    sent = body.get("outputs")
    sent_list = sent if key.startswith("..") else [sent]
    if not isinstance(sent_list, list) or len(sent_list) != len(outputs):
        return "outputs: the request does not match the callback"
    for spec, item in zip(outputs, sent_list, strict=True):
        if isinstance(item, dict) and isinstance(item.get("id"), str) and str(item["id"]).startswith("{"):
            item = {**item, "id": _parse_id(item["id"])}
        if isinstance(item, dict) and isinstance(item.get("property"), str):
            item = {**item, "property": item["property"].split("@")[0]}
        if isinstance(_parse_id(spec["id"]), dict) and isinstance(item, dict) and isinstance(item.get("id"), dict) \
                and _id_matches(spec["id"], item["id"]) and item.get("property") == spec["property"]:
            continue  # a pattern output written as its pattern
        if not _slot_ok(spec, item):
            return f"output {spec['id']}.{spec['property']}: the request does not match the callback"
    return None


@dataclasses.dataclass(frozen=True)
class Target:
    """What a request reaches: one or more resources (all must be allowed) and how to refuse."""

    resources: tuple[Resource, ...]
    kind: str  # "static", "page", "callback", "router", "download", "route", "login", "unknown"
    page: dict[str, Any] | None = None


def classify(path: str, method: str, body: Mapping[str, Any] | None = None, *,
             definition: Mapping[str, Any] | None = None) -> Target:
    """The resources a request reaches (pure given the page and download registries).

    Parameters
    ----------
    path : str
        URL path.
    method : str
        HTTP method.
    body : mapping, optional
        The JSON body of a callback request.
    definition : mapping, optional
        The server-side definition of that callback (``app.callback_map[body["output"]]``), already
        checked against the body by :func:`callback_mismatch`.
    """
    if path.startswith(PUBLIC_PREFIXES):
        return Target((Resource("route", path, level=PUBLIC),), "static")
    if path in ("/login", "/logout"):
        return Target((Resource("route", path, level=PUBLIC),), "login")
    if path.startswith(LAYERS_PREFIX):
        return Target((Resource("route", "layers", level=NATIONAL),), "route")
    if path.startswith(DOWNLOAD_PREFIX):
        spec = find_download(path[len(DOWNLOAD_PREFIX):])
        if spec is None:
            return Target((Resource("download", "unknown", level=policy.ADMIN),), "download")
        return Target((Resource("download", spec.key, level=spec.level, roles=spec.roles),), "download")
    if path == "/_dash-update-component":
        return _classify_callback(body or {}, definition)
    page = page_for_path(path)
    if page is not None and method in ("GET", "HEAD"):
        return Target((page_resource(page),), "page", page)
    if method in ("GET", "HEAD"):  # Dash's 404 page: nothing but the shell
        return Target((Resource("route", path, level=policy.AGGREGATE),), "page")
    return Target((Resource("route", path, level=policy.ADMIN),), "unknown")


def _classify_callback(body: Mapping[str, Any], definition: Mapping[str, Any] | None = None) -> Target:
    """Resources of a callback. With ``definition`` (server side), its outputs decide the page and its
    site inputs are read by position; without it, the body alone (for pure tests) is used."""
    outputs = _definition_outputs(str(body.get("output"))) if definition is not None else _outputs(body)
    prefixes = {_id_prefix(_parse_id(o.get("id"))) for o in outputs}
    if not outputs:
        return Target((Resource("callback", "unknown", level=policy.ADMIN),), "unknown")
    if prefixes <= ROUTER_IDS:
        pathname = next((i.get("value") for i in _items(body, "inputs")
                         if i.get("id") == "_pages_location" and i.get("property") == "pathname"), "/")
        page = page_for_path(str(pathname or "/"))
        # refused pages render a refusal through their wrapped layout; the router itself is harmless
        return Target((Resource("callback", "router", level=PUBLIC),), "router", page)
    by_name = {page_name(p): p for p in _pages()}
    resources = []
    sites = callback_sites(body, definition)
    for prefix in sorted(prefixes):
        page = by_name.get(prefix)
        if page is None:
            return Target((Resource("callback", prefix or "unknown", level=policy.ADMIN),), "unknown")
        resources.append(page_resource(page, kind="callback", sites=sites))
    return Target(tuple(resources), "callback")


# -------------------------------------------------------------------------------------- downloads
@dataclasses.dataclass(frozen=True)
class Download:
    """A family of downloads: names matching ``pattern`` under ``/download/``."""

    key: str
    pattern: re.Pattern[str]
    level: str
    roles: tuple[str, ...] | None
    producer: Callable[[re.Match[str], Mapping[str, str]], tuple[bytes, str, str]]


_DOWNLOADS: dict[str, Download] = {}


def register_download(key: str, pattern: str, *, level: str, roles: Iterable[str] | None = None,
                      producer: Callable[[re.Match[str], Mapping[str, str]], tuple[bytes, str, str]]) -> None:
    """Declare downloads served at ``/download/<name>`` for names fully matching ``pattern``.

    Parameters
    ----------
    key : str
        Name of the family (shown in logs and the access matrix).
    pattern : str
        Regular expression the whole name must match; use only ``[a-z0-9-]`` classes and a fixed
        extension, so that no path separator or ``..`` can ever match.
    level : str
        Sensitivity level (:data:`geo.auth.policy.LEVELS`).
    roles : iterable of str, optional
        Roles admitted (None: those of the level).
    producer : callable
        ``producer(match, query_args) -> (bytes, filename, mimetype)``.
    """
    compiled = re.compile(pattern)
    if compiled.fullmatch("..") or compiled.fullmatch("a/b") or compiled.fullmatch("a\\b"):
        raise ValueError(f"pattern: expected a pattern that cannot match path separators or '..', got {pattern!r}")
    policy.Resource("download", key, level=level)  # validates the level
    _DOWNLOADS[key] = Download(key, compiled, level, tuple(roles) if roles is not None else None, producer)


def find_download(name: str) -> Download | None:
    """The download family whose pattern matches ``name``, or None."""
    for spec in _DOWNLOADS.values():
        if spec.pattern.fullmatch(name):
            return spec
    return None


def downloads() -> dict[str, Download]:
    """The registered download families."""
    return dict(_DOWNLOADS)


# ------------------------------------------------------------------------------------------ checks
def _lang() -> str:
    return i18n.current_lang()


def _refusal(principal: Principal | None, lang: str, next_path: str = "/") -> html.Div:
    t = i18n.t
    if principal is None:
        return html.Div([html.H1(t("auth.denied.title", lang)), html.P(t("auth.denied.signin", lang)),
                         html.A(t("auth.denied.login", lang), href=f"/login?next={quote(next_path)}")],
                        className="page-denied notice", id="auth-denied")
    return html.Div([html.H1(t("auth.denied.title", lang)),
                     html.P(t("auth.denied.role", lang, role=principal.role)),
                     dcc.Link(t("auth.denied.home", lang), href=home_path(principal))],
                    className="page-denied notice", id="auth-denied")


def home_path(principal: Principal | None) -> str:
    """First page of the navigation bar the principal may open (``/login`` when none)."""
    pages = sorted(_pages(), key=lambda p: (p.get("order") or 0, p["path"]))
    for page in pages:
        if page.get("nav") is False or page.get("public"):
            continue
        if policy.is_allowed(principal, page_resource(page)):
            return page["relative_path"]
    return "/login"


def _guard_layout(page: dict[str, Any], layout: Any) -> Callable[..., Any]:
    def guarded(**kwargs: Any) -> Any:
        principal = current_principal()
        resource = page_resource(page)
        if not policy.is_allowed(principal, resource):
            logger.info("page %s refused to %s", resource.name, _who(principal))
            return _refusal(principal, _lang(), page.get("relative_path", "/"))
        return layout(**kwargs) if callable(layout) else layout

    guarded.voisinmap_guarded = True  # type: ignore[attr-defined]
    return guarded


def _wrap_layouts() -> None:
    for page in _pages():
        layout = page.get("layout")
        if not getattr(layout, "voisinmap_guarded", False):
            page["layout"] = _guard_layout(page, layout)


def _who(principal: Principal | None) -> str:
    return "a signed-out visitor" if principal is None else f"{name_digest(principal.username)} ({principal.role})"


def _json_error(status: int, message: str) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = status
    return response


def _check_upload(body: Mapping[str, Any], definition: Mapping[str, Any]) -> flask.Response | None:
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
            return _json_error(415, "upload: expected a file name for every file")
        for data, filename in zip(contents, filenames, strict=False):
            if not isinstance(data, str) or not data.startswith("data:") or "," not in data:
                return _json_error(415, "upload: expected a data URL from a file input")
            header, payload = data.split(",", 1)
            mime = header[5:].split(";")[0].strip().lower()
            ext = str(filename or "").rsplit(".", 1)[-1].lower() if "." in str(filename or "") else ""
            if ext not in UPLOAD_TYPES or mime not in UPLOAD_TYPES[ext]:
                return _json_error(415, f"upload: expected a file of type {', '.join(sorted(UPLOAD_TYPES))}, "
                                        f"got .{ext or '?'} ({mime or 'no type'})")
            if len(payload) * 3 // 4 > limit:
                return _json_error(413, f"upload: expected at most {limit // (1024 * 1024)} MB")
            if ext == "xlsx":
                head = base64.b64decode(payload[:8] + "=" * (-len(payload[:8]) % 4), validate=False)
                if not head.startswith(b"PK"):
                    return _json_error(415, "upload: the .xlsx file is not a workbook")
    return None


def _callback_definition(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
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


def _same_origin() -> bool:
    origin = flask.request.headers.get("Origin") or flask.request.headers.get("Referer")
    if not origin:
        return True  # non-browser clients; the CSRF token still applies
    return urlsplit(origin).netloc == flask.request.host


def _before_request() -> flask.Response | None:
    _wrap_layouts()
    request = flask.request
    body = None
    definition = None
    if request.path == "/_dash-update-component":
        if request.method != "POST":
            return None
        if not request.is_json:
            return _json_error(415, "callback: expected a JSON body")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _json_error(400, "callback: expected a JSON object")
        found = _callback_definition(body)
        if found is None:
            logger.info("callback refused: no such server callback")
            return _json_error(403, "callback: no such callback")
        key, definition = found
        mismatch = callback_mismatch(body, key, definition)
        if mismatch is not None:
            logger.info("callback refused: the request does not match its definition")
            return _json_error(403, f"callback: {mismatch}")
        refused = _check_upload(body, definition)
        if refused is not None:
            logger.info("upload refused (%s)", refused.status_code)
            return refused
    target = classify(request.path, request.method, body, definition=definition)
    principal = current_principal()
    for resource in target.resources:
        decision = policy.decide(principal, resource)
        if decision:
            continue
        logger.info("%s %s refused to %s: %s", resource.kind, resource.name, _who(principal), decision.reason)
        if target.kind == "page":
            if principal is None:
                return flask.redirect(f"/login?next={quote(request.full_path.rstrip('?'))}", code=302)
            if request.path == "/" and home_path(principal) != "/":
                return flask.redirect(home_path(principal), code=302)
            flask.g.voisinmap_forbidden = True  # the shell loads; the wrapped layout shows the refusal
            return None
        if principal is None:
            return _json_error(401, "sign in first")
        return _json_error(403, f"access denied: {decision.reason}")
    return None


def _csp(app: dash.Dash) -> str:
    cached = app.server.config.get("VOISINMAP_CSP")
    if cached:
        return cached
    hashes = " ".join(app.csp_hashes())
    directives = [
        "default-src 'self'",
        f"script-src 'self' {hashes}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "worker-src 'self' blob:",
    ]
    value = "; ".join(directives)
    app.server.config["VOISINMAP_CSP"] = value
    return value


def _after_request(app: dash.Dash, response: flask.Response) -> flask.Response:
    if flask.g.get("voisinmap_forbidden"):
        response.status_code = 403
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _csp(app))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    if flask.request.is_secure or production():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    path = flask.request.path
    if path == "/_dash-update-component" or path.startswith(DOWNLOAD_PREFIX) or path in ("/login", "/logout") \
            or response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------ routes
def _key(kind: str, value: str) -> str:
    secret = flask.current_app.secret_key
    secret_bytes = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(secret_bytes, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def safe_next(value: str | None, principal: Principal | None = None) -> str:
    """A local path to go to after signing in (anything else gives the principal's home page)."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if (not value.startswith("/") or value.startswith("//") or "\\" in value or parts.scheme or parts.netloc
            or value.startswith(("/login", "/logout", "/_", DOWNLOAD_PREFIX))):
        return home_path(principal)
    return value


def _device_serializer() -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(flask.current_app.secret_key, salt="voisinmap-device")


def _device_cookie(name: str) -> str:
    """A signed token saying « this browser signed into account ``name`` »: a digest of the name and a
    random device id, nothing personal."""
    return _device_serializer().dumps({"u": _key("device-user", name)[:32], "d": secrets.token_hex(8)})


def _device_id(token: str | None, name: str) -> str | None:
    """The device id of a valid device cookie for account ``name`` (at most :data:`DEVICE_DAYS` old)."""
    if not token or not name:
        return None
    from itsdangerous import BadData

    try:
        data = _device_serializer().loads(token, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("u") != _key("device-user", name)[:32] or not isinstance(data.get("d"), str):
        return None
    return data["d"][:32]


def _locked_page(lang: str) -> flask.Response:
    minutes = int(FAILURE_WINDOW.total_seconds() // 60)
    text = i18n.t("auth.locked", lang, minutes=minutes)
    page = (f"<!doctype html><html lang='{lang}'><meta charset='utf-8'><title>voisinmap</title>"
            f"<p role='alert'>{text}</p><p><a href='/login'>{i18n.t('auth.denied.login', lang)}</a></p></html>")
    response = flask.Response(page, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(int(FAILURE_WINDOW.total_seconds()))
    return response


def _login_view() -> flask.Response:
    from flask_wtf.csrf import ValidationError, validate_csrf

    request = flask.request
    lang = _lang()
    next_path = request.form.get("next", "")
    if not _same_origin():
        logger.info("sign-in refused: cross-origin form")
        return _json_error(403, "sign-in: cross-origin form refused")
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except ValidationError:
        logger.info("sign-in refused: missing or invalid CSRF token")
        return flask.redirect(f"/login?error=csrf&next={quote(next_path)}", code=303)
    username = request.form.get("username", "")[:80]
    password = request.form.get("password", "")[:1024]
    store = user_store()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    since = now - FAILURE_WINDOW
    name = username.strip().lower()
    device = _device_id(request.cookies.get(DEVICE_COOKIE), name)
    # a browser that signed into this account before is counted on its own (device cookie): neither a
    # flood from its address nor failures of others on the same account lock its user out
    user_key = _key("device", f"{name}\0{device}") if device else _key("user", f"{name}\0{request.remote_addr or '?'}")
    client_key = None if device else _key("client", request.remote_addr or "?")
    # record first, then count (this attempt included): concurrent attempts cannot all slip under the limit
    pending = [store.record_failure(user_key, now=now)]
    if client_key is not None:
        pending.append(store.record_failure(client_key, now=now))
    if (store.count_failures(user_key, since=since) > MAX_FAILURES_PER_USER
            or (client_key is not None and store.count_failures(client_key, since=since) > MAX_FAILURES_PER_CLIENT)):
        logger.warning("sign-in refused for %s: too many failed attempts", name_digest(username))
        return _locked_page(lang)
    user = store.authenticate(username, password) if username and password else None
    if user is None:
        logger.info("sign-in failed for %s", name_digest(username))
        return flask.redirect(f"/login?error=1&next={quote(next_path)}", code=303)
    store.clear_failures(user_key)
    for record in pending[1:]:
        store.forget_failure(record)
    flask.session.clear()
    flask.session.permanent = True
    flask.session["uid"] = user.id
    flask.session["ver"] = user.session_version
    flask.session["db"] = _db_tag()
    flask.session["exp"] = int(time.time()) + SESSION_HOURS * 3600  # absolute: not extended by use
    flask.g.pop("voisinmap_user", None)
    logger.info("signed in: %s (%s)", name_digest(user.username), user.role)
    response = flask.redirect(safe_next(next_path, user.principal()), code=303)
    response.set_cookie(DEVICE_COOKIE, _device_cookie(name), max_age=DEVICE_DAYS * 86400, httponly=True,
                        secure=bool(flask.current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Strict",
                        path="/login")
    return response


def _logout_view() -> flask.Response:
    from flask_wtf.csrf import ValidationError, validate_csrf

    if not _same_origin():
        return _json_error(403, "sign-out: cross-origin form refused")
    try:
        validate_csrf(flask.request.form.get("csrf_token", ""))
    except ValidationError:
        return _json_error(400, "sign-out: missing or invalid CSRF token")
    user = current_user()
    flask.session.clear()
    if user is not None:
        user_store().end_sessions(user.id)  # a copy of the cookie is void from now on
        logger.info("signed out: %s", name_digest(user.username))
    return flask.redirect("/login", code=303)


def _download_view(name: str) -> flask.Response:
    spec = find_download(name)
    if spec is None:
        flask.abort(404)
    match = spec.pattern.fullmatch(name)
    args = {k: v for k, v in flask.request.args.items() if re.fullmatch(r"[A-Za-z0-9_-]{1,16}", v or "")}
    data, filename, mimetype = spec.producer(match, args)
    response = flask.Response(data, content_type=mimetype)  # the media type names its charset
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    logger.info("download %s (%d bytes) for %s", spec.key, len(data), _who(current_principal()))
    return response


def csrf_token() -> str:
    """A CSRF token for a form of this session (Flask-WTF)."""
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


class _NoClientAddress(logging.Filter):
    """Remove the client address that the development server writes at the start of each request line."""

    _ADDRESS = re.compile(r"^\S+ - - ")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self._ADDRESS.sub("- - - ", record.msg)
        return True


def _hide_client_addresses() -> None:
    wz = logging.getLogger("werkzeug")
    if not any(isinstance(f, _NoClientAddress) for f in wz.filters):
        wz.addFilter(_NoClientAddress())


# -------------------------------------------------------------------------------------------- init
def init_app(app: dash.Dash) -> None:
    """Install sessions, sign-in, access checks and security headers on ``app`` (see the module doc).

    Raises
    ------
    ConfigurationError
        In production mode without a proper secret key, or with insecure cookies asked.
    """
    server = app.server
    server.secret_key = secret_key()
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_SECURE=cookie_secure(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=max_upload_bytes(),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    server.config.setdefault(DB_KEY, None)
    server.extensions["voisinmap_dash"] = app
    if os.environ.get(ENV_PROXY_FIX, "").strip() in ("1", "true", "yes"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1)
    server.config["VOISINMAP_PAGE_VISIBLE"] = lambda page: (
        bool(page.get("public")) or policy.is_allowed(current_principal(), page_resource(page)))
    server.before_request(_before_request)
    server.after_request(lambda response: _after_request(app, response))
    server.add_url_rule("/login", "voisinmap_login", _login_view, methods=["POST"])
    server.add_url_rule("/logout", "voisinmap_logout", _logout_view, methods=["POST"])
    server.add_url_rule(f"{DOWNLOAD_PREFIX}<path:name>", "voisinmap_download", _download_view, methods=["GET"])
    _wrap_layouts()
    _hide_client_addresses()
    logger.info("access control on: %d pages, %d download families, cookies %s", len(_pages()), len(_DOWNLOADS),
                "Secure" if server.config["SESSION_COOKIE_SECURE"] else "NOT Secure (development)")


# ------------------------------------------------------------------------------ testing helpers
def _find_prop(tree: Any, component_id: str, prop: str) -> Any:
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props.get(prop)
        for value in tree.values():
            found = _find_prop(value, component_id, prop)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for value in tree:
            found = _find_prop(value, component_id, prop)
            if found is not None:
                return found
    return None


def form_token(client: Any, *, path: str = "/login", field_id: str = "login-csrf") -> str:
    """The CSRF token the page ``path`` puts in its form, as a browser would get it (tests, benches)."""
    from app.testing import call_callback

    out = call_callback(client, "_pages_content.children",
                        inputs={"_pages_location.pathname": path, "_pages_location.search": ""})
    token = _find_prop(out, field_id, "value")
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

    from app.testing import wait_for

    driver.get(base_url.rstrip("/") + "/login")
    field = wait_for(lambda: driver.find_element(By.ID, "login-username"), timeout=timeout, message="login form")
    field.send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(lambda: "/login" not in driver.current_url, timeout=timeout, message="sign-in redirect")
