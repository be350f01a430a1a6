"""Page « Terrain » (``/terrain``): door-level coverage of a site's campaigns, for its field manager.

Filters: site, campaigns, date range, outcomes (for the heat layer), "absent" doors in the revisit layer.
Map: H3 cells coloured by visits (or by the chosen outcomes) for the visible area, door points (buildings)
from zoom 16, the "à revoir" layer, the site's QPV coloured by coverage rate. Below: key figures, weekly
progress, the site's QPV ranked by remaining households, buildings to go back to. Import: the blank
template and the upload of a visit file (same checks as ``voisinmap coverage import``).

Door-level data: managers see their own sites only (:func:`app.security.site_scope`; the access layer also
checks the ``terrain-site`` value of every callback), admins every site; others are refused. All figures
come from :mod:`geo.coverage.aggregate`; callbacks only filter, call it and format.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Any, NamedTuple

import dash
import dash_leaflet as dl
import numpy as np
import pandas as pd
from dash import Input, Output, State, ctx, dash_table, dcc, html, no_update

from app import i18n
from app.main import data_dir
from geo import config
from geo.coverage import aggregate, schema

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/terrain", name="Terrain", title="voisinmap · Terrain", nav_key="nav.terrain",
                   order=20, roles=("manager", "admin"))

i18n.register({
    "terrain.title": {"fr": "Terrain", "en": "Field"},
    "terrain.intro": {
        "fr": "Portes frappées par les équipes, portes ouvertes, ménages rencontrés et portes à revoir, "
              "campagne par campagne.",
        "en": "Doors knocked by the teams, doors opened, households met and doors to go back to, campaign by "
              "campaign.",
    },
    "terrain.demo": {
        "fr": "Données fictives de démonstration : aucun de ces chiffres ne décrit une campagne réelle.",
        "en": "Fictitious demonstration data: none of these figures describes a real campaign.",
    },
    "terrain.empty": {
        "fr": "Aucune visite pour vos sites : importez un journal ci-dessous ou avec `voisinmap coverage import`.",
        "en": "No visit for your sites: import a log below or with `voisinmap coverage import`.",
    },
    "terrain.site": {"fr": "Site", "en": "Site"},
    "terrain.campaigns": {"fr": "Campagnes", "en": "Campaigns"},
    "terrain.campaigns_all": {"fr": "Toutes les campagnes", "en": "All campaigns"},
    "terrain.dates": {"fr": "Période", "en": "Period"},
    "terrain.start": {"fr": "Début", "en": "Start"},
    "terrain.end": {"fr": "Fin", "en": "End"},
    "terrain.outcomes": {"fr": "Carte de chaleur : résultats comptés", "en": "Heatmap: outcomes counted"},
    "terrain.absent": {"fr": "Compter les absents dans « à revoir »", "en": "Count absent doors as « to revisit »"},
    "terrain.heat": {"fr": "Visites (mailles H3)", "en": "Visits (H3 cells)"},
    "terrain.heat_outcomes": {"fr": "Visites « {o} » (mailles H3)", "en": "« {o} » visits (H3 cells)"},
    "terrain.cells_note": {"fr": "Mailles d'environ {m} m ; portes visibles à partir du zoom 16.",
                           "en": "Cells about {m} m across; door points from zoom 16."},
    "layer.terrain_qpv": {"fr": "QPV : taux de couverture", "en": "QPV: coverage rate"},
    "layer.terrain_cells": {"fr": "Carte de chaleur des visites", "en": "Visits heatmap"},
    "layer.terrain_doors": {"fr": "Bâtiments (zoom 16 et plus)", "en": "Buildings (zoom 16 and over)"},
    "layer.terrain_revisit": {"fr": "À revoir", "en": "To revisit"},
    "terrain.kpi.visits": {"fr": "portes frappées", "en": "doors knocked"},
    "terrain.kpi.opened": {"fr": "portes ouvertes", "en": "doors opened"},
    "terrain.kpi.open_rate": {"fr": "taux d'ouverture", "en": "open rate"},
    "terrain.kpi.households": {"fr": "ménages rencontrés", "en": "households met"},
    "terrain.kpi.buildings": {"fr": "bâtiments", "en": "buildings"},
    "terrain.kpi.qpv": {"fr": "QPV", "en": "QPV"},
    "terrain.kpi.revisit": {"fr": "portes à revoir", "en": "doors to revisit"},
    "terrain.kpi.outside": {"fr": "visites hors QPV", "en": "visits outside QPV"},
    "terrain.progress": {"fr": "Progression par semaine", "en": "Weekly progress"},
    "terrain.progress.visits": {"fr": "Portes frappées", "en": "Doors knocked"},
    "terrain.progress.cumulative": {"fr": "Ménages rencontrés (cumul)", "en": "Households met (cumulative)"},
    "terrain.qpv_table": {"fr": "QPV du site, par ménages restant à rencontrer",
                          "en": "QPV of the site, by households left to meet"},
    "terrain.revisit_table": {"fr": "Bâtiments à revoir", "en": "Buildings to revisit"},
    "terrain.col.qpv": {"fr": "QPV", "en": "QPV"},
    "terrain.col.code": {"fr": "Code", "en": "Code"},
    "terrain.col.households": {"fr": "Ménages (INSEE)", "en": "Households (INSEE)"},
    "terrain.col.reached": {"fr": "Ménages rencontrés", "en": "Households met"},
    "terrain.col.coverage": {"fr": "Couverture", "en": "Coverage"},
    "terrain.col.remaining": {"fr": "Ménages restants", "en": "Households left"},
    "terrain.col.visits": {"fr": "Portes frappées", "en": "Doors knocked"},
    "terrain.col.open_rate": {"fr": "Taux d'ouverture", "en": "Open rate"},
    "terrain.col.building": {"fr": "Bâtiment", "en": "Building"},
    "terrain.col.doors_to_revisit": {"fr": "Portes à revoir", "en": "Doors to revisit"},
    "terrain.col.last_visit": {"fr": "Dernière visite", "en": "Last visit"},
    "terrain.col.doors": {"fr": "Repères des portes", "en": "Door marks"},
    "terrain.import": {"fr": "Importer un journal de visites", "en": "Import a visit log"},
    "terrain.import_help": {
        "fr": "CSV ou XLSX au format du modèle. Jamais de nom ni de téléphone d'habitant : ces colonnes font "
              "refuser le fichier.",
        "en": "CSV or XLSX in the template's format. Never a resident's name or phone number: such columns get "
              "the file refused.",
    },
    "terrain.template_csv": {"fr": "Modèle CSV", "en": "CSV template"},
    "terrain.template_xlsx": {"fr": "Modèle XLSX", "en": "XLSX template"},
    "terrain.upload": {"fr": "Déposer ou choisir un fichier (CSV, XLSX)", "en": "Drop or choose a file (CSV, XLSX)"},
    "terrain.upload_done": {
        "fr": "{file} : {imported} visite(s) importée(s), {duplicates} déjà présente(s), {rejected} ligne(s) "
              "rejetée(s), {pending} adresse(s) en attente de géocodage.",
        "en": "{file}: {imported} visit(s) imported, {duplicates} already there, {rejected} row(s) rejected, "
              "{pending} address(es) awaiting geocoding.",
    },
    "terrain.upload_refused": {"fr": "Fichier refusé : {e}", "en": "File refused: {e}"},
    "terrain.report": {"fr": "Télécharger le rapport des lignes rejetées (CSV)",
                       "en": "Download the report of rejected rows (CSV)"},
    "terrain.sources": {
        "fr": "Sources : journaux de porte-à-porte de l'association ; ménages : INSEE (QPV 2024) ; contours : ANCT.",
        "en": "Sources: the association's door-to-door logs; households: INSEE (QPV 2024); boundaries: ANCT.",
    },
    **{f"outcome.{o}": {"fr": label, "en": en} for (o, label), en in zip(
        schema.OUTCOME_LABELS.items(), ("door opened", "absent", "refused", "to revisit", "do not disturb"),
        strict=True)},
})

t = i18n.t
#: Colour-blind-safe sequential scales (light to dark): heat (cells) and coverage (QPV).
HEAT_COLOURS: tuple[str, ...] = ("#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04")
COVERAGE_COLOURS: tuple[str, ...] = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")
COVERAGE_BREAKS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30)
OUTCOME_COLOURS: dict[str, str] = {"ouvert": "#009e73", "absent": "#999999", "refus": "#d55e00",
                                   "a_revoir": "#e69f00", "ne_pas_deranger": "#000000"}
CELL_METRES = {7: 2500, 8: 1000, 9: 350, 10: 130}
TILES_ENV = "VOISINMAP_TILES_URL"
DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
MAX_TABLE_ROWS = 200


# --------------------------------------------------------------------------------------------- data
class TerrainData(NamedTuple):
    """Prepared visits of the store and the QPV attributes they are measured against."""

    prep: aggregate.PreparedEvents
    qpv: Any  # GeoDataFrame of the national QPV layer
    names: dict[str, str]


_CACHE: dict[tuple[Any, ...], TerrainData | None] = {}
_LOCK = threading.Lock()


def _db_url() -> str:
    import flask

    from app.auth import DB_KEY

    return (flask.current_app.config.get(DB_KEY) if flask.has_app_context() else None) or config.database_url()


def _store_version(url: str) -> tuple[int, int]:
    from geo.coverage.store import data_version, make_engine

    engine = make_engine(url)
    try:
        return data_version(engine)
    finally:
        engine.dispose()


def _site_names(codes: list[str], folder: Any) -> dict[str, str]:
    from geo.coverage.demo import SITE_NAMES
    from geo.load import load_arrondissements, load_communes, load_qpv

    names = {c: SITE_NAMES[c] for c in codes if c in SITE_NAMES}
    missing = [c for c in codes if c not in names]
    if missing:
        communes = load_communes(data_dir=folder)
        arr = load_arrondissements(data_dir=folder)
        table = dict(zip(communes["insee_com"].astype(str), communes["name"].astype(str), strict=True))
        table.update(zip(arr["insee_com"].astype(str), arr["name"].astype(str), strict=True))
        qpv = load_qpv(data_dir=folder)
        epci = qpv.dropna(subset=["siren_epci"]).drop_duplicates("siren_epci")
        table.update(zip(epci["siren_epci"].astype(str), epci["lib_epci"].astype(str), strict=True))
        names.update({c: table.get(c, c) for c in missing})
    return names


def current_data() -> TerrainData | None:
    """Prepared visits of the app's store (rebuilt when visits change), or None when there are none."""
    from geo.coverage.store import load_events, open_store
    from geo.load import load_qpv

    url = _db_url()
    folder = data_dir()
    qpv = load_qpv(data_dir=folder)
    key = (url, str(folder), _store_version(url), id(qpv))
    with _LOCK:
        if key not in _CACHE:
            engine = open_store(url)
            try:
                events = load_events(engine)
            finally:
                engine.dispose()
            data = None
            if len(events):
                prep = aggregate.prepare_events(events, qpv=qpv)
                data = TerrainData(prep=prep, qpv=qpv, names=_site_names(list(prep.sites), folder))
            _CACHE.clear()
            _CACHE[key] = data
        return _CACHE[key]


