"""Downloads served at ``/download/<name>``: families of names declared by pages with a level and roles.

A family's pattern must not be able to match a path separator or ``..``; a name that matches no
family answers 404.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping

import flask

from app.security.session import current_principal, who
from geo.auth import policy

logger = logging.getLogger(__name__)

DOWNLOAD_PREFIX = "/download/"


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


def download_view(name: str) -> flask.Response:
    """``GET /download/<name>``: the bytes of the family matching ``name`` (404 when none does)."""
    spec = find_download(name)
    if spec is None:
        flask.abort(404)
    match = spec.pattern.fullmatch(name)
    args = {k: v for k, v in flask.request.args.items() if re.fullmatch(r"[A-Za-z0-9_-]{1,16}", v or "")}
    data, filename, mimetype = spec.producer(match, args)
    response = flask.Response(data, content_type=mimetype)  # the media type names its charset
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    logger.info("download %s (%d bytes) for %s", spec.key, len(data), who(current_principal()))
    return response
