"""Every documented message is triggered by a test: file refusals, row rejections, other errors."""

from __future__ import annotations

import io
import re
import socket
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from coverage_helpers import TODAY, xlsx_bytes

from geo.coverage import errors, reader, schema
from geo.coverage.errors import FILE_MESSAGES, OTHER_MESSAGES, ROW_MESSAGES, FileRefusedError
from geo.coverage.validate import validate_rows
from geo.i18n import t

DOCS = Path(__file__).resolve().parents[2] / "docs" / "coverage.md"
HEADER = "campagne;site;date;resultat;latitude;longitude\n"
GOOD = "Eau 2025;91286;2025-03-18;ouvert;48.6511;2.3766\n"


def _broken_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    return buffer.getvalue()


#: code -> (file content, read_bytes keyword arguments, a fragment of the expected message)
FILE_CASES: dict[str, tuple[bytes | None, dict, str]] = {
    "missing": (None, {}, "Fichier introuvable"),
    "empty": (b"", {}, "Fichier vide"),
    "too_large": ((HEADER + GOOD * 50).encode(), {"max_bytes": 1000}, "Fichier trop volumineux"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, {}, "ni un CSV ni un classeur"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, {}, "Excel 97-2003"),
    "xlsx_unreadable": (_broken_xlsx(), {}, "Classeur XLSX illisible"),
    "no_header": (b"Eau 2025;91286;2025-03-18;ouvert\n", {}, "En-tête non reconnu"),
    "missing_columns": (b"campagne;date;latitude;longitude\nEau;2025-03-18;48.6;2.3\n", {},
                        "Colonnes obligatoires absentes"),
    "no_location": (b"campagne;site;date;resultat\nEau;91286;2025-03-18;ouvert\n", {},
                    "Aucune colonne de localisation"),
    "personal_columns": (("campagne;site;date;resultat;latitude;longitude;Nom;Téléphone\n"
                          "Eau;91286;2025-03-18;ouvert;48.65;2.37;X;Y\n").encode(), {},
                         "Colonnes de données personnelles refusées"),
    "duplicate_columns": ((HEADER.strip() + ";Résultat\n" + GOOD.strip() + ";absent\n").encode(), {},
                          "Colonnes en double"),
    "no_rows": (HEADER.encode(), {}, "ne contient que l'en-tête"),
    "too_many_rows": ((HEADER + GOOD * 20).encode(), {"max_rows": 10}, "Trop de lignes"),
    "malformed": ((HEADER + 'Eau;91286;"' + "x" * 20_000 + '";ouvert;48.6;2.3\n').encode(), {},
                  "CSV mal formé"),
}


@pytest.mark.parametrize("code", sorted(FILE_MESSAGES))
def test_every_file_refusal_is_triggered(code: str, tmp_path: Path) -> None:
    content, kwargs, fragment = FILE_CASES[code]
    with pytest.raises(FileRefusedError, match=re.escape(fragment)) as info:
        if content is None:
            reader.read_file(tmp_path / "absent.csv")
        else:
            reader.read_bytes(content, name="visites.csv", **kwargs)
    assert info.value.code == code


def test_xlsx_refusals_use_the_same_messages() -> None:
    content = xlsx_bytes([["campagne", "site", "date", "resultat", "Nom du locataire", "latitude", "longitude"]])
    with pytest.raises(FileRefusedError, match="Nom du locataire") as info:
        reader.read_bytes(content, name="visites.xlsx")
    assert info.value.code == "personal_columns"


def _row(**overrides: str) -> dict[str, str]:
    row = {"campagne": "Eau 2025", "site": "91286", "date": "2025-03-18", "heure": "", "numero": "", "voie": "",
           "code_postal": "", "commune": "", "latitude": "48.6511", "longitude": "2.3766", "batiment": "",
           "porte": "", "resultat": "ouvert", "langue": "", "sujets": "", "voisin": "V017"}
    row.update(overrides)
    return row


#: code -> (row overrides, column expected in the report)
ROW_CASES: dict[str, tuple[dict[str, str], str]] = {
    "required": ({"campagne": ""}, "campagne"),
    "too_long": ({"campagne": "x" * 81}, "campagne"),
    "date": ({"date": "2025-13-45"}, "date"),
    "date_range": ({"date": "2009-12-31"}, "date"),
    "time": ({"heure": "25:99"}, "heure"),
    "outcome": ({"resultat": "peut-être"}, "resultat"),
    "number": ({"latitude": "quarante-huit"}, "latitude"),
    "coords_partial": ({"longitude": ""}, "longitude"),
    "coords_swapped": ({"latitude": "2.3766", "longitude": "48.6511"}, "latitude"),
    "coords_outside": ({"latitude": "40.4168", "longitude": "-3.7038"}, "latitude"),
    "location": ({"latitude": "", "longitude": "", "voie": "rue des Lilas"}, "voie"),
    "postcode": ({"code_postal": "913"}, "code_postal"),
    "identifier": ({"batiment": "<tour 12>"}, "batiment"),
    "house_number": ({"numero": "0612345678"}, "numero"),
    "door": ({"porte": "Diallo 3"}, "porte"),
    "civility": ({"batiment": "Famille Diallo"}, "batiment"),
    "voisin": ({"voisin": "Fatima2"}, "voisin"),
    "personal": ({"sujets": "rappeler au 06 12 34 56 78"}, "sujets"),
    "topic": ({"sujets": "eau|diallo fatima"}, "sujets"),
    "language": ({"langue": "Mme Diallo arabe"}, "langue"),
    "text": ({"commune": "Grigny\x07"}, "commune"),
}


