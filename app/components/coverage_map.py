"""The door-coverage map of the page Terrain: heat cells, door points, buildings to revisit, the site's QPV.

The browser draws the layers with the functions of ``app/assets/terrain.js``, which read the ``hideout``
built here (class limits, colours, labels); callbacks send only data and ``hideout``.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import numpy as np
import pandas as pd
from dash import html

from app.components import basemap
from app.components.legends import class_labels, legend_row
from app.data import VersionedCache
from geo import webgeo
from geo.coverage import aggregate, schema
from geo.i18n import format_number, format_percent, t

#: Colour-blind-safe palettes that do not blend: the heat cells are a fill (yellow to brown, ColorBrewer YlOrBr),
#: the QPV coverage an outline only (light to dark blue, ColorBrewer Blues), the doors Okabe-Ito colours
#: with a dark rim, the « à revoir » buildings a dashed ring in Okabe-Ito's reddish purple.
HEAT_COLOURS: tuple[str, ...] = ("#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04")
COVERAGE_COLOURS: tuple[str, ...] = ("#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b")
COVERAGE_BREAKS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30)
OUTCOME_COLOURS: dict[str, str] = {"ouvert": "#009e73", "absent": "#999999", "refus": "#d55e00",
                                   "a_revoir": "#e69f00", "ne_pas_deranger": "#000000"}
REVISIT_COLOUR = "#cc79a7"
#: Approximate width of an H3 cell at each resolution the map uses, metres.
CELL_METRES = {7: 2500, 8: 1000, 9: 350, 10: 130}
#: Resolutions whose cells together set the class limits of a site and campaign (those of zoom 11 and up).
LIMITS_RESOLUTIONS: tuple[int, ...] = (8, 9, 10)
#: From this zoom on, buildings carry their address as a permanent label.
LABELS_ZOOM = 18
#: View of France when there is no site to show.
FRANCE_VIEW = ([46.6, 2.5], 6)
EMPTY_COLLECTION: dict[str, Any] = {"type": "FeatureCollection", "features": []}
MAX_ZOOM = 19


def outcome_labels(lang: str) -> dict[str, str]:
    """Label of each outcome code in ``lang`` (``ne_pas_deranger`` -> « ne pas déranger »)."""
    return {o: t(f"outcome.{o}", lang) for o in schema.OUTCOMES}


def heat_title(chosen: list[str], *, lang: str) -> str:
    """Title of the heat layer: all visits, or the visits of the chosen outcomes, per hectare."""
    if not chosen:
        return t("terrain.heat", lang)
    return t("terrain.heat_outcomes", lang, o=", ".join(t(f"outcome.{o}", lang) for o in chosen))


def cell_density(cells: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` of H3 cells per hectare of each cell (comparable across resolutions, hence zooms).

    Parameters
    ----------
    cells : pandas.DataFrame
        :func:`geo.coverage.aggregate.aggregate_cells` (``cell`` and ``column``).
    column : str
        The count to divide by the cell's area.
    """
    import h3

    if "cell" not in cells.columns or column not in cells.columns:
        raise ValueError(f"cells: expected the columns cell and {column!r}, got {list(cells.columns)}")
    hectares = np.array([h3.cell_area(c, unit="m^2") / 10_000 for c in cells["cell"].tolist()], dtype=float)
    return cells[column].to_numpy(dtype=float) / hectares if len(cells) else np.array([], dtype=float)


def heat_limits(density: np.ndarray) -> list[float]:
    """Class limits of the heat layer (quantiles of the cells' densities, two significant digits).

    Computed once for a site and its campaigns over the cells of every resolution the map shows from zoom 11
    (:data:`LIMITS_RESOLUTIONS`, densities pooled), then kept at every zoom and pan.
    """
    positive = density[density > 0]
    if positive.size < 2:
        return []
    return [b for b in webgeo.class_breaks(positive.tolist(), n_classes=len(HEAT_COLOURS)) if b > 0]


_LIMITS: VersionedCache[list[float]] = VersionedCache("terrain class limits", maxsize=64)


def site_heat_limits(prep: aggregate.PreparedEvents, *, site: str, campaigns: list[str] | None,
                     outcomes: list[str]) -> list[float]:
    """:func:`heat_limits` of a site and its campaigns (all when None), for the heat of ``outcomes`` (all
    visits when empty): the same at every zoom, pan and date, cached for ``prep``."""
    def build() -> list[float]:
        mask = aggregate.select(prep, sites=[site], campaigns=campaigns or None)
        if outcomes:
            mask &= aggregate.select(prep, outcomes=outcomes)
        density = [cell_density(aggregate.aggregate_cells(prep, mask, resolution=r), "visits")
                   for r in LIMITS_RESOLUTIONS]
        return heat_limits(np.concatenate(density))

    key = (site, tuple(sorted(campaigns or ())), tuple(sorted(outcomes)))
    return _LIMITS.get(id(prep), build, key=key)


