"""What a request reaches: pages, callbacks, downloads and routes as :class:`~geo.auth.policy.Resource`.

:func:`classify` maps a request (path, method, callback body and its server-side definition) to the
resources :func:`geo.auth.policy.decide` judges. Pages come from ``dash.page_registry`` (their
``roles=`` and optional ``access_level=``); a callback belongs to the page named by the id prefix of
the outputs *of its definition* (``terrain-…`` is the page ``terrain``); anything unknown is refused.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

import dash

from app.security.callback_guard import body_items, body_outputs, callback_sites, definition_outputs, parse_id
from app.security.downloads import DOWNLOAD_PREFIX, find_download
from geo.auth import policy
from geo.auth.policy import DOOR, FIELD, NATIONAL, PUBLIC, Principal, Resource

#: Pages whose content is door-level data, whatever they declare.
DOOR_PAGES: frozenset[str] = frozenset({"terrain"})


#: Ids of the Dash pages router.
ROUTER_IDS: frozenset[str] = frozenset({"_pages_content", "_pages_store"})


_ID_PREFIX = re.compile(r"^([A-Za-z0-9_]+)")


#: Paths anyone may reach (static files, the Dash plumbing that carries no data, and the public pages of
#: :mod:`app.public`, which show only released figures).
PUBLIC_PREFIXES: tuple[str, ...] = ("/_dash-component-suites/", "/assets/", "/_dash-layout", "/_dash-dependencies",
                                    "/_reload-hash", "/_favicon.ico", "/favicon.ico", "/_alive_",
                                    "/public/")


LAYERS_PREFIX = "/_voisinmap/layers/"
#: The figures of one QPV (:mod:`app.qpv_figures`), fetched by the map's tooltips: reached like the layers.
QPV_FIGURES_PREFIX = "/api/qpv/"

#: Field entry (``app/saisie``): the page shell and its JSON routes, for Voisin accounts (of their own site:
#: the site is the account's, never a request parameter); its static files, service worker and manifest
#: carry no data and are public, so that the phone can keep them.
FIELD_PATHS: frozenset[str] = frozenset({"/saisie", "/saisie/api/context", "/saisie/api/sync"})
FIELD_PUBLIC: tuple[str, ...] = ("/saisie/static/", "/saisie-sw.js", "/saisie.webmanifest")
FIELD_ROLES: tuple[str, ...] = ("voisin",)


def pages() -> list[dict[str, Any]]:
    """The registered Dash pages."""
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
    registered = pages()
    for page in registered:
        if page.get("path") == clean or page.get("relative_path") == clean:
            return page
    for page in registered:
        template = page.get("path_template")
        if template:
            pattern = "^" + re.sub(r"<[^>]+>", "[^/]+", template.rstrip("/")) + "/?$"
            if re.match(pattern, clean):
                return page
    head = clean.strip("/").split("/")[0]
    for page in registered:
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


@dataclasses.dataclass(frozen=True)
class Target:
    """What a request reaches: one or more resources (all must be allowed) and how to refuse."""

    resources: tuple[Resource, ...]
    kind: str  # "static", "page", "callback", "router", "download", "route", "field", "login", "unknown"
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
    if path.startswith(PUBLIC_PREFIXES) or path.startswith(FIELD_PUBLIC):
        return Target((Resource("route", path, level=PUBLIC),), "static")
    if path.rstrip("/") in FIELD_PATHS:
        kind = "page" if path.rstrip("/") == "/saisie" and method in ("GET", "HEAD") else "field"
        return Target((Resource("route", "saisie", level=FIELD, roles=FIELD_ROLES),), kind)
    if path in ("/login", "/logout"):
        return Target((Resource("route", path, level=PUBLIC),), "login")
    if path.startswith((LAYERS_PREFIX, QPV_FIGURES_PREFIX)):
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
    outputs = definition_outputs(str(body.get("output"))) if definition is not None else body_outputs(body)
    prefixes = {_id_prefix(parse_id(o.get("id"))) for o in outputs}
    if not outputs:
        return Target((Resource("callback", "unknown", level=policy.ADMIN),), "unknown")
    if prefixes <= ROUTER_IDS:
        pathname = next((i.get("value") for i in body_items(body, "inputs")
                         if i.get("id") == "_pages_location" and i.get("property") == "pathname"), "/")
        page = page_for_path(str(pathname or "/"))
        # refused pages render a refusal through their wrapped layout; the router itself is harmless
        return Target((Resource("callback", "router", level=PUBLIC),), "router", page)
    by_name = {page_name(p): p for p in pages()}
    resources = []
    sites = callback_sites(body, definition)
    for prefix in sorted(prefixes):
        page = by_name.get(prefix)
        if page is None:
            return Target((Resource("callback", prefix or "unknown", level=policy.ADMIN),), "unknown")
        resources.append(page_resource(page, kind="callback", sites=sites))
    return Target(tuple(resources), "callback")


def home_path(principal: Principal | None) -> str:
    """First page of the navigation bar the principal may open (``/login`` when none); a Voisin's is
    the field entry page ``/saisie``."""
    if principal is not None and principal.role == "voisin":
        return "/saisie"
    ordered = sorted(pages(), key=lambda p: (p.get("order") or 0, p["path"]))
    for page in ordered:
        if page.get("nav") is False or page.get("public"):
            continue
        if policy.is_allowed(principal, page_resource(page)):
            return page["relative_path"]
    return "/login"
