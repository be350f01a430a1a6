"""Page « Impact » (``/impact``): where the association works and what it achieves, read in one minute.

Two sources of protected figures (:mod:`app.components.impact_summary`):

* **funders** (roles ``financeur`` and ``strategie``) read the **latest release**
  (:mod:`app.public.funder_view`): frozen, perturbed figures that an import does not change until the
  admin publishes the next release -- so two readings around an import reveal nothing;
* a **site manager** reads the live protected report of *their own sites* (they know those figures at
  door level anyway; a report that held other sites would let them subtract); the **admin** reads the
  live report of every site and publishes releases (button « Publier », or ``voisinmap releases publish``).

The page: key figures with a one-line definition, a map fitted to the territory (sites, protected QPV),
the trend in adaptive time bins (no blank bar, the cumulative ends at the headline, a note says which
periods were merged), topics and languages, régions as cards and sites as a short table; the full
tables and files under « Télécharger les données ». The layout holds no data: one callback fills it under
a loading indicator, another draws the full tables when « Télécharger les données » is opened; both
answers are memoized whole in the shared cache per data version, figures version, territory, language
and role scope (:func:`cache_inputs`). The only filter is the région; there is no free date range on
purpose.

Downloads (``/download/impact-…``): tables as CSV / XLSX, the map as offline HTML, PNG or GeoJSON
(funders: the same files from the latest release; the HTML map is then the public page).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from functools import lru_cache
from typing import Any

import dash
import dash_leaflet as dl
import flask
from dash import Input, Output, State, dcc, html

from app import cache, callback_cache, data, i18n, security, settings
from app.components import impact_refresh, impact_stored
from app.components import impact_summary as summ
from app.components import impact_views as views
from app.public import PATH as PUBLIC_PATH
from app.public import funder_view, iframe_snippet
from geo import privacy
from geo.auth.policy import AGGREGATE
from geo.export import bundle, html_map, tables
from geo.export import report as rpt
from geo.i18n import t

logger = logging.getLogger(__name__)

dash.register_page(__name__, path="/impact", name="Impact", title="voisinmap · Impact", nav_key="nav.impact",
                   order=30, roles=None, access_level=AGGREGATE)

DOWNLOAD_PATTERN = r"impact-(regions|quarters|sites|qpv|tableaux|carte)\.(csv|xlsx|geojson|html|png)"
#: Roles whose Impact, downloads included, reads the latest release.
RELEASE_ROLES: frozenset[str] = frozenset({"financeur", "strategie"})


# ------------------------------------------------------------------------------------------ data
def report_scope() -> tuple[str, ...] | None:
    """Sites whose visits the live report of this request covers: the manager's own sites, else None (all).

    A manager knows their own sites' figures exactly (Terrain, by quarter too). With other sites in the
    same report, a total minus their own figures would give away a hidden cell of another site (région
    households − own site = a secret neighbour). So a manager's Impact covers their own sites only."""
    principal = security.current_principal()
    if principal is not None and principal.role == "manager":
        return tuple(sorted(str(code) for code in principal.sites))
    return None


def reads_release() -> bool:
    """Whether this request's figures come from the latest release (funder-facing roles)."""
    principal = security.current_principal()
    return principal is not None and principal.role in RELEASE_ROLES


def current_report() -> rpt.ImpactReport:
    """The protected report for this request's :func:`report_scope`: the one stored at import time for
    every site (:mod:`app.components.impact_stored`), else the live one (:func:`app.data.current_report`)."""
    scope = report_scope()
    stored = impact_stored.stored_figures() if scope is None else None
    return stored.report if stored is not None else data.current_report(scope=scope)


def _region(value: Any, known: set[str]) -> str | None:
    """The région asked for when it is a known code (None: France).

    Raises
    ------
    TypeError
        When ``value`` is neither a text nor None (a list or an object: the callback guard answers 400).
    """
    if value is not None and not isinstance(value, str):
        raise TypeError(f"impact-region.value: expected a région code or '*', got {type(value).__name__}")
    return value if value in known else None


# ---------------------------------------------------------------------------------------- layout
def _scope_text(lang: str) -> str:
    scope = report_scope()
    if scope is None:
        return t("impact.scope.france", lang)
    names = data.site_names(scope)
    return t("impact.scope.sites", lang, sites=", ".join(names.get(code, code) for code in scope) or "–")


