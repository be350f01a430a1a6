"""Background layers of a map: « Plan IGN v2 » of the IGN Géoplateforme, OpenStreetMap, and a neutral background.

The default background is the French public reference map, « Plan IGN v2 », served by the IGN Géoplateforme
as WMTS tiles without a key; OpenStreetMap comes second. ``VOISINMAP_TILES_URL`` (read by
:func:`app.settings.tiles`) replaces both with one tile layer, or removes every tile layer when it is ``none``.

The neutral background (« Fond neutre (hors ligne) ») is always offered and is the one checked when the page
opens: ``app/assets/basemap.js`` then loads a single probe tile of the first tile layer and switches to that
layer only when the tile arrives. Without network the page therefore stays on the neutral background, with
one failed request instead of one per tile; a tile layer that starts failing later (the connection drops)
is swapped for the neutral background at its first tile error. The app's own vectors (QPV outlines and
names, buildings) are overlays and stay whatever the background.
"""

from __future__ import annotations

from typing import NamedTuple

import dash_leaflet as dl

from app import settings
from geo.i18n import t

#: « Plan IGN v2 » of the IGN Géoplateforme, as an XYZ template over its WMTS service (Web Mercator, no key).
IGN_PLAN_URL = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS.PLANIGNV2"
    "&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
IGN_PLAN_NAME = "Plan IGN v2"
IGN_ATTRIBUTION = '© <a href="https://www.ign.fr/">IGN</a> – Géoplateforme, Plan IGN v2'
#: Zoom levels the Plan IGN v2 pyramid serves (the map scales the last level beyond).
IGN_MAX_NATIVE_ZOOM = 19
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_NAME = "OpenStreetMap"
OSM_MAX_NATIVE_ZOOM = 19


class Background(NamedTuple):
    """One tile background of the layer control: its name, XYZ template, credit and deepest native zoom."""

    name: str
    url: str
    attribution: str
    max_native_zoom: int = 19


def backgrounds(*, lang: str) -> list[Background]:
    """The tile backgrounds offered, first the preferred one.

    Parameters
    ----------
    lang : {"fr", "en"}
        Language of the credits.

    Returns
    -------
    list of Background
        Plan IGN v2 then OpenStreetMap; only the tiles of ``VOISINMAP_TILES_URL`` when it is set; none when
        it is ``none``.
    """
    chosen = settings.tiles(default_url=IGN_PLAN_URL, default_attribution=IGN_ATTRIBUTION)
    if chosen is None:
        return []
    if chosen.url != IGN_PLAN_URL:
        return [Background(name=t("basemap.custom", lang), url=chosen.url, attribution=chosen.attribution)]
    return [
        Background(name=IGN_PLAN_NAME, url=IGN_PLAN_URL, attribution=IGN_ATTRIBUTION,
                   max_native_zoom=IGN_MAX_NATIVE_ZOOM),
        Background(name=OSM_NAME, url=OSM_URL, attribution=t("basemap.osm_attribution", lang),
                   max_native_zoom=OSM_MAX_NATIVE_ZOOM),
    ]


def base_layers(*, lang: str, max_zoom: int = 19) -> list[dl.BaseLayer]:
    """The base layers of a map's layer control: the tile backgrounds, then the neutral one (checked).

    Parameters
    ----------
    lang : {"fr", "en"}
        Language of the names and credits.
    max_zoom : int
        Deepest zoom of the map (tiles are scaled beyond their native levels).
    """
    tiles = [
        dl.BaseLayer(dl.TileLayer(url=b.url, attribution=b.attribution, maxNativeZoom=b.max_native_zoom,
                                  maxZoom=max_zoom), name=b.name, checked=False)
        for b in backgrounds(lang=lang)
    ]
    neutral = dl.BaseLayer(dl.LayerGroup(), name=t("layer.plain", lang), checked=True)
    return [*tiles, neutral]
