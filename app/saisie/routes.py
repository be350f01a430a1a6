"""Routes of the field-entry page: the shell, its JSON context, the sync endpoint, service worker, manifest.

Every rule is checked on the server: the access check (:mod:`app.security.access`) admits only Voisin
accounts (and admins) to the shell and JSON routes; the JSON routes then need a Voisin code, take the site
and the code from the account, never from the request, and answer only the Voisin's own entries of the
day, the campaign's buildings and its walk list (no count, no heatmap, no other site).

CSRF: the sync is a JSON ``POST`` from the page itself. It must carry the session's Flask-WTF token in
the ``X-CSRFToken`` header (the page gets it from ``/saisie/api/context``), an ``Origin`` (or
``Referer``) of this host, and ``Content-Type: application/json``; the session cookie is ``SameSite=Lax``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import flask
from flask_wtf.csrf import ValidationError, validate_csrf
from sqlalchemy.engine import Engine

from app import cache, doors_refresh, i18n, settings
from app.security import current_principal
from app.security.errors import json_error
from app.security.routes import csrf_token, same_origin
from geo.auth.policy import Principal
from geo.coverage import field, store, vocabulary
from geo.coverage.schema import OUTCOMES, outcome_labels
from geo.i18n import MessageView, t

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
#: Files the service worker keeps on the phone (with the shell ``/saisie`` and the manifest).
SHELL_FILES: tuple[str, ...] = ("saisie.js", "saisie.css", "icon-192.png", "icon-512.png")

blueprint = flask.Blueprint("saisie", __name__, static_folder=str(STATIC), static_url_path="/saisie/static",
                            template_folder=str(HERE / "templates"))

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def _engine() -> Engine:
    url = settings.store_url()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = store.open_store(url)
    return engine


@lru_cache(maxsize=1)
def asset_version() -> str:
    """A digest of the shell's static files: a new release gets a new service-worker cache."""
    digest = hashlib.sha256()
    for name in (*SHELL_FILES, "sw.js"):
        digest.update((STATIC / name).read_bytes())
    digest.update((HERE / "templates" / "saisie.html").read_bytes())
    return digest.hexdigest()[:12]


def shell_urls() -> list[str]:
    """URLs the service worker precaches: the page, its manifest and its static files."""
    version = asset_version()
    return ["/saisie", "/saisie.webmanifest", *(f"/saisie/static/{n}?v={version}" for n in SHELL_FILES)]


def _voisin() -> Principal:
    """The signed-in Voisin (the access check already admitted the request); 403 for an account with no
    Voisin code (an admin)."""
    principal = current_principal()
    if principal is None or principal.role != "voisin" or not principal.voisin or len(principal.sites) != 1:
        flask.abort(json_error(403, "field entry: a Voisin account of one site is needed"))
    return principal


# ---------------------------------------------------------------------------------------------- views
def shell() -> flask.Response:
    """``GET /saisie``: the page shell (no data in it: the phone keeps it for offline use)."""
    lang = i18n.current_lang()
    texts = dict(MessageView("saisie.js", JS_TEXTS, lang))
    html = flask.render_template("saisie.html", lang=lang, t=lambda key, **p: t(key, lang, **p),
                                 outcomes=[(o, outcome_labels(lang)[o]) for o in OUTCOMES],
                                 version=asset_version(),
                                 texts=json.dumps(texts, ensure_ascii=False).replace("</", "<\\/"))
    return flask.Response(html, mimetype="text/html")


#: The page may ask for the phone's position (to list the nearest buildings); nothing else may.
shell.talisman_view_options = {  # type: ignore[attr-defined]
    "permissions_policy": {"geolocation": "(self)", "camera": "()", "microphone": "()", "payment": "()"}}


def context() -> flask.Response:
    """``GET /saisie/api/context?campaign=…``: what the page needs for one campaign of the Voisin's site."""
    principal = _voisin()
    lang = i18n.current_lang()
    site = principal.sites[0]
    engine = _engine()
    campaigns = field.site_campaigns(engine, site=site)
    asked = flask.request.args.get("campaign", "")
    campaign = asked if asked in campaigns else (campaigns[0] if campaigns else "")
    buildings = walk = today = None
    if campaign:
        events = store.load_events(engine, sites=[site], campaigns=[campaign], located_only=False)
        frame = field.campaign_buildings(events)
        buildings = [{"id": r.building, "address": _address(r), "lat": _coord(r.lat), "lon": _coord(r.lon)}
                     for r in frame.itertuples(index=False)]
        walk = [{"building": r.building, "address": _address(r), "doors": r.doors}
                for r in field.walk_list(events, frame).itertuples(index=False)]
        mine = field.voisin_entries_of_day(engine, site=site, voisin=principal.voisin, campaign=campaign,
                                           day=dt.date.today())
        today = [{"time": r.visited_at.strftime("%H:%M"), "building": r.building, "door": r.door,
                  "outcome": outcome_labels(lang)[r.outcome]} for r in mine.itertuples(index=False)]
    body = {"site": site, "voisin": principal.voisin, "campaigns": campaigns, "campaign": campaign,
            "buildings": buildings or [], "walk": walk or [], "today": today or [],
            "languages": list(vocabulary.LANGUAGES), "topics": list(vocabulary.TOPICS), "csrf": csrf_token()}
    return flask.jsonify(body)


