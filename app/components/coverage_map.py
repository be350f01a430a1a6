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

from app import settings
from app.components.legends import class_labels, legend_row
from geo import webgeo
from geo.coverage import schema
from geo.i18n import format_number, format_percent, t

#: Colour-blind-safe sequential scales (light to dark): heat (cells) and coverage (QPV).
HEAT_COLOURS: tuple[str, ...] = ("#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04")
COVERAGE_COLOURS: tuple[str, ...] = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
COVERAGE_BREAKS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30)
OUTCOME_COLOURS: dict[str, str] = {"ouvert": "#009e73", "absent": "#999999", "refus": "#d55e00",
                                   "a_revoir": "#e69f00", "ne_pas_deranger": "#000000"}
#: Approximate width of an H3 cell at each resolution the map uses, metres.
CELL_METRES = {7: 2500, 8: 1000, 9: 350, 10: 130}
#: View of France when there is no site to show.
FRANCE_VIEW = ([46.6, 2.5], 6)
EMPTY_COLLECTION: dict[str, Any] = {"type": "FeatureCollection", "features": []}


def outcome_labels(lang: str) -> dict[str, str]:
    """Label of each outcome code in ``lang`` (``ne_pas_deranger`` -> « ne pas déranger »)."""
    return {o: t(f"outcome.{o}", lang) for o in schema.OUTCOMES}


def heat_title(chosen: list[str], *, lang: str) -> str:
    """Title of the heat layer: all visits, or the visits of the chosen outcomes."""
    if not chosen:
        return t("terrain.heat", lang)
    return t("terrain.heat_outcomes", lang, o=", ".join(t(f"outcome.{o}", lang) for o in chosen))


def heat_hideout(values: np.ndarray, *, lang: str, title: str) -> dict[str, Any]:
    """Class limits and colours of the heat layer (quantiles of the visible cells)."""
    positive = values[values > 0]
    breaks = webgeo.class_breaks(positive.tolist(), n_classes=len(HEAT_COLOURS)) if positive.size > 1 else []
    breaks = [b for b in breaks if b > 0]
    return {"prop": "value", "breaks": breaks, "colors": list(HEAT_COLOURS[: len(breaks) + 1]), "lang": lang,
            "title": title,
            "labels": {"value": title, "visits": t("terrain.col.visits", lang), "ouvert": t("outcome.ouvert", lang),
                       "open_rate": t("terrain.col.open_rate", lang),
                       "households_reached": t("terrain.col.reached", lang)}}


def empty_heat_hideout() -> dict[str, Any]:
    """The heat layer's ``hideout`` when there is nothing to show."""
    return {"prop": "value", "breaks": [], "colors": [HEAT_COLOURS[0]]}


def _coverage_rows(lang: str) -> list[html.Div]:
    def pct(share: float) -> str:
        return format_percent(100 * share, lang, decimals=0)

    edges = (0.0, *COVERAGE_BREAKS)
    labels = [f"{pct(low)} – {pct(high)}" for low, high in zip(edges[:-1], COVERAGE_BREAKS, strict=True)]
    labels.append(t("legend.more_than", lang, v=pct(edges[-1])))
    return [legend_row(colour, label) for colour, label in zip(COVERAGE_COLOURS, labels, strict=True)]


def legend(hideout: dict[str, Any], *, lang: str, resolution: int, demo: bool) -> html.Div:
    """Legend of the heat layer and of the QPV coverage layer."""
    labels = class_labels(hideout["breaks"], lambda v: format_number(v, lang), lang=lang)
    rows = [legend_row(colour, label) for colour, label in zip(hideout["colors"], labels, strict=True)]
    extra = [html.Div(t("terrain.demo", lang), className="legend-demo")] if demo else []
    return html.Div(
        [html.Div(hideout["title"], className="legend-title"), *rows,
         html.Div(t("terrain.cells_note", lang, m=CELL_METRES[resolution]), className="legend-source"),
         html.Div(t("layer.terrain_qpv", lang), className="legend-title legend-second"), *_coverage_rows(lang),
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


def _tiles() -> list[Any]:
    tiles = settings.tiles()
    return [dl.TileLayer(url=tiles.url, attribution=tiles.attribution)] if tiles else []


def _overlay(layer_id: str, pane: str, name: str, **props: Any) -> dl.Overlay:
    return dl.Overlay(dl.GeoJSON(id=layer_id, pane=pane, data=None, **props), name=name, checked=True)


def coverage_map(lang: str, *, bounds: list[list[float]] | None = None) -> dl.Map:
    """The map of the page, opened on ``bounds`` (the default site) or on France."""
    return dl.Map(
        id="terrain-map", **initial_view(bounds), minZoom=5, maxZoom=19, preferCanvas=True,
        trackViewport=True, className="terrain-map",
        children=[
            *_tiles(),
            dl.Pane(name="terrain-qpv", style={"zIndex": 405}),
            dl.Pane(name="terrain-cells", style={"zIndex": 415}),
            dl.Pane(name="terrain-points", style={"zIndex": 430}),
            dl.LayersControl([
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
                         hideout={"colors": OUTCOME_COLOURS, "lang": lang, "labels": {},
                                  "outcomes": outcome_labels(lang)}),
                _overlay("terrain-revisit-layer", "terrain-points", t("layer.terrain_revisit", lang),
                         pointToLayer={"variable": "voisinmap.terrainRevisitPoint"},
                         hideout={"lang": lang, "labels": {}}),
            ], id="terrain-layers", position="topright", collapsed=True),
            dl.ScaleControl(position="bottomright", imperial=False),
        ],
    )
