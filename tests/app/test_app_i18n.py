from __future__ import annotations

from app import i18n
from geo.i18n import po_path


def _catalogue(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=lang) if m.id}


def test_every_string_has_french_and_english():
    french, english = _catalogue("fr"), _catalogue("en")
    assert french.keys() == english.keys()
    for key in french:
        entry = {"fr": french[key], "en": english[key]}
        assert entry.get("fr"), key
        assert entry.get("en"), key


def test_t_translates_and_falls_back():
    assert i18n.t("nav.strategie", "fr") == "Stratégie"
    assert i18n.t("nav.strategie", "en") == "Strategy"
    assert i18n.t("nav.strategie", "de") == "Stratégie"  # unknown language -> French
    assert i18n.t("no.such.key", "en") == "no.such.key"


def test_texts_come_only_from_the_catalogues():
    assert not hasattr(i18n, "register")  # no page dictionary can be a source of text
    assert not hasattr(i18n, "STRINGS")


def test_number_formats():
    assert i18n.fmt_number(5307455, "fr") == "5\u202f307\u202f455"
    assert i18n.fmt_number(5307455, "en") == "5,307,455"
    assert i18n.fmt_pct(12.345, "fr") == "12,3\u202f%"
    assert i18n.fmt_pct(12.345, "en") == "12.3%"
    assert i18n.fmt_pct(float("nan"), "fr") == "non disponible (secret statistique)"


def test_current_lang_reads_the_cookie():
    import flask

    server = flask.Flask("t")
    with server.test_request_context("/", headers={"Cookie": f"{i18n.LANG_COOKIE}=en"}):
        assert i18n.current_lang() == "en"
    with server.test_request_context("/", headers={"Cookie": f"{i18n.LANG_COOKIE}=xx"}):
        assert i18n.current_lang() == "fr"
    assert i18n.current_lang() == "fr"


def test_colon_table_locale_and_attribution_follow_the_language():
    assert i18n.colon("Aller à", "fr") == "Aller à\u00a0:"
    assert i18n.colon("Go to", "en") == "Go to:"
    assert i18n.table_locale("fr") == {"group": "\u202f", "decimal": ","}
    assert i18n.table_locale("en") == {"group": ",", "decimal": "."}
    line = "Sources : ANCT (QPV 2024), INSEE (population, indicateurs), IGN (contours) — Licence Ouverte 2.0"
    assert i18n.attribution(line, "fr") == line
    english = i18n.attribution(line, "en")
    assert english.startswith("Sources: ") and "indicators" in english and "boundaries" in english
    assert " : " not in english
