"""The language of a request, over the one translation system :mod:`geo.i18n`.

The language lives in a cookie (:data:`LANG_COOKIE`) set by the switch in the navigation bar, so every
layout function and callback (each runs inside a Flask request) can call :func:`current_lang`. The texts
themselves are message ids of the catalogues ``geo/locale/{fr,en}/LC_MESSAGES/voisinmap.po``; the
functions here only fill in the request's language when none is given.

>>> t("nav.strategie", "en")
'Strategy'
"""

from __future__ import annotations

import logging

from geo import i18n as core
from geo.i18n import DEFAULT_LANG, LANGS, normalise_lang

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_LANG", "LANGS", "LANG_COOKIE", "attribution", "colon", "current_lang", "fmt_date",
           "fmt_number", "fmt_pct", "normalise_lang", "t", "table_locale"]

LANG_COOKIE = "voisinmap_lang"

#: Texts passed to :func:`register`, kept only to refuse a key registered twice with different texts.


def current_lang() -> str:
    """Language of the current request (cookie :data:`LANG_COOKIE`), French outside a request."""
    import flask

    if flask.has_request_context():
        return normalise_lang(flask.request.cookies.get(LANG_COOKIE))
    return DEFAULT_LANG


def t(msgid: str, lang: str | None = None, **params: object) -> str:
    """Translate ``msgid`` into ``lang`` (default: :func:`current_lang`); see :func:`geo.i18n.t`."""
    return core.t(msgid, lang or current_lang(), **params)


def fmt_number(value: float | None, lang: str | None = None, decimals: int = 0) -> str:
    """A number in the request's language; see :func:`geo.i18n.format_number`."""
    return core.format_number(value, lang or current_lang(), decimals=decimals)


def fmt_pct(value: float | None, lang: str | None = None, decimals: int = 1) -> str:
    """A percentage (already in %) in the request's language; see :func:`geo.i18n.format_percent`."""
    return core.format_percent(value, lang or current_lang(), decimals=decimals)


def fmt_date(value: object, lang: str | None = None, *, format: str = "medium") -> str:  # noqa: A002
    """A date in the request's language; see :func:`geo.i18n.format_date`."""
    return core.format_date(value, lang or current_lang(), format=format)  # type: ignore[arg-type]


def colon(label: str, lang: str | None = None) -> str:
    """``label`` and a colon in the request's language; see :func:`geo.i18n.colon`."""
    return core.colon(label, lang or current_lang())


def table_locale(lang: str | None = None) -> dict[str, str]:
    """DataTable separators of the request's language; see :func:`geo.i18n.table_locale`."""
    return core.table_locale(lang or current_lang())


def attribution(text: str, lang: str | None = None) -> str:
    """The build manifest's attribution line in the request's language; see :func:`geo.i18n.attribution`."""
    return core.attribution(text, lang or current_lang())
