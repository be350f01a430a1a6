"""Security settings of the web app, read from the environment once at start-up.

``$VOISINMAP_ENV`` is strict (:mod:`geo.auth.environment`): ``production`` or ``development``. In
production a missing or guessable secret key, insecure cookies or an unknown proxy setting value stop
the start with :class:`ConfigurationError`.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import secrets

from geo.auth.environment import ENV_MODE, ConfigurationError, production, run_mode

logger = logging.getLogger(__name__)

__all__ = ["ENV_MODE", "ConfigurationError", "production", "run_mode"]

ENV_SECRET = "VOISINMAP_SECRET_KEY"
ENV_COOKIE_SECURE = "VOISINMAP_COOKIE_SECURE"
ENV_MAX_UPLOAD_MB = "VOISINMAP_MAX_UPLOAD_MB"
ENV_PROXY_FIX = "VOISINMAP_PROXY_FIX"
#: Where Flask-Limiter keeps its per-address counters (e.g. ``redis://127.0.0.1:6379/2``; default memory).
ENV_RATELIMIT_STORAGE = "VOISINMAP_RATELIMIT_STORAGE"
#: Flask config key: database URL of the accounts (default :func:`geo.config.database_url`).
DB_KEY = "VOISINMAP_DATABASE_URL"
#: Flask config key: ``"proxy"``, ``"direct"`` or None (unknown) — see :func:`proxy_setting`.
PROXY_KEY = "VOISINMAP_PROXY"
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 96
DEFAULT_MAX_UPLOAD_MB = 32  # a 20 MB file, base64-encoded in the request (about 27 MB), passes
_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


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
    off = os.environ.get(ENV_COOKIE_SECURE, "").strip() in _FALSE
    if off and production():
        raise ConfigurationError(f"{ENV_COOKIE_SECURE}: expected 1 in production (cookies over HTTPS only), got 0")
    return not off


def max_upload_bytes() -> int:
    """Largest request body accepted (``$VOISINMAP_MAX_UPLOAD_MB``, default 32 MB: a 20 MB file once encoded).

    Raises
    ------
    ConfigurationError
        When the variable is not a positive number.
    """
    raw = os.environ.get(ENV_MAX_UPLOAD_MB, "")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError as exc:
        raise ConfigurationError(f"{ENV_MAX_UPLOAD_MB}: expected a number of megabytes, got {raw!r}") from exc
    if mb <= 0:
        raise ConfigurationError(f"{ENV_MAX_UPLOAD_MB}: expected a positive number of megabytes, got {raw!r}")
    return int(mb * 1024 * 1024)


def proxy_setting() -> str | None:
    """How clients reach the server: ``"proxy"`` (``VOISINMAP_PROXY_FIX=1``: one trusted reverse-proxy
    hop), ``"direct"`` (``=0``), or None when the variable is unset (unknown).

    With an unknown setting the client address may be the proxy's, shared by every browser, so the
    lock-out by address is not enforced (:mod:`app.security.throttle`).

    Raises
    ------
    ConfigurationError
        When the variable holds anything but 1/true/yes or 0/false/no.
    """
    raw = os.environ.get(ENV_PROXY_FIX, "").strip().lower()
    if raw == "":
        return None
    if raw in _TRUE:
        return "proxy"
    if raw in _FALSE:
        return "direct"
    raise ConfigurationError(f"{ENV_PROXY_FIX}: expected 1 (behind a reverse proxy) or 0 (direct), got {raw!r}")


def ratelimit_storage() -> str:
    """Flask-Limiter storage URI (``$VOISINMAP_RATELIMIT_STORAGE``, default ``memory://``: per process)."""
    return os.environ.get(ENV_RATELIMIT_STORAGE, "").strip() or "memory://"
