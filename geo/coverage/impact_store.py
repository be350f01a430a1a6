"""Impact figures stored once per data version, so that the web process only reads them.

After an import commits, the process that imported (``voisinmap coverage import``, the import job, the
field-entry sync, ``voisinmap demo``) calls :func:`compute_and_store`: the protected report of every site
(:func:`geo.coverage.impact.build_report`) and the protected topics and languages
(:func:`geo.coverage.themes.theme_shares`) are written to a folder named for the store and its data
version (:func:`geo.coverage.store.data_version`). The Impact page then reads them with
:func:`load_figures` (a few tens of milliseconds) instead of rebuilding them from the visits.

Only protected figures are written: the suppressed cube, the published time bins, the sites' places and
the shares of topics and languages rounded to 5 points; no visit, door or file name.

The format is pickle-free: one Parquet file per table (GeoParquet for QPV outlines), the additivity
relations as a ``.npz`` of arrays (read with ``allow_pickle=False``) and the scalars as JSON. No
installed library serialises these dataclasses without pickle, hence this small module. A folder is
written under a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from geo import privacy, timebins
from geo.coverage import impact

logger = logging.getLogger(__name__)

ENV_FIGURES_DIR = "VOISINMAP_IMPACT_DIR"
#: Bumped when the stored layout changes (older folders are then ignored and replaced).
FORMAT = 1
#: Version folders kept (the newest), every store together.
_KEEP = 8
#: Seconds after which a computation marked as started is taken as abandoned.
PENDING_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class Figures:
    """What the Impact page reads for every site: the report and the shares of topics and languages."""

    report: impact.ImpactReport
    topics: pd.DataFrame
    languages: pd.DataFrame


# ------------------------------------------------------------------------------------------- naming
def figures_root() -> Path:
    """Folder of the stored figures: ``$VOISINMAP_IMPACT_DIR``, else ``data/cache/impact`` in the checkout."""
    from geo import config

    env = os.environ.get(ENV_FIGURES_DIR, "").strip()
    return Path(env).expanduser() if env else config.PROJECT_ROOT / "data" / "cache" / "impact"


def version_folder(root: str | os.PathLike[str], *, store_url: str, version: tuple[int, int],
                   data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the figures of the store at ``store_url`` for its data ``version`` (count, largest id),
    built with the national data of ``data_dir`` (default :func:`geo.config.data_dir`)."""
    if len(version) != 2:
        raise ValueError(f"version: expected (visit count, largest id), got {version!r}")
    import sqlalchemy as sa

    from geo import config

    name = sa.engine.make_url(str(store_url)).render_as_string(hide_password=True)
    source = f"{name}|{config.data_dir(data_dir).resolve()}"
    store = hashlib.sha256(source.encode()).hexdigest()[:12]
    return Path(root) / f"v{FORMAT}-{store}-{int(version[0])}-{int(version[1])}"


def _marker(folder: Path) -> Path:
    return folder.with_name(folder.name + ".pending")


def pending(folder: str | os.PathLike[str], *, within: float = PENDING_SECONDS) -> bool:
    """Whether another process started computing the figures of ``folder`` less than ``within`` s ago."""
    try:
        return time.time() - _marker(Path(folder)).stat().st_mtime < within
    except OSError:
        return False


# ------------------------------------------------------------------------------------------- writing
def _cube_meta(cube: privacy.Cube) -> dict[str, Any]:
    return {"dims": [list(d) for d in cube.dims], "count": cube.count, "measures": list(cube.measures),
            "threshold": int(cube.threshold), "shape": list(cube.relations.shape)}


def _save_cube(cube: privacy.Cube, folder: Path, name: str) -> dict[str, Any]:
    cube.cells.to_parquet(folder / f"{name}.parquet", index=False)
    rel = sparse.csr_matrix(cube.relations)
    np.savez(folder / f"{name}.npz", data=rel.data, indices=rel.indices, indptr=rel.indptr)
    return _cube_meta(cube)


def _save_frame(frame: pd.DataFrame | None, path: Path) -> bool:
    if frame is None:
        return False
    if "geometry" in frame.columns:
        import geopandas as gpd

        gpd.GeoDataFrame(frame, geometry="geometry").to_parquet(path, index=False)
    else:
        pd.DataFrame(frame).to_parquet(path, index=False)
    return True


def _bins_meta(bins: timebins.TimeBins, folder: Path) -> dict[str, Any]:
    frame = bins.bins.copy()
    frame["quarters"] = [list(q) for q in frame["quarters"]]
    frame.to_parquet(folder / "bins.parquet", index=False)
    return {"levels": list(bins.levels), "cube": _save_cube(bins.cube, folder, "bins_cube"),
            "merges": [{"group": list(m.group), "periods": list(m.periods), "into": m.into, "reason": m.reason}
                       for m in bins.merges],
            "hidden": [{"group": list(h.group), "reason": h.reason} for h in bins.hidden]}


