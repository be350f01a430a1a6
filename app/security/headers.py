"""Security headers on Flask-Talisman, with the Content-Security-Policy hashes Dash's inline scripts need.

Talisman sends the CSP (scripts from the app itself and the hashes of Dash's inline scripts, which
:meth:`dash.Dash.csp_hashes` gives once every clientside callback is registered, i.e. at the first
request), ``X-Frame-Options: DENY``, ``nosniff``, ``Referrer-Policy``, ``Permissions-Policy`` and HSTS
over HTTPS. This module adds what Talisman does not: HSTS in production whatever the scheme seen (a
proxy may end TLS), the cross-origin isolation headers, ``Cache-Control: no-store`` on data and pages
(callbacks, downloads, sign-in, HTML, and the field-entry routes ``/saisie/api/…``, a Voisin's own visits),
and the 403 status of a page refused by the access check (its layout renders the refusal).

The public impact page (:mod:`app.public`) is the one page other sites may frame: :func:`embeddable`
gives it its own policy (no script at all, ``frame-ancestors`` from ``$VOISINMAP_FRAME_ANCESTORS``, no
``X-Frame-Options``) and it keeps its own cache headers.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from typing import Any

import dash
import flask
from flask_talisman import Talisman

from app.security.downloads import DOWNLOAD_PREFIX
from app.security.settings import ConfigurationError, cookie_secure, production

logger = logging.getLogger(__name__)

#: The field-entry JSON routes (a Voisin's context and sync): never kept by a browser or a proxy.
FIELD_API_PREFIX = "/saisie/api/"

HSTS_SECONDS = 31_536_000
#: The policy; ``script-src`` gets the hashes of Dash's inline scripts at the first request.
CSP: dict[str, str | list[str]] = {
    "default-src": "'self'",
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:", "https:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "worker-src": ["'self'", "blob:"],
}
PERMISSIONS: dict[str, str] = {"geolocation": "()", "camera": "()", "microphone": "()", "payment": "()"}
#: Origins allowed to frame the public pages, space- or comma-separated (default: this site only).
ENV_FRAME_ANCESTORS = "VOISINMAP_FRAME_ANCESTORS"
_ORIGIN = re.compile(r"^(?:'self'|'none'|https?://(?:\*\.)?[A-Za-z0-9.-]+(?::\d{1,5})?)$")
#: Path prefix of the pages anyone may frame (cache headers of their own).
EMBEDDABLE_PREFIX = "/public/"
#: Flask ``g`` flag set by the access check when a page is refused (the shell loads, with status 403).
FORBIDDEN_FLAG = "voisinmap_forbidden"


def init_headers(app: dash.Dash) -> Talisman:
    """Attach Talisman and the complementary headers to ``app.server``."""
    server = app.server
    policy: dict[str, Any] = {k: list(v) if isinstance(v, list) else v for k, v in CSP.items()}
    talisman = Talisman(
        server, force_https=False, frame_options="DENY", content_security_policy=policy,
        referrer_policy="same-origin", permissions_policy=PERMISSIONS, x_xss_protection=False,
        strict_transport_security=True, strict_transport_security_max_age=HSTS_SECONDS,
        strict_transport_security_include_subdomains=True, session_cookie_secure=cookie_secure(),
        session_cookie_http_only=True, session_cookie_samesite="Lax",
    )
    hashed: list[bool] = []

    def add_script_hashes() -> None:
        if not hashed:  # after Dash's own first-request set-up, which gathers the inline scripts
            talisman.content_security_policy["script-src"] = ["'self'", *app.csp_hashes()]
            hashed.append(True)

    server.before_request(add_script_hashes)
    server.after_request(_complete_headers)
    return talisman


def frame_ancestors(environ: dict[str, str] | None = None) -> list[str]:
    """The origins allowed to frame the public pages (``$VOISINMAP_FRAME_ANCESTORS``; default ``'self'``).

    Raises
    ------
    ConfigurationError
        When a value is not ``'self'``, ``'none'`` or an origin such as ``https://www.voisin-malin.fr``
        (``https://*.voisin-malin.fr`` allowed).
    """
    raw = (os.environ if environ is None else environ).get(ENV_FRAME_ANCESTORS, "")
    values = [v for v in re.split(r"[\s,]+", raw.strip()) if v] or ["'self'"]
    bad = [v for v in values if not _ORIGIN.match(v)]
    if bad:
        raise ConfigurationError(f"{ENV_FRAME_ANCESTORS}: expected origins such as https://www.example.org, "
                                 f"got {bad!r}")
    return values


def embeddable(view: Callable[..., Any], *, ancestors: list[str]) -> Callable[..., Any]:
    """Give ``view`` the policy of a static page other sites may frame (Talisman's per-view options)."""
    view.talisman_view_options = {  # type: ignore[attr-defined]
        "frame_options": None,
        "content_security_policy": {"default-src": "'none'", "style-src": "'unsafe-inline'", "img-src": "data:",
                                    "base-uri": "'none'", "form-action": "'none'",
                                    "frame-ancestors": " ".join(ancestors)},
    }
    return view


def _complete_headers(response: flask.Response) -> flask.Response:
    if flask.g.get(FORBIDDEN_FLAG):
        response.status_code = 403
    headers = response.headers
    if production():
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}; includeSubDomains")
    if flask.request.path.startswith(EMBEDDABLE_PREFIX):
        headers.setdefault("Cross-Origin-Resource-Policy", "cross-origin")
        return response
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    path = flask.request.path
    if path == "/_dash-update-component" or path.startswith(DOWNLOAD_PREFIX) or path in ("/login", "/logout") \
            or path.startswith(FIELD_API_PREFIX) or response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
    return response
