"""Row validation details and content keys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from coverage_helpers import TODAY, visit_rows

from geo.coverage.validate import content_keys, in_france, validate_rows


def _frame(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.copy()
    out.insert(0, "ligne", np.arange(2, len(rows) + 2))
    return out


def test_valid_rows_are_typed() -> None:
    checked = validate_rows(_frame(visit_rows(3)), today=TODAY)
    assert checked.problems.empty
    valid = checked.valid
    assert valid["visited_at"].dtype == "datetime64[s]"
    assert valid["lat"].dtype == float
    assert valid["topics"].tolist() == ["eau|énergie"] * 3
    assert valid["content_key"].str.fullmatch("[0-9a-f]{32}").all()


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-18", "2025-03-18 00:00"), ("2025-03-18 18:30", "2025-03-18 18:30"),
    ("2025-03-18T18:30:15", "2025-03-18 18:30"), ("18/03/2025", "2025-03-18 00:00"),
    ("18/03/2025 18h30", "2025-03-18 18:30"), ("18.03.2025", "2025-03-18 00:00"), ("18/03/25", "2025-03-18 00:00"),
    ("8/3/2025", "2025-03-08 00:00"), ("45734", "2025-03-18 00:00"), ("45734.5", "2025-03-18 12:00"),
])
def test_date_formats(text: str, expected: str) -> None:
    rows = visit_rows(1).assign(date=text, heure="")
    valid = validate_rows(_frame(rows), today=TODAY).valid
    assert valid["visited_at"].iat[0] == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["2025-02-30", "31/04/2025", "2025-03-18 24:10", "18-03-2025", "mardi",
                                  "12345", "2025/03/18"])
def test_invalid_dates(text: str) -> None:
    checked = validate_rows(_frame(visit_rows(1).assign(date=text)), today=TODAY)
    assert checked.problems["code"].tolist() == ["date"]


def test_future_dates_are_refused_relative_to_today() -> None:
    rows = visit_rows(2).assign(date=["2026-11-21", "2026-11-22"])
    checked = validate_rows(_frame(rows), today=TODAY)
    assert checked.valid["ligne"].tolist() == [2]
    assert checked.problems["code"].tolist() == ["date_range"]


@pytest.mark.parametrize(("text", "minutes"), [("18:30", 1110), ("18h30", 1110), ("18h", 1080), ("7:05", 425),
                                               ("0,75", 1080), ("18:30:59", 1110)])
def test_time_formats(text: str, minutes: int) -> None:
    valid = validate_rows(_frame(visit_rows(1).assign(date="2025-03-18", heure=text)), today=TODAY).valid
    stamp = valid["visited_at"].iat[0]
    assert stamp.hour * 60 + stamp.minute == minutes
    assert bool(valid["time_known"].iat[0])


@pytest.mark.parametrize(("text", "outcome"), [("Ouvert", "ouvert"), ("OUVERTE", "ouvert"), ("à revoir", "a_revoir"),
                                               ("A-revoir", "a_revoir"), ("Ne pas déranger", "ne_pas_deranger"),
                                               ("NPD", "ne_pas_deranger"), ("Refusé", "refus"), ("absente", "absent")])
def test_outcome_spellings(text: str, outcome: str) -> None:
    valid = validate_rows(_frame(visit_rows(1).assign(resultat=text)), today=TODAY).valid
    assert valid["outcome"].tolist() == [outcome]


def test_address_only_rows_are_valid_without_coordinates() -> None:
    rows = visit_rows(2).assign(latitude="", longitude="", numero="12", voie="avenue des Tuileries",
                                code_postal=["91350", ""], commune=["", "Grigny"])
    checked = validate_rows(_frame(rows), today=TODAY)
    assert checked.problems.empty
    assert checked.valid["lat"].isna().all()


@pytest.mark.parametrize(("lat", "lon"), [("16.25", "-61.58"), ("-21.11", "55.53"), ("4.93", "-52.33"),
                                          ("-12.78", "45.23"), ("-17.53", "-149.56"), ("42.70", "9.45")])
def test_overseas_and_corsica_coordinates_are_in_france(lat: str, lon: str) -> None:
    assert in_france(np.array([float(lon)]), np.array([float(lat)]))[0]
    assert validate_rows(_frame(visit_rows(1).assign(latitude=lat, longitude=lon)), today=TODAY).problems.empty


@pytest.mark.parametrize("value", ["06 12 34 56 78", "+33 6 12 34 56 78", "0612345678", "06.12.34.56.78",
                                   "jean.dupont@example.org"])
def test_phone_numbers_and_emails_in_any_text_column_are_rejected(value: str) -> None:
    for column in ("campagne", "porte", "sujets", "langue", "commune"):
        rows = visit_rows(1).assign(**{column: value}) if column != "commune" else \
            visit_rows(1).assign(commune=value)
        checked = validate_rows(_frame(rows), today=TODAY)
        assert "personal" in checked.problems["code"].tolist(), (column, value)


def test_numbers_that_are_not_phones_are_accepted() -> None:
    rows = visit_rows(2).assign(campagne=["Campagne 2025 06", "Tour 12 escalier 3"], porte=["B-12-03", "0612"])
    assert validate_rows(_frame(rows), today=TODAY).problems.empty


def test_content_keys_count_identical_rows_and_are_stable() -> None:
    same = visit_rows(1).assign(porte="", heure="")
    rows = pd.concat([same] * 3 + [visit_rows(1, start=7)], ignore_index=True)
    keys = validate_rows(_frame(rows), today=TODAY).valid["content_key"]
    assert keys.nunique() == 4  # three identical knocks stay three visits
    again = validate_rows(_frame(rows.iloc[::-1].reset_index(drop=True)), today=TODAY).valid["content_key"]
    assert set(again) == set(keys)  # order does not matter
    shorter = validate_rows(_frame(rows.iloc[:2]), today=TODAY).valid["content_key"]
    assert set(shorter) < set(keys)  # a file holding two of the three adds nothing new


def test_content_key_ignores_formatting_but_not_content() -> None:
    a = visit_rows(1)
    b = a.assign(campagne=a["campagne"].str.upper() + "  ", date="18/03/2025", latitude=a["latitude"] + "0")
    a = a.assign(date="2025-03-18")
    keys = [validate_rows(_frame(x), today=TODAY).valid["content_key"].iat[0] for x in (a, b)]
    assert keys[0] == keys[1]
    c = a.assign(resultat="absent")
    assert validate_rows(_frame(c), today=TODAY).valid["content_key"].iat[0] != keys[0]


def test_content_keys_of_empty_frame() -> None:
    assert content_keys(pd.DataFrame()).empty


def test_validate_requires_line_numbers() -> None:
    with pytest.raises(ValueError, match="frame: expected a 'ligne' column"):
        validate_rows(visit_rows(1), today=TODAY)


# ---------------------------------------------------------------- identifiers and closed lists (no names, no phones)
def _codes(column: str, values: list[str], **extra: str) -> list[list[str]]:
    rows = visit_rows(len(values)).assign(**{column: values}, **extra)
    problems = validate_rows(_frame(rows), today=TODAY).problems
    return [sorted(problems.loc[problems["ligne"] == line, "code"]) for line in range(2, len(values) + 2)]


def test_house_numbers_only() -> None:
    good = ["12", "12 bis", "12bis", "12B", "4 ter", "1 quater", "1234"]
    bad = ["0612345678", "12345", "douze", "12 rue", "bis"]
    codes = _codes("numero", good + bad, voie="avenue des Tuileries", code_postal="91350")
    assert codes[: len(good)] == [[]] * len(good)
    assert all("house_number" in c for c in codes[len(good):]), codes
    assert codes[len(good)] == ["house_number", "personal"]  # a phone number: also flagged as personal data


def test_door_marks_hold_a_digit_and_no_name() -> None:
    good = ["A-03-12", "esc B étage 3 porte 12", "0612", "B12", "A-03-Dr", "RDC 2", "Bât C 4e gauche"]
    bad = ["Mme Diallo", "M. Diallo 3", "Diallo 3", "famille Diallo 2", "Monsieur 12", "12 chez Diallo", "RDC-G",
           "Mlle Traoré 4"]
    codes = _codes("porte", good + bad)
    assert codes[: len(good)] == [[]] * len(good), codes
    assert codes[len(good):] == [["door"]] * len(bad), codes


def test_buildings_named_after_a_family_are_rejected() -> None:
    assert _codes("batiment", ["GB-T12", "Tour 7", "Famille Diallo", "chez Mme X"]) == [[], [], ["civility"],
                                                                                      ["civility"]]


def test_languages_from_the_closed_list() -> None:
    values = ["Francais", "kabyle", "Arabe, soninké", "LSF", "english|fr", "Mme Diallo arabe", "diallo", "elfique"]
    checked = validate_rows(_frame(visit_rows(len(values)).assign(langue=values)), today=TODAY)
    assert checked.valid["language"].tolist() == ["français", "berbère", "arabe|soninké", "langue des signes",
                                                  "anglais|français"]
    assert checked.problems["code"].tolist() == ["language"] * 3


def test_topics_from_the_closed_list() -> None:
    values = ["Eau, énergie", "sante|ECOLE", "cheque energie", "diallo fatima", "eau|rappeler Fatima"]
    checked = validate_rows(_frame(visit_rows(len(values)).assign(sujets=values)), today=TODAY)
    assert [set(t.split("|")) for t in checked.valid["topics"]] == [{"eau", "énergie"}, {"santé", "école"},
                                                                     {"chèque énergie"}]
    assert checked.problems["code"].tolist() == ["topic"] * 2


def test_voisin_codes_only() -> None:
    good = ["V017", "v3", "GRI-V03", "SD-V01", "P19-V12", "CAPH-V0001"]
    bad = ["Fatima2", "Fatima", "FATIMA-V2", "V12345", "jean.dupont", "V 17", "GRI_V03"]
    codes = _codes("voisin", good + bad)
    assert codes[: len(good)] == [[]] * len(good), codes
    assert codes[len(good):] == [["voisin"]] * len(bad), codes
    valid = validate_rows(_frame(visit_rows(2).assign(voisin=["v3", "gri-v03"])), today=TODAY).valid
    assert valid["voisin"].tolist() == ["V3", "GRI-V03"]  # stored in capitals


def test_closed_lists_and_codes_are_documented() -> None:
    from pathlib import Path

    from geo.coverage import vocabulary

    text = (Path(__file__).resolve().parents[2] / "docs" / "coverage.md").read_text(encoding="utf-8")
    docs = " ".join(text.split())  # a value may be wrapped across two lines
    for column, values in vocabulary.documented_values().items():
        missing = [v for v in values if v not in docs]
        assert not missing, f"docs/coverage.md lacks these {column} values: {missing}"
    for pattern in ("V017", "GRI-V03", "12 bis", "A-03-12"):
        assert pattern in docs


def test_template_help_lists_the_closed_lists() -> None:
    import io

    from openpyxl import load_workbook

    from geo.coverage import vocabulary
    from geo.coverage.template import template_xlsx

    sheet = load_workbook(io.BytesIO(template_xlsx()))["aide"]
    text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert all(v in text for v in vocabulary.LANGUAGES + vocabulary.TOPICS)
    assert "GRI-V03" in text and "jamais" in text


# ---------------------------------------------------------------------------- coordinates against France's land
ABROAD = {"Bruxelles": (50.8503, 4.3517), "Luxembourg": (49.6116, 6.1296), "Genève": (46.2044, 6.1432),
          "Barcelone": (41.3851, 2.1734), "Bâle": (47.5596, 7.5886), "Andorre": (42.5078, 1.5211),
          "Jersey": (49.2138, -2.1358)}
IN_FRANCE = {"Grigny": (48.6511, 2.3766), "Ajaccio": (41.9192, 8.7369), "Saint-Denis (Réunion)": (-20.8821, 55.4504),
             "Cayenne": (4.9372, -52.326), "Mamoudzou": (-12.7806, 45.2279), "Fort-de-France": (14.6037, -61.0731),
             "Pointe-à-Pitre": (16.2411, -61.5331), "Marigot (Saint-Martin)": (18.0676, -63.0825),
             "Papeete": (-17.5350, -149.5696), "Vieux-Port de Marseille (quai)": (43.2951, 5.3740),
             "Strasbourg": (48.5734, 7.7521)}


def test_coordinates_abroad_are_rejected_with_the_departements(territory) -> None:  # noqa: ANN001
    places = {**ABROAD, **IN_FRANCE}
    rows = visit_rows(len(places)).assign(latitude=[f"{lat}" for lat, _ in places.values()],
                                          longitude=[f"{lon}" for _, lon in places.values()])
    checked = validate_rows(_frame(rows), today=TODAY, territory=territory)
    rejected = dict(zip(checked.problems["ligne"], checked.problems["code"], strict=True))
    names = list(places)
    assert {names[line - 2]: code for line, code in rejected.items()} == dict.fromkeys(ABROAD, "coords_outside")
    # the coarse boxes, without the polygons, let these through: the reason for the polygons
    coarse = validate_rows(_frame(rows), today=TODAY)
    assert {"Bruxelles", "Luxembourg", "Genève", "Barcelone"} <= {names[i - 2] for i in coarse.valid["ligne"]}


def test_swapped_coordinates_with_the_departements(territory) -> None:  # noqa: ANN001
    rows = visit_rows(2).assign(latitude=["2.3766", "4.3517"], longitude=["48.6511", "50.8503"])
    checked = validate_rows(_frame(rows), today=TODAY, territory=territory)
    assert checked.problems["code"].tolist() == ["coords_swapped", "coords_outside"]
