"""PNG pictures of the maps for slides, drawn with matplotlib from the same data as the web maps.

No browser and no network: région outlines, QPV polygons coloured with the same classes and colours as
:mod:`geo.export.html_map`, sites as circles, a legend, a title and the sources. Funders' pictures use
the protected report only (hidden cells in grey, hatched).
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.export import html_map as hm

logger = logging.getLogger(__name__)

#: Size of the picture: 16:10 at 1600 × 1000 pixels.
FIGSIZE = (10.0, 6.25)
DPI = 160


def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.06, 0.70, 0.86))
    ax.set_axis_off()
    return fig, ax


def _frame_extent(ax: Any, bounds: tuple[float, float, float, float] | None) -> None:
    west, south, east, north = bounds if bounds is not None else (-5.2, 41.3, 9.6, 51.1)
    k = 1.0 / np.cos(np.radians((south + north) / 2))
    pos = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    ratio = (pos.width * fig_w) / (pos.height * fig_h)
    dx, dy = east - west, north - south
    if dx < ratio * dy * k:  # widen to fill the frame
        grow = (ratio * dy * k - dx) / 2
        west, east = west - grow, east + grow
    else:
        grow = (dx / (ratio * k) - dy) / 2
        south, north = south - grow, north + grow
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(k, adjustable="box")


def _regions(ax: Any, regions: pd.DataFrame | None) -> None:
    if regions is not None and len(regions):
        regions.plot(ax=ax, facecolor="#f7f7f7", edgecolor=hm.OUTLINE_COLOUR, linewidth=0.6, zorder=1)


def _finish(fig: Any, title: str, attribution: str, handles: list, *, note: str | None = None) -> bytes:
    fig.text(0.01, 0.965, title, fontsize=13, fontweight="bold", va="center")
    fig.text(0.01, 0.02, attribution, fontsize=6.5, color="#333", va="center")
    if handles:
        import textwrap

        for h in handles:
            h.set_label(textwrap.fill(h.get_label(), 38))
        leg = fig.legend(handles=handles, loc="center left", bbox_to_anchor=(0.71, 0.5), fontsize=7, frameon=True,
                         framealpha=0.95, title=textwrap.fill(note or "", 40) or None, title_fontsize=7)
        leg._legend_box.align = "left"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def report_png(report: Any, *, region: str | None = None, regions: pd.DataFrame | None = None,
               lang: str = "fr") -> bytes:
    """The funders' map as a PNG (bytes), from a protected :class:`geo.coverage.impact.ImpactReport`."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    lang = hm._lang(lang)
    tx = hm.TEXT[lang]
    fig, ax = _figure()
    qpv = report.qpv_frame(region, lang=lang)
    sites = report.sites_frame(region)
    _regions(ax, regions)
    if len(sites):
        met = sites["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
        size = np.where(sites["secret"], 40.0, 40.0 + 400.0 * met / max(met.max(), 1.0))
        colour = np.where(sites["secret"], hm.SECRET_COLOUR, hm.SITE_COLOUR)
        ax.scatter(sites.geometry.x, sites.geometry.y, s=size, c=list(colour), alpha=0.5, edgecolors="#333",
                   linewidths=0.6, zorder=3)
    if "geometry" in getattr(qpv, "columns", []) and len(qpv):
        colours = [hm.share_colour(v) for v in qpv["coverage_rate"].astype("Float64")]
        shown = qpv.assign(_c=colours)
        shown[~shown["secret"]].plot(ax=ax, color=shown.loc[~shown["secret"], "_c"].tolist(), edgecolor="#333",
                                     linewidth=0.4, zorder=4)
        hidden = shown[shown["secret"]]
        if len(hidden):
            hidden.plot(ax=ax, facecolor=hm.SECRET_COLOUR, edgecolor="#333", hatch="////", linewidth=0.4, zorder=4)
    _frame_extent(ax, hm._bounds(qpv, sites))
    handles = [Patch(facecolor=c, edgecolor="#333", label=t, hatch="////" if c == hm.SECRET_COLOUR else None)
               for c, t in hm.share_legend(lang)]
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor=hm.SITE_COLOUR, markeredgecolor="#333",
                          alpha=0.6, label=tx["site"]))
    title = tx["report"] + (f" — {report.regions.get(region, region)}" if region else "")
    if report.demo:
        title += f" ({tx['demo']})"
    period = f"{report.period[0]} – {report.period[1]} · " if report.period else ""
    return _finish(fig, title, period + hm.ATTRIBUTION[lang], handles, note=tx["coverage"])


