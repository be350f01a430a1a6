"""One function per kind of export, returning the file's bytes (for the CLI and the app's downloads).

>>> data = impact_bytes(report, "xlsx")          # every table, one sheet each      # doctest: +SKIP
>>> data = impact_bytes(report, "html", regions=load_regions())                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from geo import privacy
from geo.coverage.impact import ImpactReport
from geo.export import html_map, png, tables
from geo.export.report import LABELS, labelled
from geo.i18n import normalise_lang, per_language, t

logger = logging.getLogger(__name__)

#: Tables of the funders' report that can be exported, in workbook order.
IMPACT_TABLES: tuple[str, ...] = ("regions", "quarters", "sites", "qpv")
EXPORT_FORMATS: tuple[str, ...] = ("html", "png", "csv", "xlsx", "geojson")
#: Sheet names of the report's tables, ``SHEETS[lang][table]`` (messages ``export.sheet.<table>``).
SHEETS = per_language("export.sheet", IMPACT_TABLES)


def impact_notes(report: ImpactReport, lang: str = "fr") -> dict[str, str]:
    """The « Notes » sheet: secrecy rule, period, sources, fictitious data."""
    lang = normalise_lang(lang)
    notes = {
        t("export.note.secret", lang): privacy.NOTE[lang],
        t("export.note.period", lang): " – ".join(report.period) if report.period else "-",
        t("export.note.sources", lang): html_map.ATTRIBUTION[lang],
    }
    if report.demo:
        notes[t("export.note.demo", lang)] = t("export.note.demo_text", lang)
    return notes


def impact_table(report: ImpactReport, name: str, *, region: str | None = None, lang: str = "fr") -> pd.DataFrame:
    """One table of the report with labelled columns (suppressed figures empty, « secret » column)."""
    if name not in IMPACT_TABLES:
        raise ValueError(f"name: expected one of {', '.join(IMPACT_TABLES)}, got {name!r}")
    return labelled(report.table(name, region=region, lang=lang), lang)


def impact_bytes(report: ImpactReport, fmt: str, *, table: str = "all", region: str | None = None,
                 lang: str = "fr", regions: pd.DataFrame | None = None, data_dir: Any = None) -> bytes:
    """The funders' report as ``fmt``.

    Parameters
    ----------
    report : ImpactReport
    fmt : {"html", "png", "csv", "xlsx", "geojson"}
        ``csv`` writes one table (``table``, default ``regions``); ``xlsx`` one table or all of them
        with a « Notes » sheet; ``geojson`` the QPV (polygons) and sites (points) with their figures.
    table : str
        A name of :data:`IMPACT_TABLES` or ``"all"``.
    region : str, optional
        Région code.
    regions : geopandas.GeoDataFrame, optional
        Région outlines for the maps (loaded from ``data_dir`` when not given).

    Raises
    ------
    ValueError
        Unknown format or table.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    if table != "all" and table not in IMPACT_TABLES:
        raise ValueError(f"table: expected 'all' or one of {', '.join(IMPACT_TABLES)}, got {table!r}")
    if fmt in ("html", "png") and regions is None:
        regions = _regions(data_dir)
    if fmt == "html":
        return html_map.offline_html(html_map.report_map(report, region=region, regions=regions, lang=lang)).encode()
    if fmt == "png":
        return png.report_png(report, region=region, regions=regions, lang=lang)
    if fmt == "csv":
        return tables.to_csv_bytes(impact_table(report, "regions" if table == "all" else table, region=region,
                                                lang=lang))
    if fmt == "xlsx":
        names = IMPACT_TABLES if table == "all" else (table,)
        sheets = {_sheet(n, lang): impact_table(report, n, region=region, lang=lang) for n in names}
        return tables.to_xlsx_bytes(sheets, notes=impact_notes(report, lang))
    return impact_geojson(report, region=region, lang=lang)


def impact_geojson(report: ImpactReport, *, region: str | None = None, lang: str = "fr") -> bytes:
    """QPV polygons and site points with their protected figures, one FeatureCollection."""
    import geopandas as gpd

    parts = []
    qpv = report.qpv_frame(region, lang=lang)
    if isinstance(qpv, gpd.GeoDataFrame) and len(qpv):
        parts.append(labelled(qpv.drop(columns="geometry"), lang).assign(niveau="qpv", geometry=qpv.geometry.values))
    sites = report.sites_frame(region)
    if len(sites):
        parts.append(labelled(sites.drop(columns="geometry"), lang).assign(niveau="site",
                                                                                geometry=sites.geometry.values))
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"geometry": []}),
                             geometry="geometry", crs="EPSG:4326")
    return tables.to_geojson_bytes(frame)


