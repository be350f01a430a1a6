"""Read a door-visit file (CSV or XLSX) into a table of strings, or refuse it with one clear message.

Sniffing, in order: size (empty, too large), format by magic bytes (XLSX is a ZIP; the old binary ``.xls``
is refused), binary content, encoding (UTF-16 with BOM, UTF-8 with or without BOM, Windows-1252, then
Latin-1), separator (``;``, ``,`` or tab: the one named by Excel's optional ``sep=;`` first line, else the
one under which the first line names the most schema columns), header (recognisable, no personal-data column, required and location columns present).

Every cell is returned as a stripped string; typing is :mod:`geo.coverage.validate`'s job. XLSX cells are
turned into the same text a CSV export would hold (dates as ``AAAA-MM-JJ[ HH:MM]``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geo.coverage import schema
from geo.coverage.errors import FileRefusedError

logger = logging.getLogger(__name__)

#: Largest accepted file, in bytes.
MAX_BYTES = 50 * 1024 * 1024
#: Largest accepted number of data rows.
MAX_ROWS = 1_000_000
#: Largest accepted cell, in characters (the csv module's field limit).
MAX_FIELD = 10_000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_SEPARATORS = (";", ",", "\t")
#: Excel's optional first line naming the separator (``sep=;``); Excel hides it, so lines count after it.
_SEP_LINE = re.compile(r"[ \t]*sep=([;,\t|])[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)


@dataclass
class RawTable:
    """A file read as strings.

    Attributes
    ----------
    name : str
        File name (no folder), for messages.
    format : str
        ``csv`` or ``xlsx``.
    encoding : str or None
        Encoding of a CSV file.
    delimiter : str or None
        Separator of a CSV file.
    header : schema.HeaderMap
        How the header maps to the schema.
    frame : pandas.DataFrame
        One row per data row: column ``ligne`` (line number in the file, header = 1) and one string column
        per recognised schema column.
    field_count_errors : list of (int, int, int)
        ``(line, fields, expected)`` for rows that hold more non-empty fields than the header.
    raw_header : list of str
        The header cells as written.
    all_rows, all_lines : list
        Every data row's cells as written and its line number (the report of rejected rows quotes them).
    """

    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    header: schema.HeaderMap
    frame: pd.DataFrame
    field_count_errors: list[tuple[int, int, int]] = field(default_factory=list)
    raw_header: list[str] = field(default_factory=list)
    all_rows: list[list[str]] = field(default_factory=list, repr=False)
    all_lines: list[int] = field(default_factory=list, repr=False)


def read_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> RawTable:
    """Read a door-visit file from disk.

    Parameters
    ----------
    path : path-like
        CSV or XLSX file.
    max_bytes, max_rows : int
        Size limits; larger files are refused.

    Returns
    -------
    RawTable

    Raises
    ------
    FileRefusedError
        With the one message that says why the file cannot be used.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FileRefusedError("missing", name=str(path))
    size = path.stat().st_size
    _check_size(size, name, max_bytes)
    return read_bytes(path.read_bytes(), name=name, max_bytes=max_bytes, max_rows=max_rows)


