"""Prepared door visits shared by the app's workers: arrays written once per data version, opened with mmap.

>>> prep = prepared_events("sqlite:///data/voisinmap.db")          # doctest: +SKIP
>>> aggregate.viewport(prep, bbox=(-5.5, 41, 10, 51.5), zoom=6)    # reads the roll-up summary

:func:`prepared_events` is the one call the app needs. For the store's current data version (or the one
given) it looks in ``<data folder>/prepared/doors-<visits>-<largest id>-<qpv>/``; when the folder is there
it opens the arrays read-only with :func:`numpy.load` (``mmap_mode="r"``), so every worker process maps the
same pages of the operating system's file cache instead of holding its own copy. Otherwise it reads the
visits and the roll-up in one transaction (:func:`read_prepared`), prepares them
(:func:`geo.coverage.aggregate.prepare_events`, :func:`geo.coverage.rollup.summarise_rollup`), writes one
``.npy`` file per array into a temporary folder and renames it into place (a reader never sees half a
version; a file lock keeps two workers from preparing the same version at once), then removes versions older
than the last :data:`KEEP_VERSIONS`.

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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.coverage import aggregate, rollup
from geo.coverage.aggregate import PreparedEvents

logger = logging.getLogger(__name__)

#: Prepared versions kept in the folder (the newest ones); older ones are removed after a new one is written.
KEEP_VERSIONS = 2
#: Format of the folder; a change of the arrays bumps it so old folders are prepared again.
FORMAT = 3

_EVENT_ARRAYS = ("building", "door", "outcome", "campaign", "site", "day", "demo", "event_id", "b_lon", "b_lat",
                 "b_qpv", "door_building", "campaign_site", "door_order", "door_sorted", "day_sorted")
_TEXT_ARRAYS = ("b_label", "b_key")


def read_prepared(engine: sa.Engine, *, qpv: pd.DataFrame | None = None) -> tuple[PreparedEvents, tuple[int, int]]:
    """Read the located visits and the roll-up in one transaction and prepare them (in memory).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The store (:func:`geo.coverage.store.open_store`).
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons for each building's QPV (else the visits' ``code_qp``).

    Returns
    -------
    (PreparedEvents, (int, int))
        The prepared visits with their roll-up summary attached, and the data version read.
    """
    from geo.coverage import store

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            version = store.data_version(conn)
            events = store.load_events(conn)
            rows = store.load_rollup(conn)
    prep = aggregate.prepare_events(events, qpv=qpv)
    del events
    return rollup.attach(prep, rollup.summarise_rollup(prep, rows)), version


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
    if prep.rollup is None:
        raise ValueError("prep: expected prepared visits with a roll-up summary (rollup.attach)")
    folder = Path(folder)
    folder.mkdir(parents=True)
    for name in _EVENT_ARRAYS:
        np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(prep, name)))
    for name in rollup.ARRAYS:
        np.save(folder / f"rollup.{name}.npy", np.ascontiguousarray(getattr(prep.rollup, name)))
    for name in _TEXT_ARRAYS:
        _save_texts(folder, name, getattr(prep, name))
    _save_texts(folder, "door_label", prep.door_label)
    for res in aggregate.H3_RESOLUTIONS:
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
    fields["b_cell"] = {res: mapped(f"b_cell.{res}") for res in aggregate.H3_RESOLUTIONS}
    fields["cells"] = {res: np.load(folder / f"cells.{res}.npy").astype(object) for res in aggregate.H3_RESOLUTIONS}
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
        cells. Opened once per process and version (later calls return the same object).
    """
    from geo import config
    from geo.coverage import store

    root = Path(folder) if folder is not None else config.data_dir() / "prepared"
    engine = None
    try:
        if data_version is None:
            engine = store.open_store(store_url)
            data_version = store.data_version(engine)
        path = root / _folder_name(data_version, qpv)
        if path in _OPENED:
            return _OPENED[path]
        if not (path / "meta.json").is_file():
            with _preparing(root):
                if not (path / "meta.json").is_file():
                    engine = engine or store.open_store(store_url)
                    prep, version = read_prepared(engine, qpv=qpv)
                    path = root / _folder_name(version, qpv)
                    if not (path / "meta.json").is_file():
                        tmp = Path(tempfile.mkdtemp(prefix=".doors-", dir=root))
                        tmp.rmdir()
                        write_prepared(prep, tmp)
                        os.replace(tmp, path)
                        logger.info("prepared %d door visits into %s", prep.n_events, path.name)
                    _prune(root, path)
    finally:
        if engine is not None:
            engine.dispose()
    prep = open_prepared(path)
    _OPENED.clear()  # one version open per process: the app moves to the new one
    _OPENED[path] = prep
    return prep

