"""Self-contained HTML maps (folium) of a funders' report or of a siting scenario, that open offline.

folium writes pages that load Leaflet, jQuery, Bootstrap and icon fonts from CDNs. :func:`offline_html`
replaces the Leaflet ``<script>``/``<link>`` by the copy shipped in ``geo/export/vendor`` (Leaflet 1.9.3,
BSD-2-Clause, its images inlined as data URIs), and drops the other CDN files, which these maps do not
use (no icon markers, no Bootstrap widgets); it refuses to write a page that still references any
external script or stylesheet. The result is one HTML file that opens from a USB stick, without
network.

Limits, honestly: there is no background map by default (tiles need the internet); région outlines
drawn from the national data give the reader their bearings. Pass ``tiles=`` to add an online tile
layer (it then shows only when online; the rest of the map still works offline). The vendored Leaflet
makes every file about 170 kB larger.

Funders' maps show only protected cells of :class:`geo.coverage.impact.ImpactReport` (QPV and site
level, hidden below 11 households, see :mod:`geo.privacy`): no door, building or visit position.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo import webgeo
from geo.i18n import LanguageView, format_number, format_percent, is_missing, per_language

logger = logging.getLogger(__name__)

VENDOR = Path(__file__).resolve().parent / "vendor"
#: Colour-blind-safe sequential classes (ColorBrewer YlGnBu) for shares, and the colour of hidden cells.
SHARE_BREAKS: tuple[float, ...] = (0.10, 0.25, 0.50)
SHARE_COLOURS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8")
SECRET_COLOUR = "#bdbdbd"
SITE_COLOUR = "#d95f02"
NEW_SITE_COLOUR = "#7570b3"
OUTLINE_COLOUR = "#636363"
#: Map texts, ``TEXT[lang][key]`` (messages ``map.<key>``).
TEXT = per_language("map", (
    "secret", "coverage", "households", "doors", "visits", "site", "qpv", "regions", "sites", "qpv_layer", "demo",
    "scenario", "current", "new", "reach_current", "reach_new", "reach_none", "population", "rank", "report",
    "catchment"))
#: Sources line of the maps, ``ATTRIBUTION[lang]`` (message ``map.attribution``).
ATTRIBUTION = LanguageView("map.attribution")
#: Sources line of the maps without door visits (siting scenarios), message ``map.attribution_data``.
ATTRIBUTION_DATA = LanguageView("map.attribution_data")


def _lang(lang: str) -> str:
    return lang if lang in TEXT else "fr"


def fmt_int(value: Any, lang: str = "fr") -> str:
    """A count with thousands separators, or the secrecy note when missing."""
    return format_number(None if is_missing(value) else int(value), _lang(lang))


def fmt_share(value: Any, lang: str = "fr") -> str:
    """A share (0-1) as a percentage with one decimal, or the secrecy note when missing."""
    return format_percent(None if is_missing(value) else 100 * float(value), _lang(lang), decimals=1)


def share_colour(value: Any) -> str:
    """Colour class of a share (0-1); :data:`SECRET_COLOUR` when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return SECRET_COLOUR
    return SHARE_COLOURS[int(np.searchsorted(SHARE_BREAKS, float(value), side="right"))]


def share_legend(lang: str = "fr") -> list[tuple[str, str]]:
    """Legend rows (colour, label) of the share classes and of hidden cells."""
    bounds = (0.0, *SHARE_BREAKS, None)
    rows = []
    for i, colour in enumerate(SHARE_COLOURS):
        lo, hi = bounds[i], bounds[i + 1]
        label = f"{fmt_share(lo, lang)} – {fmt_share(hi, lang)}" if hi is not None else f"≥ {fmt_share(lo, lang)}"
        rows.append((colour, label))
    rows.append((SECRET_COLOUR, TEXT[_lang(lang)]["secret"]))
    return rows


