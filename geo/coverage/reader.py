"""Read a door-visit file (CSV or XLSX) into a table of strings, or refuse it with one clear message.

Sniffing, in order: size (empty, too large), format by magic bytes (XLSX is a ZIP; the old binary ``.xls``
is refused), binary content, encoding (UTF-16 with BOM, UTF-8 with or without BOM, Windows-1252, then
Latin-1), separator (``;``, ``,`` or tab: the one named by Excel's optional ``sep=;`` first line, else the
one under which the first line names the most schema columns), header (recognisable, no personal-data column, required and location columns present).

Every cell is returned as a stripped string; typing is :mod:`geo.coverage.validate`'s job. XLSX cells are
turned into the same text a CSV export would hold (dates as ``AAAA-MM-JJ[ HH:MM]``).

Every read is bounded by :class:`~geo.coverage.limits.ReadLimits` and stops at the first limit crossed
(:class:`~geo.coverage.limits.LimitExceededError`, whose message names the limit):

* CSV: bytes, characters per record (checked line by line as the parser consumes them, so an unclosed quote
  cannot swallow the file), fields per line, characters per field, rows. The ``csv`` module's process-wide
  field limit is left as it is.
* XLSX: :func:`geo.coverage.xlsx_scan.check_xlsx` checks the archive and scans each sheet's XML in a
  streaming pass first; the sheet is then read with python-calamine (fast, Rust) when installed, else with
  openpyxl in read-only mode, within the same row and column bounds.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geo.coverage import schema
from geo.coverage.errors import FileRefusedError
from geo.coverage.limits import DEFAULT_LIMITS, LimitExceededError, ReadLimits
from geo.coverage.xlsx_scan import check_xlsx

logger = logging.getLogger(__name__)

#: Largest accepted file, in bytes.
MAX_BYTES = DEFAULT_LIMITS.max_bytes
#: Largest accepted number of data rows.
MAX_ROWS = DEFAULT_LIMITS.max_rows
#: Largest accepted cell, in characters.
MAX_FIELD = DEFAULT_LIMITS.max_field_chars

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_SEPARATORS = (";", ",", "\t")
#: Excel's optional first line naming the separator (``sep=;``); Excel hides it, so lines count after it.
_CONTENT = re.compile(r"[^\s;,]")
_LINE_END = re.compile(r"\r\n|\r|\n")
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


def read_file(path: str | os.PathLike[str], *, max_bytes: int | None = None, max_rows: int | None = None,
              limits: ReadLimits | None = None) -> RawTable:
    """Read a door-visit file from disk.

    Parameters
    ----------
    path : path-like
        CSV or XLSX file.
    max_bytes, max_rows : int, optional
        Size limits overriding those of ``limits``.
    limits : ReadLimits, optional
        Every bound of the read (default :data:`geo.coverage.limits.DEFAULT_LIMITS`).

    Returns
    -------
    RawTable

    Raises
    ------
    FileRefusedError
        With the one message that says why the file cannot be used (a :class:`LimitExceededError` when it
        crosses a limit).
    """
    bounds = (limits or DEFAULT_LIMITS).replace(max_bytes=max_bytes, max_rows=max_rows)
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise FileRefusedError("missing", name=str(path))
    _check_size(path.stat().st_size, name, bounds.max_bytes)
    return read_bytes(path.read_bytes(), name=name, limits=bounds)


def read_bytes(data: bytes, *, name: str, max_bytes: int | None = None, max_rows: int | None = None,
               limits: ReadLimits | None = None, xlsx_engine: str | None = None) -> RawTable:
    """Read a door-visit file held in memory (an upload).

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        Its name, for messages (never logged).
    max_bytes, max_rows : int, optional
        Size limits overriding those of ``limits``.
    limits : ReadLimits, optional
        Every bound of the read (default :data:`geo.coverage.limits.DEFAULT_LIMITS`).
    xlsx_engine : {"calamine", "openpyxl"}, optional
        Library that reads a spreadsheet (default: :func:`xlsx_engine`); the same limits apply to both.

    Returns
    -------
    RawTable

    Raises
    ------
    FileRefusedError
        When the file is empty, too large, binary, an old ``.xls``, unreadable, has no usable header, or
        crosses a limit (:class:`LimitExceededError`).
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    bounds = (limits or DEFAULT_LIMITS).replace(max_bytes=max_bytes, max_rows=max_rows)
    _check_size(len(data), name, bounds.max_bytes)
    if data.startswith(_OLE_MAGIC):
        raise FileRefusedError("xls", name=name)
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(bytes(data), name=name, limits=bounds, engine=xlsx_engine)
    else:
        table = _read_csv(bytes(data), name=name, limits=bounds)
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
    """The first line holding something other than blanks and separators (found without splitting the text)."""
    found = _CONTENT.search(text)
    if found is None:
        return ""
    start = max(text.rfind("\n", 0, found.start()), text.rfind("\r", 0, found.start())) + 1
    end = _LINE_END.search(text, found.start())
    return text[start:end.start() if end else len(text)]


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