def _admin_tools(lang: str) -> list[Any]:
    principal = security.current_principal()
    if principal is None or principal.role != "admin":
        return []
    return [html.Div([
        html.Button(t("impact.publish.button", lang), id="impact-publish", n_clicks=0, className="button"),
        html.Span(id="impact-publish-status", className="impact-note", role="status"),
    ], className="impact-admin")]


def _embed(lang: str) -> html.Details:
    base = flask.request.host_url if flask.has_request_context() else "/"
    return html.Details([
        html.Summary(t("impact.embed.title", lang)),
        html.P(t("impact.embed.text", lang, path=PUBLIC_PATH)),
        html.A(t("impact.embed.open", lang), href=PUBLIC_PATH, target="_blank", id="impact-public-link"),
        html.Pre(iframe_snippet(base, lang), id="impact-iframe-snippet", className="impact-snippet"),
    ], className="impact-embed")


def layout(**_kwargs: Any) -> html.Div:
    """The page skeleton (no data): filled by :func:`update` under a loading indicator."""
    lang = i18n.current_lang()
    if flask.has_app_context():
        impact_refresh.start(flask.current_app._get_current_object())  # noqa: SLF001 - the app of this process
    release = reads_release()
    header = [html.H1(t("impact.title", lang)), html.P(t("impact.intro", lang)),
              html.P(t("impact.scope.release", lang) if release else _scope_text(lang), id="impact-scope",
                     className="impact-scope")]
    body = html.Div([
        html.P(id="impact-caption", className="impact-note"),
        html.Div(id="impact-kpis", className="impact-kpis"),
        html.Div([
            dl.Map(id="impact-map", center=[46.6, 2.4], zoom=5, attributionControl=True,
                   style={"width": "100%", "height": "100%"}, children=_base_layers()),
            html.Div(id="impact-legend", className="legend"),
        ], className="map-wrap impact-map-wrap"),
        html.H2(t("impact.trend", lang)),
        dcc.Graph(id="impact-trend", config={"displaylogo": False, "responsive": True, "displayModeBar": False},
                  style={"height": "320px"}),
        html.Ul(id="impact-trend-notes", className="impact-note"),
        html.Div([html.Div([html.H2(t("impact.themes.topics", lang)), html.Div(id="impact-topics")]),
                  html.Div([html.H2(t("impact.themes.languages", lang)), html.Div(id="impact-languages")])],
                 className="impact-two"),
        html.H2(t("impact.regions", lang)), html.Div(id="impact-region-cards", className="impact-cards"),
        html.H2(t("impact.sites", lang)), html.Div(id="impact-sites"),
        html.P(privacy.NOTE[lang], className="impact-note"),
        html.Details([html.Summary(t("impact.downloads", lang), id="impact-downloads-summary", n_clicks=0),
                      html.Ul(id="impact-downloads"),
                      *[html.Div([html.H3(bundle.SHEETS[lang][name]), html.Div(id=f"impact-{name}-table")])
                        for name in bundle.IMPACT_TABLES]],
                     id="impact-download-section", className="impact-details"),
    ])
    return html.Div([
        *header, *_admin_tools(lang),
        html.Div([html.Label(t("impact.region", lang), htmlFor="impact-region", className="control-label"),
                  dcc.Dropdown(id="impact-region", options=[{"label": t("impact.france", lang), "value": "*"}],
                               value="*", clearable=False, style={"maxWidth": "360px"})]),
        dcc.Loading(body, id="impact-loading", type="default", delay_show=150),
        _embed(lang),
    ], className="page-padded page-impact")


@lru_cache(maxsize=4)
def _regions_outline(folder: str | None) -> dict | None:
    """Région outlines simplified to ~1 km (background of the map), once per data folder."""
    try:
        from geo.load import load_regions

        reg = load_regions(data_dir=folder)[["code", "nom", "geometry"]].copy()
        reg["geometry"] = reg.geometry.simplify(0.01, preserve_topology=True)
        return reg.__geo_interface__
    except Exception:  # noqa: BLE001 - the map works without its background
        logger.info("no régions layer: Impact map without outlines")
        return None


def base_layers_data(folder: str | None) -> dict | None:
    """The région outlines of the map's background (read once per data folder; the server's warm-up
    calls it ahead of the first view)."""
    return _regions_outline(None if folder is None else str(folder))


