"""One translation system for the library and the app: gettext catalogues read with Babel.

Every text shown to a person (engine explanations, validation messages, export labels, page texts) is a
*message id* with named placeholders, e.g. ``t("coverage.error.year", "en", row=3, column="year")``.
Message ids are dotted symbolic keys (``"<area>.<name>"``), so French and English are both real
translations held in the catalogues ``geo/locale/{fr,en}/LC_MESSAGES/voisinmap.po``.

Where the ``.mo`` files come from: ``voisinmap i18n compile`` (run by ``make install`` and by
``voisinmap data build``) compiles each ``.po`` next to it with Babel. The ``.mo`` files are not
committed; when one is missing or older than its ``.po`` (a fresh checkout, an edited catalogue), this
module compiles the ``.po`` in memory, so a text never goes missing. This module imports no Flask: the
app picks the language of a request and passes it in.

Numbers, percentages and dates go through ``babel.numbers`` / ``babel.dates`` with the locale of the
language (``12 345,6`` in French, ``12,345.6`` in English).

>>> format_number(12345.6, "en", decimals=1)
'12,345.6'
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import logging
import math
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date as _babel_format_date
from babel.numbers import format_decimal as _babel_format_decimal

logger = logging.getLogger(__name__)

LANGS: tuple[str, ...] = ("fr", "en")
DEFAULT_LANG = "fr"
DOMAIN = "voisinmap"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: Babel locale of each language.
LOCALES: dict[str, str] = {"fr": "fr_FR", "en": "en_GB"}
NARROW_NBSP = "\u202f"


def normalise_lang(value: object) -> str:
    """Return ``value`` when it is a supported language code, else the default (French)."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def po_path(lang: str, *, locale_dir: Path = LOCALE_DIR) -> Path:
    """Path of the ``.po`` catalogue of ``lang``."""
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compile(po: Path) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_catalogues(*, locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``.po`` under ``locale_dir`` into its ``.mo`` (written atomically).

    Returns
    -------
    list of Path
        The ``.mo`` files written.
    """
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        part = mo.with_suffix(".mo.part")
        part.write_bytes(_compile(po))
        part.replace(mo)
        written.append(mo)
    translations.cache_clear()
    return written


@lru_cache(maxsize=8)
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (its ``.mo`` when up to date, else its ``.po`` compiled in memory)."""
    lang = normalise_lang(lang)
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    if not po.is_file():
        logger.warning("i18n: no catalogue for %r at %s", lang, po)
        return _gettext.NullTranslations()
    data = mo.read_bytes() if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime else _compile(po)
    return _gettext.GNUTranslations(io.BytesIO(data))


def has_message(msgid: str, lang: str) -> bool:
    """Whether the catalogue of ``lang`` holds ``msgid``."""
    catalog = translations(lang)
    return msgid in getattr(catalog, "_catalog", {})


def t(msgid: str, lang: str = DEFAULT_LANG, /, **params: object) -> str:
    """Translate ``msgid`` into ``lang`` and fill its named placeholders.

    Parameters
    ----------
    msgid : str
        A message id of the catalogues (``"<area>.<name>"``).
    lang : {"fr", "en"}
        Target language; anything else means French.
    **params
        Values substituted with :meth:`str.format` (``{row}``, ``{column}``…).

    Returns
    -------
    str
        The text. An id missing from the catalogue returns the id itself (and logs a warning), so a
        missing text shows on screen instead of breaking the page; a test keeps the catalogues complete.
    """
    lang = normalise_lang(lang)
    text = translations(lang).gettext(msgid)
    if text == msgid and not has_message(msgid, lang):
        logger.warning("i18n: no %s text for message id %r", lang, msgid)
    return text.format(**params) if params else text


def gettext(lang: str) -> Callable[..., str]:
    """A translation function bound to ``lang``: ``_ = gettext("en"); _("nav.impact")``."""
    lang = normalise_lang(lang)

    def _(msgid: str, /, **params: object) -> str:
        return t(msgid, lang, **params)

    return _


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: float | None, lang: str = DEFAULT_LANG, *, decimals: int = 0) -> str:
    """A number the way readers of ``lang`` expect: ``12 345,6`` in French, ``12,345.6`` in English.

    Missing values (None or NaN) give the « not available (statistical secrecy) » text.
    """
    lang = normalise_lang(lang)
    if _missing(value):
        return t("common.not_available", lang)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = _babel_format_decimal(value, format=pattern, locale=LOCALES[lang], decimal_quantization=True)
    # CLDR's French group separator is U+202F; older data used U+00A0: one convention everywhere.
    return text.replace("\u00a0", NARROW_NBSP)


def format_percent(value: float | None, lang: str = DEFAULT_LANG, *, decimals: int = 1) -> str:
    """A percentage already expressed in % (``12,3 %`` in French, ``12.3%`` in English)."""
    lang = normalise_lang(lang)
    if _missing(value):
        return t("common.not_available", lang)
    number = format_number(value, lang, decimals=decimals)
    return f"{number}{NARROW_NBSP}%" if lang == "fr" else f"{number}%"


def format_date(value: dt.date | dt.datetime | str, lang: str = DEFAULT_LANG, *, format: str = "medium") -> str:  # noqa: A002
    """A date in the words of ``lang`` (``3 févr. 2026`` / ``3 Feb 2026``); ``format`` as in Babel."""
    lang = normalise_lang(lang)
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return _babel_format_date(value, format=format, locale=LOCALES[lang])


def colon(label: str, lang: str = DEFAULT_LANG) -> str:
    """``label`` followed by a colon, French style (``Aller à :``) or English style (``Go to:``)."""
    return f"{label}\u00a0:" if normalise_lang(lang) == "fr" else f"{label}:"