class _BoundedLines:
    """The lines of a text, handed to the csv parser one by one within the read limits.

    Counts the characters of the record being parsed (:meth:`start_record` resets the count), so that a
    record longer than the limit (an unclosed quote included) stops the read at once, and the physical lines,
    so that a file of blank lines stops too.
    """

    def __init__(self, text: str, *, name: str, limits: ReadLimits) -> None:
        self._lines = io.StringIO(text, newline="")
        self.name = name
        self.limits = limits
        self.line = 0
        self.record_start = 1
        self.record_chars = 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        room = self.limits.max_line_chars - self.record_chars
        line = self._lines.readline(room + 1)
        if not line:
            raise StopIteration
        self.line += 1
        self.record_chars += len(line)
        if self.record_chars > self.limits.max_line_chars:
            raise LimitExceededError("line_length", name=self.name, line=self.record_start,
                                     limit=self.limits.max_line_chars)
        if self.line > 2 * self.limits.max_rows + 2:
            raise LimitExceededError("rows", name=self.name, line=self.line, limit=self.limits.max_rows)
        return line

    def start_record(self) -> None:
        """The parser returned a record: the next one starts on the next line."""
        self.record_start = self.line + 1
        self.record_chars = 0


def _check_record(record: list[str], *, name: str, line: int, limits: ReadLimits) -> None:
    if len(record) > limits.max_columns:
        raise LimitExceededError("fields_per_line", name=name, line=line, count=len(record), limit=limits.max_columns)
    if max(map(len, record), default=0) > limits.max_field_chars:
        raise FileRefusedError("malformed", name=name, line=line, detail="champ trop long ou guillemet non fermé")


def _read_csv(data: bytes, *, name: str, limits: ReadLimits) -> RawTable:
    text, encoding = _decode(data, name)
    declared = _SEP_LINE.match(text)
    if declared:  # Excel's "sep=;" line: it names the separator and is not counted as a line
        text = text[declared.end():]
    first = _first_line(text)
    if not first:
        raise FileRefusedError("empty", name=name)
    if len(first) > limits.max_line_chars:
        raise LimitExceededError("line_length", name=name, line=1, limit=limits.max_line_chars)
    sep, header_cells, header = _choose_separator(first, declared=declared.group(1) if declared else None)
    _check_header(header, name)
    lines = _BoundedLines(text, name=name, limits=limits)
    reader = csv.reader(lines, delimiter=sep)
    rows: list[list[str]] = []
    numbers: list[int] = []
    seen_header = False
    try:
        for record in reader:
            start = lines.record_start
            lines.start_record()
            _check_record(record, name=name, line=start, limits=limits)
            if not any(cell.strip() for cell in record):
                continue
            if not seen_header:
                seen_header = True
                continue
            rows.append(record)
            numbers.append(start)
            if len(rows) > limits.max_rows:
                raise FileRefusedError("too_many_rows", name=name, max_rows=f"{limits.max_rows:,}".replace(",", "\u202f"))
    except csv.Error as exc:
        detail = "champ trop long ou guillemet non fermé" if "field larger" in str(exc) else "format CSV invalide"
        raise FileRefusedError("malformed", name=name, line=lines.record_start, detail=detail) from exc
    return _table(name, "csv", encoding, sep, header_cells, header, rows, numbers)