def _base_layers() -> list[Any]:
    layers: list[Any] = []
    tiles = settings.tiles(default_url=None, default_attribution="")
    if tiles:
        layers.append(dl.TileLayer(url=tiles.url, attribution=tiles.attribution))
    outline = base_layers_data(settings.data_dir())
    if outline is not None:
        layers.append(dl.GeoJSON(id="impact-outlines", data=outline,
                                 style={"color": html_map.OUTLINE_COLOUR, "weight": 1, "fillColor": "#f7f7f7",
                                        "fillOpacity": 0.7}))
    layers.append(dl.LayerGroup(id="impact-layers"))
    return layers


# ------------------------------------------------------------------------------------ callbacks
def _bounds(points: list[tuple[float, float]]) -> list[list[float]] | None:
    if not points:
        return None
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    pad = 0.08
    return [[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]]


Content = tuple[summ.Summary, list[Any], list, list[Any], str | None]
#: Map bounds of « France entière »: metropolitan France, whatever the sites (south-west, north-east).
METRO_BOUNDS = [[41.3, -5.2], [51.1, 9.6]]


def _release_content(region_value: Any, lang: str) -> Content:
    view = funder_view.latest_view()
    region = _region(region_value, set(view.regions()["region"]))
    summary = summ.from_release(view, region, lang=lang)
    qpv = view.qpv_in(region)
    points = [(r.lat, r.lon) for r in qpv.dropna(subset=["lat", "lon"]).itertuples()]
    points += [(r.lat, r.lon) for r in summary.sites.dropna(subset=["lat", "lon"]).itertuples()]
    options = [{"label": t("impact.france", lang), "value": "*"}] + [
        {"label": r.region_name, "value": r.region} for r in view.regions().itertuples()]
    bounds = METRO_BOUNDS if region is None else _bounds(points) or []
    return summary, views.release_layers(summary, qpv, lang=lang), bounds, options, region


def _live_content(region_value: Any, lang: str) -> Content:
    report = current_report()
    known = set(privacy.view(report.cube, (1, 0))["region"])
    region = _region(region_value, known)
    summary = summ.from_report(report, region, lang=lang, own_sites=report_scope() is not None)
    box = html_map._bounds(report.qpv_frame(region), report.sites_frame(region))  # noqa: SLF001
    bounds = [[box[1], box[0]], [box[3], box[2]]] if box is not None else []
    if region is None and report_scope() is None:
        bounds = METRO_BOUNDS  # the national view fits France, not only where the sites are
    first = t("impact.france", lang) if report_scope() is None else t("impact.own_sites", lang)
    options = [{"label": first, "value": "*"}] + [
        {"label": report.regions.get(code, code), "value": code} for code in sorted(known)]
    return summary, views.map_layers(report, region, lang=lang), bounds, options, region


_THEMES: data.VersionedCache[tuple[Any, Any]] = data.VersionedCache("impact themes", maxsize=16)


def _theme_shares(url: str, scope: tuple[str, ...] | None) -> tuple[Any, Any]:
    from geo.coverage import themes
    from geo.coverage.store import open_store

    engine = open_store(url)
    try:
        visits = themes.read_themes(engine, sites=scope)
    finally:
        engine.dispose()
    return themes.theme_shares(visits, kind="topics"), themes.theme_shares(visits, kind="language")


def themes_for(scope: tuple[str, ...] | None) -> tuple[Any, Any]:
    """Shares of topics and languages of the sites of ``scope`` (None: all), once per data version (for
    every site, those stored at import time when there are)."""
    stored = impact_stored.stored_figures() if scope is None else None
    if stored is not None:
        return stored.topics, stored.languages
    url = settings.store_url()
    return _THEMES.get((url, data.store_version(url)), lambda: _theme_shares(url, scope), key=scope)


def _themes(lang: str) -> tuple[Any, Any]:
    """Topics and languages, shares rounded to 5 points, from the visits of this request's scope."""
    topics, languages = themes_for(report_scope())
    return (views.themes_block(topics, kind="topics", lang=lang),
            views.themes_block(languages, kind="language", lang=lang))


