"""What the page Impact shows for one territory, from either source of protected figures.

* :func:`from_release` -- funders (``financeur``, ``strategie``): the latest release
  (:class:`app.public.funder_view.FunderView`), frozen and perturbed, never the live visits;
* :func:`from_report` -- a site manager (their own sites) and the admin: the live protected report
  (:class:`geo.coverage.impact.ImpactReport`) with its adaptive time bins.

Both give a :class:`Summary`, which the views (:mod:`app.components.impact_views`) draw the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from app.public.funder_view import FunderView
from geo.coverage import impact
from geo.i18n import t

#: Columns of :attr:`Summary.regions` and :attr:`Summary.sites`.
REGION_COLUMNS = ["region", "region_name", "households", "qpv_active", "reach_share"]
SITE_COLUMNS = ["site", "site_name", "region", "households", "lon", "lat"]


@dataclass(frozen=True)
class Summary:
    """Protected figures of one territory (France or a région) for the page.

    Attributes
    ----------
    households, doors_opened : int or None
        None when hidden (or, for doors opened, absent from a block released before doors were published).
    qpv_active : int
        QPV where households were met (and published).
    reach_share : float or None
        Share of QPV residents within reach of a current site (0-1).
    trend : pandas.DataFrame
        ``code, label, households, cumulative`` per published time bin.
    notes : list of str
        Sentences explaining merged or missing periods (shown under the chart).
    regions, sites : pandas.DataFrame
        :data:`REGION_COLUMNS`, :data:`SITE_COLUMNS`.
    source : str
        ``"release"`` or ``"live"``.
    caption : str
        Where the figures come from (release number and date, or the period of the visits).
    """

    households: int | None
    doors_opened: int | None
    qpv_active: int
    reach_share: float | None
    trend: pd.DataFrame
    notes: list[str]
    regions: pd.DataFrame
    sites: pd.DataFrame
    source: str
    caption: str
    version: int | None = field(default=None)


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def from_release(view: FunderView, region: str | None, *, lang: str) -> Summary:
    """The summary of ``region`` (None: France) from the latest release."""
    figures = view.figures
    group = (region,) if region else ()
    trend = figures.series(group, lang=lang)[["code", "label", "households", "cumulative"]]
    sites = view.sites_in(region)
    return Summary(households=figures.total(group), doors_opened=figures.doors_total(group),
                   qpv_active=len(view.qpv_in(region)), reach_share=view.reach_share(region),
                   trend=trend, notes=figures.notes(group, lang=lang), regions=view.regions()[REGION_COLUMNS],
                   sites=sites[SITE_COLUMNS], source="release", caption=figures.caption(lang), version=view.version)


def own_share(report: impact.ImpactReport, region: str | None = None) -> float | None:
    """Households met over the INSEE households of the QPV where they were met (published QPV only):
    a manager's own share, in place of the national reach of the network."""
    table = report.qpv_table(region)
    table = table[(table["code_qp"] != impact.OUTSIDE) & ~table["secret"]]
    insee = table["insee_households"].astype("Float64").sum()
    return None if not insee else round(float(table["households"].astype("Float64").sum()) / float(insee), 4)


def from_report(report: impact.ImpactReport, region: str | None, *, lang: str, own_sites: bool = False) -> Summary:
    """The summary of ``region`` (None: France) from the live protected report; with ``own_sites`` (a
    manager's report), the share shown is :func:`own_share` and the régions carry it too."""
    if region:
        row = report.regions_table().set_index("region").loc[region]
        hidden = bool(row["secret"])
        households, doors = (None, None) if hidden else (_int(row["households"]), _int(row["doors_opened"]))
        reach = None if pd.isna(row["reach_share"]) else float(row["reach_share"])
    else:
        nat = report.national()
        households, doors, reach = _int(nat["households"]), _int(nat["doors_opened"]), nat["reach_share"]
    trend, notes = report.trend(region, lang=lang)
    regions = report.regions_table()
    regions = regions.assign(households=regions["households"].astype("Float64"))[REGION_COLUMNS]
    if own_sites:
        reach = own_share(report, region)
        regions = regions.assign(reach_share=[own_share(report, r) for r in regions["region"]])
    sites = report.sites_frame(region)
    sites = pd.DataFrame({"site": sites["site"], "site_name": sites["site_name"], "region": sites["region"],
                          "households": sites["households"], "lon": sites.geometry.x, "lat": sites.geometry.y})
    period = report.period
    caption = t("impact.live_caption", lang, start=period[0], end=period[1]) if period else ""
    return Summary(households=households, doors_opened=doors, qpv_active=report.qpv_count(region),
                   reach_share=reach, trend=trend, notes=notes, regions=regions, sites=sites,
                   source="own" if own_sites else "live", caption=caption)