def _cell_text(value: object) -> str:
    kind = type(value)
    if kind is str:  # most cells: text as written
        return value
    if kind is float:
        return str(int(value)) if value.is_integer() else str(value)
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


def xlsx_engine() -> str:
    """The library that reads spreadsheets: ``calamine`` when python-calamine is installed, else ``openpyxl``."""
    return "calamine" if importlib.util.find_spec("python_calamine") is not None else "openpyxl"


Rows = Iterator[tuple[int, list[object]]]


def _calamine_sheets(data: bytes, limits: ReadLimits) -> Iterator[Rows]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    for index, meta in enumerate(book.sheets_metadata):
        if meta.typ == SheetTypeEnum.WorkSheet:
            yield _calamine_rows(book.get_sheet_by_index(index), limits)


def _calamine_rows(sheet: Any, limits: ReadLimits) -> Rows:
    if sheet.start is None:  # an empty sheet
        return
    first_row, first_col = sheet.start
    width = max(0, limits.max_columns - first_col)
    for offset, values in enumerate(sheet.iter_rows()):
        yield first_row + offset + 1, [""] * first_col + values[:width]


def _openpyxl_sheets(data: bytes, limits: ReadLimits) -> Iterator[Rows]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for sheet in book.worksheets:
        max_col = min(limits.max_columns, sheet.max_column or limits.max_columns)
        yield enumerate(sheet.iter_rows(min_row=1, max_row=limits.max_rows + 1, max_col=max_col,
                                        values_only=True), start=1)


def _xlsx_records(rows: Rows, *, name: str, limits: ReadLimits) -> tuple[list[list[str]], list[int]]:
    records: list[list[str]] = []
    numbers: list[int] = []
    for line, values in rows:
        if line > limits.max_rows + 1:
            raise LimitExceededError("rows", name=name, line=line, limit=limits.max_rows)
        record = [_cell_text(v).strip() for v in values]
        if not any(record):
            continue
        if max(map(len, record), default=0) > limits.max_field_chars:
            raise LimitExceededError("cell_length", name=name, limit=limits.max_field_chars)
        records.append(record)
        numbers.append(line)
        if len(records) > limits.max_rows:
            raise FileRefusedError("too_many_rows", name=name, max_rows=f"{limits.max_rows:,}".replace(",", "\u202f"))
    return records, numbers


def _best_sheet(sheets: Iterator[Rows]) -> tuple[Rows, list[str], schema.HeaderMap] | None:
    """The sheet whose first row names the most schema columns, its remaining rows and its header."""
    best: tuple[int, Rows, list[str], schema.HeaderMap] | None = None
    for rows in sheets:
        first = next(rows, None)
        cells = [_cell_text(v) for v in first[1]] if first is not None and first[0] == 1 else []
        header = schema.resolve_header(cells)
        score = len(header.columns) + len(header.personal)
        if best is None or score > best[0]:
            best = (score, rows, cells, header)
    return None if best is None else best[1:]


def _read_xlsx(data: bytes, *, name: str, limits: ReadLimits, engine: str | None = None) -> RawTable:
    check_xlsx(data, name=name, limits=limits)
    engine = engine or xlsx_engine()
    if engine not in ("calamine", "openpyxl"):
        raise ValueError(f"engine: expected 'calamine' or 'openpyxl', got {engine!r}")
    sheets = _calamine_sheets if engine == "calamine" else _openpyxl_sheets
    try:
        best = _best_sheet(sheets(data, limits))
        if best is None:
            raise FileRefusedError("empty", name=name)
        rows_left, header_cells, header = best
        _check_header(header, name)
        rows, lines = _xlsx_records(rows_left, name=name, limits=limits)
    except FileRefusedError:
        raise
    except Exception as exc:  # both libraries raise their own exceptions on malformed parts
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
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
