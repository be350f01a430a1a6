"""Interface strings in French (default) and English, and the current language of a request.

The language lives in a cookie (:data:`LANG_COOKIE`) set by the switch in the navigation bar, so every
layout function and callback (each runs inside a Flask request) can call :func:`current_lang`.

>>> t("nav.strategie", "en")
'Strategy'
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

LANGS: tuple[str, ...] = ("fr", "en")
DEFAULT_LANG = "fr"
LANG_COOKIE = "voisinmap_lang"

#: key -> {lang: text}. Keys are dotted: "<area>.<name>". Other pages add their own section below.
STRINGS: dict[str, dict[str, str]] = {
    # shell
    "app.title": {"fr": "voisinmap", "en": "voisinmap"},
    "app.tagline": {
        "fr": "Quartiers prioritaires et choix des sites de VoisinMalin",
        "en": "Priority neighbourhoods and VoisinMalin site selection",
    },
    "nav.strategie": {"fr": "Stratégie", "en": "Strategy"},
    "nav.donnees": {"fr": "Données", "en": "Data"},
    "nav.terrain": {"fr": "Terrain", "en": "Field"},
    "nav.impact": {"fr": "Impact", "en": "Impact"},
    "nav.login": {"fr": "Connexion", "en": "Log in"},
    "lang.switch": {"fr": "Langue", "en": "Language"},
    "error.data_missing": {
        "fr": "Les données nationales ne sont pas encore construites : lancez `voisinmap data build`.",
        "en": "The national data is not built yet: run `voisinmap data build`.",
    },
    "common.source": {"fr": "Source", "en": "Source"},
    "common.sources": {"fr": "Sources", "en": "Sources"},
    "common.not_available": {
        "fr": "non disponible (secret statistique)",
        "en": "not available (statistical secrecy)",
    },
    "common.yes": {"fr": "oui", "en": "yes"},
    "common.no": {"fr": "non", "en": "no"},
    # page Données
    "donnees.title": {"fr": "Données", "en": "Data"},
    "donnees.intro": {
        "fr": "Sources officielles utilisées, millésimes, licences et qualité des jointures de la dernière construction.",
        "en": "Official sources used, vintages, licences and join quality of the last build.",
    },
    "donnees.built_at": {"fr": "Construit le", "en": "Built on"},
    "donnees.sources": {"fr": "Sources", "en": "Sources"},
    "donnees.layers": {"fr": "Couches produites", "en": "Processed layers"},
    "donnees.joins": {"fr": "Taux de jointure", "en": "Join rates"},
    "donnees.col.name": {"fr": "Jeu de données", "en": "Dataset"},
    "donnees.col.title": {"fr": "Intitulé", "en": "Title"},
    "donnees.col.producer": {"fr": "Producteur", "en": "Producer"},
    "donnees.col.vintage": {"fr": "Millésime", "en": "Vintage"},
    "donnees.col.licence": {"fr": "Licence", "en": "Licence"},
    "donnees.col.url": {"fr": "Lien officiel", "en": "Official link"},
    "donnees.col.sha256": {"fr": "Empreinte SHA-256", "en": "SHA-256 hash"},
    "donnees.col.origin": {"fr": "Obtenu depuis", "en": "Obtained from"},
    "donnees.col.layer": {"fr": "Couche", "en": "Layer"},
    "donnees.col.rows": {"fr": "Lignes", "en": "Rows"},
    "donnees.col.file": {"fr": "Fichier", "en": "File"},
    "donnees.col.join": {"fr": "Jointure", "en": "Join"},
    "donnees.col.rate": {"fr": "Taux", "en": "Rate"},
    "donnees.col.detail": {"fr": "Détail", "en": "Detail"},
    "donnees.join_detail": {"fr": "{matched} sur {total} (seuil {threshold})",
                            "en": "{matched} of {total} (threshold {threshold})"},
    "donnees.caveats": {"fr": "Limites connues", "en": "Known limitations"},
    "donnees.caveats_note": {"fr": "(détail en anglais, issu du manifeste de construction)", "en": "(from the build manifest)"},
    "donnees.attribution": {"fr": "Mention des sources", "en": "Attribution"},
    "donnees.missing": {
        "fr": "Aucun manifeste de construction trouvé : lancez `voisinmap data build`.",
        "en": "No build manifest found: run `voisinmap data build`.",
    },
}


def t(key: str, lang: str | None = None, **fmt: object) -> str:
    """Translate ``key`` into ``lang``.

    Parameters
    ----------
    key : str
        A key of :data:`STRINGS`.
    lang : {"fr", "en"}, optional
        Target language; default: :func:`current_lang`.
    **fmt
        Values substituted with :meth:`str.format`.

    Returns
    -------
    str
        The text; an unknown key returns the key itself (and logs a warning) so a missing string
        shows on screen instead of breaking the page.
    """
    lang = lang or current_lang()
    entry = STRINGS.get(key)
    if entry is None:
        logger.warning("i18n: no string for key %r", key)
        return key
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**fmt) if fmt else text


def register(strings: dict[str, dict[str, str]]) -> None:
    """Add a page's strings to :data:`STRINGS` (each must have a French text; keys must be new).

    Raises
    ------
    ValueError
        When a key already exists with another text, or has no French text.
    """
    for key, entry in strings.items():
        if DEFAULT_LANG not in entry:
            raise ValueError(f"strings[{key!r}]: expected a {DEFAULT_LANG!r} text, got keys {sorted(entry)}")
        if key in STRINGS and STRINGS[key] != entry:
            raise ValueError(f"strings: key {key!r} is already registered with another text")
        STRINGS[key] = entry


def normalise_lang(value: str | None) -> str:
    """Return ``value`` when it is a supported language, else the default (French)."""
    return value if value in LANGS else DEFAULT_LANG


def current_lang() -> str:
    """Language of the current request (cookie :data:`LANG_COOKIE`), French outside a request."""
    try:
        import flask

        if flask.has_request_context():
            return normalise_lang(flask.request.cookies.get(LANG_COOKIE))
    except ImportError:  # pragma: no cover - flask is a dependency of dash
        pass
    return DEFAULT_LANG


def fmt_number(value: float | None, lang: str | None = None, decimals: int = 0) -> str:
    """Format a number the way readers of ``lang`` expect (``12 345,6`` in French, ``12,345.6`` in English).

    Missing values (None or NaN) give :func:`t` ``("common.not_available")``.
    """
    lang = lang or current_lang()
    if value is None or value != value:  # NaN
        return t("common.not_available", lang)
    text = f"{value:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def fmt_pct(value: float | None, lang: str | None = None, decimals: int = 1) -> str:
    """Format a percentage already expressed in % (``12,3 %`` in French, ``12.3%`` in English)."""
    lang = lang or current_lang()
    if value is None or value != value:
        return t("common.not_available", lang)
    number = fmt_number(value, lang, decimals)
    return f"{number}\u202f%" if lang == "fr" else f"{number}%"


def colon(label: str, lang: str | None = None) -> str:
    """``label`` followed by a colon, French style (``Aller à :``) or English style (``Go to:``)."""
    lang = lang or current_lang()
    return f"{label}\u00a0:" if lang == "fr" else f"{label}:"


def table_locale(lang: str | None = None) -> dict[str, str]:
    """Separators for a Dash DataTable ``locale_format`` (numbers stay numbers, so sorting stays numeric)."""
    lang = lang or current_lang()
    return {"group": "\u202f", "decimal": ","} if lang == "fr" else {"group": ",", "decimal": "."}


#: French terms of the build manifest's attribution line and their English wording.
_ATTRIBUTION_EN: tuple[tuple[str, str], ...] = (
    ("Sources : ", "Sources: "), ("Source : ", "Source: "), ("indicateurs", "indicators"),
    ("contours", "boundaries"), ("ménages", "households"), ("Licence Ouverte", "Open Licence (Licence Ouverte)"),
)


def attribution(text: str, lang: str | None = None) -> str:
    """The attribution line (written in French in the build manifest) in ``lang``."""
    lang = lang or current_lang()
    if lang == "fr":
        return text
    for fr, en in _ATTRIBUTION_EN:
        text = text.replace(fr, en)
    return text