def site_scope() -> tuple[str, ...] | None:
    """Sites this request may read (None: all, for an admin), from :func:`app.security.site_scope`."""
    from app import security

    return security.site_scope()


_TERRITORY: dict[str, Any] = {}


def territory() -> Any:
    """France's land from the départements layer, built once per data folder (rejects points abroad)."""
    from geo.coverage.territory import france_territory
    from geo.load import load_departements

    folder = str(data_dir())
    with _LOCK:
        if folder not in _TERRITORY:
            _TERRITORY.clear()
            _TERRITORY[folder] = france_territory(load_departements(data_dir=data_dir()))
        return _TERRITORY[folder]


def allowed_sites(data: TerrainData | None) -> list[str]:
    """Sites of the store the current user may see, sorted by name."""
    if data is None:
        return []
    scope = site_scope()
    codes = [s for s in data.prep.sites if scope is None or s in scope]
    return sorted(codes, key=lambda c: data.names.get(c, c))


def _check_site(site: str | None, data: TerrainData | None) -> str | None:
    """The requested site if the user may see it, else None (the page then shows nothing)."""
    if not site or data is None:
        return None
    return site if site in allowed_sites(data) else None


def site_qpv_codes(data: TerrainData, site: str, mask: np.ndarray) -> list[str]:
    """QPV of a site: those its visits touch, and those of its commune or EPCI."""
    prep = data.prep
    b = np.unique(prep.building[mask])
    idx = prep.b_qpv[b]
    codes = {prep.qpv_codes[i] for i in np.unique(idx[idx >= 0])}
    qpv = data.qpv
    com = qpv["insee_com"].astype(str).str.split(";").map(lambda parts: site in parts).to_numpy(dtype=bool)
    epci = (qpv["siren_epci"].astype(str) == site).to_numpy()
    codes |= set(qpv.loc[com | epci, "code_qp"].astype(str))
    return sorted(codes)


