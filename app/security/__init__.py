"""Sign-in, roles and hardening of the web app, on Flask's own extensions.

:func:`init_app` (called by :func:`app.main.create_app`) attaches to the Flask server of the Dash app:

* :mod:`~app.security.settings` -- the environment: strict run mode, secret key, cookies, upload size,
  proxy setting;
* :mod:`~app.security.session` -- sessions on **Flask-Login** (8-hour absolute expiry, a session version
  that sign-out and password changes raise);
* :mod:`~app.security.headers` -- security headers on **Flask-Talisman**, with Dash's CSP hashes;
* :mod:`~app.security.throttle` -- **Flask-Limiter** per client address and the per-account lock-out
  shared by every worker through the database;
* :mod:`~app.security.routes` -- ``POST /login`` and ``POST /logout`` (CSRF, same origin);
* :mod:`~app.security.access` -- the check before every request (:mod:`~app.security.resources` says what a
  request reaches, :mod:`~app.security.callback_guard` checks Dash callback bodies);
* :mod:`~app.security.downloads` -- ``/download/<name>`` families declared by pages.

Pages use :func:`site_scope`, :func:`current_principal`, :func:`register_download`.
"""

from __future__ import annotations

import datetime as dt
import logging

import dash
import flask

from app.security import downloads
from app.security.downloads import DOWNLOAD_PREFIX, download_view, find_download, register_download
from app.security.headers import init_headers
from app.security.resources import home_path, page_resource
from app.security.routes import csrf_token, init_routes
from app.security.session import (
    SESSION_COOKIE,
    SESSION_HOURS,
    current_principal,
    current_user,
    init_login,
    site_scope,
    user_store,
    warn_demo_accounts,
)
from app.security.settings import (
    DB_KEY,
    PROXY_KEY,
    ConfigurationError,
    cookie_secure,
    max_upload_bytes,
    proxy_setting,
    ratelimit_storage,
    run_mode,
    secret_key,
)
from geo.auth.policy import Resource

logger = logging.getLogger(__name__)

__all__ = [
    "DB_KEY", "DOWNLOAD_PREFIX", "SESSION_COOKIE", "ConfigurationError", "csrf_token", "current_principal",
    "current_user", "find_download", "home_path", "init_app", "page_resource", "register_download",
    "site_scope", "user_store",
]


def attach_proxy_setting(server: flask.Flask) -> str:
    """Record the proxy setting in ``server.config`` (ProxyFix when behind a proxy); returns how the
    start-up log describes it (lock-out by address on or off)."""
    setting = proxy_setting()
    server.config[PROXY_KEY] = setting
    if setting == "proxy":
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1)
        return "behind one trusted reverse proxy (VOISINMAP_PROXY_FIX=1): lock-out by address on"
    if setting == "direct":
        return "clients connect directly (VOISINMAP_PROXY_FIX=0): lock-out by address on"
    return "proxy setting unknown (VOISINMAP_PROXY_FIX unset): lock-out by address OFF, set it to 1 or 0"


def init_app(app: dash.Dash) -> None:
    """Install sessions, sign-in, access checks and security headers on ``app``.

    Raises
    ------
    ConfigurationError
        On an unknown ``$VOISINMAP_ENV`` or ``$VOISINMAP_PROXY_FIX`` value, and in production without a
        proper secret key or with insecure cookies asked.
    """
    from app.security import access, callback_guard, log_filter, throttle

    mode = run_mode()
    server = app.server
    server.secret_key = secret_key()
    server.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_SECURE=cookie_secure(),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=max_upload_bytes(),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    server.config.setdefault(DB_KEY, None)
    server.extensions["voisinmap_dash"] = app
    proxy = attach_proxy_setting(server)
    init_login(server)
    init_headers(app)
    server.before_request(access.check_request)
    storage = ratelimit_storage()
    throttle.init_throttle(server, storage_uri=storage)
    init_routes(server)
    server.add_url_rule(f"{DOWNLOAD_PREFIX}<path:name>", "voisinmap_download", download_view, methods=["GET"])
    server.config["VOISINMAP_PAGE_VISIBLE"] = lambda page: (
        bool(page.get("public")) or _allowed(page_resource(page)))
    app._on_error = callback_guard.on_callback_error(app._on_error)  # noqa: SLF001 - Dash's app-wide on_error
    access.wrap_layouts()
    log_filter.hide_client_addresses()
    logger.info("access control on (%s mode): %d pages, %d download families, cookies %s; %s; sign-in counters "
                "per address in %s", mode, len(dash.page_registry), len(downloads.downloads()),
                "Secure" if server.config["SESSION_COOKIE_SECURE"] else "NOT Secure (development)", proxy,
                storage.split("://")[0] + "://")
    if mode == "production" and storage.startswith("memory://"):
        logger.warning("sign-in counters per address are kept per worker process (memory://): set "
                       "VOISINMAP_RATELIMIT_STORAGE=redis://… to share them between workers")
    warn_demo_accounts()


def _allowed(resource: Resource) -> bool:
    from geo.auth import policy

    return policy.is_allowed(current_principal(), resource)
