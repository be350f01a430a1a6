"""Sign-in throttling: Flask-Limiter per client address, plus a per-account lock-out in the database.

* **per address** (:data:`CLIENT_LIMIT`, Flask-Limiter, moving window): failed sign-ins from one address
  beyond :data:`MAX_FAILURES_PER_CLIENT` in :data:`FAILURE_WINDOW` answer 429. Counters live in
  ``$VOISINMAP_RATELIMIT_STORAGE`` (``redis://…`` to share them between workers; default memory, per
  worker). The limit is keyed by a keyed digest of the address (never logged in clear), and it is only
  enforced when the proxy setting is known (``VOISINMAP_PROXY_FIX=1`` or ``0``): behind an undeclared
  proxy every browser shares the proxy's address, and one address could lock everybody out;
* **per account** (:func:`record_attempt`): every attempt is recorded in ``auth_login_failures`` *before*
  the password is checked, then counted, so parallel guesses cannot all slip under
  :data:`MAX_FAILURES_PER_USER`; the table is shared by every worker and purged of rows older than the
  window every :data:`PURGE_EVERY` (by whichever worker handles a sign-in);
* a browser that signed into an account before carries a signed **device cookie** (:data:`DEVICE_COOKIE`,
  path ``/login``): it is counted on its own and is exempt from the address limit for that account only,
  so neither a flood from its address nor failures of strangers lock its user out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import flask
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from app import i18n
from app.security.settings import PROXY_KEY
from geo.auth.store import UserStore
from geo.i18n import t

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)
CLIENT_LIMIT = f"{MAX_FAILURES_PER_CLIENT} per {int(FAILURE_WINDOW.total_seconds() // 60)} minutes"
#: Cookie (path ``/login``) of a browser that signed into an account before, and its lifetime.
DEVICE_COOKIE = "voisinmap_device"
DEVICE_DAYS = 30
#: How often the failure table is purged of rows older than :data:`FAILURE_WINDOW`.
PURGE_EVERY = dt.timedelta(minutes=5)

_LAST_PURGE: dict[str, float] = {}
_PURGE_LOCK = threading.Lock()


def digest(kind: str, value: str) -> str:
    """A keyed digest (HMAC-SHA-256 with the app's secret key) of ``kind:value``: names and addresses
    are never stored or logged in clear."""
    secret = flask.current_app.secret_key
    secret_bytes = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(secret_bytes, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _client_key() -> str:
    return digest("client", flask.request.remote_addr or "?")[:32]


def _device_serializer() -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(flask.current_app.secret_key, salt="voisinmap-device")


def device_cookie(name: str) -> str:
    """A signed token saying « this browser signed into account ``name`` »: a digest of the name and a
    random device id, nothing personal."""
    return _device_serializer().dumps({"u": digest("device-user", name)[:32], "d": secrets.token_hex(8)})


def device_id(token: str | None, name: str) -> str | None:
    """The device id of a valid device cookie for account ``name`` (at most :data:`DEVICE_DAYS` old)."""
    if not token or not name:
        return None
    from itsdangerous import BadData

    try:
        data = _device_serializer().loads(token, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("u") != digest("device-user", name)[:32] or not isinstance(data.get("d"), str):
        return None
    return data["d"][:32]


def _form_name() -> str:
    return flask.request.form.get("username", "")[:80].strip().lower()


def _known_device() -> bool:
    return device_id(flask.request.cookies.get(DEVICE_COOKIE), _form_name()) is not None


def address_lockout_enforced() -> bool:
    """Whether the per-address limit applies: only when the proxy setting is known."""
    return flask.current_app.config.get(PROXY_KEY) is not None


def _exempt() -> bool:
    return not address_lockout_enforced() or _known_device()


def _failed(response: flask.Response) -> bool:
    """A sign-in that checked a password and failed (the form comes back with ``error=1``)."""
    return response.status_code == 303 and "error=1" in (response.headers.get("Location") or "")


limiter = Limiter(key_func=_client_key, default_limits=[], strategy="moving-window", headers_enabled=False)


def limit_sign_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view`` (``POST /login``) under the per-address limit, counting failed sign-ins only."""
    return limiter.limit(CLIENT_LIMIT, methods=["POST"], deduct_when=_failed, exempt_when=_exempt)(view)


def locked_page(lang: str) -> flask.Response:
    """The 429 answer: a short page saying when to try again, with ``Retry-After``."""
    minutes = int(FAILURE_WINDOW.total_seconds() // 60)
    text = t("auth.locked", lang, minutes=minutes)
    page = (f"<!doctype html><html lang='{lang}'><meta charset='utf-8'><title>voisinmap</title>"
            f"<p role='alert'>{text}</p><p><a href='/login'>{t('auth.denied.login', lang)}</a></p></html>")
    response = flask.Response(page, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(int(FAILURE_WINDOW.total_seconds()))
    return response


def _on_rate_limit(error: RateLimitExceeded) -> flask.Response:
    if error.response is not None:  # a limit with its own answer (``on_breach``: the JSON routes) keeps it
        return error.response
    return locked_page(i18n.current_lang())


def init_throttle(server: flask.Flask, *, storage_uri: str) -> None:
    """Attach Flask-Limiter to ``server`` with counters in ``storage_uri``."""
    server.config["RATELIMIT_STORAGE_URI"] = storage_uri
    limiter.init_app(server)
    server.register_error_handler(RateLimitExceeded, _on_rate_limit)


def _purge_if_due(store: UserStore, now: dt.datetime) -> None:
    url = str(store.engine.url)
    with _PURGE_LOCK:
        if time.monotonic() - _LAST_PURGE.get(url, float("-inf")) < PURGE_EVERY.total_seconds():
            return
        _LAST_PURGE[url] = time.monotonic()
    store.purge_failures(before=now - FAILURE_WINDOW)


def record_attempt(store: UserStore, name: str) -> tuple[str, bool]:
    """Record a sign-in attempt on account ``name`` before its password is checked.

    Returns
    -------
    tuple of (str, bool)
        The account key (for :func:`attempt_succeeded`) and whether the account is locked out from
        here (more than :data:`MAX_FAILURES_PER_USER` attempts in the window, this one included).
    """
    request = flask.request
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    device = device_id(request.cookies.get(DEVICE_COOKIE), name)
    key = digest("device", f"{name}\0{device}") if device else digest("user", f"{name}\0{request.remote_addr or '?'}")
    store.record_failure(key, now=now)
    _purge_if_due(store, now)
    return key, store.count_failures(key, since=now - FAILURE_WINDOW) > MAX_FAILURES_PER_USER


def attempt_succeeded(store: UserStore, key: str, name: str, response: flask.Response) -> None:
    """Forget the account's recorded attempts and give this browser its device cookie."""
    store.clear_failures(key)
    response.set_cookie(DEVICE_COOKIE, device_cookie(name), max_age=DEVICE_DAYS * 86400, httponly=True,
                        secure=bool(flask.current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Strict",
                        path="/login")
