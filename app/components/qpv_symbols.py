"""The national view of the QPV: one proportional symbol per QPV (area ∝ residents), coloured by the indicator.

At France zoom a QPV polygon is a few pixels wide; below :data:`SYMBOL_MAX_ZOOM` the map shows these
symbols instead (``app/assets/strategie.js`` switches the panes on zoom). The points come once from
the layer route (``qpv_points``, geobuf) and are styled in the browser from the same ``hideout`` as the
choropleth, so changing the indicator recolours them without new data. They carry the code and the
indicators only; a symbol's tooltip fetches the quartier's name and commune on demand
(``voisinmap.bindFigures``, :mod:`app.qpv_figures`).
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl

from app.layers import layer_url

#: Below this zoom the QPV are drawn as symbols, from it as polygons (keep in step with strategie.js).
SYMBOL_MAX_ZOOM = 9
#: Divisor of the square root of the residents: the symbol radius in pixels.
SYMBOL_SCALE = 16


def symbols_hideout(hideout: dict[str, Any]) -> dict[str, Any]:
    """The symbols' ``hideout``: the choropleth's (property, classes, colours, labels) plus the size scale."""
    return {**hideout, "scale": SYMBOL_SCALE}


def symbols_layer(*, hideout: dict[str, Any]) -> dl.GeoJSON:
    """The symbols layer, in its own pane (``vm-qpv-points``), styled by ``voisinmap.qpvSymbol``."""
    return dl.GeoJSON(id="strategie-qpv-points", url=layer_url("qpv_points"), format="geobuf", pane="vm-qpv-points",
                      pointToLayer={"variable": "voisinmap.qpvSymbol"}, hideout=symbols_hideout(hideout))
