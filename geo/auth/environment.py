"""The run mode of the whole tool (``$VOISINMAP_ENV``): ``production`` or ``development``, nothing else.

A typo must not start a half-protected server: ``VOISINMAP_ENV=prod`` stops the start instead of
falling back to development (random secret key, debug allowed). Case and surrounding spaces are
ignored (``" Production "`` is production).

>>> run_mode({"VOISINMAP_ENV": "production"})
'production'
>>> run_mode({})
'development'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from geo._errors import VoisinmapError

ENV_MODE = "VOISINMAP_ENV"
PRODUCTION = "production"
DEVELOPMENT = "development"
MODES: tuple[str, ...] = (PRODUCTION, DEVELOPMENT)


class ConfigurationError(VoisinmapError, RuntimeError):
    """The server is not configured safely enough to start (production mode)."""


def run_mode(environ: Mapping[str, str] | None = None) -> str:
    """``production`` or ``development`` (unset or empty: ``development``).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default :data:`os.environ`).

    Raises
    ------
    ConfigurationError
        When ``$VOISINMAP_ENV`` holds any other value (``prod``, ``dev``... are refused, not guessed).
    """
    env = os.environ if environ is None else environ
    raw = env.get(ENV_MODE, "")
    value = raw.strip().lower()
    if value == "":
        return DEVELOPMENT
    if value not in MODES:
        raise ConfigurationError(f"{ENV_MODE}: expected {PRODUCTION!r} or {DEVELOPMENT!r}, got {raw!r}")
    return value


def production(environ: Mapping[str, str] | None = None) -> bool:
    """True when :func:`run_mode` is ``production`` (raises like it on an unknown value)."""
    return run_mode(environ) == PRODUCTION