def heat_hideout(breaks: list[float], *, lang: str, title: str) -> dict[str, Any]:
    """Class limits and colours of the heat layer (cells coloured by their ``value``, a density)."""
    return {"prop": "value", "breaks": list(breaks), "colors": list(HEAT_COLOURS[: len(breaks) + 1]), "lang": lang,
            "title": title,
            "labels": {"value": title, "visits": t("terrain.col.visits", lang), "ouvert": t("outcome.ouvert", lang),
                       "open_rate": t("terrain.col.open_rate", lang),
                       "households_reached": t("terrain.col.reached", lang)}}


def empty_heat_hideout() -> dict[str, Any]:
    """The heat layer's ``hideout`` when there is nothing to show."""
    return {"prop": "value", "breaks": [], "colors": [HEAT_COLOURS[0]]}


def door_hideout(*, lang: str, zoom: float) -> dict[str, Any]:
    """Parameters of the door points: colours and names of the outcomes, tooltip labels, permanent labels."""
    return {"colors": OUTCOME_COLOURS, "lang": lang, "outcomes": outcome_labels(lang),
            "permanent": zoom >= LABELS_ZOOM,
            "labels": {"knocked": t("terrain.tip.knocked", lang), "opened": t("terrain.tip.opened", lang),
                       "revisit": t("terrain.tip.revisit", lang), "last": t("terrain.tip.last", lang),
                       "reached": t("terrain.col.reached", lang)}}


def revisit_hideout(*, lang: str) -> dict[str, Any]:
    """Parameters of the « à revoir » rings."""
    return {"lang": lang, "color": REVISIT_COLOUR,
            "labels": {"revisit": t("terrain.tip.revisit", lang), "last": t("terrain.tip.last", lang)}}


def _coverage_rows(lang: str) -> list[html.Div]:
    def pct(share: float) -> str:
        return format_percent(100 * share, lang, decimals=0)

    edges = (0.0, *COVERAGE_BREAKS)
    labels = [f"{pct(low)} – {pct(high)}" for low, high in zip(edges[:-1], COVERAGE_BREAKS, strict=True)]
    labels.append(t("legend.more_than", lang, v=pct(edges[-1])))
    return [legend_row("transparent", label, swatch_class="legend-swatch legend-outline",
                       swatch_style={"borderColor": colour}, symbol=f"qpv-{i}")
            for i, (colour, label) in enumerate(zip(COVERAGE_COLOURS, labels, strict=True))]


def _symbol_rows(lang: str) -> list[html.Div]:
    dot = {"borderRadius": "50%", "borderColor": "#222"}
    rows = [legend_row(OUTCOME_COLOURS[o], t("terrain.legend.door", lang, o=t(f"outcome.{o}", lang)),
                       swatch_class="legend-swatch legend-dot", swatch_style=dot, symbol=f"door-{o}")
            for o in schema.OUTCOMES]
    rows.append(legend_row("transparent", t("terrain.legend.revisit", lang), swatch_class="legend-swatch legend-ring",
                           swatch_style={"borderColor": REVISIT_COLOUR}, symbol="revisit"))
    return rows


def legend(hideout: dict[str, Any], *, lang: str, resolution: int, demo: bool) -> html.Div:
    """Legend of every symbol of the map: heat cells, QPV coverage outlines, doors and « à revoir » rings."""
    labels = class_labels(hideout["breaks"], lambda v: format_number(v, lang, decimals=1 if v < 10 else 0),
                          lang=lang)
    rows = [legend_row(colour, label, symbol=f"cell-{i}")
            for i, (colour, label) in enumerate(zip(hideout["colors"], labels, strict=True))]
    extra = [html.Div(t("terrain.demo", lang), className="legend-demo")] if demo else []
    return html.Div(
        [html.Div(hideout["title"], className="legend-title"), *rows,
         html.Div(t("terrain.cells_note", lang, m=CELL_METRES[resolution]), className="legend-source"),
         html.Div(t("layer.terrain_qpv", lang), className="legend-title legend-second"), *_coverage_rows(lang),
         html.Div(t("terrain.legend.buildings", lang), className="legend-title legend-second"), *_symbol_rows(lang),
         *extra, html.Div(t("terrain.sources", lang), className="legend-source")],
        className="legend terrain-legend", id="terrain-legend-box",
    )


