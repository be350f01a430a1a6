"""One translation system for the library and the app: gettext catalogues read with Babel.

Every text shown to a person (engine explanations, validation messages, export labels, page texts) is a
*message id* with named placeholders, e.g. ``t("coverage.row.too_long", "en", max_length=80)``.
Message ids are dotted symbolic keys (``"<area>.<name>"``), so French and English are both real
translations held in the catalogues ``geo/locale/{fr,en}/LC_MESSAGES/voisinmap.po``.

Where the ``.mo`` files come from: ``voisinmap i18n compile`` (:mod:`geo.cli.i18n`, run by ``make install``)
compiles each ``.po`` into the ``.mo`` beside it with Babel. The ``.mo`` files are build products, ignored by
git and never edited. When one is missing or older than its ``.po`` (a fresh checkout, an edited catalogue),
this module compiles the ``.po`` in memory, so a text never goes missing. Ids are extracted from the source
with ``pybabel extract -F babel.cfg -k t -k _ geo app``; ``voisinmap i18n check`` (:mod:`geo.i18n_check`)
fails on an id missing from either catalogue or with different placeholders in French and English. This
module imports no Flask: the app picks the language of a request and passes it in (:mod:`app.i18n`).

Numbers, percentages and dates go through ``babel.numbers`` / ``babel.dates`` with the locale of the
language (``12 345,6`` in French, ``12,345.6`` in English).

Message ids built at run time (``f"coverage.row.{code}"``) cannot be extracted from the source by
``pybabel extract -F babel.cfg -k t -k _ geo app``; they are built through :class:`MessageView`, which
records them in :data:`DECLARED_IDS`, so the catalogue check checks them like the extracted ones.

>>> format_number(12345.6, "en", decimals=1)
'12,345.6'
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
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


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark ``msgid`` for extraction without translating it (``t(N_("a.one") if n == 1 else N_("a.many"))``)."""
    return msgid


def gettext(lang: str) -> Callable[..., str]:
    """A translation function bound to ``lang``: ``_ = gettext("en"); _("nav.impact")``."""
    lang = normalise_lang(lang)

    def _(msgid: str, /, **params: object) -> str:
        return t(msgid, lang, **params)

    return _


def is_missing(value: object) -> bool:
    """Whether ``value`` is a missing number: None, NaN, or pandas' ``NA`` / ``NaT``."""
    if value is None:
        return True
    try:
        return math.isnan(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return type(value).__name__ in ("NAType", "NaTType")


def format_number(value: float | None, lang: str = DEFAULT_LANG, *, decimals: int = 0) -> str:
    """A number the way readers of ``lang`` expect: ``12 345,6`` in French, ``12,345.6`` in English.

    Missing values (None or NaN) give the « not available (statistical secrecy) » text.
    """
    lang = normalise_lang(lang)
    if is_missing(value):
        return t("common.not_available", lang)
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    text = _babel_format_decimal(value, format=pattern, locale=LOCALES[lang], decimal_quantization=True)
    # CLDR's French group separator is U+202F; older data used U+00A0: one convention everywhere.
    return text.replace("\u00a0", NARROW_NBSP)


def format_percent(value: float | None, lang: str = DEFAULT_LANG, *, decimals: int = 1) -> str:
    """A percentage already expressed in % (``12,3 %`` in French, ``12.3%`` in English)."""
    lang = normalise_lang(lang)
    if is_missing(value):
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


def table_locale(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Separators for a Dash DataTable ``locale_format`` (numbers stay numbers, so sorting stays numeric)."""
    if normalise_lang(lang) == "fr":
        return {"group": NARROW_NBSP, "decimal": ","}
    return {"group": ",", "decimal": "."}


#: Message ids of the French terms of the build manifest's attribution line (see :func:`attribution`).
ATTRIBUTION_TERMS: tuple[str, ...] = (
    "attribution.sources", "attribution.source", "attribution.indicators", "attribution.boundaries",
    "attribution.households", "attribution.licence",
)


def attribution(text: str, lang: str = DEFAULT_LANG) -> str:
    """The attribution line of the build manifest (written in French) in ``lang``.

    Each term of :data:`ATTRIBUTION_TERMS` is replaced by its ``lang`` text; the names of producers and
    datasets stay as they are.
    """
    lang = normalise_lang(lang)
    if lang == DEFAULT_LANG:
        return text
    for msgid in ATTRIBUTION_TERMS:
        text = text.replace(t(msgid, DEFAULT_LANG), t(msgid, lang))
    return text


#: Message ids built at run time, recorded by :class:`MessageView` for the catalogue test.
DECLARED_IDS: set[str] = set(ATTRIBUTION_TERMS)


class MessageView(Mapping[str, str]):
    """A read-only ``{key: text}`` view of catalogue messages, for code that looks texts up by key.

    ``MessageView("map", ("site", "qpv"), "en")["site"]`` is ``t("map.site", "en")``. Texts are read from
    the catalogue at each lookup (so a recompiled catalogue shows at once); the view holds no text itself.

    Parameters
    ----------
    prefix : str
        Area of the message ids (``"<prefix>.<key>"``).
    keys : iterable of str
        The keys of the view, in order.
    lang : {"fr", "en"}
        Language of the texts.
    """

    def __init__(self, prefix: str, keys: Iterable[str], lang: str = DEFAULT_LANG) -> None:
        if not prefix or not isinstance(prefix, str):
            raise ValueError(f"prefix: expected a non-empty message id area, got {prefix!r}")
        self.prefix = prefix
        self.keys_: tuple[str, ...] = tuple(keys)
        self.lang = normalise_lang(lang)
        DECLARED_IDS.update(self.msgid(key) for key in self.keys_)

    def msgid(self, key: str) -> str:
        """Message id of ``key``."""
        return f"{self.prefix}.{key}"

    def __getitem__(self, key: str) -> str:
        if key not in self.keys_:
            raise KeyError(key)
        return t(self.msgid(key), self.lang)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)

    def __repr__(self) -> str:
        return f"MessageView({self.prefix!r}, {len(self.keys_)} keys, {self.lang!r})"


def per_language(prefix: str, keys: Iterable[str]) -> dict[str, MessageView]:
    """``{lang: MessageView(prefix, keys, lang)}`` for every language, for code indexed by language first."""
    keys = tuple(keys)
    return {lang: MessageView(prefix, keys, lang) for lang in LANGS}


class LanguageView(Mapping[str, str]):
    """A read-only ``{lang: text}`` view of one message id (``NOTE["en"]`` is ``t("privacy.note", "en")``)."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid
        DECLARED_IDS.add(msgid)

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGS:
            raise KeyError(lang)
        return t(self.msgid, lang)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGS)

    def __len__(self) -> int:
        return len(LANGS)


def error_text(error: BaseException, lang: str = DEFAULT_LANG) -> str:
    """The message of ``error`` in ``lang``, for errors that reach a user (file refusals, engine errors).

    An error that carries a message id renders in any language: give it the attributes ``msgid`` (a
    message id) and ``fields`` (a dict of its placeholder values), as :class:`geo.coverage.errors.CoverageError`
    does. Any other error gives ``str(error)`` unchanged.

    >>> class QuotaError(ValueError):
    ...     msgid, fields = "coverage.row.too_long", {"max_length": 80}
    >>> error_text(QuotaError(), "en")
    'text too long: 80 characters at most'
    """
    msgid = getattr(error, "msgid", None)
    if not isinstance(msgid, str) or not msgid:
        return str(error)
    fields = getattr(error, "fields", None) or {}
    return t(msgid, lang, **fields)
