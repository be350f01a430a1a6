"""The funders' impact calculation: national and regional figures of the door-to-door work, protected
by statistical secrecy.

Pure functions (frames in, frames out); the I/O edge is :func:`geo.export.loaders.impact_report`, the
formats (CSV, XLSX, GeoJSON, HTML and PNG maps) are in :mod:`geo.export`. The figures:

* **households met** (``households``): distinct doors (households) with at least one ``ouvert`` visit,
  each counted once, in the quarter, site and QPV of its *first* opening -- so quarters, sites and
  QPV add up to their totals;
* **doors opened** (``doors_opened``): visits whose outcome is ``ouvert`` (a household met twice counts
  twice);
* **visits** (``visits``): doors knocked, every outcome;
* **QPV where the association works**: QPV with at least one visit;
* **share of QPV residents within reach of a site**: residents of the QPV within the catchment of a
  current site (:mod:`geo.siting`) over all QPV residents (INSEE population), national and per région.

All figures about households are cells of one :class:`geo.privacy.Cube` -- geography (national >
région > site > QPV or « hors QPV ») × time (whole period > quarter) -- protected with
:func:`geo.privacy.protect` (11 households, secondary suppression), and every table of the report reads
that cube only. A QPV visited from two sites is attached to the site that met most of its households,
so that the geography is a tree and the QPV map reads cells of the cube.

>>> report = build_report(cells, sites=sites, qpv=qpv)        # doctest: +SKIP
>>> report.table("regions")                                   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo import privacy, timebins
from geo.i18n import t

logger = logging.getLogger(__name__)

GEO = ("region", "site", "code_qp")
TIME = ("quarter",)
MEASURES = ("households", "doors_opened", "visits")
#: Published combinations of depths (geography, time).
DEPTHS = ((0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (1, 1))
#: Code of the cell of visits outside every QPV, one per site.
OUTSIDE = "hors_qpv"
UNKNOWN_REGION = "inconnue"
TABLES = ("national", "regions", "quarters", "sites", "qpv")


def quarter_label(day: np.ndarray) -> np.ndarray:
    """``YYYY-Tn`` (trimestre) of dates (numpy datetime64 or days since 1970-01-01)."""
    days = np.asarray(day)
    if not np.issubdtype(days.dtype, np.datetime64):
        days = np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(np.int64)
    years = 1970 + months // 12
    quarters = months % 12 // 3 + 1
    return np.array([f"{y}-T{q}" for y, q in zip(years.tolist(), quarters.tolist(), strict=True)], dtype=object)


def cells_from_events(prep: object) -> pd.DataFrame:
    """Finest cells of the report from prepared door visits.

    Parameters
    ----------
    prep : geo.coverage.aggregate.PreparedEvents
        Visits as arrays (:func:`geo.coverage.aggregate.prepare_events`), in time order.

    Returns
    -------
    pandas.DataFrame
        One row per (site, QPV or :data:`OUTSIDE`, quarter) with visits: ``site``, ``code_qp``,
        ``quarter``, ``households`` (first met there), ``doors_opened``, ``visits``. No door, building or
        coordinate leaves this function.
    """
    opened_code = 0  # index of "ouvert" in geo.coverage.schema.OUTCOMES
    qpv_codes = np.append(np.asarray(prep.qpv_codes, dtype=object), OUTSIDE)  # index -1 -> OUTSIDE
    sites = np.asarray(prep.sites, dtype=object)
    ev_qpv = qpv_codes[prep.b_qpv[prep.building]]
    ev_site = sites[prep.site]
    ev_quarter = quarter_label(prep.day)
    opened = np.asarray(prep.outcome) == opened_code
    frame = pd.DataFrame({"site": ev_site, "code_qp": ev_qpv, "quarter": ev_quarter,
                          "visits": 1, "doors_opened": opened.astype(np.int64)})
    # households: first opening of each door (events are in time order)
    opened_idx = np.flatnonzero(opened)
    _, first = np.unique(np.asarray(prep.door)[opened_idx], return_index=True)
    firsts = opened_idx[first]
    met = pd.DataFrame({"site": ev_site[firsts], "code_qp": ev_qpv[firsts], "quarter": ev_quarter[firsts],
                        "households": 1})
    keys = ["site", "code_qp", "quarter"]
    out = frame.groupby(keys, sort=True)[["doors_opened", "visits"]].sum()
    hh = met.groupby(keys, sort=True)["households"].sum()
    out = out.join(hh, how="left").fillna({"households": 0}).reset_index()
    out["households"] = out["households"].astype(np.int64)
    for key in keys:
        out[key] = out[key].astype(str)
    return out[[*keys, *MEASURES]]


def attach_home_sites(cells: pd.DataFrame) -> pd.DataFrame:
    """Attach each QPV to one site (the one that met most of its households), so the geography is a tree.

    Visits outside every QPV stay with their own site.
    """
    inside = cells["code_qp"] != OUTSIDE
    if not inside.any():
        return cells.copy()
    per = cells[inside].groupby(["code_qp", "site"], sort=True)[["households", "visits"]].sum().reset_index()
    per = per.sort_values(["code_qp", "households", "visits", "site"], ascending=[True, False, False, True])
    home = per.drop_duplicates("code_qp").set_index("code_qp")["site"]
    out = cells.copy()
    out.loc[inside, "site"] = out.loc[inside, "code_qp"].map(home)
    moved = int((out["site"] != cells["site"]).sum())
    if moved:
        logger.info("%d cell(s) of QPV visited from two sites attached to their main site", moved)
    return out.groupby(["site", "code_qp", "quarter"], sort=True)[list(MEASURES)].sum().reset_index()


def site_places(codes: list[str], *, communes: pd.DataFrame, arrondissements: pd.DataFrame | None = None,
                names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Name, région and map position of site codes (commune, arrondissement or EPCI SIREN).

    Parameters
    ----------
    codes : list of str
    communes : pandas.DataFrame
        :func:`geo.load.load_communes` (``insee_com, name, insee_reg, lib_reg, siren_epci, lib_epci, lon, lat``).
    arrondissements : pandas.DataFrame, optional
        :func:`geo.load.load_arrondissements`.
    names : mapping, optional
        Preferred names (the sites file).

    Returns
    -------
    pandas.DataFrame
        ``site, site_name, region, region_name, lon, lat`` (région :data:`UNKNOWN_REGION` when the code is
        unknown).
    """
    places = communes[["insee_com", "name", "insee_reg", "lib_reg", "lon", "lat"]].rename(
        columns={"insee_com": "site", "name": "site_name", "insee_reg": "region", "lib_reg": "region_name"})
    if arrondissements is not None and len(arrondissements):
        arr = arrondissements[["insee_com", "name", "insee_reg", "lib_reg", "lon", "lat"]].rename(
            columns={"insee_com": "site", "name": "site_name", "insee_reg": "region", "lib_reg": "region_name"})
        places = pd.concat([arr, places], ignore_index=True)
    wanted = {str(c) for c in codes}
    if "siren_epci" in communes.columns:
        members = communes.dropna(subset=["siren_epci"])
        members = members[members["siren_epci"].astype(str).isin(wanted)]  # only the EPCI asked for
        epci = members.groupby("siren_epci", sort=True).agg(
            site_name=("lib_epci", "first"), region=("insee_reg", lambda s: s.mode().iat[0]),
            region_name=("lib_reg", lambda s: s.mode().iat[0]), lon=("lon", "mean"), lat=("lat", "mean"),
        ).reset_index().rename(columns={"siren_epci": "site"})
        places = pd.concat([places, epci], ignore_index=True)
    places["site"] = places["site"].astype(str)
    places = places.drop_duplicates("site")
    out = pd.DataFrame({"site": [str(c) for c in codes]}).merge(places, on="site", how="left")
    out["region"] = out["region"].fillna(UNKNOWN_REGION).astype(str)
    out["region_name"] = out["region_name"].fillna("Région inconnue").astype(str)
    out["site_name"] = out["site_name"].fillna(out["site"]).astype(str)
    if names:
        out["site_name"] = out["site"].map(lambda c: names.get(c)).fillna(out["site_name"]).astype(str)
    return out