def release_png(features: pd.DataFrame, *, regions: pd.DataFrame | None = None, caption: str = "",
                lang: str = "fr") -> bytes:
    """The map of a release as a PNG: published QPV (circles sized by households met) and sites."""
    from matplotlib.lines import Line2D

    lang = normalise_lang(lang)
    fig, ax = png._figure()  # noqa: SLF001 - same package
    png._regions(ax, regions)  # noqa: SLF001
    bounds = None
    if len(features):
        qpv = features[features["niveau"] == "qpv"]
        sites = features[features["niveau"] == "site"]
        if len(qpv):
            met = pd.to_numeric(qpv[LABELS["households"][lang]], errors="coerce").fillna(0).to_numpy(dtype=float)
            ax.scatter(qpv.geometry.x, qpv.geometry.y, s=20 + 300 * met / max(met.max(), 1.0),
                       c=html_map.SHARE_COLOURS[2], alpha=0.7, edgecolors="#333", linewidths=0.5, zorder=3)
        if len(sites):
            ax.scatter(sites.geometry.x, sites.geometry.y, s=30, c=html_map.SITE_COLOUR, edgecolors="#333",
                       linewidths=0.5, zorder=4)
        west, south, east, north = features.total_bounds
        bounds = (west - 0.2, south - 0.2, east + 0.2, north + 0.2)
    png._frame_extent(ax, bounds)  # noqa: SLF001
    tx = html_map.TEXT[lang]
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=html_map.SHARE_COLOURS[2],
                      markeredgecolor="#333", label=t("impact.legend.qpv", lang)),
               Line2D([], [], marker="o", linestyle="", markerfacecolor=html_map.SITE_COLOUR, markeredgecolor="#333",
                      label=tx["site"])]
    return png._finish(fig, tx["report"], f"{caption} · {html_map.ATTRIBUTION[lang]}", handles)  # noqa: SLF001


def release_bytes(sheets: dict[str, pd.DataFrame], fmt: str, *, table: str = "all",
                  notes: dict[str, str] | None = None, features: pd.DataFrame | None = None,
                  lang: str = "fr", regions: pd.DataFrame | None = None, caption: str = "") -> bytes:
    """The funders' tables of a release as ``fmt`` (the figures exactly as published).

    Parameters
    ----------
    sheets : dict
        Table name (:data:`IMPACT_TABLES`) -> labelled frame.
    fmt : {"csv", "xlsx", "geojson"}
    table : str
        A name of :data:`IMPACT_TABLES` or ``"all"`` (``csv``: ``regions``).
    notes : dict, optional
        The « Notes » sheet of the workbook.
    features : geopandas.GeoDataFrame, optional
        Published QPV and sites as points (``geojson``).

    Raises
    ------
    ValueError
        Unknown format or table.
    """
    if fmt not in ("csv", "xlsx", "geojson", "png"):
        raise ValueError(f"fmt: expected csv, xlsx, geojson or png for a release, got {fmt!r}")
    if table != "all" and table not in IMPACT_TABLES:
        raise ValueError(f"table: expected 'all' or one of {', '.join(IMPACT_TABLES)}, got {table!r}")
    if fmt == "csv":
        return tables.to_csv_bytes(sheets["regions" if table == "all" else table])
    if fmt == "xlsx":
        names = IMPACT_TABLES if table == "all" else (table,)
        return tables.to_xlsx_bytes({_sheet(n, lang): sheets[n] for n in names}, notes=notes)
    if fmt == "png":
        return release_png(features if features is not None else pd.DataFrame({"niveau": []}), regions=regions,
                           caption=caption, lang=lang)
    return tables.to_geojson_bytes(features if features is not None else pd.DataFrame({"geometry": []}), precision=3)


def _sheet(name: str, lang: str) -> str:
    return SHEETS[normalise_lang(lang)][name]


def _regions(data_dir: Any) -> pd.DataFrame | None:
    try:
        from geo.load import load_regions

        return load_regions(data_dir=data_dir)
    except Exception:  # noqa: BLE001 - outlines are a background nicety
        logger.info("no régions layer: maps drawn without outlines")
        return None


def scenario_bytes(scen: Any, fmt: str, *, lang: str = "fr", regions: pd.DataFrame | None = None,
                   data_dir: Any = None) -> bytes:
    """A siting scenario (:func:`geo.export.loaders.scenario`) as ``fmt``: map, picture or ranked table."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    if fmt in ("html", "png") and regions is None:
        regions = _regions(data_dir)
    if fmt == "html":
        m = html_map.scenario_map(scen.qpv, scen.sites, radius_km=scen.radius_km, regions=regions, lang=lang)
        return html_map.offline_html(m).encode()
    if fmt == "png":
        return png.scenario_png(scen.qpv, scen.sites, radius_km=scen.radius_km, regions=regions, lang=lang)
    table = scen.recommendation.table
    if fmt == "csv":
        return tables.to_csv_bytes(table)
    if fmt == "xlsx":
        return tables.to_xlsx_bytes({t("export.sheet.scenario", lang): table})
    return tables.to_geojson_bytes(scen.recommendation.to_geodataframe())
