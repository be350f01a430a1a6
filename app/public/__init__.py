"""Public, embeddable pages: ``/public/impact``, the association's impact with no account.

It shows only what a funder may see, from the **latest release** (:mod:`app.public.funder_view`):
national and regional households met, the QPV and sites the release publishes (each ≥ 11 households,
perturbed), the share of QPV residents within reach, and the trend -- no door, building or visit.
The page is one static HTML document (:mod:`app.public.page`), rendered once per release version and
language and served from memory with an ETag; other sites may frame it when their origin is listed in
``$VOISINMAP_FRAME_ANCESTORS`` (:func:`app.security.headers.frame_ancestors`).

Snippet for the association's site (:func:`iframe_snippet`)::

    <iframe src="https://voisinmap.example.org/public/impact" width="100%" height="1400"
            style="border:0" loading="lazy" title="L'impact de VoisinMalin"></iframe>
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import dash
import flask

from app import data, i18n, settings
from app.public import insets, page
from app.public.funder_view import latest_view
from app.security.headers import embeddable, frame_ancestors
from geo.i18n import t

logger = logging.getLogger(__name__)

PATH = "/public/impact"
#: Browsers and proxies may keep the page this long; a new release changes the ETag.
MAX_AGE = 300

_PAGES: data.VersionedCache[tuple[bytes, str]] = data.VersionedCache("public pages", maxsize=4)


@lru_cache(maxsize=4)
def _outlines(folder: str | None) -> tuple[str, ...]:
    try:
        from geo.load import load_regions

        return tuple(page.outline_paths(load_regions(data_dir=folder)))
    except Exception:  # noqa: BLE001 - the map draws the points without outlines
        logger.info("no régions layer: public map without outlines")
        return ()


@lru_cache(maxsize=4)
def _insets(folder: str | None) -> tuple[insets.Inset, ...]:
    try:
        from geo.load import load_qpv, load_regions

        return tuple(insets.overseas_insets(load_regions(data_dir=folder), load_qpv(data_dir=folder)))
    except Exception:  # noqa: BLE001 - the map then says it covers metropolitan France only
        logger.info("no régions or QPV layer: public map without overseas insets")
        return ()


def rendered(lang: str) -> tuple[bytes, str]:
    """The public page in ``lang`` and its ETag, rendered once per release version."""
    view = latest_view()
    folder = settings.data_dir()

    def build() -> tuple[bytes, str]:
        body = page.render(view, outlines=_outlines(folder), insets=_insets(folder), lang=lang).encode("utf-8")
        logger.info("public impact page rendered for release %s (%s, %d bytes)", view.version, lang, len(body))
        return body, hashlib.sha256(body).hexdigest()[:20]

    return _PAGES.get((settings.store_url(), folder, view.version), build, key=lang)


def public_impact() -> flask.Response:
    """``GET /public/impact[?lang=en]``: the static page (304 when the browser has it)."""
    from app.components import impact_refresh

    impact_refresh.start(flask.current_app._get_current_object())  # noqa: SLF001 - the app of this process
    requested = flask.request.args.get("lang")
    lang = i18n.normalise_lang(requested) if requested else i18n.current_lang()
    body, etag = rendered(lang)
    response = flask.Response(body, mimetype="text/html")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Content-Language"] = lang
    return response.make_conditional(flask.request)


def iframe_snippet(base_url: str, lang: str) -> str:
    """The ``<iframe>`` to paste in the association's site."""
    title = t("public.title", lang)
    return (f'<iframe src="{base_url.rstrip("/")}{PATH}?lang={lang}" width="100%" height="1400" '
            f'style="border:0" loading="lazy" title="{title}"></iframe>')


def init_public(app: dash.Dash) -> None:
    """Register ``/public/impact`` on ``app.server`` with its framing policy."""
    view = embeddable(public_impact, ancestors=frame_ancestors())
    app.server.add_url_rule(PATH, "voisinmap_public_impact", view, methods=["GET"])
    logger.info("public impact page at %s (frame ancestors: %s)", PATH, " ".join(frame_ancestors()))