@dash.callback(
    Output("impact-caption", "children"),
    Output("impact-kpis", "children"),
    Output("impact-layers", "children"),
    Output("impact-legend", "children"),
    Output("impact-map", "viewport"),
    Output("impact-trend", "figure"),
    Output("impact-trend-notes", "children"),
    Output("impact-topics", "children"),
    Output("impact-languages", "children"),
    Output("impact-region-cards", "children"),
    Output("impact-sites", "children"),
    Output("impact-downloads", "children"),
    Output("impact-region", "options"),
    Input("impact-region", "value"),
)
@callback_cache.cached_callback(doors=True, scoped=True, version=lambda: figures_version())
def update(region_value: Any) -> tuple[Any, ...]:
    """Everything of the page for one territory, from the release (funders) or the live report.

    The whole answer is memoized in the shared cache (:func:`page_outputs`) per data version, release
    version, territory, language and role scope: every worker serves a second view of it from the cache,
    and no scope ever reads another's (a manager's page holds their own sites only). Its whole HTTP
    answer is also served from the shared cache (:mod:`app.callback_cache`), keyed on the same figures
    version (:func:`figures_version`), so a repeat skips Dash and the JSON encoding."""
    return page_outputs(*cache_inputs(region_value))


def figures_version() -> str:
    """The version of the figures this request's page reads (see :func:`cache_inputs`)."""
    return cache_inputs(None)[1]


#: What a territory value may look like (a région code or « * »); anything else reads as France.
_TERRITORY = re.compile(r"^(\*|[0-9A-Z]{2,5})$")


def cache_inputs(region_value: Any) -> tuple[str, str]:
    """What the page's answers are keyed on besides the data version, language and scope: the territory
    (:func:`territory_input`) and the version of the figures read -- the latest release's for funders
    (the data version does not change with a release), the store's exact one for the live report (the
    shared data version may be reused for a second; a view right after an import must show it).

    Raises
    ------
    TypeError
        When ``region_value`` is neither a text nor None (answered 400 before anything is read or cached).
    """
    from geo.coverage.store import data_version

    _region(region_value, set())
    url = settings.store_url()
    store = hashlib.sha256(url.encode()).hexdigest()[:12]  # two stores may hold the same number of visits
    if reads_release():
        latest = funder_view.latest_release(url)
        version = f"release:{store}:{latest.version}:{latest.published_at.isoformat()}" if latest else "release:-"
    else:
        version = f"store:{store}:" + ".".join(map(str, data_version(funder_view.store_engine(url))))
    return territory_input(region_value), version


def territory_input(value: str | None) -> str:
    """The territory as the cache keys it: a région-like code, else ``"*"`` (France), so that random
    values sent to the callback cannot fill the cache."""
    return value if isinstance(value, str) and _TERRITORY.match(value) else "*"


@cache.memoize_scoped("impact.page-outputs")
def page_outputs(region_value: str, figures_version: str) -> tuple[Any, ...]:  # noqa: ARG001 - a key
    """The outputs of :func:`update` for a territory (``figures_version``: see :func:`cache_inputs`)."""
    lang = i18n.current_lang()
    release = reads_release()
    started = time.perf_counter()
    summary, layers, bounds, options, region = (_release_content if release else _live_content)(region_value, lang)
    topics, languages = _themes(lang)
    out = (
        summary.caption,
        views.kpi_cards(summary, lang=lang),
        layers,
        views.legend_children(lang) if not release else views.release_legend(lang),
        {"bounds": bounds, "transition": "flyToBounds"} if bounds else dash.no_update,
        views.trend_figure(summary.trend, lang=lang),
        [html.Li(note) for note in summary.notes],
        topics, languages,
        views.region_cards(summary, lang=lang),
        views.sites_list(summary, lang=lang),
        _downloads(region, lang),
        options,
    )
    logger.info("impact page built (%s, %s) in %.2f s", "release" if release else "live", lang,
                time.perf_counter() - started)
    return out


@dash.callback(
    *[Output(f"impact-{name}-table", "children") for name in bundle.IMPACT_TABLES],
    Input("impact-downloads-summary", "n_clicks"),
    Input("impact-region", "value"),
    prevent_initial_call=True,
)
def full_tables(n_clicks: int | None, region_value: Any) -> tuple[Any, ...]:
    """The full tables under « Télécharger les données », drawn when that section is first opened (most
    readers never open it: the page's first answer stays small and needs no table component)."""
    inputs = cache_inputs(region_value)
    if not n_clicks:
        return (dash.no_update,) * len(bundle.IMPACT_TABLES)
    return tables_outputs(*inputs)