def reach_table(qpv: pd.DataFrame, covered: np.ndarray) -> pd.DataFrame:
    """Share of QPV residents within reach of a current site, national and per région.

    Parameters
    ----------
    qpv : pandas.DataFrame
        One row per QPV with ``insee_reg`` and ``population`` (NaN: unknown, left out of both sides).
    covered : numpy.ndarray of bool
        QPV within reach of a site (``geo.siting.resolve_network(...).covered``), aligned with ``qpv``.

    Returns
    -------
    pandas.DataFrame
        ``region`` (``*`` for France), ``population``, ``population_reached``, ``reach_share`` (0-1),
        ``qpv_reached``.
    """
    covered = np.asarray(covered, dtype=bool)
    if covered.shape != (len(qpv),):
        raise ValueError(f"covered: expected {len(qpv)} booleans aligned with qpv, got shape {covered.shape}")
    pop = pd.to_numeric(qpv["population"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(pop)
    frame = pd.DataFrame({"region": qpv["insee_reg"].astype(str).to_numpy(), "population": np.where(known, pop, 0.0),
                          "population_reached": np.where(known & covered, pop, 0.0),
                          "qpv_reached": covered.astype(np.int64)})
    per = frame.groupby("region", sort=True).sum().reset_index()
    total = pd.DataFrame([{"region": privacy.TOTAL, **frame.drop(columns="region").sum().to_dict()}])
    out = pd.concat([total, per], ignore_index=True)
    out["reach_share"] = np.where(out["population"] > 0, out["population_reached"] / out["population"].where(
        out["population"] > 0, 1.0), np.nan)
    return out


@dataclass(frozen=True)
class ImpactReport:
    """The protected figures of the funders' view (see :func:`build_report`).

    Attributes
    ----------
    cube : geo.privacy.Cube
        Geography × quarter, protected.
    sites : pandas.DataFrame
        ``site, site_name, region, region_name, lon, lat`` of the sites with visits.
    qpv : pandas.DataFrame
        Attributes of the QPV with visits: ``code_qp, lib_qp, insee_households`` (+ ``geometry`` when given).
    regions : dict
        Région code -> name.
    reach : pandas.DataFrame or None
        :func:`reach_table`.
    demo : bool
        True when fictitious demo visits are included (« données fictives »).
    period : tuple of str or None
        First and last quarter with visits.
    bins : geo.timebins.TimeBins or None
        Households met per adaptive time bin of France, each région and each site (:func:`trend`).
    """

    cube: privacy.Cube
    sites: pd.DataFrame
    qpv: pd.DataFrame
    regions: dict[str, str]
    reach: pd.DataFrame | None = None
    demo: bool = False
    period: tuple[str, str] | None = field(default=None)
    bins: timebins.TimeBins | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        """True when no visit is recorded."""
        return self.period is None

    # ---------------------------------------------------------------------------------- tables
    def _rates(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        visits = frame["visits"].astype(float)
        frame["open_rate"] = (frame["doors_opened"].astype(float) / visits.where(visits > 0)).round(3)
        for m in MEASURES:
            frame[m] = frame[m].astype("Int64")
        return frame

    def national(self) -> dict[str, object]:
        """Headline figures for France: the three counts (None when hidden), QPV, reach share."""
        row = privacy.view(self.cube, (0, 0)).iloc[0]
        out: dict[str, object] = {m: (None if bool(row["secret"]) else int(row[m])) for m in MEASURES}
        out["secret"] = bool(row["secret"])
        out["qpv_active"] = self.qpv_count()
        out["sites"] = int(len(self.sites))
        reach = self._reach(privacy.TOTAL)
        out["reach_share"] = None if reach is None else round(reach, 4)
        out["demo"] = self.demo
        out["period"] = self.period
        return out

    def _reach(self, region: str) -> float | None:
        if self.reach is None:
            return None
        hit = self.reach[self.reach["region"] == region]
        return None if hit.empty or pd.isna(hit["reach_share"].iat[0]) else float(hit["reach_share"].iat[0])

    def qpv_count(self, region: str | None = None) -> int:
        """Number of QPV with visits (in a région)."""
        cells = privacy.view(self.cube, (3, 0), where={"region": region} if region else None)
        return int((cells["code_qp"] != OUTSIDE).sum())

    def regions_table(self) -> pd.DataFrame:
        """One row per région: counts (hidden below 11 households), QPV with visits, reach share."""
        frame = self._rates(privacy.view(self.cube, (1, 0)))
        frame.insert(1, "region_name", frame["region"].map(self.regions).fillna(frame["region"]))
        frame["qpv_active"] = [self.qpv_count(r) for r in frame["region"]]
        frame["reach_share"] = [None if (v := self._reach(r)) is None else round(v, 3) for r in frame["region"]]
        return frame

    def quarters_table(self, region: str | None = None) -> pd.DataFrame:
        """Households met for the first time, doors opened and visits per quarter (France or a région),
        with the cumulative households met (hidden from the first hidden quarter on)."""
        if region:
            frame = privacy.view(self.cube, (1, 1), where={"region": region}).drop(columns="region")
        else:
            frame = privacy.view(self.cube, (0, 1))
        frame = _all_quarters(frame.sort_values("quarter").reset_index(drop=True))
        frame = self._rates(frame)
        cumulative = frame["households"].astype("Float64").cumsum(skipna=False)
        frame["households_cumulative"] = cumulative.astype("Int64")
        return frame

    def trend(self, region: str | None = None, *, lang: str = "fr") -> tuple[pd.DataFrame, list[str]]:
        """Households met per adaptive time bin (France or a région) and the notes that explain merges.

        Every bin covers at least 11 households (quarters merged into half-years or years where needed),
        and the cumulative, computed on the published bins, ends at the territory's total.

        Returns
        -------
        tuple
            ``code, label, households, cumulative`` per bin, and the notes (:func:`geo.timebins.notes`).
        """
        if self.bins is None:
            return pd.DataFrame(columns=["code", "label", "households", "cumulative"]), []
        group = (region,) if region else ()
        series = self.bins.series(group, lang=lang)
        return series[["code", "label", "households", "cumulative"]], timebins.notes(self.bins, group, lang=lang)

    def sites_table(self, region: str | None = None) -> pd.DataFrame:
        """One row per site (in a région)."""
        frame = privacy.view(self.cube, (2, 0), where={"region": region} if region else None)
        frame = self._rates(frame)
        names = self.sites.set_index("site")["site_name"]
        frame.insert(2, "site_name", frame["site"].map(names).fillna(frame["site"]))
        frame["qpv_active"] = [self.qpv_count_site(s) for s in frame["site"]]
        return frame

    def qpv_count_site(self, site: str) -> int:
        """Number of QPV with visits attached to ``site``."""
        cells = privacy.view(self.cube, (3, 0), where={"site": site})
        return int((cells["code_qp"] != OUTSIDE).sum())

    def qpv_table(self, region: str | None = None, *, lang: str = "fr") -> pd.DataFrame:
        """One row per QPV with visits (and one « hors QPV » row per site), with the coverage rate."""
        frame = privacy.view(self.cube, (3, 0), where={"region": region} if region else None)
        frame = self._rates(frame)
        attrs = self.qpv.set_index("code_qp")
        outside = t("report.outside_qpv", lang)
        frame.insert(3, "lib_qp", frame["code_qp"].map(attrs["lib_qp"]).where(frame["code_qp"] != OUTSIDE, outside))
        insee = frame["code_qp"].map(attrs["insee_households"]).astype(float)
        frame["insee_households"] = insee.round(0).astype("Int64")
        met = frame["households"].astype("Float64")
        frame["coverage_rate"] = (met / insee.where(insee > 0)).round(3)
        return frame

    def table(self, name: str, *, region: str | None = None, lang: str = "fr") -> pd.DataFrame:
        """A report table by name (:data:`TABLES`), with columns in order and the ``secret`` flag.

        Raises
        ------
        ValueError
            When ``name`` is not one of :data:`TABLES`.
        """
        if name == "national":
            nat = self.national()
            return pd.DataFrame([{k: nat[k] for k in (*MEASURES, "qpv_active", "sites", "reach_share", "secret")}])
        if name == "regions":
            return self.regions_table()
        if name == "quarters":
            return self.quarters_table(region)
        if name == "sites":
            return self.sites_table(region)
        if name == "qpv":
            return self.qpv_table(region, lang=lang)
        raise ValueError(f"name: expected one of {', '.join(TABLES)}, got {name!r}")

    def qpv_frame(self, region: str | None = None, *, lang: str = "fr") -> pd.DataFrame:
        """:meth:`qpv_table` joined to the QPV geometries (a GeoDataFrame when geometries were given)."""
        table = self.qpv_table(region, lang=lang)
        table = table[table["code_qp"] != OUTSIDE]
        if "geometry" not in self.qpv.columns:
            return table.reset_index(drop=True)
        import geopandas as gpd

        geoms = self.qpv.set_index("code_qp")["geometry"]
        return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=list(table["code_qp"].map(geoms)),
                                crs="EPSG:4326")

    def sites_frame(self, region: str | None = None) -> pd.DataFrame:
        """:meth:`sites_table` with the site positions (commune centroids), as a GeoDataFrame."""
        import geopandas as gpd

        table = self.sites_table(region)
        pos = self.sites.set_index("site")
        lon = table["site"].map(pos["lon"]).astype(float)
        lat = table["site"].map(pos["lat"]).astype(float)
        return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _all_quarters(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the quarters without any visit between the first and the last (published as 0: no household)."""
    if frame.empty or not frame["quarter"].str.fullmatch(r"\d{4}-T[1-4]").all():
        return frame
    first, last = frame["quarter"].iat[0], frame["quarter"].iat[-1]
    index = [(int(first[:4]) * 4 + int(first[-1]) - 1) + i
             for i in range((int(last[:4]) * 4 + int(last[-1])) - (int(first[:4]) * 4 + int(first[-1])) + 1)]
    labels = [f"{k // 4}-T{k % 4 + 1}" for k in index]
    full = pd.DataFrame({"quarter": labels}).merge(frame, on="quarter", how="left")
    for m in MEASURES:
        full[m] = full[m].where(full["secret"].notna(), 0.0)
    full["secret"] = full["secret"].fillna(False).astype(bool)
    return full


def build_report(
    cells: pd.DataFrame,
    *,
    sites: pd.DataFrame,
    qpv: pd.DataFrame,
    regions: Mapping[str, str] | None = None,
    reach: pd.DataFrame | None = None,
    demo: bool = False,
    threshold: int = privacy.THRESHOLD,
) -> ImpactReport:
    """Build and protect the funders' report.

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`cells_from_events` (``site, code_qp, quarter`` and the :data:`MEASURES`).
    sites : pandas.DataFrame
        :func:`site_places` of the sites in ``cells`` (gives each site its région).
    qpv : pandas.DataFrame
        QPV attributes: ``code_qp, lib_qp, households`` (INSEE), optionally ``geometry``.
    regions : mapping, optional
        Région code -> name (default: from ``sites``).
    reach : pandas.DataFrame, optional
        :func:`reach_table`.
    demo : bool
        Fictitious demo data included.
    threshold : int
        Households a published cell must cover (default 11).

    Returns
    -------
    ImpactReport
    """
    missing = [c for c in ("site", "code_qp", "quarter", *MEASURES) if c not in cells.columns]
    if missing:
        raise ValueError(f"cells: expected the columns {missing}, got {list(cells.columns)}")
    if "site" not in sites.columns or "region" not in sites.columns:
        raise ValueError(f"sites: expected the columns site and region, got {list(sites.columns)}")
    tree = attach_home_sites(cells)
    region_of = sites.drop_duplicates("site").set_index("site")["region"]
    tree["region"] = tree["site"].map(region_of).fillna(UNKNOWN_REGION).astype(str)
    empty = tree.empty
    if empty:  # one zero cell, so that every view exists (and says "secret")
        tree = pd.DataFrame({"site": ["-"], "code_qp": [OUTSIDE], "quarter": ["-"], **{m: [0] for m in MEASURES},
                             "region": [UNKNOWN_REGION]})
    cube = privacy.protect(privacy.build_cube(tree, dims=(GEO, TIME), count="households", measures=MEASURES[1:],
                                              depths=DEPTHS, threshold=threshold))
    used_sites = sites[sites["site"].isin(set(tree["site"]))].reset_index(drop=True)
    cols = ["code_qp", "lib_qp", "households"] + (["geometry"] if "geometry" in qpv.columns else [])
    attrs = qpv[qpv["code_qp"].astype(str).isin(set(tree["code_qp"]))][cols].rename(
        columns={"households": "insee_households"})
    names = dict(regions) if regions else {}
    if "region_name" in sites.columns:
        for code, name in zip(sites["region"], sites["region_name"], strict=True):
            names.setdefault(str(code), str(name))
    quarters = [] if empty else sorted(set(tree["quarter"]))
    period = (quarters[0], quarters[-1]) if quarters else None
    bins = _trend_bins(tree, threshold) if not empty else None
    return ImpactReport(cube=cube, sites=used_sites, qpv=attrs.reset_index(drop=True), regions=names,
                        reach=reach, demo=bool(demo), period=period, bins=bins)


def _trend_bins(tree: pd.DataFrame, threshold: int) -> timebins.TimeBins | None:
    """Adaptive time bins of households met, France > région > site (None when quarters are not codes)."""
    frame = tree[tree["quarter"].astype(str).str.fullmatch(r"\d{4}-T[1-4]")]
    if frame.empty:
        return None
    return timebins.adaptive_bins(frame, levels=("region", "site"), period="quarter", count="households",
                                  threshold=threshold)
