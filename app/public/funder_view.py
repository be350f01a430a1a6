"""The funders' figures as the app shows them: the latest release plus the names and places to draw it.

Funder-facing views -- the page Impact of the ``financeur`` and ``strategie`` roles, their downloads and
the public page ``/public/impact`` -- read :func:`latest_view` only: the cells of the latest release
(:mod:`geo.coverage.release_figures`, frozen, suppressed and perturbed) with official names and places
(région names, QPV names and centres rounded to 3 decimals, site names and commune centres) and the
share of QPV residents within reach of a site (open data). Nothing in it comes from the live visits, so
an import changes nothing a funder sees until the admin publishes the next release.

Built once per (store, data folder, release version) and shared by every request of the process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import pandas as pd

from app import data, settings
from geo import privacy
from geo.coverage import release_records
from geo.coverage.release_figures import ReleaseFigures
from geo.export.bundle import IMPACT_TABLES, release_bytes
from geo.export.html_map import ATTRIBUTION
from geo.export.report import labelled
from geo.i18n import per_language, t

logger = logging.getLogger(__name__)

#: Labels of the release's own columns (messages ``release.col.*``).
RELEASE_COLUMNS = per_language("release.col", ("label", "start_date", "end_date", "cumulative", "version"))
#: Decimals of the coordinates a funder-facing view publishes (about 100 m).
COORD_DECIMALS = 3


@dataclass(frozen=True)
class FunderView:
    """The latest release and what it takes to draw it (see the module docstring).

    Attributes
    ----------
    figures : ReleaseFigures
    region_names : dict
        Région code -> name.
    sites : pandas.DataFrame
        ``site, site_name, region, lon, lat`` of the sites the release publishes.
    qpv : pandas.DataFrame
        ``code_qp, lib_qp, site, region, households, insee_households, lon, lat`` of the QPV the
        release publishes (households: the QPV's total over the released blocks).
    reach : pandas.DataFrame or None
        :func:`geo.coverage.impact.reach_table`.
    """

    figures: ReleaseFigures
    region_names: dict[str, str]
    sites: pd.DataFrame
    qpv: pd.DataFrame
    reach: pd.DataFrame | None

    @property
    def version(self) -> int | None:
        """Version of the release shown (None before the first one)."""
        return self.figures.release.version if self.figures.release else None

    def reach_share(self, region: str | None = None) -> float | None:
        """Share (0-1) of QPV residents within reach of a site, in France or a région."""
        if self.reach is None:
            return None
        hit = self.reach[self.reach["region"] == (region or privacy.TOTAL)]
        return None if hit.empty or pd.isna(hit["reach_share"].iat[0]) else float(hit["reach_share"].iat[0])

    def regions(self) -> pd.DataFrame:
        """``region, region_name, households, qpv_active, reach_share`` of the régions with a figure."""
        frame = self.figures.groups(1)
        if frame.empty:
            return pd.DataFrame(columns=["region", "region_name", "households", "qpv_active", "reach_share"])
        frame = frame[frame["region"] != release_records.impact.UNKNOWN_REGION].copy()
        frame["region_name"] = frame["region"].map(self.region_names).fillna(frame["region"])
        frame["qpv_active"] = [int((self.qpv["region"] == r).sum()) for r in frame["region"]]
        frame["reach_share"] = [self.reach_share(r) for r in frame["region"]]
        return frame[["region", "region_name", "households", "qpv_active", "reach_share"]].reset_index(drop=True)

    def sites_in(self, region: str | None = None, *, hidden: bool = False) -> pd.DataFrame:
        """Published sites (of a région) with their households over the released blocks; with ``hidden``,
        the sites whose series is hidden too (households missing, ``secret`` True)."""
        frame = self.sites if region is None else self.sites[self.sites["region"] == region]
        if not hidden:
            frame = frame[~frame["secret"].astype(bool)]  # an empty object column would select columns
        return frame.reset_index(drop=True)

    def qpv_in(self, region: str | None = None) -> pd.DataFrame:
        """Published QPV (of a région)."""
        frame = self.qpv if region is None else self.qpv[self.qpv["region"] == region]
        return frame.reset_index(drop=True)

    def table(self, name: str, *, region: str | None = None, lang: str = "fr") -> pd.DataFrame:
        """A funders' table of the release with labelled columns (``regions``, ``quarters``, ``sites``,
        ``qpv``), the figures exactly as published."""
        if name == "regions":
            frame = self.regions()
        elif name == "quarters":
            frame = self.figures.series((region,) if region else (), lang=lang)
            frame = frame[["label", "start_date", "end_date", "households", "cumulative", "doors_opened", "version"]]
        elif name == "sites":
            frame = self.sites_in(region, hidden=True)[["region", "site", "site_name", "households", "secret"]]
        elif name == "qpv":
            frame = self.qpv_in(region)[["region", "site", "code_qp", "lib_qp", "households", "insee_households"]]
            frame = frame.assign(coverage_rate=(frame["households"].astype(float)
                                                / frame["insee_households"].where(frame["insee_households"] > 0))
                                 .round(3))
        else:
            raise ValueError(f"name: expected regions, quarters, sites or qpv, got {name!r}")
        return labelled(frame.reset_index(drop=True), lang).rename(columns=dict(RELEASE_COLUMNS[lang]))

    def notes(self, lang: str = "fr") -> dict[str, str]:
        """The « Notes » sheet of the funders' workbook: the release, secrecy and perturbation, sources."""
        return {t("export.note.secret", lang): privacy.NOTE[lang], t("release.col.version", lang):
                self.figures.caption(lang), t("export.note.sources", lang): ATTRIBUTION[lang]}

    def export_bytes(self, fmt: str, *, table: str = "all", region: str | None = None, lang: str = "fr") -> bytes:
        """A download of the release (:func:`geo.export.bundle.release_bytes`): CSV, XLSX or GeoJSON."""
        import geopandas as gpd

        sheets = {name: self.table(name, region=region, lang=lang) for name in IMPACT_TABLES}
        qpv, sites = self.qpv_in(region), self.sites_in(region)
        points = pd.concat([
            labelled(qpv.drop(columns=["lon", "lat"]), lang).assign(niveau="qpv", lon=qpv["lon"], lat=qpv["lat"]),
            labelled(sites.drop(columns=["lon", "lat"]), lang).assign(niveau="site", lon=sites["lon"],
                                                                       lat=sites["lat"])], ignore_index=True)
        points = points.dropna(subset=["lon", "lat"])
        features = gpd.GeoDataFrame(points.drop(columns=["lon", "lat"]),
                                    geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs="EPSG:4326")
        regions = None
        if fmt == "png":
            from geo.export.bundle import _regions

            regions = _regions(settings.data_dir())
        return release_bytes(sheets, fmt, table=table, notes=self.notes(lang), features=features, lang=lang,
                             regions=regions, caption=self.figures.caption(lang))