def read_bytes(data: bytes, *, name: str, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> RawTable:
    """Read a door-visit file held in memory (an upload).

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its name, for messages.
    max_bytes, max_rows : int
        Size limits.

    Returns
    -------
    RawTable

    Raises
    ------
    FileRefusedError
        When the file is empty, too large, binary, an old ``.xls``, unreadable, or has no usable header.
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    _check_size(len(data), name, max_bytes)
    if data.startswith(_OLE_MAGIC):
        raise FileRefusedError("xls", name=name)
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(bytes(data), name=name, max_rows=max_rows)
    else:
        table = _read_csv(bytes(data), name=name, max_rows=max_rows)
    logger.info("read a %s file: %d data rows, %d columns recognised, %d ignored", table.format,
                len(table.frame), len(table.header.columns), len(table.header.ignored))
    return table


def _check_size(size: int, name: str, max_bytes: int) -> None:
    if size == 0:
        raise FileRefusedError("empty", name=name)
    if size > max_bytes:
        raise FileRefusedError("too_large", size_mb=f"{size / 1048576:.1f}", max_mb=f"{max_bytes / 1048576:.0f}")


def _looks_binary(data: bytes) -> bool:
    head = data[:65536]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(2, len(head) // 100)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileRefusedError("binary", name=name) from exc
    if _looks_binary(data):
        raise FileRefusedError("binary", name=name)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, ("utf-8" if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf")
                      else encoding)
    return data.decode("latin-1"), "latin-1"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip().strip(";,\t"):
            return line
    return ""


def _choose_separator(first: str, *, declared: str | None = None) -> tuple[str, list[str], schema.HeaderMap]:
    best: tuple[int, int, str, list[str], schema.HeaderMap] | None = None
    for rank, sep in enumerate((declared,) if declared else _SEPARATORS):
        try:
            cells = next(csv.reader([first], delimiter=sep))
        except (csv.Error, StopIteration):
            continue
        header = schema.resolve_header(cells)
        score = (len(header.columns) + len(header.personal), -rank)
        if best is None or score > best[:2]:
            best = (score[0], score[1], sep, cells, header)
    assert best is not None
    return best[2], best[3], best[4]


def _check_header(header: schema.HeaderMap, name: str) -> None:
    if len(header.columns) + len(header.personal) < 2:
        raise FileRefusedError("no_header", name=name)
    if header.personal:
        raise FileRefusedError("personal_columns", name=name, columns=", ".join(header.personal))
    if header.duplicated:
        raise FileRefusedError("duplicate_columns", name=name, columns=", ".join(sorted(set(header.duplicated))))
    if header.missing_required:
        raise FileRefusedError("missing_columns", name=name, columns=", ".join(header.missing_required))
    if not header.has_location:
        raise FileRefusedError("no_location", name=name)


def _read_csv(data: bytes, *, name: str, max_rows: int) -> RawTable:
    text, encoding = _decode(data, name)
    declared = _SEP_LINE.match(text)
    if declared:  # Excel's "sep=;" line: it names the separator and is not counted as a line
        text = text[declared.end():]
    first = _first_line(text)
    if not first:
        raise FileRefusedError("empty", name=name)
    sep, header_cells, header = _choose_separator(first, declared=declared.group(1) if declared else None)
    _check_header(header, name)
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows: list[list[str]] = []
    lines: list[int] = []
    seen_header = False
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if not seen_header:
                seen_header = True
                continue
            rows.append(record)
            lines.append(start)
            if len(rows) > max_rows:
                raise FileRefusedError("too_many_rows", name=name, max_rows=f"{max_rows:,}".replace(",", "\u202f"))
    except csv.Error as exc:
        detail = "champ trop long ou guillemet non fermé" if "field larger" in str(exc) else "format CSV invalide"
        raise FileRefusedError("malformed", name=name, line=previous_end + 1, detail=detail) from exc
    return _table(name, "csv", encoding, sep, header_cells, header, rows, lines)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.timedelta):
        minutes = int(round(value.total_seconds() / 60))
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, *, name: str, max_rows: int) -> RawTable:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError, AttributeError,
            EOFError) as exc:
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
    except Exception as exc:  # openpyxl raises its own exceptions on malformed parts
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
    try:
        best = None
        for sheet in book.worksheets:
            try:
                first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
            except Exception as exc:
                raise FileRefusedError("xlsx_unreadable", name=name) from exc
            cells = [_cell_text(v) for v in first]
            header = schema.resolve_header(cells)
            score = len(header.columns) + len(header.personal)
            if best is None or score > best[0]:
                best = (score, sheet, cells, header)
        if best is None:
            raise FileRefusedError("empty", name=name)
        _, sheet, header_cells, header = best
        _check_header(header, name)
        rows: list[list[str]] = []
        lines: list[int] = []
        try:
            for line, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
                record = [_cell_text(v).strip() for v in values]
                if not any(record):
                    continue
                rows.append(record)
                lines.append(line)
                if len(rows) > max_rows:
                    raise FileRefusedError("too_many_rows", name=name,
                                      max_rows=f"{max_rows:,}".replace(",", "\u202f"))
        except FileRefusedError:
            raise
        except Exception as exc:
            raise FileRefusedError("xlsx_unreadable", name=name) from exc
    finally:
        book.close()
    # trailing empty header cells of a sheet are not columns
    while header_cells and not header_cells[-1].strip():
        header_cells.pop()
    return _table(name, "xlsx", None, None, header_cells, header, rows, lines)


def _table(name: str, fmt: str, encoding: str | None, sep: str | None, header_cells: list[str],
           header: schema.HeaderMap, rows: list[list[str]], lines: list[int]) -> RawTable:
    if not rows:
        raise FileRefusedError("no_rows", name=name)
    width = len(header_cells)
    field_errors: list[tuple[int, int, int]] = []
    for i, record in enumerate(rows):
        n = len(record)
        if n == width:
            continue
        if n < width:
            rows[i] = record + [""] * (width - n)
        else:
            extra = record[width:]
            if any(cell.strip() for cell in extra):
                field_errors.append((lines[i], n, width))
            rows[i] = record[:width]
    data = {"ligne": lines}
    for col, pos in zip(header.columns, header.positions, strict=True):
        data[col] = [record[pos].strip() for record in rows]
    frame = pd.DataFrame(data)
    return RawTable(name=name, format=fmt, encoding=encoding, delimiter=sep, header=header, frame=frame,
                    field_count_errors=field_errors, raw_header=[c.strip() for c in header_cells],
                    all_rows=rows, all_lines=lines)
