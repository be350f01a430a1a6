"""``GET /api/qpv/<code>``: the figures of one QPV, fetched by the map when the pointer reaches it.

The QPV layer sent to the browser keeps only what its style needs (:mod:`app.layers`); the tooltips of
the Stratégie map (polygons, national symbols, NPNRU points) ask this route for the rest, once per
quartier and page (the browser keeps the answers), and show « Chargement… » meanwhile.

The answer is JSON: the quartier's code, name, commune, département and the indicator values as numbers
(the browser formats them in the page's language with ``Intl.NumberFormat``). The figures are INSEE's and
ANCT's published indicators of the quartier, no door-visit data. The route follows the app's rules
(:mod:`app.security`): it is classified with the map layers (signed-in accounts of the national level,
refused with a JSON 401 / 403 otherwise), answered under Talisman's headers, and limited per client
address by Flask-Limiter. An unknown code answers a JSON 404 whose message is translated
(``{"error": "Quartier prioritaire inconnu."}``, the code not echoed).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

import flask
import pandas as pd

from app import i18n, settings
from app.security.errors import json_error
from app.security.throttle import address_lockout_enforced, limiter
from geo import schema
from geo.i18n import t
from geo.webgeo import json_value

logger = logging.getLogger(__name__)

URL_PREFIX = "/api/qpv/"
#: What a tooltip shows (``app/assets/map.js``), in this order.
FIGURE_COLUMNS: tuple[str, ...] = (
    "code_qp", "lib_qp", "lib_com", "lib_dep", "insee_dep", "population", "households", "poverty_rate",
    "employment_rate", "npnru",
)
#: Requests per client address: a hand sweeping a city's QPV asks a few dozen a minute.
RATE_LIMIT = "600 per minute"
#: A QPV code: « QN » then département and number (``QN07512M``, ``QN02A02M``, ``QN97101M``).
CODE_PATTERN = re.compile(r"^Q[A-Z][0-9A-Z]{4,10}$")


def figures_table(qpv: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The figures of every QPV, by code, as JSON-ready dicts (missing values ``None``, ``npnru`` a bool).

    Parameters
    ----------
    qpv : pandas.DataFrame
        The processed QPV layer (columns :data:`FIGURE_COLUMNS`).

    Returns
    -------
    dict
        ``code_qp`` -> ``{column: value}``.

    Raises
    ------
    ValueError
        When a column of :data:`FIGURE_COLUMNS` is missing from ``qpv``.
    """
    missing = [c for c in FIGURE_COLUMNS if c not in qpv.columns]
    if missing:
        raise ValueError(f"qpv: expected the columns {list(FIGURE_COLUMNS)}, got a frame without {missing}")
    frame = qpv[list(FIGURE_COLUMNS)].assign(npnru=qpv["npnru"].fillna(False).astype(bool))
    columns = {c: frame[c].tolist() for c in FIGURE_COLUMNS}
    return {str(code): {c: json_value(columns[c][i], decimals=1) for c in FIGURE_COLUMNS}
            for i, code in enumerate(columns["code_qp"])}


@lru_cache(maxsize=4)
def _table(folder: str, version: int) -> dict[str, dict[str, Any]]:  # noqa: ARG001 - version keys the cache
    from geo.load import load_qpv

    return figures_table(load_qpv(data_dir=folder))


def current_table() -> dict[str, dict[str, Any]]:
    """:func:`figures_table` of the app's data folder, built once per data version."""
    folder = settings.data_path()
    return _table(str(folder), (folder / schema.LAYERS["qpv"]).stat().st_mtime_ns)


def _breach(_limit: Any) -> flask.Response:
    return json_error(429, t("api.qpv.too_many", i18n.current_lang()))


def qpv_figures(code: str) -> flask.Response:
    """``GET /api/qpv/<code>``: the figures of one QPV (JSON), or a translated JSON 404."""
    lang = i18n.current_lang()
    record = current_table().get(code) if CODE_PATTERN.match(code) else None
    if record is None:
        return json_error(404, t("api.qpv.unknown", lang))
    response = flask.jsonify(record)
    # the figures change with a new build only; the answer holds no personal data
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def init_app(server: flask.Flask) -> None:
    """Register the route on the Flask server."""
    view = limiter.limit(RATE_LIMIT, exempt_when=lambda: not address_lockout_enforced(), on_breach=_breach)(qpv_figures)
    server.add_url_rule(f"{URL_PREFIX}<code>", "qpv_figures", view, methods=["GET"])