def save_figures(figures: Figures, folder: str | os.PathLike[str]) -> Path:
    """Write ``figures`` to ``folder`` (replaced atomically when it exists); returns the folder."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        report = figures.report
        meta = {"format": FORMAT, "regions": report.regions, "demo": report.demo,
                "period": list(report.period) if report.period else None,
                "cube": _save_cube(report.cube, tmp, "cube"),
                "reach": _save_frame(report.reach, tmp / "reach.parquet"),
                "bins": _bins_meta(report.bins, tmp) if report.bins is not None else None}
        _save_frame(report.sites, tmp / "sites.parquet")
        _save_frame(report.qpv, tmp / "qpv.parquet")
        figures.topics.to_parquet(tmp / "topics.parquet", index=False)
        figures.languages.to_parquet(tmp / "languages.parquet", index=False)
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


# ------------------------------------------------------------------------------------------- reading
def _load_cube(folder: Path, name: str, meta: dict[str, Any]) -> privacy.Cube:
    with np.load(folder / f"{name}.npz", allow_pickle=False) as arrays:
        relations = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                      shape=tuple(meta["shape"]))
    return privacy.Cube(cells=pd.read_parquet(folder / f"{name}.parquet"),
                        dims=tuple(tuple(d) for d in meta["dims"]), count=meta["count"],
                        measures=tuple(meta["measures"]), relations=relations, threshold=int(meta["threshold"]))


def _load_frame(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    if b"geo" in (pq.read_schema(path).metadata or {}):
        import geopandas as gpd

        return gpd.read_parquet(path)
    return pd.read_parquet(path)


def _load_bins(folder: Path, meta: dict[str, Any]) -> timebins.TimeBins:
    frame = pd.read_parquet(folder / "bins.parquet")
    frame["quarters"] = [tuple(str(q) for q in quarters) for quarters in frame["quarters"]]
    merges = tuple(timebins.Merge(group=tuple(m["group"]), periods=tuple(m["periods"]), into=m["into"],
                                  reason=m["reason"]) for m in meta["merges"])
    hidden = tuple(timebins.HiddenSeries(group=tuple(h["group"]), reason=h["reason"]) for h in meta["hidden"])
    return timebins.TimeBins(bins=frame, merges=merges, hidden=hidden, levels=tuple(meta["levels"]),
                             cube=_load_cube(folder, "bins_cube", meta["cube"]))


def load_figures(folder: str | os.PathLike[str]) -> Figures | None:
    """The figures stored in ``folder`` by :func:`save_figures`, or None when absent or of another format."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("format") != FORMAT:
        return None
    report = impact.ImpactReport(
        cube=_load_cube(folder, "cube", meta["cube"]), sites=_load_frame(folder / "sites.parquet"),
        qpv=_load_frame(folder / "qpv.parquet"), regions={str(k): str(v) for k, v in meta["regions"].items()},
        reach=pd.read_parquet(folder / "reach.parquet") if meta["reach"] else None, demo=bool(meta["demo"]),
        period=tuple(meta["period"]) if meta["period"] else None,
        bins=_load_bins(folder, meta["bins"]) if meta["bins"] else None)
    return Figures(report=report, topics=pd.read_parquet(folder / "topics.parquet"),
                   languages=pd.read_parquet(folder / "languages.parquet"))


# ------------------------------------------------------------------------------------------- the hook
def _prune(root: Path, keep: Path) -> None:
    """Drop the oldest version folders beyond the newest :data:`_KEEP`."""
    olds = sorted((p for p in root.glob(f"v{FORMAT}-*") if p.is_dir() and p != keep and not p.name.endswith(".pending")),
                  key=lambda p: p.stat().st_mtime)
    for path in olds[: max(0, len(olds) - (_KEEP - 1))]:
        shutil.rmtree(path, ignore_errors=True)


def compute_and_store(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None,
                      root: str | os.PathLike[str] | None = None) -> Path | None:
    """Compute the Impact figures of every site for the store's current data version and store them.

    Called after an import commits, in the process that imported. A failure is logged and returns None:
    the page then builds the figures itself, as before.

    Parameters
    ----------
    db : str, optional
        The store whose visits are counted; :func:`geo.config.database_url` when omitted.
    data_dir : path-like, optional
        Folder of the national layers (QPV, communes) the report is built with; part of the folder's key.
    root : path-like, optional
        Where version folders go (default :func:`figures_root`).

    Notes
    -----
    Skipped when the folder of the current version exists. While it computes, a ``.pending`` marker
    tells the web process (:mod:`app.components.impact_refresh`) not to compute the same figures.

    Returns
    -------
    pathlib.Path or None
        The folder written.
    """
    from geo import config
    from geo.coverage import themes
    from geo.coverage.store import data_version, open_store
    from geo.export import loaders
    from geo.load import DataNotBuiltError

    url = db or config.database_url()
    target: Path | None = None
    base = Path(root) if root is not None else figures_root()
    started = time.perf_counter()
    try:
        engine = open_store(url)
        try:
            version = data_version(engine)
            target = version_folder(base, store_url=url, version=version, data_dir=data_dir)
            if (target / "meta.json").is_file():
                return target
            base.mkdir(parents=True, exist_ok=True)
            _marker(target).touch()
            visits = themes.read_themes(engine)
        finally:
            engine.dispose()
        report = loaders.impact_report(db=url, data_dir=data_dir, with_reach=True)
        figures = Figures(report=report, topics=themes.theme_shares(visits, kind="topics"),
                          languages=themes.theme_shares(visits, kind="language"))
        del visits
        folder = save_figures(figures, target)
        _prune(base, folder)
    except DataNotBuiltError as exc:
        logger.info("impact figures not stored: %s", exc)
        return None
    except Exception:  # noqa: BLE001 - the page falls back to building the figures itself
        logger.exception("impact figures could not be stored")
        return None
    finally:
        if target is not None:
            _marker(target).unlink(missing_ok=True)
    logger.info("impact figures stored for data version %s in %.1f s", version, time.perf_counter() - started)
    return folder

