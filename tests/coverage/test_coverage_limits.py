"""Bounded readers: both spreadsheet bombs of issue 15, each limit of :class:`ReadLimits`, CSV bounds.

The bombs are refused through the reader and through ``voisinmap coverage import`` in a fresh interpreter,
whose wall time and peak resident memory (``resource.getrusage``) are checked against the budgets of
``docs/coverage.md`` (2 s, 200 MB). ``bench/bench_readers.py`` prints the figures.
"""

from __future__ import annotations

import csv
import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from spreadsheet_bombs import (
    data_rows_xml,
    dimension_bomb,
    measure,
    row_xml,
    wide_row_bomb,
    write_workbook,
)

from geo.coverage import reader
from geo.coverage.errors import FileRefusedError
from geo.coverage.limits import DEFAULT_LIMITS, LIMIT_NAMES, LimitExceededError, ReadLimits
from geo.i18n import has_message, t

ROOT = Path(__file__).resolve().parents[2]
PATHS = [str(ROOT), str(Path(__file__).resolve().parent)]
BUDGET_SECONDS = 2.0
BUDGET_MB = 200.0
ENGINES = ("calamine", "openpyxl")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {"dimension": dimension_bomb(folder / "dimension.xlsx"), "wide_row": wide_row_bomb(folder / "wide.xlsx")}


def test_the_bombs_are_what_the_issue_describes(bombs: dict[str, Path]) -> None:
    assert bombs["dimension"].stat().st_size < 6_000
    assert 0.4e6 < bombs["wide_row"].stat().st_size < 1.0e6
    with zipfile.ZipFile(bombs["wide_row"]) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size > 450e6  # 30 M cells of 15 bytes
    with zipfile.ZipFile(bombs["dimension"]) as archive, archive.open("xl/worksheets/sheet1.xml") as part:
        head = part.read(400)
    assert b'<dimension ref="A1:XFD1048576"/>' in head


@pytest.mark.parametrize(("bomb", "limit"), [("dimension", "dimension"), ("wide_row", "cells_per_row")])
def test_bombs_are_refused_within_the_budgets(bombs: dict[str, Path], tmp_path: Path, bomb: str,
                                              limit: str) -> None:
    outcome = measure("from geo.coverage import reader", f"reader.read_file({str(bombs[bomb])!r})",
                      out=tmp_path / "outcome.json", paths=PATHS)
    assert outcome.get("error") == "LimitExceededError", outcome
    assert outcome["code"] == f"limit.{limit}"
    assert outcome["seconds"] < BUDGET_SECONDS, outcome
    assert outcome["peak_mb"] < BUDGET_MB, outcome


@pytest.mark.parametrize(("bomb", "limit"), [("dimension", "dimension"), ("wide_row", "cells_per_row")])
def test_bombs_are_refused_by_the_import_command(bombs: dict[str, Path], tmp_path: Path, bomb: str,
                                                 limit: str) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["coverage", "import", str(bombs[bomb]), "--db", url, "--no-geocode", "--json", "--data-dir", str(empty)]
    # the store exists (a deployment's state) and the command's module is imported before the clock starts;
    # the memory peak counts everything the command then loads: the bomb is refused before the store, the
    # map layers or pandas are opened
    from geo.coverage.store import open_store

    open_store(url).dispose()
    setup = """
from geo.cli import main
import geo.cli.coverage
"""
    body = f"""
import contextlib, io
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    try:
        main.main(args={args!r}, prog_name="voisinmap", standalone_mode=False)
    finally:
        outcome["stdout"] = printed.getvalue()
"""
    outcome = measure(setup, body, out=tmp_path / "outcome.json", paths=PATHS)
    assert outcome.get("exit") == 2, outcome
    assert f'"code": "limit.{limit}"' in outcome["stdout"]
    assert '"imported": 0' in outcome["stdout"] and '"status": "refused"' in outcome["stdout"]
    assert outcome["seconds"] < BUDGET_SECONDS, outcome
    assert outcome["peak_mb"] < BUDGET_MB, outcome


