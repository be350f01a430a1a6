"""Prepared door visits shared by the app's workers: arrays written once per data version, opened with mmap.

>>> prepare("sqlite:///data/voisinmap.db")                         # doctest: +SKIP  (import, CLI, warm-up)
>>> prep = prepared_events("sqlite:///data/voisinmap.db")          # doctest: +SKIP  (a web worker)
>>> aggregate.viewport(prep, bbox=(-5.5, 41, 10, 51.5), zoom=6)    # reads the roll-up summary

:func:`prepare` writes the arrays of the store's current data version into
``<data folder>/prepared/doors-<visits>-<largest id>-<qpv>/``. It runs where visits are written or served
from, outside any request: after an import (``voisinmap coverage import``, ``voisinmap demo``, the import
and geocoding jobs), by ``voisinmap coverage prepare``, and in the app's warm-up before the workers fork.
It reads the visits and the roll-up in one read snapshot, in chunks (:mod:`geo.coverage.store.stream`), and
codes each chunk straight into memory-mapped ``.npy`` files of the final length
(:class:`geo.coverage.coding.EventCoder`): no table of every visit is ever held, only fixed-width arrays,
so its peak memory stays under 200 bytes per visit (971 MB at 5 million visits, against 7.4 GB when every
visit was loaded as a frame first; ``bench/bench_doors.py``). The folder is written under a temporary name and renamed into
place (a reader never sees half a version; a file lock keeps two processes from preparing the same version
at once), then versions older than the last :data:`KEEP_VERSIONS` are removed.

:func:`prepared_events` is the one call the app needs: it opens the version's arrays read-only with
:func:`numpy.load` (``mmap_mode="r"``), so every worker process maps the same pages of the operating
system's file cache instead of holding its own copy. Should a version not be prepared yet (a store filled by
another tool), it prepares it first, with the same bounded memory.

Numbers are stored in compact dtypes (int8 outcomes, int16 sites and campaigns, int32 buildings, doors, day
numbers and counts); texts (building labels and keys, H3 cell names, campaign and site names) are small
tables of unique values decoded when opening. NumPy's own ``.npy`` format is used rather than Arrow IPC:
the arrays are plain fixed-width columns that :func:`numpy.load` maps directly, with no extra dependency.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.coverage import rollup
from geo.coverage.coding import DOOR_ORDER_DTYPES, EVENT_DTYPES, EventCoder
from geo.coverage.events import H3_RESOLUTIONS, PreparedEvents
from geo.coverage.store import stream

logger = logging.getLogger(__name__)

#: Prepared versions kept in the folder (the newest ones); older ones are removed after a new one is written.
KEEP_VERSIONS = 2
#: Format of the folder; a change of the arrays bumps it so old folders are prepared again.
FORMAT = 3

_EVENT_ARRAYS = (*EVENT_DTYPES, "b_lon", "b_lat", "b_qpv", "door_building", "campaign_site", *DOOR_ORDER_DTYPES)
_TEXT_ARRAYS = ("b_label", "b_key")


def read_prepared(engine: sa.Engine, *, qpv: pd.DataFrame | None = None, chunk_size: int = stream.CHUNK_SIZE,
                  folder: str | os.PathLike[str] | None = None) -> tuple[PreparedEvents, tuple[int, int]]:
    """Read the located visits and the roll-up in one snapshot, chunk by chunk, and prepare them.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The store (:func:`geo.coverage.store.open_store`).
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons for each building's QPV (else the visits' ``code_qp``).
    chunk_size : int
        Visits (and roll-up rows) read and coded at a time; the arrays do not depend on it.
    folder : path-like, optional
        An existing empty folder: the arrays with one entry per visit are written there as ``.npy`` files
        as the chunks come (memory-mapped); in memory when omitted.

    Returns
    -------
    (PreparedEvents, (int, int))
        The prepared visits with their roll-up summary attached, and the data version read.
    """
    from geo.coverage.store import data_version

    allocate = _file_allocator(Path(folder)) if folder is not None else None
    with stream.snapshot(engine) as conn:
        version = data_version(conn)
        coder = EventCoder(stream.count_located(conn), allocate=allocate)
        for chunk in stream.iter_events(conn, chunk_size=chunk_size):
            coder.add(chunk)
        prep = coder.finish(qpv=qpv)
        del coder
        parts = [rollup.code_rollup(prep, chunk) for chunk in stream.iter_rollup(conn, chunk_size=chunk_size)]
    if not parts:
        parts = [rollup.code_rollup(prep, pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in (
            ("building_key", str), ("week_start", np.int32), ("outcome", str), ("campaign", str), ("site", str),
            ("visits", np.int32), ("new_doors", np.int32))}))]
    rows = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    del parts
    return rollup.attach(prep, rollup.summarise_coded(prep, rows)), version


def _file_allocator(folder: Path) -> Callable[[str, int, type], np.ndarray]:
    """Arrays allocated as ``<folder>/<name>.npy``, memory-mapped for writing."""

    def allocate(name: str, length: int, dtype: type) -> np.ndarray:
        path = folder / f"{name}.npy"
        if length == 0:  # an empty file cannot be mapped
            empty = np.empty(0, dtype=dtype)
            np.save(path, empty)
            return empty
        return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(length,))

    return allocate


def _folder_name(version: tuple[int, int], qpv: pd.DataFrame | None) -> str:
    return f"doors-{int(version[0])}-{int(version[1])}-{'qpv' if qpv is not None else 'codes'}-f{FORMAT}"


def _save_texts(folder: Path, name: str, values: np.ndarray) -> None:
    codes, uniques = pd.factorize(pd.Series(np.asarray(values, dtype=object)).astype("str"), sort=False)
    np.save(folder / f"{name}.codes.npy", codes.astype(np.int32))
    np.save(folder / f"{name}.values.npy", np.asarray(uniques, dtype=str))


def _load_texts(folder: Path, name: str) -> np.ndarray:
    codes = np.load(folder / f"{name}.codes.npy", mmap_mode="r")
    uniques = np.load(folder / f"{name}.values.npy").astype(object)
    return uniques[codes] if len(codes) else np.array([], dtype=object)


def write_prepared(prep: PreparedEvents, folder: str | os.PathLike[str]) -> Path:
    """Write prepared visits (with their roll-up summary) as ``.npy`` files into a new folder.

    Parameters
    ----------
    prep : PreparedEvents
        From :func:`read_prepared` (a roll-up summary attached).
    folder : path-like
        A folder that does not exist yet.

    Returns
    -------
    pathlib.Path
    """
    folder = Path(folder)
    folder.mkdir(parents=True)
    return _write_arrays(prep, folder)


def _write_arrays(prep: PreparedEvents, folder: Path) -> Path:
    """Write the arrays of ``prep`` into ``folder``; those already mapped from a file there are flushed."""
    if prep.rollup is None:
        raise ValueError("prep: expected prepared visits with a roll-up summary (rollup.attach)")
    for name in _EVENT_ARRAYS:
        array = getattr(prep, name)
        if isinstance(array, np.memmap) and Path(array.filename).parent == folder.resolve():
            array.flush()
        else:
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array))
    for name in rollup.ARRAYS:
        np.save(folder / f"rollup.{name}.npy", np.ascontiguousarray(getattr(prep.rollup, name)))
    for name in _TEXT_ARRAYS:
        _save_texts(folder, name, getattr(prep, name))
    _save_texts(folder, "door_label", prep.door_label)
    for res in H3_RESOLUTIONS:
        np.save(folder / f"b_cell.{res}.npy", prep.b_cell[res])
        np.save(folder / f"cells.{res}.npy", np.asarray(prep.cells[res], dtype=str))
    meta = {"format": FORMAT, "campaigns": list(prep.campaigns), "sites": list(prep.sites),
            "qpv_codes": list(prep.qpv_codes), "n_events": prep.n_events}
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def open_prepared(folder: str | os.PathLike[str]) -> PreparedEvents:
    """Open prepared visits written by :func:`write_prepared`: numbers memory-mapped read-only, texts decoded.

    Parameters
    ----------
    folder : path-like

    Returns
    -------
    PreparedEvents
        With its roll-up summary; writing into its arrays raises (they are read-only maps).
    """
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"folder: expected prepared door visits (meta.json) in {folder}, found none")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"folder: expected prepared visits of format {FORMAT}, got {meta.get('format')!r}")

    def mapped(name: str) -> np.ndarray:
        # a plain read-only array over the map (the np.memmap subclass slows every indexing down)
        return np.load(folder / f"{name}.npy", mmap_mode="r").view(np.ndarray)

    fields = {name: mapped(name) for name in _EVENT_ARRAYS}
    fields.update({name: _load_texts(folder, name) for name in _TEXT_ARRAYS})
    fields["door_label"] = _load_texts(folder, "door_label")
    fields["b_cell"] = {res: mapped(f"b_cell.{res}") for res in H3_RESOLUTIONS}
    fields["cells"] = {res: np.load(folder / f"cells.{res}.npy").astype(object) for res in H3_RESOLUTIONS}
    summary = rollup.RollupSummary(**{name: mapped(f"rollup.{name}") for name in rollup.ARRAYS})
    return PreparedEvents(**fields, campaigns=tuple(meta["campaigns"]), sites=tuple(meta["sites"]),
                          qpv_codes=tuple(meta["qpv_codes"]), rollup=summary)


@contextlib.contextmanager
def _preparing(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".prepare-lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _prune(root: Path, keep: Path) -> None:
    versions = sorted((p for p in root.glob("doors-*") if p.is_dir() and p != keep),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    for old in versions[KEEP_VERSIONS - 1:]:
        shutil.rmtree(old, ignore_errors=True)  # workers that mapped it keep their pages until they let go


def _root(folder: str | os.PathLike[str] | None) -> Path:
    from geo import config

    return (Path(folder) if folder is not None else config.data_dir() / "prepared").resolve()


def prepare(store_url: str | None = None, *, folder: str | os.PathLike[str] | None = None,
            qpv: pd.DataFrame | None = None, chunk_size: int = stream.CHUNK_SIZE) -> Path:
    """Write the prepared arrays of the store's current data version, unless they are there already.

    Run after an import and before the app's workers start (see the module docstring), never inside a
    request. The visits are read and coded chunk by chunk straight into the memory-mapped files.

    Parameters
    ----------
    store_url : str, optional
        The store's URL (default :func:`geo.config.database_url`).
    folder : path-like, optional
        Where prepared versions live (default ``<geo.config.data_dir()>/prepared``).
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons: each building's QPV by point in polygon (else the QPV recorded at import). The app
        opens the version prepared with the national QPV layer.
    chunk_size : int
        Visits read and coded at a time.

    Returns
    -------
    pathlib.Path
        The version's folder.
    """
    from geo.coverage import store

    root = _root(folder)
    engine = store.open_store(store_url)
    try:
        path = root / _folder_name(store.data_version(engine), qpv)
        if (path / "meta.json").is_file():
            return path
        with _preparing(root):
            for stale in root.glob(".doors-*"):  # left by a preparation that was killed (we hold the lock)
                shutil.rmtree(stale, ignore_errors=True)
            path = root / _folder_name(store.data_version(engine), qpv)
            if not (path / "meta.json").is_file():
                path = _write_version(engine, root, qpv, chunk_size)
            _prune(root, path)
    finally:
        engine.dispose()
    return path


def _write_version(engine: sa.Engine, root: Path, qpv: pd.DataFrame | None, chunk_size: int) -> Path:
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=".doors-", dir=root))
    try:
        prep, version = read_prepared(engine, qpv=qpv, chunk_size=chunk_size, folder=tmp)
        path = root / _folder_name(version, qpv)
        if (path / "meta.json").is_file():  # the store changed in between to a version prepared already
            shutil.rmtree(tmp)
            return path
        _write_arrays(prep, tmp)
        n_events = prep.n_events
        del prep
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("prepared %d door visits into %s in %.1f s", n_events, path.name, time.perf_counter() - started)
    return path


def prepare_for_app(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None,
                    qpv: pd.DataFrame | None = None) -> Path | None:
    """Prepare the version the app opens, after a write or before serving; a failure is logged, not raised.

    The app opens the arrays prepared with the national QPV layer of its data folder, in
    ``<data folder>/prepared`` (:func:`app.data.current_data`); this prepares exactly those, so that its
    workers only map them. Called by ``voisinmap coverage import``, ``voisinmap demo``, the import job and
    the app's warm-up, once their writes are committed: a failure here leaves the visits stored, and the app
    prepares the version itself when it first needs it.

    Parameters
    ----------
    db : str, optional
        The store (default :func:`geo.config.database_url`).
    data_dir : path-like, optional
        The processed data folder (default :func:`geo.config.data_dir`).
    qpv : geopandas.GeoDataFrame, optional
        The QPV layer of ``data_dir`` when the caller has it loaded already (read otherwise; without a
        built layer, the QPV recorded at import is used, as the app does then).

    Returns
    -------
    pathlib.Path or None
        The version's folder; None when the preparation failed or ``data_dir`` does not exist.
    """
    from geo import config
    from geo.load import DataNotBuiltError, load_qpv

    home = config.data_dir(data_dir)
    if not home.is_dir():  # no data folder, no app serving from it
        logger.info("no data folder at %s: door visits not prepared ahead", home)
        return None
    try:
        if qpv is None:
            try:
                qpv = load_qpv(data_dir=data_dir)
            except DataNotBuiltError:
                qpv = None
        return prepare(db, folder=home / "prepared", qpv=qpv)
    except Exception:  # noqa: BLE001 - the visits are stored; the app prepares them on first use instead
        logger.exception("door visits not prepared ahead")
        return None


_OPENED: dict[Path, PreparedEvents] = {}


def prepared_events(store_url: str | None = None, data_version: tuple[int, int] | None = None, *,
                    folder: str | os.PathLike[str] | None = None,
                    qpv: pd.DataFrame | None = None) -> PreparedEvents:
    """The prepared door visits of a data version, shared between processes through memory-mapped files.

    Parameters
    ----------
    store_url : str, optional
        The store's URL (default :func:`geo.config.database_url`).
    data_version : (int, int), optional
        :func:`geo.coverage.store.data_version` of the store, when the caller already has it (the app's
        cache key); read from the store otherwise.
    folder : path-like, optional
        Where prepared versions live (default ``<geo.config.data_dir()>/prepared``).
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons: each building's QPV by point in polygon (else the QPV recorded at import).

    Returns
    -------
    PreparedEvents
        Read-only arrays with their roll-up summary: :func:`geo.coverage.aggregate.viewport` answers from
        the roll-up where the filters allow, :func:`geo.coverage.rollup.impact_cells` gives the funders'
        cells. Opened once per process and version (later calls return the same object). A version not
        prepared yet (:func:`prepare`) is prepared first.
    """
    from geo.coverage import store

    root = _root(folder)
    if data_version is None:
        engine = store.open_store(store_url)
        try:
            data_version = store.data_version(engine)
        finally:
            engine.dispose()
    path = root / _folder_name(data_version, qpv)
    if path in _OPENED:
        return _OPENED[path]
    if not (path / "meta.json").is_file():
        logger.warning("door visits of version %s were not prepared ahead: preparing them now", data_version)
        path = prepare(store_url, folder=root, qpv=qpv)
    prep = open_prepared(path)
    _OPENED.clear()  # one version open per process: the app moves to the new one
    _OPENED[path] = prep
    return prep