def scenario_png(qpv: pd.DataFrame, sites: pd.DataFrame, *, radius_km: float, regions: pd.DataFrame | None = None,
                 title: str | None = None, lang: str = "fr") -> bytes:
    """A siting scenario as a PNG (same inputs as :func:`geo.export.html_map.scenario_map`)."""
    from matplotlib.lines import Line2D

    if not radius_km or radius_km <= 0:
        raise ValueError(f"radius_km: expected a positive number, got {radius_km!r}")
    lang = hm._lang(lang)
    tx = hm.TEXT[lang]
    colours = {"current": "#1b9e77", "new": hm.NEW_SITE_COLOUR, "none": "#bdbdbd"}
    labels = {"current": tx["reach_current"], "new": tx["reach_new"], "none": tx["reach_none"]}
    fig, ax = _figure()
    _regions(ax, regions)
    pop = pd.to_numeric(qpv["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
    size = 2.0 + 40.0 * pop / max(pop.max(), 1.0)
    ax.scatter(qpv["rep_lon"], qpv["rep_lat"], s=size, c=[colours[s] for s in qpv["status"]], alpha=0.8,
               linewidths=0, zorder=3)
    for kind, colour, marker in (("current", hm.SITE_COLOUR, "o"), ("new", hm.NEW_SITE_COLOUR, "D")):
        part = sites[sites["kind"] == kind]
        ax.scatter(part["lon"], part["lat"], s=40, c=colour, marker=marker, edgecolors="black", linewidths=0.8,
                   zorder=5)
        if kind == "new" and "rank" in part.columns:
            for row in part.itertuples():
                ax.annotate(str(int(row.rank)), (row.lon, row.lat), xytext=(4, 4), textcoords="offset points",
                            fontsize=6, zorder=6)
    reached = qpv[qpv["status"] != "none"]
    if len(reached) or len(sites):
        lon = np.concatenate([reached["rep_lon"].to_numpy(float), sites["lon"].to_numpy(float)])
        lat = np.concatenate([reached["rep_lat"].to_numpy(float), sites["lat"].to_numpy(float)])
        pad = max(0.3, 0.05 * max(np.ptp(lon), np.ptp(lat)))
        _frame_extent(ax, (lon.min() - pad, lat.min() - pad, lon.max() + pad, lat.max() + pad))
    else:
        _frame_extent(ax, None)
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=colours[k], markeredgewidth=0, label=labels[k])
               for k in ("current", "new", "none")]
    handles += [Line2D([], [], marker="o", linestyle="", markerfacecolor=hm.SITE_COLOUR, markeredgecolor="black",
                       label=tx["current"]),
                Line2D([], [], marker="D", linestyle="", markerfacecolor=hm.NEW_SITE_COLOUR, markeredgecolor="black",
                       label=tx["new"])]
    attribution = hm.ATTRIBUTION[lang].split(" · Visit")[0]
    return _finish(fig, title or tx["scenario"], attribution, handles,
                   note=tx["catchment"].format(km=f"{radius_km:g}"))


def write_png(data: bytes, path: str | os.PathLike[str]) -> Path:
    """Write PNG bytes to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    logger.info("wrote %s (%d kB)", path.name, len(data) // 1024)
    return path
