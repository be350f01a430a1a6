"""The one translation system: complete catalogues, Babel number/percent/date formats, texts in the reader's language."""

from __future__ import annotations

import datetime as dt
import gettext
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from geo import i18n
from geo.auth import ROLES
from geo.coverage import errors, schema
from geo.coverage.validate import validate_rows
from geo.i18n_check import Use, check_catalogues, extract_ids, placeholders, read_catalogue, used_ids

NNBSP = "\u202f"

#: Message ids the app builds at run time from a key (``t(f"ind.{key}", lang)``): family -> keys.
APP_DYNAMIC_IDS: dict[str, tuple[str, ...]] = {
    "ind": ("population", "households", "poverty_rate", "employment_rate", "npnru"),
    "src": ("population", "households", "poverty_rate", "employment_rate", "npnru"),
    "col": ("rank", "name", "insee_code", "region", "added_population", "added_demand", "added_households",
            "added_qpv", "npnru_count", "poverty_rate", "nearest_site", "nearest_site_km", "cumulative_share",
            "reason"),
    "res.scope": ("metro", "all"),
    "donnees.col": ("name", "title", "producer", "vintage", "licence", "url", "sha256", "origin", "layer", "file",
                    "rows", "join", "rate", "detail"),
    "login.role": ROLES,
    "terr": ("metropole", "guadeloupe", "martinique", "guyane", "reunion", "mayotte", "saint_martin", "polynesie"),
    "wt": ("poverty_rate", "employment_rate", "npnru", "household_size", "social_housing"),
    "outcome": schema.OUTCOMES,
    "nav": ("strategie", "donnees", "terrain", "impact", "account", "login"),
}


def _dynamic_app_ids() -> list[str]:
    return [f"{family}.{key}" for family, keys in APP_DYNAMIC_IDS.items() for key in keys]


# --- the catalogues are complete -------------------------------------------------------------------------

def test_every_message_id_used_in_geo_and_app_is_in_both_catalogues() -> None:
    uses = used_ids(extra=_dynamic_app_ids())
    extracted = {use.msgid for use in uses if use.where not in ("declared", "extra")}
    assert len(extracted) > 150  # the extractor really read geo/ and app/
    problems = check_catalogues(uses)
    assert problems == [], "\n".join(problems)


def test_the_extractor_finds_calls_with_their_place() -> None:
    uses = extract_ids()
    where = {use.msgid: use.where for use in uses}
    assert where["report.outside_qpv"].startswith("geo/coverage/impact.py:")
    assert where["lang.switch"].startswith("app/main.py:")
    assert all(use.msgid.count(".") >= 1 and " " not in use.msgid for use in uses)


def test_run_time_ids_are_declared_by_their_modules() -> None:
    from geo.export import bundle, html_map  # noqa: F401 - importing declares their ids

    declared = set(i18n.DECLARED_IDS)
    assert {f"coverage.row.{code}" for code in errors.ROW_CODES} <= declared
    assert {f"coverage.file.{code}" for code in errors.FILE_CODES} <= declared
    assert {"privacy.note", "map.attribution", "map.catchment", "export.sheet.qpv", "report.col.secret"} <= declared


def _write_po(folder: Path, lang: str, entries: dict[str, str]) -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(locale=lang)
    for msgid, text in entries.items():
        catalog.add(msgid, text)
    path = i18n.po_path(lang, locale_dir=folder)
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def test_the_check_reports_missing_ids_and_placeholders_that_differ(tmp_path: Path) -> None:
    _write_po(tmp_path, "fr", {"a.ok": "{n} portes", "a.shift": "{n} portes", "a.fr_only": "oui"})
    _write_po(tmp_path, "en", {"a.ok": "{n} doors", "a.shift": "{count} doors", "a.empty": ""})
    problems = check_catalogues([Use("a.ok", "x.py:1"), Use("a.absent", "y.py:2")], locale_dir=tmp_path)
    assert "a.absent: used at y.py:2, missing from the fr catalogue" in problems
    assert "a.absent: used at y.py:2, missing from the en catalogue" in problems
    assert "a.fr_only: only in the fr catalogue" in problems
    assert "a.empty: only in the en catalogue" in problems
    assert "a.shift: placeholders differ (fr ['n'], en ['count'])" in problems
    assert not any(p.startswith("a.ok") for p in problems)