def _address(row: Any) -> str:
    return " ".join(p for p in (row.street_number, row.street) if p).strip()


def _coord(value: float) -> float | None:
    return None if value != value else round(float(value), 6)


def sync() -> flask.Response:
    """``POST /saisie/api/sync``: store queued entries (JSON ``{"entries": [...]}``), idempotently."""
    principal = _voisin()
    request = flask.request
    if not same_origin() or not (request.headers.get("Origin") or request.headers.get("Referer")):
        return json_error(403, "sync: a same-origin request is needed")
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError:
        return json_error(400, "sync: missing or invalid CSRF token")
    if not request.is_json:
        return json_error(415, "sync: expected application/json")
    body = request.get_json(silent=True)
    try:
        entries = field.check_entries(body.get("entries") if isinstance(body, dict) else None)
    except field.EntryShapeError as exc:
        return json_error(400, f"sync: {exc}")
    from app.data import qpv, territory

    result = field.sync_entries(entries, engine=_engine(), site=principal.sites[0], voisin=principal.voisin,
                                qpv=qpv(), territory=territory(), lang=i18n.current_lang())
    if result.imported:  # this worker's next answers see the new visits; the page Terrain finds them prepared
        cache.stores_written()
        doors_refresh.after_write(store_url=settings.store_url(), data_dir=settings.data_dir())
    hook = flask.current_app.config.get(AFTER_SYNC_KEY)
    if hook is not None:  # tests: observe a sync stored before its answer is sent
        hook(result)
    return flask.jsonify(result.as_dict())


#: Flask config key: an optional ``hook(result)`` called once a sync is stored, before it is answered.
AFTER_SYNC_KEY = "VOISINMAP_AFTER_SYNC"


def service_worker() -> flask.Response:
    """``GET /saisie-sw.js``: the service worker, with this release's cache name and shell files."""
    code = (STATIC / "sw.js").read_text(encoding="utf-8")
    head = (f"const CACHE = 'voisinmap-saisie-{asset_version()}';\n"
            f"const SHELL = {json.dumps(shell_urls())};\n")
    response = flask.Response(head + code, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def manifest() -> flask.Response:
    """``GET /saisie.webmanifest``: the installable page (name, icons, scope ``/saisie``)."""
    lang = i18n.current_lang()
    version = asset_version()
    body = {"name": t("saisie.manifest.name", lang), "short_name": t("saisie.manifest.short_name", lang),
            "lang": lang, "start_url": "/saisie", "scope": "/saisie", "display": "standalone",
            "orientation": "portrait", "background_color": "#ffffff", "theme_color": "#1b5e7a",
            "icons": [{"src": f"/saisie/static/icon-{n}.png?v={version}", "sizes": f"{n}x{n}", "type": "image/png",
                       "purpose": "any"} for n in (192, 512)]}
    return flask.Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


#: Texts the script shows (message ids ``saisie.js.<key>``), passed to it in the shell.
JS_TEXTS: tuple[str, ...] = (
    "saved", "queued", "synced", "offline", "online", "net_offline", "sync_failed", "signin", "rejected", "delete",
    "need_building", "need_door", "bad_door", "pending_campaign", "no_campaign", "near_denied", "near_done",
    "metres", "none_today", "none_walk", "none_queue", "choose_building", "language_none",
)

blueprint.add_url_rule("/saisie", "shell", shell, methods=["GET"])
blueprint.add_url_rule("/saisie/api/context", "context", context, methods=["GET"])
blueprint.add_url_rule("/saisie/api/sync", "sync", sync, methods=["POST"])
blueprint.add_url_rule("/saisie-sw.js", "service_worker", service_worker, methods=["GET"])
blueprint.add_url_rule("/saisie.webmanifest", "manifest", manifest, methods=["GET"])