# ---------------------------------------------------------------------------------------- building
def base_map(*, bounds: Sequence[float] | None = None, regions: pd.DataFrame | None = None,
             tiles: str | None = None, tiles_attribution: str | None = None, lang: str = "fr") -> Any:
    """A folium map with no background tiles and région outlines.

    Parameters
    ----------
    bounds : (west, south, east, north), optional
        Extent to fit (default: metropolitan France).
    regions : geopandas.GeoDataFrame, optional
        Région polygons (:func:`geo.load.load_regions`), drawn as outlines (simplified).
    tiles : str, optional
        URL template of an online tile layer (needs ``tiles_attribution``); none by default.
    """
    import folium

    west, south, east, north = bounds if bounds is not None else (-5.2, 41.3, 9.6, 51.1)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=6, tiles=None,
                   control_scale=True, prefer_canvas=False)
    if tiles:
        if not tiles_attribution:
            raise ValueError("tiles_attribution: expected the attribution of the tile source, got none")
        folium.TileLayer(tiles=tiles, attr=tiles_attribution, name="Fond de carte").add_to(m)
    if regions is not None and len(regions):
        outline = regions[["code", "nom", "geometry"]].copy()
        outline["geometry"] = outline.geometry.simplify(0.01, preserve_topology=True)
        outline["vm_layer"] = "region"
        folium.GeoJson(
            json.loads(outline.to_json(drop_id=True)), name=TEXT[_lang(lang)]["regions"],
            style_function=lambda _f: {"color": OUTLINE_COLOUR, "weight": 1, "fill": True, "fillColor": "#f7f7f7",
                                       "fillOpacity": 0.6},
            tooltip=folium.GeoJsonTooltip(fields=["nom"], labels=False), control=True,
        ).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def add_legend(m: Any, title: str, rows: Sequence[tuple[str, str]], *, note: str | None = None,
               circles: Sequence[tuple[str, str]] = ()) -> None:
    """A legend box (bottom left): colour swatches, then circle symbols, then a note."""
    from branca.element import Element

    items = "".join(
        f'<div><span class="vm-swatch" style="background:{html.escape(c)}"></span>{html.escape(t)}</div>'
        for c, t in rows
    ) + "".join(
        f'<div><span class="vm-dot" style="background:{html.escape(c)}"></span>{html.escape(t)}</div>'
        for c, t in circles
    )
    note_html = f'<div class="vm-note">{html.escape(note)}</div>' if note else ""
    box = (f'<div class="vm-legend" id="vm-legend"><div class="vm-legend-title">{html.escape(title)}</div>'
           f"{items}{note_html}</div>")
    css = ("<style>.vm-legend{position:absolute;z-index:1000;bottom:48px;left:10px;background:#fff;"
           "padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.4 sans-serif;"
           "max-width:300px}.vm-legend-title{font-weight:600;margin-bottom:4px}.vm-swatch{display:inline-block;"
           "width:14px;height:14px;margin-right:6px;vertical-align:middle;border:1px solid #666}"
           ".vm-dot{display:inline-block;width:12px;height:12px;border-radius:50%;margin-right:6px;"
           "vertical-align:middle;border:1px solid #333}.vm-note{margin-top:6px;color:#444}"
           ".vm-title{position:absolute;z-index:1000;top:10px;left:54px;background:#fff;padding:6px 10px;"
           "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:600 15px/1.3 sans-serif}</style>")
    m.get_root().header.add_child(Element(css))
    m.get_root().html.add_child(Element(box))


def add_title(m: Any, title: str) -> None:
    """A title box at the top of the map."""
    from branca.element import Element

    m.get_root().html.add_child(Element(f'<div class="vm-title" id="vm-title">{html.escape(title)}</div>'))


def add_attribution(m: Any, text: str) -> None:
    """Put ``text`` in Leaflet's attribution control (bottom right)."""
    from branca.element import MacroElement
    from jinja2 import Template

    class _Attribution(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this._parent.get_name() }}.attributionControl.setPrefix(false);"
            "{{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});"
            "{% endmacro %}"
        )

        def __init__(self, value: str) -> None:
            super().__init__()
            self.text = value

    m.add_child(_Attribution(text))


def _features(frame: pd.DataFrame, layer: str) -> dict:
    """GeoJSON of a GeoDataFrame with a ``vm_layer`` property (missing values ``null``)."""
    props = pd.DataFrame(frame.drop(columns=frame.geometry.name)).assign(vm_layer=layer)
    return webgeo.feature_collection(props, properties=list(props.columns), geometry=frame.geometry.values,
                                     decimals=None, missing="null")


