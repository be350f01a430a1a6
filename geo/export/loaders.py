"""I/O edge of the exports: read the store and the processed data, then call the pure builders.

:func:`impact_report` is what the page « Impact », ``voisinmap export impact`` and the downloads use;
:func:`scenario` what ``voisinmap export scenario`` uses.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geo import config
from geo.coverage import impact

logger = logging.getLogger(__name__)

DEFAULT_SITES_FILE = config.PROJECT_ROOT / "data" / "sites.csv"


def _site_names(sites_file: str | os.PathLike[str] | None) -> dict[str, str]:
    path = Path(sites_file) if sites_file else DEFAULT_SITES_FILE
    if not path.exists():
        return {}
    from geo.siting import read_sites

    frame = read_sites(path)
    return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))


def reach(*, data_dir: str | os.PathLike[str] | None = None, sites_file: str | os.PathLike[str] | None = None,
          radius_km: float | None = None) -> pd.DataFrame | None:
    """:func:`geo.coverage.impact.reach_table` of the current network (``data/sites.csv``), or None without it."""
    from geo import siting
    from geo.load import load_arrondissements, load_communes, load_qpv

    path = Path(sites_file) if sites_file else DEFAULT_SITES_FILE
    if not path.exists():
        return None
    radius = radius_km if radius_km is not None else siting.DEFAULT_RADIUS_KM
    inst = siting.build_instance(load_qpv(data_dir=data_dir), load_communes(data_dir=data_dir),
                                 load_arrondissements(data_dir=data_dir), radius_km=radius)
    network = siting.resolve_network(inst, siting.read_sites(path))
    return impact.reach_table(inst.qpv, network.covered)


def impact_report(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None,
                  sites_file: str | os.PathLike[str] | None = None, with_reach: bool = True,
                  radius_km: float | None = None, only_sites: tuple[str, ...] | None = None) -> impact.ImpactReport:
    """The protected funders' report of the visits in the store.

    Parameters
    ----------
    db : str, optional
        Database URL of the door-visit store (default :func:`geo.config.database_url`).
    data_dir : path-like, optional
        Processed national data.
    sites_file : path-like, optional
        The current sites (default ``data/sites.csv``): names and the reach share.
    with_reach : bool
        Compute the share of QPV residents within reach of a site (builds a siting instance, ~2 s).
    radius_km : float, optional
        Catchment radius (default :data:`geo.siting.DEFAULT_RADIUS_KM`).
    only_sites : tuple of str, optional
        Keep only the visits of these sites (``None``: all). A site manager's report is built from their
        own sites only: they know those figures exactly (door level), so a report that also held other
        sites would let them subtract their own figures from a total and recover a hidden cell.
    """
    from geo.coverage.aggregate import prepare_events
    from geo.coverage.store import load_events, open_store
    from geo.load import load_arrondissements, load_communes, load_qpv

    engine = open_store(db)
    try:
        events = load_events(engine)
    finally:
        engine.dispose()
    demo = bool(events["demo"].astype(bool).any()) if len(events) and "demo" in events.columns else False
    qpv = load_qpv(data_dir=data_dir)
    if len(events):
        prep = prepare_events(events)
        cells = impact.cells_from_events(prep)
    else:
        cells = pd.DataFrame({c: pd.Series([], dtype=object) for c in ("site", "code_qp", "quarter")}
                             | {m: pd.Series([], dtype="int64") for m in impact.MEASURES})
    del events
    if only_sites is not None:
        cells = cells[cells["site"].astype(str).isin([str(code) for code in only_sites])].reset_index(drop=True)
    sites = impact.site_places(sorted(set(cells["site"])), communes=load_communes(data_dir=data_dir),
                            arrondissements=load_arrondissements(data_dir=data_dir), names=_site_names(sites_file))
    reach_frame = reach(data_dir=data_dir, sites_file=sites_file, radius_km=radius_km) if with_reach else None
    regions = {}
    try:
        from geo.load import load_regions

        reg = load_regions(data_dir=data_dir)
        regions = dict(zip(reg["code"].astype(str), reg["nom"].astype(str), strict=True))
    except Exception:  # noqa: BLE001 - names are a nicety
        logger.debug("no régions layer for names")
    report = impact.build_report(cells, sites=sites, qpv=qpv, regions=regions, reach=reach_frame, demo=demo)
    logger.info("impact report: %d cells, %d hidden", len(report.cube.cells), int(report.cube.cells["suppressed"].sum()))
    return report


@dataclass(frozen=True)
class Scenario:
    """A siting scenario ready to export: the recommendation and the frames of the maps."""

    recommendation: Any
    qpv: pd.DataFrame
    sites: pd.DataFrame
    radius_km: float


def scenario(*, k: int = 10, radius_km: float | None = None, data_dir: str | os.PathLike[str] | None = None,
             sites_file: str | os.PathLike[str] | None = None) -> Scenario:
    """Recommend ``k`` new sites (heuristic) with the current network locked in, for export."""
    from geo import siting
    from geo.export.html_map import scenario_frames
    from geo.load import load_arrondissements, load_communes, load_qpv

    if k < 1:
        raise ValueError(f"k: expected a positive number of new sites, got {k}")
    radius = radius_km if radius_km is not None else siting.DEFAULT_RADIUS_KM
    inst = siting.build_instance(load_qpv(data_dir=data_dir), load_communes(data_dir=data_dir),
                                 load_arrondissements(data_dir=data_dir), radius_km=radius)
    path = Path(sites_file) if sites_file else DEFAULT_SITES_FILE
    current = siting.read_sites(path) if path.exists() else None
    network = siting.resolve_network(inst, current)
    reco = siting.recommend(inst, network, k=k, with_target=False)
    qpv, sites = scenario_frames(inst, reco, network)
    return Scenario(reco, qpv, sites, radius)