def test_bomb_messages_name_the_limit_in_french_and_english(bombs: dict[str, Path]) -> None:
    with pytest.raises(LimitExceededError, match=r"dimension déclarée de la feuille") as info:
        reader.read_file(bombs["dimension"])
    assert "A1:XFD1048576" in str(info.value) and "16\u202f384 colonnes" in str(info.value)
    assert "(declared sheet dimension)" in info.value.text("en") and "16,384 columns" in info.value.text("en")
    with pytest.raises(LimitExceededError, match=r"\(cellules par ligne\)") as info:
        reader.read_file(bombs["wide_row"])
    assert info.value.text("en").endswith("(cells per row).")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_workbooks_without_their_trick_are_read(tmp_path: Path, engine: str) -> None:
    plain = dimension_bomb(tmp_path / "plain.xlsx", declare=False, far_cell=False)
    table = reader.read_bytes(plain.read_bytes(), name="plain.xlsx", xlsx_engine=engine)
    assert len(table.frame) == 100 and table.frame["ligne"].tolist()[:2] == [2, 3]
    narrow = wide_row_bomb(tmp_path / "narrow.xlsx", cells=6)
    table = reader.read_bytes(narrow.read_bytes(), name="narrow.xlsx", xlsx_engine=engine)
    assert table.frame["ligne"].tolist() == [2] and table.frame["campagne"].tolist() == ["1"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_sheet_stored_under_another_name_is_scanned_too(tmp_path: Path, engine: str) -> None:
    hidden = "xl/data/visits.bin"
    plain = write_workbook(tmp_path / "plain.xlsx", data_rows_xml(5), sheet_part=hidden)
    assert len(reader.read_bytes(plain.read_bytes(), name="v.xlsx", xlsx_engine=engine).frame) == 5
    wide = b'<row r="2">' + b"<c><v>1</v></c>" * 5_000 + b"</row>"
    bomb = write_workbook(tmp_path / "bomb.xlsx", [wide], sheet_part=hidden)
    with pytest.raises(LimitExceededError, match="cellules par ligne"):
        reader.read_bytes(bomb.read_bytes(), name="v.xlsx", xlsx_engine=engine)


def test_shared_strings_are_counted(tmp_path: Path) -> None:
    data = bytearray(_valid_workbook(tmp_path))
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"<si><t>a</t></si>" * 200
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts["xl/sharedStrings.xml"] = strings + b"</sst>"
    with pytest.raises(LimitExceededError, match="plus de 150 cellules"):
        reader.read_bytes(_archive(parts), name="v.xlsx", limits=ReadLimits(max_cells=150))


def test_a_far_cell_without_a_declared_dimension_is_refused(tmp_path: Path) -> None:
    path = dimension_bomb(tmp_path / "far.xlsx", declare=False)
    with pytest.raises(LimitExceededError, match="colonne 200") as info:
        reader.read_file(path)
    assert info.value.limit == "columns"


def _archive(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _valid_workbook(tmp_path: Path, rows: int = 20) -> bytes:
    return write_workbook(tmp_path / "valid.xlsx", data_rows_xml(rows)).read_bytes()


def test_too_many_archive_entries(tmp_path: Path) -> None:
    data = _archive({**{f"xl/media/image{i}.png": b"x" for i in range(DEFAULT_LIMITS.max_zip_entries + 1)}})
    with pytest.raises(LimitExceededError, match="nombre d'éléments de l'archive") as info:
        reader.read_bytes(data, name="v.xlsx")
    assert info.value.params["count"] == DEFAULT_LIMITS.max_zip_entries + 1


def test_declared_and_actual_inflated_sizes(tmp_path: Path) -> None:
    data = _valid_workbook(tmp_path)
    sheet_size = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml").file_size
    with pytest.raises(LimitExceededError, match="taille décompressée d'un élément"):
        reader.read_bytes(data, name="v.xlsx", limits=ReadLimits(max_entry_bytes=sheet_size - 1))
    with pytest.raises(LimitExceededError, match="taille décompressée totale"):
        reader.read_bytes(data, name="v.xlsx", limits=ReadLimits(max_inflated_bytes=sheet_size))
    assert len(reader.read_bytes(data, name="v.xlsx", limits=ReadLimits(max_entry_bytes=sheet_size)).frame) == 20


def test_a_header_that_understates_the_inflated_size_is_not_believed(tmp_path: Path) -> None:
    data = bytearray(_valid_workbook(tmp_path, rows=200))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    smaller = struct.pack("<I", 100)
    local = info.header_offset
    data[local + 22:local + 26] = smaller  # local header: uncompressed size
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(info.filename)] != info.filename.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = smaller  # central directory: uncompressed size
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml").file_size == 100
    with pytest.raises(FileRefusedError, match="Classeur XLSX illisible") as refused:
        reader.read_bytes(bytes(data), name="v.xlsx")
    assert refused.value.code == "xlsx_unreadable"


def test_compression_ratio(tmp_path: Path) -> None:
    rows = (row_xml(i, ["Eau 2025", "91286", "2025-03-01", "ouvert", 48.6511, 2.3766]) for i in range(2, 20_000))
    data = write_workbook(tmp_path / "r.xlsx", rows, compresslevel=9).read_bytes()
    strict = ReadLimits(ratio_floor_bytes=1024 * 1024, max_ratio=5)
    with pytest.raises(LimitExceededError, match="taux de compression"):
        reader.read_bytes(data, name="v.xlsx", limits=strict)
    assert len(reader.read_bytes(data, name="v.xlsx").frame) == 19_998


def test_rows_cells_and_cell_length(tmp_path: Path) -> None:
    data = _valid_workbook(tmp_path, rows=30)
    with pytest.raises(LimitExceededError, match="nombre de lignes") as info:
        reader.read_bytes(data, name="v.xlsx", max_rows=10)
    assert info.value.params["line"] == 12
    with pytest.raises(LimitExceededError, match="nombre total de cellules"):
        reader.read_bytes(data, name="v.xlsx", limits=ReadLimits(max_cells=100))
    long_cell = write_workbook(tmp_path / "long.xlsx", [row_xml(2, ["x" * 10_001, "91286", "2025-03-01", "ouvert",
                                                                     48.65, 2.37])]).read_bytes()
    for engine in ENGINES:
        with pytest.raises(LimitExceededError, match="longueur d'une cellule"):
            reader.read_bytes(long_cell, name="v.xlsx", xlsx_engine=engine)


def test_namespace_prefixed_sheets_are_scanned_too() -> None:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    sheet = (f'<x:worksheet xmlns:x="{ns}"><x:sheetData><x:row r="1">' + '<x:c t="n"><x:v>1</x:v></x:c>' * 500
             + "</x:row></x:sheetData></x:worksheet>").encode()
    data = _archive({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": sheet})
    with pytest.raises(LimitExceededError, match="cellules par ligne"):
        reader.read_bytes(data, name="v.xlsx")


HEADER = "campagne;site;date;resultat;latitude;longitude\n"
GOOD = "Eau 2025;91286;2025-03-18;ouvert;48.6511;2.3766\n"


def test_csv_line_length_fields_and_blank_lines() -> None:
    with pytest.raises(LimitExceededError, match=r"ligne 3 : plus de 65\u202f536 caractères \(longueur de ligne\)"):
        reader.read_bytes((HEADER + GOOD + "x" * 70_000 + "\n").encode(), name="v.csv")
    unclosed = HEADER + 'Eau;91286;"2025-03-18;ouvert;48.6;2.3\n' + GOOD * 5_000
    with pytest.raises(LimitExceededError, match="ligne 2 : plus de") as info:
        reader.read_bytes(unclosed.encode(), name="v.csv")
    assert info.value.limit == "line_length"
    with pytest.raises(LimitExceededError, match=r"ligne 2 : 250, la limite est de 200 \(champs par ligne\)"):
        reader.read_bytes((HEADER + ";" * 249 + "\n").encode(), name="v.csv")
    with pytest.raises(LimitExceededError, match="nombre de lignes"):
        reader.read_bytes((HEADER + GOOD + "\n" * 100).encode(), name="v.csv", max_rows=10)


def test_csv_reader_leaves_the_process_wide_field_limit_alone() -> None:
    before = csv.field_size_limit()
    try:
        csv.field_size_limit(123_456)
        table = reader.read_bytes((HEADER + GOOD * 3).encode(), name="v.csv")
        assert len(table.frame) == 3
        assert csv.field_size_limit() == 123_456
    finally:
        csv.field_size_limit(before)


def test_every_limit_has_french_and_english_text() -> None:
    for name in LIMIT_NAMES:
        assert has_message(f"coverage.limit.{name}", "fr") and has_message(f"coverage.limit.{name}", "en"), name
    with pytest.raises(ValueError, match="limit: expected one of"):
        LimitExceededError("speed")
    with pytest.raises(ValueError, match="max_rows: expected a positive number, got 0"):
        ReadLimits(max_rows=0)


def test_every_limit_is_documented() -> None:
    text = (ROOT / "docs" / "coverage.md").read_text(encoding="utf-8")
    for name in LIMIT_NAMES:
        assert f"`limit.{name}`" in text, name
        assert t(f"coverage.limit.{name}", "fr").split("{")[0] in text, name


def test_file_names_are_not_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = "visites famille Diallo 0612345678.csv"
    path = tmp_path / name
    path.write_text(HEADER + GOOD, encoding="utf-8")
    with caplog.at_level("DEBUG"):
        reader.read_file(path)
    assert caplog.records and not any("Diallo" in r.getMessage() for r in caplog.records)
    assert os.path.basename(path) == name


def test_cells_per_row_are_counted_exactly_at_the_bound(tmp_path: Path) -> None:
    # cells without references, so that only the count of cells on the row can refuse it
    for width, refused in ((200, False), (201, True)):
        wide = b'<row r="2">' + b"<c><v>1</v></c>" * width + b"</row>"
        data = write_workbook(tmp_path / f"w{width}.xlsx", [wide, *data_rows_xml(50, start=3)]).read_bytes()
        if refused:
            with pytest.raises(LimitExceededError, match="la ligne 2 en a plus de 200"):
                reader.read_bytes(data, name="v.xlsx")
        else:
            assert len(reader.read_bytes(data, name="v.xlsx").frame) == 51


def test_a_far_cell_reference_after_any_whitespace_is_caught() -> None:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    for space in (" ", "\t", "\n"):
        sheet = (f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c{space}r="XFD1"><v>1</v></c></row>'
                 "</sheetData></worksheet>").encode()
        with pytest.raises(LimitExceededError, match="au-delà de la colonne 200"):
            reader.read_bytes(_archive({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": sheet}),
                              name="v.xlsx")


def test_a_damaged_stream_in_any_part_is_an_unreadable_workbook(tmp_path: Path) -> None:
    data = bytearray(_valid_workbook(tmp_path))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/workbook.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start:start + 4] = b"\xff\xff\xff\xff"  # a deflate block of the reserved type: zlib refuses it
    with pytest.raises(FileRefusedError, match="Classeur XLSX illisible") as info_error:
        reader.read_bytes(bytes(data), name="v.xlsx")
    assert info_error.value.code == "xlsx_unreadable"