def report_map(report: Any, *, region: str | None = None, regions: pd.DataFrame | None = None,
               lang: str = "fr", tiles: str | None = None, tiles_attribution: str | None = None) -> Any:
    """The funders' map: QPV coloured by the share of their households met, sites sized by households met.

    Parameters
    ----------
    report : geo.coverage.impact.ImpactReport
        Built with QPV geometries (``qpv`` with a ``geometry`` column).
    region : str, optional
        Région code to show alone.
    regions : geopandas.GeoDataFrame, optional
        Région outlines.
    lang : {"fr", "en"}

    Returns
    -------
    folium.Map
        Hidden cells are grey with the secrecy note; no door-level data is used.
    """
    import folium

    lang = _lang(lang)
    tx = TEXT[lang]
    qpv = report.qpv_frame(region, lang=lang)
    sites = report.sites_frame(region)
    bounds = _bounds(qpv, sites)
    m = base_map(bounds=bounds, regions=regions, tiles=tiles, tiles_attribution=tiles_attribution, lang=lang)
    if len(sites):
        s = sites[["site", "site_name", "households", "doors_opened", "visits", "secret", "geometry"]].copy()
        met = s["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
        s["radius"] = np.where(s["secret"], 6.0, 6.0 + 14.0 * np.sqrt(met / max(met.max(), 1.0)))
        for col, name in (("households", "households_txt"), ("doors_opened", "doors_txt"), ("visits", "visits_txt")):
            s[name] = [fmt_int(v, lang) for v in s[col]]
        s = s.drop(columns=["households", "doors_opened", "visits"])
        folium.GeoJson(
            _features(s, "site"), name=tx["sites"],
            marker=folium.CircleMarker(radius=8, fill=True),
            style_function=lambda f: {"radius": f["properties"]["radius"], "color": "#333", "weight": 1,
                                      "fillColor": SECRET_COLOUR if f["properties"]["secret"] else SITE_COLOUR,
                                      "fillOpacity": 0.45},
            tooltip=folium.GeoJsonTooltip(fields=["site_name", "households_txt", "doors_txt", "visits_txt"],
                                          aliases=[tx["site"], tx["households"], tx["doors"], tx["visits"]]),
        ).add_to(m)
    if "geometry" in getattr(qpv, "columns", []) and len(qpv):
        q = qpv[["code_qp", "lib_qp", "households", "doors_opened", "coverage_rate", "secret", "geometry"]].copy()
        q["geometry"] = q.geometry.simplify(0.0002, preserve_topology=True)
        q["households_txt"] = [fmt_int(v, lang) for v in q["households"]]
        q["coverage_txt"] = [fmt_share(v, lang) for v in q["coverage_rate"]]
        q["colour"] = [share_colour(v) for v in q["coverage_rate"].astype("Float64")]
        q = q.drop(columns=["households", "doors_opened", "coverage_rate"])
        folium.GeoJson(
            _features(q, "qpv"), name=tx["qpv_layer"],
            style_function=lambda f: {"color": "#333", "weight": 1, "fillColor": f["properties"]["colour"],
                                      "fillOpacity": 0.85, "dashArray": "4 3" if f["properties"]["secret"] else None},
            tooltip=folium.GeoJsonTooltip(fields=["lib_qp", "code_qp", "households_txt", "coverage_txt"],
                                          aliases=[tx["qpv"], "Code", tx["households"], tx["coverage"]]),
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    title = tx["report"] + (f" — {report.regions.get(region, region)}" if region else "")
    if report.demo:
        title += f" ({tx['demo']})"
    add_title(m, title)
    period = f" · {report.period[0]} – {report.period[1]}" if report.period else ""
    add_legend(m, tx["coverage"], share_legend(lang), circles=[(SITE_COLOUR, tx["site"])],
               note=_secrecy_note(lang) + period + (f" · {tx['demo']}" if report.demo else ""))
    add_attribution(m, ATTRIBUTION[lang] + (f" ({tx['demo']})" if report.demo else ""))
    return m


def _secrecy_note(lang: str) -> str:
    from geo.privacy import NOTE

    return NOTE[_lang(lang)]


def _bounds(*frames: Any) -> tuple[float, float, float, float] | None:
    boxes = [f.total_bounds for f in frames if hasattr(f, "total_bounds") and len(f)]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return None
    arr = np.array(boxes)
    west, south = arr[:, 0].min(), arr[:, 1].min()
    east, north = arr[:, 2].max(), arr[:, 3].max()
    pad = max(0.02, 0.05 * max(east - west, north - south))
    return (west - pad, south - pad, east + pad, north + pad)


def scenario_map(qpv: pd.DataFrame, sites: pd.DataFrame, *, radius_km: float, regions: pd.DataFrame | None = None,
                 title: str | None = None, lang: str = "fr", tiles: str | None = None,
                 tiles_attribution: str | None = None) -> Any:
    """A siting scenario: QPV (as points sized by population) by reach status, current and new sites.

    Parameters
    ----------
    qpv : pandas.DataFrame
        One row per QPV: ``code_qp, lib_qp, population, rep_lon, rep_lat`` and ``status`` in
        {``current``, ``new``, ``none``} (within reach of the current network, added by the scenario,
        out of reach).
    sites : pandas.DataFrame
        ``name, lon, lat, kind`` (``current`` or ``new``) and ``rank`` (new sites).
    radius_km : float
        Catchment radius drawn around each site.

    Returns
    -------
    folium.Map
    """
    import folium
    import geopandas as gpd

    if not radius_km or radius_km <= 0:
        raise ValueError(f"radius_km: expected a positive number, got {radius_km!r}")
    missing = [c for c in ("code_qp", "lib_qp", "population", "rep_lon", "rep_lat", "status") if c not in qpv.columns]
    if missing:
        raise ValueError(f"qpv: expected the columns {missing}, got {list(qpv.columns)}")
    lang = _lang(lang)
    tx = TEXT[lang]
    colours = {"current": "#1b9e77", "new": NEW_SITE_COLOUR, "none": "#bdbdbd"}
    labels = {"current": tx["reach_current"], "new": tx["reach_new"], "none": tx["reach_none"]}
    pts = gpd.GeoDataFrame(
        qpv[["code_qp", "lib_qp", "population", "status"]].copy(),
        geometry=gpd.points_from_xy(qpv["rep_lon"], qpv["rep_lat"]), crs="EPSG:4326")
    pop = pd.to_numeric(pts["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
    pts["radius"] = 2.0 + 8.0 * np.sqrt(pop / max(pop.max(), 1.0))
    pts["population_txt"] = [fmt_int(v, lang) if v > 0 else "?" for v in pop]
    pts["status_txt"] = pts["status"].map(labels)
    pts = pts.drop(columns=["population"])
    site_pts = gpd.GeoDataFrame(sites[["name", "kind"] + (["rank"] if "rank" in sites.columns else [])].copy(),
                                geometry=gpd.points_from_xy(sites["lon"], sites["lat"]), crs="EPSG:4326")
    m = base_map(bounds=_bounds(pts[pts["status"] != "none"], site_pts) if len(site_pts) else None,
                 regions=regions, tiles=tiles, tiles_attribution=tiles_attribution, lang=lang)
    catch = folium.FeatureGroup(name=tx["catchment"].format(km=f"{radius_km:g}"))
    for row in site_pts.itertuples():
        folium.Circle(location=[row.geometry.y, row.geometry.x], radius=radius_km * 1000,
                      color=colours["new" if row.kind == "new" else "current"], weight=1, fill=False,
                      dash_array="4 4").add_to(catch)
    catch.add_to(m)
    folium.GeoJson(
        _features(pts, "qpv"), name=tx["qpv"],
        marker=folium.CircleMarker(radius=4, fill=True),
        style_function=lambda f: {"radius": f["properties"]["radius"], "color": colours[f["properties"]["status"]],
                                  "weight": 1, "fillColor": colours[f["properties"]["status"]], "fillOpacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=["lib_qp", "code_qp", "population_txt", "status_txt"],
                                      aliases=[tx["qpv"], "Code", tx["population"], ""]),
    ).add_to(m)
    site_pts["label"] = [str(int(r)) if k == "new" and pd.notna(r) else "" for k, r in
                         zip(site_pts["kind"], site_pts.get("rank", pd.Series([None] * len(site_pts))), strict=True)]
    site_pts["kind_txt"] = site_pts["kind"].map({"new": tx["new"], "current": tx["current"]})
    folium.GeoJson(
        _features(site_pts, "site"), name=tx["sites"],
        marker=folium.CircleMarker(radius=9, fill=True),
        style_function=lambda f: {"radius": 9, "color": "#000", "weight": 2,
                                  "fillColor": SITE_COLOUR if f["properties"]["kind"] == "current" else NEW_SITE_COLOUR,
                                  "fillOpacity": 1.0},
        tooltip=folium.GeoJsonTooltip(fields=["name", "kind_txt", "label"], aliases=[tx["site"], "", tx["rank"]]),
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    add_title(m, title or tx["scenario"])
    add_legend(m, tx["scenario"], [(colours[k], labels[k]) for k in ("current", "new", "none")],
               circles=[(SITE_COLOUR, tx["current"]), (NEW_SITE_COLOUR, tx["new"])],
               note=tx["catchment"].format(km=f"{radius_km:g}"))
    add_attribution(m, ATTRIBUTION_DATA[lang])
    return m


def scenario_frames(instance: Any, recommendation: Any, network: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The QPV and site frames of :func:`scenario_map` from :mod:`geo.siting` objects.

    Parameters
    ----------
    instance : geo.siting.Instance
    recommendation : geo.siting.Recommendation
    network : geo.siting.Network
        The current network (``geo.siting.resolve_network``), for the QPV already within reach.
    """
    qpv = instance.qpv[["code_qp", "lib_qp", "population", "rep_lon", "rep_lat"]].copy()
    status = np.where(np.asarray(network.covered, dtype=bool), "current", "none").astype(object)
    added: set[str] = set()
    for codes in recommendation.table.get("added_qpv_codes", pd.Series([], dtype=object)).dropna():
        added.update(c for c in str(codes).replace(",", ";").split(";") if c)
    status[(status == "none") & qpv["code_qp"].isin(added).to_numpy()] = "new"
    qpv["status"] = status
    current = network.sites[["name", "lon", "lat"]].assign(kind="current", rank=np.nan)
    new = recommendation.table[["name", "lon", "lat", "rank"]].assign(kind="new")
    sites = pd.concat([current, new], ignore_index=True)
    return qpv, sites


# ----------------------------------------------------------------------------------------- writing
_SCRIPT_SRC = re.compile(r'<script[^>]*\bsrc="([^"]+)"[^>]*>\s*</script>\s*', re.IGNORECASE)
_LINK_HREF = re.compile(r'<link[^>]*\bhref="([^"]+)"[^>]*/?>\s*', re.IGNORECASE)


def offline_html(m: Any) -> str:
    """The map as one HTML page with Leaflet inlined and no external script or stylesheet.

    Raises
    ------
    RuntimeError
        When the page would still load an external resource other than map tiles.
    """
    page = m.get_root().render()
    leaflet_js = (VENDOR / "leaflet.js").read_text(encoding="utf-8")
    leaflet_css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def script(match: re.Match[str]) -> str:
        src = match.group(1)
        if re.search(r"/leaflet(@[\d.]+)?/dist/leaflet\.js$", src) or src.endswith("/leaflet.js"):
            return "<script>" + leaflet_js.replace("</script", "<\\/script") + "</script>\n"
        return ""

    def link(match: re.Match[str]) -> str:
        href = match.group(1)
        if "stylesheet" not in match.group(0):
            return match.group(0)
        if href.endswith("/leaflet.css"):
            return "<style>" + leaflet_css + "</style>\n"
        return ""

    page = _SCRIPT_SRC.sub(script, page)
    page = _LINK_HREF.sub(link, page)
    leftover = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?:)?//[^"]*"', page, flags=re.IGNORECASE)
    if leftover:
        raise RuntimeError(f"offline_html: external resources left in the page: {leftover[:3]}")
    return page


def save_html(m: Any, path: str | os.PathLike[str]) -> Path:
    """Write :func:`offline_html` to ``path`` (atomically) and return the path."""
    path = Path(path)
    text = offline_html(m)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    logger.info("wrote %s (%d kB, offline)", path.name, len(text) // 1024)
    return path