def test_placeholders_of_every_entry_agree_between_french_and_english() -> None:
    french, english = read_catalogue("fr"), read_catalogue("en")
    assert french.keys() == english.keys()
    differ = {k: (placeholders(french[k]), placeholders(english[k])) for k in french
              if placeholders(french[k]) != placeholders(english[k])}
    assert differ == {}
    assert placeholders("Fichier {name} : {size_mb} Mo") == {"name", "size_mb"}


def test_catalogue_files_are_sorted_by_message_id() -> None:
    for lang in i18n.LANGS:
        ids = list(read_catalogue(lang))
        assert ids == sorted(ids), f"{lang} catalogue is not sorted by msgid"


# --- translation and formats ----------------------------------------------------------------------------

def test_t_fills_named_placeholders_in_each_language() -> None:
    assert i18n.t("coverage.row.too_long", "fr", max_length=80) == "texte trop long : 80 caractères au plus"
    assert i18n.t("coverage.row.too_long", "en", max_length=80) == "text too long: 80 characters at most"
    assert i18n.t("coverage.row.too_long", "de", max_length=80).startswith("texte trop long")  # -> French
    assert i18n.t("no.such.id", "en") == "no.such.id"


@pytest.mark.parametrize(("value", "lang", "decimals", "expected"), [
    (5307455, "fr", 0, f"5{NNBSP}307{NNBSP}455"),
    (5307455, "en", 0, "5,307,455"),
    (12345.678, "fr", 1, f"12{NNBSP}345,7"),
    (12345.678, "en", 2, "12,345.68"),
    (-1234.5, "en", 1, "-1,234.5"),
    (0.25, "fr", 0, "0"),
])
def test_format_number(value: float, lang: str, decimals: int, expected: str) -> None:
    assert i18n.format_number(value, lang, decimals=decimals) == expected


@pytest.mark.parametrize(("value", "lang", "decimals", "expected"), [
    (12.345, "fr", 1, f"12,3{NNBSP}%"),
    (12.345, "en", 1, "12.3%"),
    (100, "fr", 0, f"100{NNBSP}%"),
    (1234.5, "en", 1, "1,234.5%"),
])
def test_format_percent(value: float, lang: str, decimals: int, expected: str) -> None:
    assert i18n.format_percent(value, lang, decimals=decimals) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_missing_numbers_say_statistical_secrecy(missing: object) -> None:
    assert i18n.format_number(missing, "fr") == "non disponible (secret statistique)"  # type: ignore[arg-type]
    assert i18n.format_percent(missing, "en") == "not available (statistical secrecy)"  # type: ignore[arg-type]


def test_format_date_in_each_language() -> None:
    day = dt.date(2026, 2, 3)
    assert i18n.format_date(day, "fr") == "3 févr. 2026"
    assert i18n.format_date(day, "en") == "3 Feb 2026"
    assert i18n.format_date("2026-02-03T18:30:00", "en", format="long") == "3 February 2026"
    assert i18n.format_date(dt.datetime(2026, 2, 3, 18, 30), "fr", format="long") == "3 février 2026"


def test_colon_table_locale_and_attribution() -> None:
    assert i18n.colon("Source", "fr") == "Source\u00a0:" and i18n.colon("Source", "en") == "Source:"
    assert i18n.table_locale("en") == {"group": ",", "decimal": "."}
    line = "Sources : ANCT (QPV 2024), INSEE (ménages, indicateurs), IGN (contours) — Licence Ouverte 2.0"
    english = i18n.attribution(line, "en")
    assert english == ("Sources: ANCT (QPV 2024), INSEE (households, indicators), IGN (boundaries) — "
                       "Open Licence (Licence Ouverte) 2.0")
    assert i18n.attribution(line, "fr") == line


def test_message_views_read_the_catalogue() -> None:
    view = i18n.MessageView("coverage.outcome", schema.OUTCOMES, "en")
    assert dict(view) == {"ouvert": "door opened", "absent": "absent", "refus": "refused",
                          "a_revoir": "to revisit", "ne_pas_deranger": "do not disturb"}
    with pytest.raises(KeyError):
        view["perhaps"]
    note = i18n.LanguageView("privacy.note")
    assert note["fr"].startswith("Les cellules couvrant moins de 11 ménages")
    assert note["en"].startswith("Cells covering fewer than 11 households")
    with pytest.raises(ValueError, match="prefix"):
        i18n.MessageView("", ("x",))


# --- texts in the reader's language -----------------------------------------------------------------------