@cache.memoize_scoped("impact.full-tables")
def tables_outputs(region_value: str, figures_version: str) -> tuple[Any, ...]:  # noqa: ARG001 - a key
    """The outputs of :func:`full_tables` for a territory (keyed as :func:`page_outputs`)."""
    lang = i18n.current_lang()
    release = reads_release()
    if release:
        region = _region(region_value, set(funder_view.latest_view().regions()["region"]))
    else:
        region = _region(region_value, set(privacy.view(current_report().cube, (1, 0))["region"]))
    return tuple(_full_tables(region, lang, release=release))


@dash.callback(Output("impact-publish-status", "children"), Input("impact-publish", "n_clicks"),
               State("impact-region", "value"), prevent_initial_call=True)
def publish(n_clicks: int | None, _region_value: Any) -> str:
    """Admin only: publish the next release through the last closed quarter."""
    lang = i18n.current_lang()
    principal = security.current_principal()
    if principal is None or principal.role != "admin":  # the page is open to every role, publishing is not
        logger.warning("release publication refused: role %s", principal.role if principal else "signed out")
        return t("impact.publish.refused", lang)
    if not n_clicks:
        return ""
    from geo.coverage.release_publish import publish_from_store
    from geo.coverage.releases import ReleaseError

    try:
        release = publish_from_store(db=settings.store_url(), data_dir=settings.data_dir())
    except ReleaseError as exc:
        logger.info("release not published: %s", exc)
        return t("impact.publish.nothing", lang)
    return t("impact.publish.done", lang, version=release.version, start=release.first_period,
             end=release.through_period)


# ------------------------------------------------------------------------------------ downloads
def _downloads(region: str | None, lang: str) -> list[Any]:
    query = f"?lang={lang}" + (f"&region={region}" if region else "")
    items = [("impact-tableaux.xlsx", t("impact.dl.xlsx", lang)),
             ("impact-regions.csv", t("impact.dl.csv", lang, name=t("impact.regions", lang).lower())),
             ("impact-sites.csv", t("impact.dl.csv", lang, name=t("impact.sites", lang).lower())),
             ("impact-qpv.csv", t("impact.dl.csv", lang, name=t("impact.qpv", lang).lower())),
             ("impact-quarters.csv", t("impact.dl.csv", lang, name=t("impact.trend", lang).lower())),
             ("impact-carte.geojson", t("impact.dl.geojson", lang)),
             ("impact-carte.html", t("impact.dl.html", lang)), ("impact-carte.png", t("impact.dl.png", lang))]
    return [html.Li(html.A(label, href=f"{security.DOWNLOAD_PREFIX}{name}{query}",
                           id=f"impact-dl-{name.replace('.', '-')}")) for name, label in items]


def _full_tables(region: str | None, lang: str, *, release: bool) -> list[Any]:
    out: list[Any] = []
    for name in bundle.IMPACT_TABLES:
        scope = None if name == "regions" else region
        if release:
            frame = funder_view.latest_view().table(name, region=scope, lang=lang)
        else:
            frame = bundle.impact_table(current_report(), name, region=scope, lang=lang)
            if report_scope() is not None:  # a manager's tables: their own figures, not the network's reach
                frame = frame.drop(columns=[rpt.LABELS["reach_share"][lang]], errors="ignore")
        out.append(views.frame_table(frame, lang=lang, table_id=f"impact-{name}-datatable"))
    return out


def _produce(match: Any, args: dict[str, str]) -> tuple[bytes, str, str]:
    name, fmt = match.group(1), match.group(2)
    lang = i18n.normalise_lang(args.get("lang"))
    if (name == "carte") == (fmt in ("csv", "xlsx")) or (name == "tableaux" and fmt == "csv"):
        flask.abort(404)
    table = "all" if name in ("tableaux", "carte") else name
    if reads_release():
        view = funder_view.latest_view()
        region = _region(args.get("region"), set(view.regions()["region"]))
        if fmt == "html":  # the public page: the release's map, figures and trend in one offline file
            from app.public import rendered

            payload = rendered(lang)[0]
        else:
            payload = view.export_bytes(fmt, table=table, region=region, lang=lang)
    else:
        report = current_report()
        region = _region(args.get("region"), set(privacy.view(report.cube, (1, 0))["region"]))
        payload = bundle.impact_bytes(report, fmt, table=table, region=region, lang=lang,
                                      data_dir=settings.data_dir())
    suffix = f"-{region}" if region else ""
    return payload, f"voisinmap-impact-{name}{suffix}.{fmt}", tables.MEDIA_TYPES[fmt]


security.register_download("impact", DOWNLOAD_PATTERN, level=AGGREGATE, producer=_produce)
