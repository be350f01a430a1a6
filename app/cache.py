"""Results memoized per data version, shared by every worker, on Flask-Caching.

:func:`init_app` (called by :func:`app.main.create_app`) attaches one Flask-Caching backend to the server:

* **Redis** when ``$VOISINMAP_CACHE_URL`` (or ``$VOISINMAP_REDIS_URL``) holds a ``redis://`` /
  ``rediss://`` / ``unix://`` URL: every worker of every machine pointing at it shares the results;
* else a **filesystem cache** (the embedded default), in ``$VOISINMAP_APP_CACHE_DIR`` or
  ``cache/app`` beside the processed data folder (``data/cache/app`` in a checkout): the workers of one
  machine share it.

:func:`memoize` caches a function whose result depends only on the data and its inputs (and the
language of the request); :func:`memoize_scoped` adds the role's scope (role and sites) of the signed-in
account to the key, for results that depend on who asks. Keys read::

    voisinmap:<name>:<data version>:<lang>:<scope>:<digest of the inputs>

The **data version** (:func:`data_version`) joins a digest of the processed data's ``manifest.json``,
the door store's version (:func:`geo.coverage.store.data_version`) and a digest of the code: a new
build, an import of door visits or a new release of the code makes every older key unreachable (the
backends drop them by age and count). Results that do not depend on door visits (layers, siting
instances, plans, recommendations) pass ``doors=False`` and are keyed on the processed data and the
code only (:func:`processed_version`): an import of visits leaves them valid. The default,
``doors=True``, is the safe one for anything that reads the door store.

Flask-Caching's own ``memoize`` keys results on the ``repr`` of the
arguments and on a per-function version it keeps in the backend; neither follows the data, so the keys
are built here from a canonical JSON of the inputs (stable across processes, unlike ``hash``).

A backend that fails (Redis down, disk full) never fails a request: the result is computed and the
failure logged once per kind. Keys carry no input in clear (only a SHA-256 digest) and nothing is logged
about the inputs. Scoped results may hold a site's door figures: the cache folder is private (0700,
files 0600) and a Redis server must be protected like the database (password, private network or TLS).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import flask
from flask_caching import Cache

from geo import config, schema

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: Environment variables naming a shared backend, first set wins.
URL_ENVS: tuple[str, ...] = ("VOISINMAP_CACHE_URL", "VOISINMAP_REDIS_URL")
#: Environment variable: folder of the filesystem cache.
DIR_ENV = "VOISINMAP_APP_CACHE_DIR"
#: Environment variable: seconds a worker trusts the data version it read (default 1).
VERSION_TTL_ENV = "VOISINMAP_CACHE_VERSION_TTL"
#: Seconds a cached result lives at most (older data versions are never read again anyway).
DEFAULT_TIMEOUT = 24 * 3600
#: Entries the filesystem cache keeps before it prunes the oldest.
FILE_THRESHOLD = 5000
KEY_PREFIX = "voisinmap:"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

#: The one Flask-Caching object of the app (one backend per Flask app it is attached to).
CACHE = Cache()

_MARK = "voisinmap-cache-v1"
_ENGINES: dict[str, Any] = {}
_VERSIONS: dict[tuple[str, str], tuple[float, str]] = {}
_LOCK = threading.Lock()
_WARNED: set[str] = set()


# ---------------------------------------------------------------------------------------- set-up
def backend_config(*, data_dir: str | os.PathLike[str] | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Flask-Caching configuration chosen by the environment.

    Parameters
    ----------
    data_dir : path-like, optional
        Processed data folder (default :func:`geo.config.data_dir`); the filesystem cache sits beside it.
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    dict
        ``CACHE_TYPE`` and its options.

    Raises
    ------
    ValueError
        When the cache URL is set but is not a Redis URL.
    """
    env = os.environ if environ is None else environ
    base = {"CACHE_DEFAULT_TIMEOUT": DEFAULT_TIMEOUT, "CACHE_KEY_PREFIX": KEY_PREFIX}
    for name in URL_ENVS:
        url = (env.get(name) or "").strip()
        if url:
            if not url.startswith(REDIS_SCHEMES):
                raise ValueError(f"${name}: expected a Redis URL ({', '.join(REDIS_SCHEMES)}…), got "
                                 f"{url.split('://')[0]!r}://…")
            return {**base, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": url}
    folder = env.get(DIR_ENV) or str(config.data_dir(data_dir).parent / "cache" / "app")
    return {**base, "CACHE_TYPE": "FileSystemCache", "CACHE_DIR": folder, "CACHE_THRESHOLD": FILE_THRESHOLD}


def describe(settings: Mapping[str, Any]) -> str:
    """How logs and the health report name a backend (no password, no host detail)."""
    if settings["CACHE_TYPE"] == "RedisCache":
        return "redis"
    return "filesystem"


def init_app(server: flask.Flask) -> None:
    """Attach the shared cache to ``server`` (the backend named by the environment, see :func:`backend_config`),
    and serve the callbacks its Dash app marks from it (:func:`app.callback_cache.init_app`)."""
    from app.main import DATA_DIR_KEY

    settings = backend_config(data_dir=server.config.get(DATA_DIR_KEY))
    if settings["CACHE_TYPE"] == "FileSystemCache":
        # scoped results may hold a site's door figures: the folder is private like the database
        Path(settings["CACHE_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    CACHE.init_app(server, config=settings)
    server.config["VOISINMAP_CACHE_BACKEND"] = describe(settings)
    dash_app = server.extensions.get("voisinmap_dash")
    if dash_app is not None:  # whole answers of the callbacks the pages mark (app/callback_cache.py)
        from app import callback_cache

        callback_cache.init_app(server, dash_app.callback_map)
    logger.info("shared cache: %s", describe(settings))


def after_fork() -> None:
    """Forget the database connections inherited from the parent process (call in each new worker)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose(close=False)
        _ENGINES.clear()
        _VERSIONS.clear()


def stores_written() -> None:
    """Read the data version again at the next call (:func:`data_version`): this process just wrote the door
    store (a field-entry sync), and its next requests must see it at once. Other workers see it within
    :func:`version_ttl`."""
    with _LOCK:
        _VERSIONS.clear()


# ---------------------------------------------------------------------------------------- versions
@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (16 hex) of the app's and library's Python sources: a new release starts fresh keys."""
    digest = hashlib.sha256()
    for package in (Path(__file__).resolve().parent, Path(schema.__file__).resolve().parent):
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(package.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _manifest_digest(path: str, mtime_ns: int, size: int) -> str:  # noqa: ARG001 - stat fields are the cache key
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def manifest_digest(*, data_dir: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 (16 hex) of the processed data's ``manifest.json``; ``"none"`` when it is absent."""
    path = config.data_dir(data_dir) / schema.MANIFEST
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "none"
    return _manifest_digest(str(path), stat.st_mtime_ns, stat.st_size)


def store_engine(db_url: str) -> Any:
    """One SQLAlchemy engine per door store URL and process, kept (forgotten after a fork:
    :func:`after_fork`), so that reading the store's version costs one query, not a new connection."""
    from geo.db import make_engine

    with _LOCK:
        engine = _ENGINES.get(db_url)
        if engine is None:
            engine = _ENGINES[db_url] = make_engine(db_url)
    return engine


def door_store_version(db_url: str) -> tuple[int, int]:
    """:func:`geo.coverage.store.data_version` of the store at ``db_url`` (visits count, largest id),
    read now through the kept engine (:func:`store_engine`)."""
    from geo.coverage.store import data_version as store_version

    return store_version(store_engine(db_url))


def door_digest(db_url: str) -> str:
    """Digest (16 hex) of the door store's version: changes with every import or deletion of visits."""
    count, largest = door_store_version(db_url)
    return hashlib.sha256(f"{count}.{largest}".encode()).hexdigest()[:16]


def version_ttl() -> float:
    """Seconds a worker reuses the data version it read (``$VOISINMAP_CACHE_VERSION_TTL``, default 1)."""
    raw = os.environ.get(VERSION_TTL_ENV, "1")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"${VERSION_TTL_ENV}: expected a number of seconds, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"${VERSION_TTL_ENV}: expected a number of seconds >= 0, got {raw!r}")
    return value


def data_version(*, data_dir: str | os.PathLike[str] | None = None, db_url: str | None = None) -> str:
    """The version results are keyed on: processed data, door store and code.

    Parameters
    ----------
    data_dir : path-like, optional
        Processed data folder (default :func:`geo.config.data_dir`).
    db_url : str, optional
        Door store URL (default :func:`geo.config.database_url`).

    Returns
    -------
    str
        ``"<manifest>-<doors>-<code>"``, three 16-hex digests. Read at most once per
        :func:`version_ttl` seconds per worker.
    """
    folder = str(config.data_dir(data_dir))
    url = config.database_url(db_url)
    now = time.monotonic()
    found = _VERSIONS.get((folder, url))
    if found is not None and now - found[0] < version_ttl():
        return found[1]
    version = f"{manifest_digest(data_dir=folder)}-{door_digest(url)}-{code_digest()}"
    _VERSIONS[(folder, url)] = (now, version)
    return version


def processed_version(*, data_dir: str | os.PathLike[str] | None = None) -> str:
    """The version of results that do not depend on door visits: processed data and code.

    Parameters
    ----------
    data_dir : path-like, optional
        Processed data folder (default :func:`geo.config.data_dir`).

    Returns
    -------
    str
        ``"<manifest>-<code>"``, two 16-hex digests (a ``stat`` of the manifest per call).
    """
    return f"{manifest_digest(data_dir=data_dir)}-{code_digest()}"


def current_data_version(*, doors: bool = True) -> str:
    """The version of the running app (its data folder and database): :func:`data_version`, or
    :func:`processed_version` when ``doors`` is False."""
    from app.main import DATA_DIR_KEY
    from app.security.settings import DB_KEY

    folder = flask.current_app.config.get(DATA_DIR_KEY)
    if not doors:
        return processed_version(data_dir=folder)
    return data_version(data_dir=folder, db_url=flask.current_app.config.get(DB_KEY))


# ---------------------------------------------------------------------------------------- keys
def _plain(value: Any) -> Any:
    """JSON form of an input that ``json`` does not know (dates, numpy scalars, sets, dataclasses)."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return {"__date__": value.isoformat()}
    if isinstance(value, set | frozenset):
        return {"__set__": sorted(map(_canonical, value))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__qualname__, **dataclasses.asdict(value)}
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return value.item()  # a numpy scalar
    raise TypeError(f"inputs: expected JSON-like values (numbers, strings, lists, dicts, dates), "
                    f"got {type(value).__name__}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain, ensure_ascii=False)


def inputs_digest(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """SHA-256 (32 hex) of a canonical JSON of the inputs: equal inputs give equal digests in every process.

    Raises
    ------
    TypeError
        When an input is not JSON-like (an object keyed by its ``repr`` would never be found again).
    """
    return hashlib.sha256(_canonical([list(args), dict(kwargs)]).encode()).hexdigest()[:32]


def current_scope() -> str:
    """The role's scope of the request: ``"<role>:<site,site>"``, ``"anonymous"`` when signed out."""
    from app.security import current_principal

    principal = current_principal()
    if principal is None:
        return "anonymous"
    return f"{principal.role}:{','.join(sorted(map(str, principal.sites)))}"


def cache_key(name: str, digest: str, *, scoped: bool, by_lang: bool = True, doors: bool = True) -> str:
    """The key of one result for the current request: data version (with the door store's unless
    ``doors`` is False), language, scope and the inputs' ``digest`` (:func:`inputs_digest`)."""
    from app import i18n

    lang = i18n.current_lang() if by_lang else "-"
    scope = current_scope() if scoped else "-"
    return f"{name}:{current_data_version(doors=doors)}:{lang}:{scope}:{digest}"


# ---------------------------------------------------------------------------------------- memoizing
def _warn(kind: str, exc: Exception) -> None:
    if kind not in _WARNED:
        _WARNED.add(kind)
        logger.warning("shared cache %s failed (%s): results are computed without it", kind, type(exc).__name__)


def cached_call(name: str, compute: Callable[..., Any], args: tuple[Any, ...] = (),
                kwargs: Mapping[str, Any] | None = None, *, scoped: bool = False, by_lang: bool = True,
                doors: bool = True, timeout: int | None = None) -> Any:
    """``compute(*args, **kwargs)``, read from the shared cache when another call (any worker) made it.

    Parameters
    ----------
    name : str
        Name of the result (``"<area>.<what>"``), unique in the app.
    compute : callable
        Computes the result from the inputs alone (and the data, the language, the scope).
    args, kwargs
        The inputs (JSON-like values).
    scoped : bool
        Key also on the role's scope (:func:`current_scope`).
    by_lang : bool
        Key also on the request's language (default True).
    doors : bool
        Key also on the door store's version (default True); False for results that do not read
        door visits (an import then leaves them valid).
    timeout : int, optional
        Seconds the result lives (default :data:`DEFAULT_TIMEOUT`).

    Returns
    -------
    Any
        The result (a pickled copy when it comes from the cache).

    Notes
    -----
    Outside an app context (warm-up, scripts) nothing is cached.
    """
    kwargs = kwargs or {}
    if not flask.has_app_context() or CACHE not in flask.current_app.extensions.get("cache", {}):
        return compute(*args, **kwargs)
    digest = inputs_digest(args, kwargs)  # unstable inputs are a programming error: raised
    try:
        key = cache_key(name, digest, scoped=scoped, by_lang=by_lang, doors=doors)
    except Exception as exc:  # noqa: BLE001 - data version unreadable (store down): compute, do not cache
        _warn("version", exc)
        return compute(*args, **kwargs)
    try:
        hit = CACHE.get(key)
    except Exception as exc:  # noqa: BLE001 - any backend failure: compute instead
        _warn("read", exc)
        hit = None
    if isinstance(hit, tuple) and len(hit) == 2 and hit[0] == _MARK:
        return hit[1]
    result = compute(*args, **kwargs)
    try:
        CACHE.set(key, (_MARK, result), timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any backend failure: the result is still returned
        _warn("write", exc)
    return result


def memoize(name: str, *, scoped: bool = False, by_lang: bool = True, doors: bool = True,
            timeout: int | None = None) -> Callable[[F], F]:
    """Decorator: memoize a function in the shared cache per (data version, language, inputs).

    Parameters
    ----------
    name : str
        Name of the result (``"<area>.<what>"``), unique in the app.
    scoped : bool
        Key also on the role's scope (see :func:`memoize_scoped`).
    by_lang : bool
        Key also on the request's language (default True: rendered texts depend on it).
    doors : bool
        Key also on the door store's version (default True; False when the function reads no visit).
    timeout : int, optional
        Seconds a result lives (default :data:`DEFAULT_TIMEOUT`).

    Examples
    --------
    >>> @memoize("strategie.recommend")          # doctest: +SKIP
    ... def recommend(k, radius_km, target): ...
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return cached_call(name, func, args, kwargs, scoped=scoped, by_lang=by_lang, doors=doors,
                               timeout=timeout)

        wrapper.voisinmap_cache_name = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def memoize_scoped(name: str, *, by_lang: bool = True, doors: bool = True,
                   timeout: int | None = None) -> Callable[[F], F]:
    """Decorator: like :func:`memoize`, keyed also on the role's scope of the signed-in account.

    For results that depend on the user's role or sites (a manager's own sites, a funder's aggregate
    view): two accounts of the same role and sites share them; any other account never reads them.
    Results that depend on the account itself (its name, its own settings) must not be cached.
    """
    return memoize(name, scoped=True, by_lang=by_lang, doors=doors, timeout=timeout)
