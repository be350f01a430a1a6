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