def qpv_features(qpv: Any, frame: pd.DataFrame) -> dict[str, Any]:
    """The site's QPV polygons (from the national layer ``qpv``) with their coverage figures (GeoJSON)."""
    import geopandas as gpd

    codes = frame["code_qp"].astype(str).tolist()
    shapes = qpv[qpv["code_qp"].astype(str).isin(codes)][["code_qp", "geometry"]]
    joined = shapes.merge(frame[["code_qp", "lib_qp", "households", "households_reached", "coverage_rate",
                                 "remaining_households", "visits"]], on="code_qp", how="left")
    joined = gpd.GeoDataFrame(joined, geometry="geometry", crs=qpv.crs)
    joined["geometry"] = joined.geometry.simplify(0.00005)
    out = joined.__geo_interface__
    for feature in out["features"]:
        props = feature["properties"]
        for key, value in list(props.items()):
            if isinstance(value, float) and value != value:
                props[key] = None
        feature.pop("bbox", None)
    out.pop("bbox", None)
    return out


def bounds_of(lon: np.ndarray, lat: np.ndarray) -> list[list[float]] | None:
    """[[south, west], [north, east]] around points, padded (None without points)."""
    if lon.size == 0:
        return None
    pad_x = max(0.003, (lon.max() - lon.min()) * 0.08)
    pad_y = max(0.002, (lat.max() - lat.min()) * 0.08)
    return [[float(lat.min() - pad_y), float(lon.min() - pad_x)], [float(lat.max() + pad_y), float(lon.max() + pad_x)]]


def initial_view(bounds: list[list[float]] | None) -> dict[str, Any]:
    """Props of the map's first view: the site's bounds (fitted by the map) with a matching centre and zoom,
    or France when there is no site."""
    if not bounds:
        return {"center": list(FRANCE_VIEW[0]), "zoom": FRANCE_VIEW[1]}
    (south, west), (north, east) = bounds
    span = max(east - west, (north - south) * 1.5, 1e-4)
    zoom = int(max(5, min(17, np.floor(np.log2(360.0 / span)) + 1)))
    return {"bounds": bounds, "center": [(south + north) / 2, (west + east) / 2], "zoom": zoom}


def _overlay(layer_id: str, pane: str, name: str, **props: Any) -> dl.Overlay:
    return dl.Overlay(dl.GeoJSON(id=layer_id, pane=pane, data=None, **props), name=name, checked=True)


def coverage_map(lang: str, *, bounds: list[list[float]] | None = None) -> dl.Map:
    """The map of the page, opened on ``bounds`` (the default site) or on France."""
    return dl.Map(
        id="terrain-map", **initial_view(bounds), minZoom=5, maxZoom=MAX_ZOOM, preferCanvas=True,
        trackViewport=True, className="terrain-map",
        children=[
            dl.Pane(name="terrain-qpv", style={"zIndex": 405}),
            dl.Pane(name="terrain-cells", style={"zIndex": 415}),
            dl.Pane(name="terrain-points", style={"zIndex": 430}),
            dl.LayersControl([
                *basemap.base_layers(lang=lang, max_zoom=MAX_ZOOM),
                _overlay("terrain-qpv-layer", "terrain-qpv", t("layer.terrain_qpv", lang),
                         style={"variable": "voisinmap.terrainQpvStyle"},
                         onEachFeature={"variable": "voisinmap.terrainQpvTooltip"},
                         hideout={"breaks": list(COVERAGE_BREAKS), "colors": list(COVERAGE_COLOURS), "lang": lang,
                                  "labels": {}}),
                _overlay("terrain-cells", "terrain-cells", t("layer.terrain_cells", lang),
                         style={"variable": "voisinmap.terrainCellStyle"},
                         onEachFeature={"variable": "voisinmap.terrainCellTooltip"}, hideout=empty_heat_hideout()),
                _overlay("terrain-doors", "terrain-points", t("layer.terrain_doors", lang),
                         pointToLayer={"variable": "voisinmap.terrainDoorPoint"},
                         hideout=door_hideout(lang=lang, zoom=0)),
                _overlay("terrain-revisit-layer", "terrain-points", t("layer.terrain_revisit", lang),
                         pointToLayer={"variable": "voisinmap.terrainRevisitPoint"},
                         hideout=revisit_hideout(lang=lang)),
            ], id="terrain-layers", position="topright", collapsed=True),
            dl.ScaleControl(position="bottomright", imperial=False),
        ],
    )