@pytest.mark.parametrize("code", sorted(set(ROW_MESSAGES) - {"field_count", "site_scope"}))
def test_every_row_rejection_is_triggered(code: str) -> None:
    overrides, column = ROW_CASES[code]
    frame = pd.DataFrame([_row(), _row(**overrides)])
    frame.insert(0, "ligne", [2, 3])
    checked = validate_rows(frame, today=TODAY)
    assert checked.valid["ligne"].tolist() == [2]
    problem = checked.problems[checked.problems["code"] == code]
    assert problem[["ligne", "colonne"]].values.tolist() == [[3, column]]
    assert problem["motif"].iat[0] == errors.row_message(code, **_fields(code))


def _fields(code: str) -> dict[str, object]:
    return {"too_long": {"max_length": 80}, "topic": {}}.get(code, {})


def test_field_count_rejection_is_triggered() -> None:
    content = (HEADER + GOOD + "Eau 2025;91286;2025-03-18;ouvert;48.6511;2.3766;en trop\n").encode()
    table = reader.read_bytes(content, name="visites.csv")
    checked = validate_rows(table.frame, today=TODAY, field_count_errors=table.field_count_errors)
    problem = checked.problems[checked.problems["code"] == "field_count"]
    assert problem["ligne"].tolist() == [3]
    assert problem["motif"].iat[0] == "nombre de champs incorrect : 7 au lieu de 6"


def test_site_scope_rejection_is_triggered() -> None:
    frame = pd.DataFrame([_row(), _row(site="59350")])
    frame.insert(0, "ligne", [2, 3])
    checked = validate_rows(frame, today=TODAY, allowed_sites={"91286"})
    assert checked.valid["ligne"].tolist() == [2]
    assert checked.problems[["ligne", "colonne", "code"]].values.tolist() == [[3, "site", "site_scope"]]
    assert checked.problems["motif"].iat[0].startswith("site hors de votre périmètre")


def test_store_unreachable_message() -> None:
    from geo.coverage.errors import StoreUnavailableError
    from geo.coverage.store import open_store

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreUnavailableError, match=r"Base de données inaccessible \(postgresql\+psycopg://u:\*\*\*"):
        open_store(f"postgresql+psycopg://u:secret@127.0.0.1:{port}/nowhere?connect_timeout=2")
    with pytest.raises(StoreUnavailableError, match="non prise en charge"):
        open_store("mysql://u@127.0.0.1/db")


def test_geocoder_messages(address_server) -> None:  # noqa: ANN001
    from geo.coverage.geocode import Geocoder, GeocoderError, GeocoderUnavailableError

    frame = pd.DataFrame({"street_number": ["1"], "street": ["rue X"], "postcode": ["91350"], "city": ["Grigny"]})
    address_server.mode = "bad_request"
    with pytest.raises(GeocoderError, match=r"a répondu 400"):
        Geocoder(url=address_server.url, retries=0).geocode(frame)
    address_server.mode = "error"
    geocoder = Geocoder(url=address_server.url, retries=1, backoff=0.01)
    with pytest.raises(GeocoderUnavailableError, match="Service de géocodage injoignable"):
        geocoder._ask(["k"], frame)


def test_catalogue_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for catalogue in (FILE_MESSAGES, ROW_MESSAGES, OTHER_MESSAGES):
        for code, template in catalogue.items():
            assert f"`{code}`" in text, f"docs/coverage.md does not list the message {code}"
            first_words = template.split("{")[0].split(":")[0].strip()
            assert first_words in text, f"docs/coverage.md lacks the text of {code}: {first_words!r}"


def test_schema_columns_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for column in schema.COLUMNS:
        assert f"`{column.name}`" in text


def test_the_catalogue_names_its_real_test_file() -> None:
    named = re.findall(r"tests/coverage/[a-z_]+\.py", errors.__doc__ or "")
    assert named, "geo/coverage/errors.py should name the test that triggers every message"
    root = Path(__file__).resolve().parents[2]
    assert all((root / path).is_file() for path in named), named


@pytest.mark.parametrize("code", sorted(set(ROW_MESSAGES) - {"field_count", "site_scope"}))
def test_every_row_rejection_is_triggered_in_english(code: str) -> None:
    overrides, column = ROW_CASES[code]
    frame = pd.DataFrame([_row(), _row(**overrides)])
    frame.insert(0, "ligne", [2, 3])
    problem = validate_rows(frame, today=TODAY, lang="en").problems
    problem = problem[problem["code"] == code]
    assert problem[["ligne", "colonne"]].values.tolist() == [[3, column]]
    assert problem["motif"].iat[0] == errors.row_message(code, "en", **_fields(code))
    assert problem["motif"].iat[0] != errors.row_message(code, "fr", **_fields(code))


def test_an_english_import_reports_english_reasons(engine) -> None:  # noqa: ANN001
    from geo.coverage import importer

    content = (HEADER + GOOD + "Eau 2025;91286;2025-13-45;ouvert;48.6511;2.3766\n").encode()
    summary = importer.import_bytes(content, name="visites.csv", engine=engine, today=TODAY, lang="en")
    assert summary.imported == 1 and summary.rejected == 1
    assert summary.report["motif"].tolist() == ["invalid date: expected YYYY-MM-DD, DD/MM/YYYY or an Excel date"]


@pytest.mark.parametrize("code", sorted(FILE_MESSAGES))
def test_every_file_refusal_reads_in_english(code: str, tmp_path: Path) -> None:
    content, kwargs, _fragment = FILE_CASES[code]
    with pytest.raises(FileRefusedError) as info:
        if content is None:
            reader.read_file(tmp_path / "absent.csv")
        else:
            reader.read_bytes(content, name="visites.csv", **kwargs)
    english = info.value.text("en")
    assert english != str(info.value) and "{" not in english
    assert english == t(f"coverage.file.{code}", "en", **info.value.fields)