def _dates(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    return (start[:10] if start else None), (end[:10] if end else None)


def _bbox(bounds: Any) -> tuple[float, float, float, float] | None:
    try:
        (south, west), (north, east) = bounds
        return float(west), float(south), float(east), float(north)
    except (TypeError, ValueError):
        return None


def site_bounds(data: TerrainData, mask: np.ndarray) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the buildings of a selection, padded."""
    prep = data.prep
    b = np.unique(prep.building[mask])
    if b.size == 0:
        return None
    lon, lat = prep.b_lon[b], prep.b_lat[b]
    pad_x = max(0.003, (lon.max() - lon.min()) * 0.08)
    pad_y = max(0.002, (lat.max() - lat.min()) * 0.08)
    return [[float(lat.min() - pad_y), float(lon.min() - pad_x)], [float(lat.max() + pad_y), float(lon.max() + pad_x)]]


# ------------------------------------------------------------------------------------------ formatting
def outcome_labels(lang: str) -> dict[str, str]:
    """Label of each outcome code in ``lang`` (``ne_pas_deranger`` -> « ne pas déranger »)."""
    return {o: t(f"outcome.{o}", lang) for o in schema.OUTCOMES}


def heat_hideout(values: np.ndarray, *, lang: str, title: str) -> dict[str, Any]:
    """Class limits and colours of the heat layer (quantiles of the visible cells)."""
    from geo import webgeo

    positive = values[values > 0]
    breaks = webgeo.class_breaks(positive.tolist(), n_classes=len(HEAT_COLOURS)) if positive.size > 1 else []
    breaks = [b for b in breaks if b > 0]
    return {"prop": "value", "breaks": breaks, "colors": list(HEAT_COLOURS[: len(breaks) + 1]), "lang": lang,
            "title": title,
            "labels": {"value": title, "visits": t("terrain.col.visits", lang), "ouvert": t("outcome.ouvert", lang),
                       "open_rate": t("terrain.col.open_rate", lang),
                       "households_reached": t("terrain.col.reached", lang)}}


def legend(hideout: dict[str, Any], *, lang: str, resolution: int, demo: bool) -> html.Div:
    """Legend of the heat layer and of the QPV coverage layer."""
    breaks, colours = hideout["breaks"], hideout["colors"]
    rows = []
    for i, colour in enumerate(colours):
        if not breaks:
            label = "≥ 1"
        elif i == 0:
            label = t("legend.less_than", lang, v=i18n.fmt_number(breaks[0], lang))
        elif i == len(breaks):
            label = t("legend.more_than", lang, v=i18n.fmt_number(breaks[-1], lang))
        else:
            label = t("legend.range", lang, a=i18n.fmt_number(breaks[i - 1], lang), b=i18n.fmt_number(breaks[i], lang))
        rows.append(html.Div([html.Span(className="legend-swatch", style={"background": colour}), html.Span(label)],
                             className="legend-row"))
    cov = []
    edges = (0.0, *COVERAGE_BREAKS)
    for i, colour in enumerate(COVERAGE_COLOURS):
        label = (i18n.fmt_pct(100 * edges[i], lang, 0) + " – " + i18n.fmt_pct(100 * COVERAGE_BREAKS[i], lang, 0)
                 if i < len(COVERAGE_BREAKS) else t("legend.more_than", lang, v=i18n.fmt_pct(100 * edges[-1], lang, 0)))
        cov.append(html.Div([html.Span(className="legend-swatch", style={"background": colour}), html.Span(label)],
                            className="legend-row"))
    extra = [html.Div(t("terrain.demo", lang), className="legend-demo")] if demo else []
    return html.Div(
        [html.Div(hideout["title"], className="legend-title"), *rows,
         html.Div(t("terrain.cells_note", lang, m=CELL_METRES[resolution]), className="legend-source"),
         html.Div(t("layer.terrain_qpv", lang), className="legend-title legend-second"), *cov,
         *extra, html.Div(t("terrain.sources", lang), className="legend-source")],
        className="legend terrain-legend", id="terrain-legend-box",
    )


def qpv_features(data: TerrainData, frame: pd.DataFrame) -> dict[str, Any]:
    """The site's QPV polygons with their coverage figures (GeoJSON)."""
    import geopandas as gpd

    codes = frame["code_qp"].astype(str).tolist()
    shapes = data.qpv[data.qpv["code_qp"].astype(str).isin(codes)][["code_qp", "geometry"]]
    joined = shapes.merge(frame[["code_qp", "lib_qp", "households", "households_reached", "coverage_rate",
                                 "remaining_households", "visits"]], on="code_qp", how="left")
    joined = gpd.GeoDataFrame(joined, geometry="geometry", crs=data.qpv.crs)
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


PROGRESS_HEIGHT = 320
#: Short French month names for the date axis of the progress chart.
FRENCH_MONTHS: tuple[str, ...] = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                                  "oct.", "nov.", "déc.")