def _visits(**overrides: str) -> pd.DataFrame:
    good = {"campagne": "Eau 2025", "site": "91286", "date": "2025-03-18", "resultat": "ouvert",
            "latitude": "48.6511", "longitude": "2.3766"}
    frame = pd.DataFrame([good, {**good, **overrides}])
    frame.insert(0, "ligne", [2, 3])
    return frame


def test_an_english_user_gets_english_row_rejections() -> None:
    frame = _visits(date="2025-13-45", campagne="x" * 81)
    english = validate_rows(frame, today=dt.date(2026, 1, 1), lang="en").problems
    french = validate_rows(frame, today=dt.date(2026, 1, 1)).problems
    assert english[["ligne", "colonne", "code"]].values.tolist() == french[["ligne", "colonne", "code"]].values.tolist()
    motifs = dict(zip(english["code"], english["motif"], strict=True))
    assert motifs == {"too_long": "text too long: 80 characters at most",
                      "date": "invalid date: expected YYYY-MM-DD, DD/MM/YYYY or an Excel date"}
    assert dict(zip(french["code"], french["motif"], strict=True))["date"].startswith("date invalide")


def test_every_row_rejection_and_file_refusal_has_an_english_text() -> None:
    for code in errors.ROW_CODES:
        fields = {name: 7 for name in placeholders(errors.ROW_MESSAGES[code])}
        assert errors.row_message(code, "en", **fields) != errors.row_message(code, "fr", **fields), code
    for code in errors.FILE_CODES:
        fields = {name: "visites.csv" for name in placeholders(errors.FILE_MESSAGES[code])}
        refused = errors.FileRefusedError(code, **fields)
        assert str(refused) == refused.text("fr") != refused.text("en"), code
    with pytest.raises(ValueError, match="code: expected one of"):
        errors.row_message("nope", "en")


def test_errors_render_in_either_language() -> None:
    refused = errors.FileRefusedError("too_many_rows", name="visites.csv", max_rows="10")
    assert refused.text("en") == "Too many rows in visites.csv: more than 10. Split it into several files."
    assert str(refused) == "Trop de lignes dans visites.csv : plus de 10. Découpez-le en plusieurs fichiers."
    store = errors.StoreUnavailableError("sqlite:///x.db", "disk full")
    assert store.text("en") == "Database unreachable (sqlite:///x.db): disk full."
    assert store.code == "store_unreachable" and store.message.startswith("Base de données inaccessible")
    assert i18n.error_text(store, "en") == store.text("en")
    assert i18n.error_text(ValueError("sites: expected a CSV file"), "en") == "sites: expected a CSV file"


def test_labels_of_exports_follow_the_language() -> None:
    from geo.export import html_map
    from geo.export.report import labelled

    frame = pd.DataFrame({"households": [12.0], "secret": [True]})
    assert list(labelled(frame, "en").columns) == ["Households met", "Statistical secrecy"]
    assert labelled(frame, "fr")["Secret statistique"].tolist() == ["oui"]
    assert html_map.fmt_share(0.1234, "fr") == f"12,3{NNBSP}%"
    assert html_map.fmt_int(1234567, "en") == "1,234,567"
    assert html_map.TEXT["en"]["catchment"].format(km=5) == "Catchment (5 km)"
    assert schema.BY_NAME["heure"].describe("en") == "time of the visit, HH:MM (optional)"


# --- compilation ------------------------------------------------------------------------------------------

def test_compile_command_writes_mo_files_gettext_reads(tmp_path: Path) -> None:
    from geo.cli import main

    locale_dir = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale_dir, ignore=shutil.ignore_patterns("*.mo"))
    result = CliRunner().invoke(main, ["i18n", "compile", "--locale-dir", str(locale_dir)])
    assert result.exit_code == 0, result.output
    for lang in i18n.LANGS:
        mo = i18n.po_path(lang, locale_dir=locale_dir).with_suffix(".mo")
        assert str(mo) in result.output
        with mo.open("rb") as handle:
            catalogue = gettext.GNUTranslations(handle)
        assert catalogue.gettext("nav.strategie") == {"fr": "Stratégie", "en": "Strategy"}[lang]


def test_check_command_passes_on_the_project() -> None:
    from geo.cli import main

    result = CliRunner().invoke(main, ["i18n", "check"])
    assert result.exit_code == 0, result.output
    assert "catalogues complete" in result.output