def build_view(figures: ReleaseFigures, *, data_dir: str | None) -> FunderView:
    """Join the release's groups to official names and places (the I/O edge: processed data)."""
    from geo.load import load_qpv, load_regions

    names: dict[str, str] = {}
    try:
        reg = load_regions(data_dir=data_dir)
        names = dict(zip(reg["code"].astype(str), reg["nom"].astype(str), strict=True))
    except Exception:  # noqa: BLE001 - names are a nicety
        logger.info("no régions layer: régions shown by code")
    empty_sites = pd.DataFrame(columns=["site", "site_name", "region", "households", "secret", "lon", "lat"])
    if figures.empty:
        return FunderView(figures, names, empty_sites, pd.DataFrame(columns=[
            "code_qp", "lib_qp", "site", "region", "households", "insee_households", "lon", "lat"]), None)
    sites = figures.groups(2)
    sites = sites[sites["site"] != privacy.TOTAL].assign(secret=lambda f: f["households"].isna())
    places = release_records.impact.site_places(list(sites["site"]), communes=_communes(data_dir), names=None)
    named = data.site_names(list(sites["site"]))
    sites = sites.merge(places[["site", "lon", "lat"]], on="site", how="left")
    sites["site_name"] = sites["site"].map(named).fillna(sites["site"])
    qpv = figures.groups(3).dropna(subset=["households"])
    qpv = qpv[qpv["code_qp"] != release_records.impact.OUTSIDE]
    layer = load_qpv(data_dir=data_dir)
    attrs = pd.DataFrame({"code_qp": layer["code_qp"].astype(str), "lib_qp": layer["lib_qp"].astype(str),
                          "insee_households": pd.to_numeric(layer["households"], errors="coerce"),
                          "lon": layer.geometry.representative_point().x,
                          "lat": layer.geometry.representative_point().y})
    qpv = qpv.merge(attrs, on="code_qp", how="left")
    for frame in (sites, qpv):
        frame["lon"] = frame["lon"].astype(float).round(COORD_DECIMALS)
        frame["lat"] = frame["lat"].astype(float).round(COORD_DECIMALS)
    return FunderView(figures, names, sites[["site", "site_name", "region", "households", "secret", "lon", "lat"]],
                      qpv[["code_qp", "lib_qp", "site", "region", "households", "insee_households", "lon", "lat"]],
                      data.reach_share(data_dir))


def _communes(data_dir: str | None) -> pd.DataFrame:
    from geo.load import load_communes

    return load_communes(data_dir=data_dir)


_VIEWS: data.VersionedCache[FunderView] = data.VersionedCache("funder views")
_MIGRATED: set[str] = set()
_ENGINES: dict[tuple[int, str], Any] = {}
_ENGINES_LOCK = threading.Lock()


def latest_release(url: str) -> Any:
    """The latest :class:`geo.coverage.releases.Release` of the store at ``url`` (None before the first)."""
    from geo.coverage import releases

    store = releases.ReleaseStore(store_engine(url), migrate=url not in _MIGRATED)
    _MIGRATED.add(url)
    return store.latest()


def latest_version(url: str) -> int | None:
    """Version of the latest release in the store at ``url`` (None before the first)."""
    latest = latest_release(url)
    return latest.version if latest else None


def store_engine(url: str):  # noqa: ANN201
    """One engine per store and process, kept: every view of the page reads the release version, and a new
    SQLite engine costs a file open and a journal check each time (a tenth of a second or more)."""
    from geo.db import make_engine

    key = (os.getpid(), url)  # a forked worker opens its own connections
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = make_engine(url)
    return engine


def latest_view() -> FunderView:
    """The :class:`FunderView` of the app's store, built once per release version."""
    from geo.coverage import releases

    url = settings.store_url()
    folder = settings.data_dir()
    version = latest_version(url)

    def build() -> FunderView:
        figures = ReleaseFigures.from_store(releases.ReleaseStore(store_engine(url), migrate=False), version=version)
        return build_view(figures, data_dir=folder)

    return _VIEWS.get((url, folder, version), build)