def week_label(day: str, lang: str) -> str:
    """Label of a week start ``YYYY-MM-DD`` on the date axis: « 3 mars 2025 » in French, ``Mar 3, 2025`` in English."""
    ts = pd.Timestamp(day)
    if lang == "fr":
        return f"{ts.day} {FRENCH_MONTHS[ts.month - 1]} {ts.year}"
    return f"{ts.strftime('%b')} {ts.day}, {ts.year}"


def progress_figure(periods: pd.DataFrame, *, lang: str) -> dict[str, Any]:
    """Weekly knocks (bars) and cumulative households met (line) as a plotly figure dict.

    Fixed height, legend above the plot, margins that fit both axis titles; numbers and dates in ``lang``
    (French: decimal comma, space between thousands, French month names on the date axis).
    """
    x = [str(d)[:10] for d in periods["period_start"].to_numpy(dtype="datetime64[D]")]
    step = max(1, -(-len(x) // 8))  # at most about 8 labelled weeks
    ticks = x[::step]
    return {
        "data": [
            {"type": "bar", "x": x, "y": periods["visits"].tolist(), "name": t("terrain.progress.visits", lang),
             "marker": {"color": "#9e9ac8"}, "hovertemplate": "%{y:,d}"},
            {"type": "scatter", "mode": "lines", "x": x, "y": periods["cumulative_households_reached"].tolist(),
             "name": t("terrain.progress.cumulative", lang), "yaxis": "y2", "line": {"color": "#cc4c02", "width": 2},
             "hovertemplate": "%{y:,d}"},
        ],
        "layout": {"height": PROGRESS_HEIGHT, "autosize": True,
                   "margin": {"l": 70, "r": 70, "t": 40, "b": 50},
                   "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
                   "hovermode": "x unified",
                   "xaxis": {"type": "date", "tickmode": "array", "tickvals": ticks,
                             "ticktext": [week_label(d, lang) for d in ticks], "automargin": True,
                             "hoverformat": "%d/%m/%Y" if lang == "fr" else "%Y-%m-%d"},
                   "yaxis": {"title": {"text": t("terrain.progress.visits", lang)}, "rangemode": "tozero", "tickformat": ",d",
                             "automargin": True},
                   "yaxis2": {"title": {"text": t("terrain.progress.cumulative", lang)}, "overlaying": "y",
                              "side": "right", "rangemode": "tozero", "tickformat": ",d", "automargin": True},
                   "separators": ", " if lang == "fr" else ".,"},
    }


def empty_progress_figure(lang: str) -> dict[str, Any]:
    """The chart before any data (same height, so the page does not jump)."""
    return {"data": [], "layout": {"height": PROGRESS_HEIGHT, "separators": ", " if lang == "fr" else ".,",
                                   "xaxis": {"visible": False}, "yaxis": {"visible": False}}}


def qpv_rows(frame: pd.DataFrame, *, lang: str) -> list[dict[str, Any]]:
    """Rows of the QPV table (sorted by remaining households), numbers formatted for ``lang``."""
    rows = []
    for r in frame.head(MAX_TABLE_ROWS).itertuples(index=False):
        rows.append({
            "qpv": r.lib_qp or r.code_qp, "code": r.code_qp,
            "households": i18n.fmt_number(r.households, lang),
            "reached": i18n.fmt_number(r.households_reached, lang),
            "coverage": i18n.fmt_pct(100 * r.coverage_rate, lang, 1) if r.coverage_rate == r.coverage_rate else
            t("common.not_available", lang),
            "remaining": i18n.fmt_number(r.remaining_households, lang),
            "remaining_sort": float(r.remaining_households) if r.remaining_households == r.remaining_households
            else -1.0,
            "visits": i18n.fmt_number(r.visits, lang),
            "open_rate": i18n.fmt_pct(100 * r.open_rate, lang, 0) if r.open_rate == r.open_rate else "–",
        })
    return rows


def revisit_rows(frame: pd.DataFrame, *, lang: str) -> list[dict[str, Any]]:
    """Rows of the buildings-to-revisit table (most doors first)."""
    return [{"building": r.building, "qpv": r.code_qp if isinstance(r.code_qp, str) else "–",
             "doors_to_revisit": int(r.doors_to_revisit), "last_visit": str(r.last_visit)[:10],
             "doors": r.doors or ""} for r in frame.head(MAX_TABLE_ROWS).itertuples(index=False)]


def kpis(summary: dict[str, Any], revisit: pd.DataFrame, *, lang: str) -> list[html.Div]:
    """The key figures strip."""
    rate = summary.get("open_rate")
    items = [
        (i18n.fmt_number(summary["visits"], lang), "terrain.kpi.visits"),
        (i18n.fmt_number(summary["ouvert"], lang), "terrain.kpi.opened"),
        (i18n.fmt_pct(100 * rate, lang, 0) if rate is not None else "–", "terrain.kpi.open_rate"),
        (i18n.fmt_number(summary["households_reached"], lang), "terrain.kpi.households"),
        (i18n.fmt_number(summary["buildings"], lang), "terrain.kpi.buildings"),
        (i18n.fmt_number(summary["qpv"], lang), "terrain.kpi.qpv"),
        (i18n.fmt_number(int(revisit["doors_to_revisit"].sum()) if len(revisit) else 0, lang), "terrain.kpi.revisit"),
        (i18n.fmt_number(summary["outside_qpv_visits"], lang), "terrain.kpi.outside"),
    ]
    return [html.Div([html.Div(value, className="kpi-value"), html.Div(t(key, lang), className="kpi-label")],
                     className="kpi", id=f"terrain-{key.split('.')[-1]}") for value, key in items]


# -------------------------------------------------------------------------------------------- layout
def _tiles() -> list[Any]:
    import os

    url = os.environ.get(TILES_ENV, DEFAULT_TILES).strip()
    if url.lower() in {"", "none", "off"}:
        return []
    return [dl.TileLayer(url=url, attribution=os.environ.get("VOISINMAP_TILES_ATTRIBUTION",
                                                              "© contributeurs OpenStreetMap"))]


#: View of France when there is no site to show.
FRANCE_VIEW = ([46.6, 2.5], 6)


def initial_view(bounds: list[list[float]] | None) -> dict[str, Any]:
    """Props of the map's first view: the site's bounds (fitted by the map) with a matching centre and zoom,
    or France when there is no site."""
    if not bounds:
        return {"center": list(FRANCE_VIEW[0]), "zoom": FRANCE_VIEW[1]}
    (south, west), (north, east) = bounds
    span = max(east - west, (north - south) * 1.5, 1e-4)
    zoom = int(max(5, min(17, np.floor(np.log2(360.0 / span)) + 1)))
    return {"bounds": bounds, "center": [(south + north) / 2, (west + east) / 2], "zoom": zoom}


def _map(lang: str, *, bounds: list[list[float]] | None = None) -> dl.Map:
    return dl.Map(
        id="terrain-map", **initial_view(bounds), minZoom=5, maxZoom=19, preferCanvas=True,
        trackViewport=True, className="terrain-map",
        children=[
            *_tiles(),
            dl.Pane(name="terrain-qpv", style={"zIndex": 405}),
            dl.Pane(name="terrain-cells", style={"zIndex": 415}),
            dl.Pane(name="terrain-points", style={"zIndex": 430}),
            dl.LayersControl([
                dl.Overlay(dl.GeoJSON(id="terrain-qpv-layer", pane="terrain-qpv", data=None,
                                      style={"variable": "voisinmap.terrainQpvStyle"},
                                      onEachFeature={"variable": "voisinmap.terrainQpvTooltip"},
                                      hideout={"breaks": list(COVERAGE_BREAKS), "colors": list(COVERAGE_COLOURS),
                                               "lang": lang, "labels": {}}),
                           name=t("layer.terrain_qpv", lang), checked=True),
                dl.Overlay(dl.GeoJSON(id="terrain-cells", pane="terrain-cells", data=None,
                                      style={"variable": "voisinmap.terrainCellStyle"},
                                      onEachFeature={"variable": "voisinmap.terrainCellTooltip"},
                                      hideout={"prop": "value", "breaks": [], "colors": [HEAT_COLOURS[0]]}),
                           name=t("layer.terrain_cells", lang), checked=True),
                dl.Overlay(dl.GeoJSON(id="terrain-doors", pane="terrain-points", data=None,
                                      pointToLayer={"variable": "voisinmap.terrainDoorPoint"},
                                      hideout={"colors": OUTCOME_COLOURS, "lang": lang, "labels": {},
                                               "outcomes": outcome_labels(lang)}),
                           name=t("layer.terrain_doors", lang), checked=True),
                dl.Overlay(dl.GeoJSON(id="terrain-revisit-layer", pane="terrain-points", data=None,
                                      pointToLayer={"variable": "voisinmap.terrainRevisitPoint"},
                                      hideout={"lang": lang, "labels": {}}),
                           name=t("layer.terrain_revisit", lang), checked=True),
            ], id="terrain-layers", position="topright", collapsed=True),
            dl.ScaleControl(position="bottomright", imperial=False),
        ],
    )


def _table(table_id: str, columns: list[tuple[str, str]], *, lang: str, sort_by: list[dict] | None = None,
           ) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=table_id, data=[], columns=[{"id": cid, "name": t(key, lang)} for cid, key in columns],
        sort_action="native", sort_by=sort_by or [], page_size=15,
        style_cell={"textAlign": "left", "fontSize": "0.85rem", "whiteSpace": "normal", "height": "auto"},
        style_header={"fontWeight": "600", "whiteSpace": "normal", "height": "auto"},
        style_table={"overflowX": "auto", "minWidth": "100%"},
    )


def _controls(lang: str, sites: list[str], names: dict[str, str]) -> html.Div:
    outcomes = [{"label": " " + t(f"outcome.{o}", lang), "value": o} for o in schema.OUTCOMES]
    return html.Div([
        html.H1(t("terrain.title", lang), className="side-title"),
        html.P(t("terrain.intro", lang), className="help"),
        html.Label(t("terrain.site", lang), htmlFor="terrain-site", className="control-label"),
        dcc.Dropdown(id="terrain-site", options=[{"label": f"{names.get(s, s)} ({s})", "value": s} for s in sites],
                     value=sites[0] if sites else None, clearable=False),
        html.Label(t("terrain.campaigns", lang), htmlFor="terrain-campaigns", className="control-label"),
        dcc.Dropdown(id="terrain-campaigns", options=[], value=[], multi=True,
                     placeholder=t("terrain.campaigns_all", lang)),
        html.Label(t("terrain.dates", lang), className="control-label"),
        dcc.DatePickerRange(id="terrain-dates", display_format="DD/MM/YYYY" if lang == "fr" else "YYYY-MM-DD",
                            first_day_of_week=1, clearable=True, start_date=None, end_date=None,
                            start_date_placeholder_text=t("terrain.start", lang),
                            end_date_placeholder_text=t("terrain.end", lang)),
        html.Label(t("terrain.outcomes", lang), className="control-label"),
        dcc.Checklist(id="terrain-outcomes", options=outcomes, value=[], className="terrain-checklist",
                      labelStyle={"display": "flex", "alignItems": "center", "gap": "4px"}),
        dcc.Checklist(id="terrain-absent", options=[{"label": " " + t("terrain.absent", lang), "value": "absent"}],
                      value=[], className="terrain-checklist",
                      labelStyle={"display": "flex", "alignItems": "center", "gap": "4px", "marginTop": "6px"}),
        html.H2(t("terrain.import", lang), className="side-title"),
        html.P(t("terrain.import_help", lang), className="help"),
        html.Div([html.Button(t("terrain.template_csv", lang), id="terrain-template-csv", n_clicks=0,
                              className="link-button"),
                  html.Button(t("terrain.template_xlsx", lang), id="terrain-template-xlsx", n_clicks=0,
                              className="link-button")], className="terrain-buttons"),
        dcc.Download(id="terrain-template-download"),
        dcc.Upload(id="terrain-upload", children=html.Div(t("terrain.upload", lang)), className="upload",
                   accept=".csv,.xlsx,text/csv", multiple=False),
        html.Div(id="terrain-upload-result", role="status", className="help"),
        dcc.Store(id="terrain-report"),
        html.Button(t("terrain.report", lang), id="terrain-report-button", n_clicks=0, className="link-button",
                    hidden=True),
        dcc.Download(id="terrain-report-download"),
    ], className="terrain-controls")


def layout(**_kwargs: Any) -> html.Div:
    """The page (the language from the cookie; the site list from the user's scope)."""
    from geo.load import DataNotBuiltError

    lang = i18n.current_lang()
    try:
        data = current_data()
    except DataNotBuiltError:
        return html.Div(html.P(t("error.data_missing", lang), className="notice"), className="page-padded")
    sites = allowed_sites(data)
    names = data.names if data is not None else {}
    empty = [] if sites else [html.P(t("terrain.empty", lang), className="notice", id="terrain-empty")]
    # The map opens on the default site (the first of the dropdown), not on a fixed place.
    bounds = site_bounds(data, aggregate.select(data.prep, sites=[sites[0]])) if sites else None
    return html.Div([
        html.Aside(_controls(lang, sites, names), className="terrain-side"),
        html.Section([
            html.Div(t("terrain.demo", lang), id="terrain-demo", className="demo-banner", hidden=True),
            *empty,
            html.Div([_map(lang, bounds=bounds), html.Div(id="terrain-legend")], className="map-wrap"),
            html.Div(id="terrain-kpis", className="terrain-kpis"),
            html.Div([
                html.Div([html.H3(t("terrain.progress", lang)),
                          dcc.Graph(id="terrain-progress", figure=empty_progress_figure(lang),
                                    style={"height": f"{PROGRESS_HEIGHT}px"},
                                    config={"displayModeBar": False, "responsive": True})],
                         className="terrain-block terrain-progress-block"),
                html.Div([html.H3(t("terrain.qpv_table", lang)),
                          _table("terrain-qpv-table", [("qpv", "terrain.col.qpv"), ("code", "terrain.col.code"),
                                                       ("households", "terrain.col.households"),
                                                       ("reached", "terrain.col.reached"),
                                                       ("coverage", "terrain.col.coverage"),
                                                       ("remaining", "terrain.col.remaining"),
                                                       ("visits", "terrain.col.visits"),
                                                       ("open_rate", "terrain.col.open_rate")], lang=lang)],
                         className="terrain-block terrain-qpv-block"),
                html.Div([html.H3(t("terrain.revisit_table", lang)),
                          _table("terrain-revisit-table", [("building", "terrain.col.building"),
                                                           ("qpv", "terrain.col.qpv"),
                                                           ("doors_to_revisit", "terrain.col.doors_to_revisit"),
                                                           ("last_visit", "terrain.col.last_visit"),
                                                           ("doors", "terrain.col.doors")], lang=lang)],
                         className="terrain-block"),
            ], className="terrain-results"),
        ], className="terrain-main"),
    ], className="page-terrain")


# ----------------------------------------------------------------------------------------- callbacks
@dash.callback(
    Output("terrain-campaigns", "options"),
    Output("terrain-campaigns", "value"),
    Input("terrain-site", "value"),
)
def campaign_options(site: str | None) -> tuple[list[dict[str, str]], list[str]]:
    """The campaigns of the chosen site (the selection is cleared when the site changes)."""
    data = current_data()
    site = _check_site(site, data)
    if site is None:
        return [], []
    prep = data.prep
    own = np.flatnonzero(np.asarray(prep.sites, dtype=object)[prep.campaign_site] == site)
    names = sorted({prep.campaigns[i] for i in own})
    return [{"label": n, "value": n} for n in names], []


@dash.callback(
    Output("terrain-kpis", "children"),
    Output("terrain-progress", "figure"),
    Output("terrain-qpv-table", "data"),
    Output("terrain-revisit-table", "data"),
    Output("terrain-qpv-layer", "data"),
    Output("terrain-demo", "hidden"),
    Output("terrain-map", "viewport"),
    Input("terrain-site", "value"),
    Input("terrain-campaigns", "value"),
    Input("terrain-dates", "start_date"),
    Input("terrain-dates", "end_date"),
    Input("terrain-absent", "value"),
)
def site_summary(site: str | None, campaigns: list[str] | None, start: str | None, end: str | None,
                 absent: list[str] | None) -> tuple[Any, ...]:
    """Figures that follow the filters but not the map: key figures, progress, QPV and revisit tables."""
    lang = i18n.current_lang()
    data = current_data()
    site = _check_site(site, data)
    if site is None:
        return [], empty_progress_figure(lang), [], [], None, True, no_update
    start, end = _dates(start, end)
    mask = aggregate.select(data.prep, sites=[site], campaigns=campaigns or None, start=start, end=end)
    site_mask = aggregate.select(data.prep, sites=[site])
    qpv_frame = aggregate.aggregate_qpv(data.prep, mask, qpv=data.qpv,
                                        include=site_qpv_codes(data, site, site_mask))
    revisit = aggregate.revisit_layer(data.prep, mask, include_absent=bool(absent))
    summary = aggregate.summarise(data.prep, mask)
    periods = aggregate.aggregate_periods(data.prep, mask)
    viewport: Any = no_update
    if ctx.triggered_id in (None, "terrain-site"):
        bounds = site_bounds(data, site_mask)
        viewport = {"bounds": bounds, "transition": "flyToBounds"} if bounds else no_update
    return (kpis(summary, revisit, lang=lang), progress_figure(periods, lang=lang), qpv_rows(qpv_frame, lang=lang),
            revisit_rows(revisit, lang=lang), qpv_features(data, qpv_frame), not summary["demo"], viewport)


@dash.callback(
    Output("terrain-cells", "data"),
    Output("terrain-cells", "hideout"),
    Output("terrain-doors", "data"),
    Output("terrain-revisit-layer", "data"),
    Output("terrain-legend", "children"),
    Input("terrain-site", "value"),
    Input("terrain-campaigns", "value"),
    Input("terrain-dates", "start_date"),
    Input("terrain-dates", "end_date"),
    Input("terrain-outcomes", "value"),
    Input("terrain-absent", "value"),
    Input("terrain-map", "bounds"),
    Input("terrain-map", "zoom"),
)
def map_view(site: str | None, campaigns: list[str] | None, start: str | None, end: str | None,
             outcomes: list[str] | None, absent: list[str] | None, bounds: Any, zoom: float | None,
             ) -> tuple[Any, ...]:
    """The layers of the visible area: H3 cells (heat), door points from zoom 16, buildings to revisit."""
    lang = i18n.current_lang()
    data = current_data()
    site = _check_site(site, data)
    empty = {"type": "FeatureCollection", "features": []}
    if site is None:
        return empty, {"prop": "value", "breaks": [], "colors": [HEAT_COLOURS[0]]}, empty, empty, None
    start, end = _dates(start, end)
    zoom = float(zoom) if zoom is not None else 14.0
    bbox = _bbox(bounds)
    if bbox is None:
        site_box = site_bounds(data, aggregate.select(data.prep, sites=[site]))
        bbox = (site_box[0][1], site_box[0][0], site_box[1][1], site_box[1][0]) if site_box else (-180, -90, 180, 90)
    view = aggregate.viewport(data.prep, bbox=bbox, zoom=zoom, sites=[site], campaigns=campaigns or None,
                              start=start, end=end, include_absent=bool(absent))
    chosen = [o for o in (outcomes or []) if o in schema.OUTCOMES]
    cells = view.cells.copy()
    cells["value"] = cells[chosen].sum(axis=1) if chosen else cells["visits"]
    cells = cells[cells["value"] > 0]
    title = (t("terrain.heat_outcomes", lang, o=", ".join(t(f"outcome.{o}", lang) for o in chosen)) if chosen
             else t("terrain.heat", lang))
    hideout = heat_hideout(cells["value"].to_numpy(dtype=float), lang=lang, title=title)
    cells_geo = aggregate.cells_geojson(cells, properties=("value", "visits", "ouvert", "open_rate",
                                                            "households_reached"))
    doors = empty
    if view.buildings is not None:
        points = view.buildings
        if chosen:
            points = points[points[chosen].sum(axis=1) > 0]
        doors = aggregate.points_geojson(points, properties=("building", "visits", "ouvert", "open_rate",
                                                             "households_reached", "last_visit", "last_outcome"))
    revisit = aggregate.points_geojson(view.revisit.head(2000), properties=("building", "doors_to_revisit",
                                                                             "last_visit", "doors"))
    return (cells_geo, hideout, doors, revisit,
            legend(hideout, lang=lang, resolution=view.resolution, demo=bool(view.summary["demo"])))


@dash.callback(
    Output("terrain-template-download", "data"),
    Input("terrain-template-csv", "n_clicks"),
    Input("terrain-template-xlsx", "n_clicks"),
    prevent_initial_call=True,
)
def template_download(n_csv: int | None, n_xlsx: int | None) -> Any:
    """The blank template, as CSV or XLSX."""
    from geo.coverage.template import template_csv, template_xlsx

    if ctx.triggered_id == "terrain-template-xlsx" and n_xlsx:
        return dcc.send_bytes(template_xlsx(), "modele_visites.xlsx")
    if ctx.triggered_id == "terrain-template-csv" and n_csv:
        return dcc.send_bytes(template_csv(), "modele_visites.csv")
    return no_update


@dash.callback(
    Output("terrain-upload-result", "children"),
    Output("terrain-report", "data"),
    Output("terrain-report-button", "hidden"),
    Input("terrain-upload", "contents"),
    State("terrain-upload", "filename"),
    prevent_initial_call=True,
)
def upload(contents: str | None, filename: str | None) -> tuple[Any, Any, bool]:
    """Import an uploaded visit file (the rows of other sites than the user's are rejected)."""
    from geo.coverage import importer, store
    from geo.coverage.errors import CoverageError, FileRefusedError
    from geo.coverage.geocode import Geocoder
    from geo.load import load_qpv

    lang = i18n.current_lang()
    if not contents or "," not in contents:
        return no_update, no_update, True
    name = (filename or "visites.csv").replace("/", "_").replace("\\", "_")[-120:]
    try:
        payload = base64.b64decode(contents.split(",", 1)[1], validate=False)
    except ValueError:
        return html.Div(t("terrain.upload_refused", lang, e="base64"), className="error", role="alert"), None, True
    scope = site_scope()
    engine = store.open_store(_db_url())
    try:
        summary = importer.import_bytes(
            payload, name=name, engine=engine, qpv=load_qpv(data_dir=data_dir()), territory=territory(),
            allowed_sites=scope,
            geocoder=Geocoder(retries=1, timeout=(3.0, 60.0), cache=store.SqlGeocodeCache(engine)))
    except FileRefusedError as exc:
        return html.Div(t("terrain.upload_refused", lang, e=exc.message), className="error", role="alert"), None, True
    except CoverageError as exc:
        return html.Div(exc.message, className="error", role="alert"), None, True
    finally:
        engine.dispose()
    message = [html.Div(t("terrain.upload_done", lang, file=name, imported=summary.imported,
                          duplicates=summary.duplicates, rejected=summary.rejected,
                          pending=summary.pending_geocoding), id="terrain-upload-summary")]
    message += [html.Div(note) for note in summary.notes]
    report = None
    if summary.rejected:
        report = {"name": name.rsplit(".", 1)[0] + ".rejets.csv", "csv": importer.report_csv(summary)}
    return message, report, report is None


@dash.callback(
    Output("terrain-report-download", "data"),
    Input("terrain-report-button", "n_clicks"),
    State("terrain-report", "data"),
    prevent_initial_call=True,
)
def report_download(n: int | None, report: dict[str, str] | None) -> Any:
    """The report of the rejected rows of the last upload (CSV, UTF-8 with BOM for spreadsheets)."""
    if not n or not report:
        return no_update
    return dcc.send_bytes(("\ufeff" + report["csv"]).encode("utf-8"), report["name"])
