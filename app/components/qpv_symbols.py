"""The national view of the QPV: one proportional symbol per QPV (area ∝ residents), coloured by the indicator.

At France zoom a QPV polygon is a few pixels wide; below :data:`SYMBOL_MAX_ZOOM` the map shows these
symbols instead (``app/assets/strategie.js`` switches the panes on zoom), styled in the browser from
the same ``hideout`` as the choropleth, so changing the indicator recolours them without new data.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
import numpy as np

from app.components import mapstyle

#: Below this zoom the QPV are drawn as symbols, from it as polygons (keep in step with strategie.js).
SYMBOL_MAX_ZOOM = 9
PROPERTIES: tuple[str, ...] = ("lib_qp", "lib_com", *(s.column for s in mapstyle.INDICATORS.values()))


_CACHE: dict[int, dict[str, Any]] = {}


def _collection(frame: Any) -> dict[str, Any]:
    points = frame.geometry.representative_point()
    features = []
    for (code, row), pt in zip(frame[["code_qp", *PROPERTIES]].set_index("code_qp").iterrows(), points, strict=True):
        props: dict[str, Any] = {"code": code}
        for key in PROPERTIES:
            value = row[key]
            if isinstance(value, np.bool_ | bool):
                value = int(value)
            elif isinstance(value, float | np.floating):
                value = None if np.isnan(value) else round(float(value), 1)
            elif isinstance(value, np.integer):
                value = int(value)
            props[key] = value
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [round(pt.x, 4), round(pt.y, 4)]}})
    return {"type": "FeatureCollection", "features": features}


def symbols_collection(frame: Any, *, version: int) -> dict[str, Any]:
    """GeoJSON points of the QPV (property ``code``, name, commune and every indicator), cached per version."""
    if version not in _CACHE:
        _CACHE.clear()  # one data version at a time
        _CACHE[version] = _collection(frame)
    return _CACHE[version]


def symbols_layer(frame: Any, *, version: int, hideout: dict[str, Any]) -> dl.GeoJSON:
    """The symbols layer, in its own pane (``vm-qpv-points``), styled by ``voisinmap.qpvSymbol``."""
    return dl.GeoJSON(id="strategie-qpv-points", data=symbols_collection(frame, version=version), pane="vm-qpv-points",
                      pointToLayer={"variable": "voisinmap.qpvSymbol"}, hideout={**hideout, "scale": 16})
