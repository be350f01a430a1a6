"""File sniffing: encodings, separators, XLSX (real dates and serial numbers), header mapping."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from coverage_helpers import TODAY, visit_rows, write_csv

from geo.coverage import reader, schema
from geo.coverage.template import template_csv, template_xlsx
from geo.coverage.validate import validate_rows

ACCENTED = "Rénovation énergétique – Œuvre"


@pytest.mark.parametrize(("encoding", "sep"), [("utf-8", ";"), ("utf-8-sig", ";"), ("cp1252", ";"),
                                               ("latin-1", ","), ("utf-8", ","), ("utf-16", "\t")])
def test_encodings_and_separators_read_the_same_rows(tmp_path: Path, encoding: str, sep: str) -> None:
    rows = visit_rows(5, campaign="Rénovation énergétique" if encoding == "latin-1" else ACCENTED)
    path = write_csv(tmp_path / "v.csv", rows, sep=sep, encoding=encoding)
    table = reader.read_file(path)
    assert table.delimiter == sep
    assert table.frame["campagne"].tolist() == rows["campagne"].tolist()
    assert table.frame["ligne"].tolist() == [2, 3, 4, 5, 6]
    assert table.header.columns == tuple(rows.columns)


def test_decimal_comma_and_french_headers(tmp_path: Path) -> None:
    text = ("Campagne;Site;Date de visite;Heure;Résultat;Latitude;Longitude;Voisin\n"
            "Eau 2025;91286;18/03/2025;18h30;Ouvert;48,6511;2,3766;V017\n"
            "Eau 2025;91286;18.03.2025;;À revoir;48,6512;2,3767;V017\n")
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="cp1252")
    table = reader.read_file(path)
    checked = validate_rows(table.frame, today=TODAY)
    assert checked.problems.empty
    valid = checked.valid
    assert valid["outcome"].tolist() == ["ouvert", "a_revoir"]
    assert valid["visited_at"].tolist() == [pd.Timestamp("2025-03-18 18:30"), pd.Timestamp("2025-03-18")]
    assert valid["time_known"].tolist() == [True, False]
    assert valid["lat"].tolist() == [48.6511, 48.6512]


def test_quoted_fields_with_separators_and_newlines_keep_line_numbers(tmp_path: Path) -> None:
    text = ('campagne,site,date,resultat,latitude,longitude,sujets\n'
            '"Eau, énergie 2025",91286,2025-03-18,ouvert,48.6511,2.3766,"eau, énergie"\n'
            '"Deux\nlignes",91286,2025-03-18,absent,48.6511,2.3766,\n'
            'Eau,91286,2025-03-19,refus,48.6511,2.3766,\n')
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    table = reader.read_file(path)
    assert table.frame["ligne"].tolist() == [2, 3, 5]
    assert table.frame["campagne"].iat[0] == "Eau, énergie 2025"


def test_blank_lines_and_short_rows_are_tolerated(tmp_path: Path) -> None:
    text = ("campagne;site;date;resultat;latitude;longitude;voisin\n\n"
            "Eau;91286;2025-03-18;ouvert;48.65;2.37\n;;;;;;\n")
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    table = reader.read_file(path)
    assert len(table.frame) == 1
    assert table.frame["voisin"].iat[0] == ""
    assert table.field_count_errors == []


def _workbook(rows: list[list[object]], *, second_sheet: list[list[object]] | None = None) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    if second_sheet is not None:
        other = book.active
        other.title = "notes"
        for row in second_sheet:
            other.append(row)
        sheet = book.create_sheet("visites")
    else:
        sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_dates_times_serials_and_numbers() -> None:
    header = ["campagne", "site", "date", "heure", "resultat", "latitude", "longitude", "code_postal", "voisin"]
    content = _workbook([
        header,
        ["Eau", 91286, dt.datetime(2025, 3, 18, 18, 30), None, "ouvert", 48.6511, 2.3766, 91350, "V017"],
        ["Eau", 91286, dt.date(2025, 3, 19), dt.time(17, 45), "absent", 48.6511, 2.3766, None, "V017"],
        ["Eau", 91286, 45736, None, "refus", 48.6511, 2.3766, None, "V017"],
        ["Eau", 91286, 45736.75, None, "refus", 48.6511, 2.3766, None, "V017"],
        ["Eau", 1053, "2025-03-22", None, "refus", 48.6511, 2.3766, 1000, "V017"],
        [None, None, None, None, None, None, None, None, None],
    ], second_sheet=[["remarques"], ["rien"]])
    table = reader.read_bytes(content, name="v.xlsx")
    assert table.format == "xlsx"
    assert table.frame["ligne"].tolist() == [2, 3, 4, 5, 6]
    checked = validate_rows(table.frame, today=TODAY)
    assert checked.problems.empty, checked.problems
    valid = checked.valid
    assert valid["visited_at"].tolist() == [pd.Timestamp("2025-03-18 18:30"), pd.Timestamp("2025-03-19 17:45"),
                                            pd.Timestamp("2025-03-20"), pd.Timestamp("2025-03-20 18:00"),
                                            pd.Timestamp("2025-03-22")]
    assert valid["site"].tolist() == ["91286"] * 4 + ["01053"]
    assert valid["postcode"].tolist() == ["91350", "", "", "", "01000"]


def test_excel_serial_dates_in_csv(tmp_path: Path) -> None:
    text = "campagne;site;date;resultat;latitude;longitude\nEau;91286;45736;ouvert;48.65;2.37\n"
    path = tmp_path / "v.csv"
    path.write_text(text, encoding="utf-8")
    valid = validate_rows(reader.read_file(path).frame, today=TODAY).valid
    assert valid["visited_at"].tolist() == [pd.Timestamp("2025-03-20")]


def test_templates_are_recognised_and_refused_only_for_lacking_rows(tmp_path: Path) -> None:
    for name, content in (("m.csv", template_csv()), ("m.xlsx", template_xlsx())):
        with pytest.raises(reader.FileRefusedError) as info:
            reader.read_bytes(content, name=name)
        assert info.value.code == "no_rows"
    # the XLSX template filled in: the "aide" sheet is ignored, the "visites" sheet is read
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template_xlsx()))
    assert book.sheetnames == ["visites", "aide"]
    assert [c.value for c in book["visites"][1]] == list(schema.COLUMN_NAMES)
    book["visites"].append(["Eau", "91286", dt.date(2025, 3, 18), "18:30", "", "", "", "", 48.65, 2.37, "", "",
                            "ouvert", "français", "eau", "V017"])
    buffer = io.BytesIO()
    book.save(buffer)
    table = reader.read_bytes(buffer.getvalue(), name="rempli.xlsx")
    assert len(table.frame) == 1
    assert validate_rows(table.frame, today=TODAY).problems.empty


def test_unknown_columns_are_ignored_and_reported(tmp_path: Path) -> None:
    rows = visit_rows(2).assign(commentaire="rien", **{"Observations diverses": "x"})
    table = reader.read_file(write_csv(tmp_path / "v.csv", rows))
    assert table.header.ignored == ("commentaire", "Observations diverses")
    assert "commentaire" not in table.frame.columns


@pytest.mark.parametrize("header", ["nom", "Prénom", "NOM_HABITANT", "Téléphone", "tel_portable", "E-mail",
                                    "courriel", "date_de_naissance", "Nom du locataire", "phone", "last_name"])
def test_personal_columns_are_refused(header: str) -> None:
    assert schema.is_personal_header(schema.normalise_header(header))
    content = f"campagne;site;date;resultat;latitude;longitude;{header}\nEau;1;2025-01-01;ouvert;48;2;x\n"
    with pytest.raises(reader.FileRefusedError, match="données personnelles") as info:
        reader.read_bytes(content.encode(), name="v.csv")
    assert header in info.value.message


@pytest.mark.parametrize("header", ["nom_voie", "nom_campagne", "code_postal", "numero", "adresse", "ville"])
def test_schema_aliases_are_not_personal(header: str) -> None:
    mapping = schema.resolve_header(["site", header])
    assert mapping.personal == ()
    assert len(mapping.columns) == 2


def test_read_bytes_rejects_non_bytes() -> None:
    with pytest.raises(TypeError, match="data: expected bytes, got str"):
        reader.read_bytes("campagne;site", name="v.csv")  # type: ignore[arg-type]


@pytest.mark.parametrize(("first", "sep"), [("sep=;", ";"), ("SEP=,", ","), ("sep=\t", "\t")])
def test_excel_separator_line(tmp_path: Path, first: str, sep: str) -> None:
    """Excel's "sep=;" first line names the separator; Excel hides it, so lines count from the header."""
    rows = visit_rows(3)
    path = tmp_path / "v.csv"
    body = rows.to_csv(sep=sep, index=False, lineterminator="\r\n")
    path.write_bytes(("\ufeff" + first + "\r\n" + body).encode("utf-8"))
    table = reader.read_file(path)
    assert table.delimiter == sep
    assert table.header.columns == tuple(rows.columns)
    assert table.frame["ligne"].tolist() == [2, 3, 4]
    assert table.frame["campagne"].tolist() == rows["campagne"].tolist()
    assert validate_rows(table.frame, today=TODAY).problems.empty
