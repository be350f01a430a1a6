"""Read a door-visit file (CSV or XLSX) as tables of strings, chunk by chunk, or refuse it with one clear message.

:func:`open_file` (and :func:`open_bytes` for an upload held in memory) sniffs the file and returns a
:class:`StreamedFile`: its header, hash and size at once, its rows as an iterator of :class:`Chunk` frames of
at most ``chunk_rows`` rows, read lazily, so that memory does not grow with the file. A limit crossed halfway
raises while the chunks are read (the importer then stores nothing). :func:`read_file` and :func:`read_bytes`
collect the chunks into one :class:`RawTable` for callers that want the whole table.

Sniffing, in order: size (empty; too large only when the caller sets ``max_bytes``), format by magic bytes
(XLSX is a ZIP; the old binary ``.xls`` is refused), binary content, encoding (UTF-16 with BOM, UTF-8 with
or without BOM, Windows-1252, then Latin-1), separator (``;``, ``,`` or tab: the one named by Excel's
optional ``sep=;`` first line, else the one under which the first line names the most schema columns),
header (recognisable, no personal-data column, required and location columns present).

Every cell is returned as a stripped string; typing is :mod:`geo.coverage.validate`'s job. XLSX cells are
turned into the same text a CSV export would hold (dates as ``AAAA-MM-JJ[ HH:MM]``).

Every read is bounded by :class:`~geo.coverage.limits.ReadLimits` and stops at the first limit crossed
(:class:`~geo.coverage.limits.LimitExceededError`, whose message names the limit):

* CSV: one pass over the bytes first (hash, line count, encoding: a whole file is UTF-8 or it is not), then
  the parse, reading one record at a time: characters per record (checked line by line as the parser consumes them, so an unclosed quote
  cannot swallow the file), fields per line, characters per field, rows. The ``csv`` module's process-wide
  field limit is left as it is.
* XLSX: :func:`geo.coverage.xlsx_scan.check_xlsx` checks the archive and scans each sheet's XML in a
  streaming pass first; the sheet is then read with python-calamine (fast, Rust) when installed, else with
  openpyxl in read-only mode, within the same row and column bounds. The library holds the sheet's cells
  (bounded by the scan's cell and inflated-size limits); the rows are handed on in chunks like a CSV's.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import importlib.util
import io
import itertools
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo.coverage import schema
from geo.coverage.errors import FileRefusedError
from geo.coverage.limits import DEFAULT_LIMITS, LimitExceededError, ReadLimits
from geo.coverage.xlsx_scan import check_xlsx

logger = logging.getLogger(__name__)

#: Largest accepted file, in bytes (None: no cap; files are read in chunks).
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
#: Rows per chunk handed to the importer by default.
CHUNK_ROWS = 50_000
#: Bytes read at a time in the first pass over a file.
_BLOCK = 1 << 20


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
    """

    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    header: schema.HeaderMap
    frame: pd.DataFrame
    field_count_errors: list[tuple[int, int, int]] = field(default_factory=list)
    raw_header: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    """Consecutive data rows of a file, as strings.

    Attributes
    ----------
    frame : pandas.DataFrame
        Column ``ligne`` (line number in the file) and one string column per recognised schema column.
    field_count_errors : list of (int, int, int)
        ``(line, fields, expected)`` for the rows of this chunk that hold more non-empty fields than the header.
    """

    frame: pd.DataFrame
    field_count_errors: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class StreamedFile:
    """A door-visit file sniffed, its rows still to be read (:attr:`chunks`, once).

    Attributes
    ----------
    name, format, encoding, delimiter, header, raw_header
        As in :class:`RawTable`.
    size : int
        Bytes of the file.
    sha256 : str
        Hash of the file's bytes.
    expected_rows : int
        Data rows expected: lines of a CSV (an upper bound: a quoted cell may span lines), rows of the sheet.
    chunks : iterator of Chunk
        The data rows, at most ``chunk_rows`` at a time; raises :class:`FileRefusedError` when the file turns
        out unusable halfway (a limit crossed, a malformed record) and at the end when it held no data row.
    """

    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    header: schema.HeaderMap
    raw_header: list[str]
    size: int
    sha256: str
    expected_rows: int
    chunks: Iterator[Chunk] = field(repr=False)


def open_file(path: str | os.PathLike[str], *, limits: ReadLimits | None = None, chunk_rows: int = CHUNK_ROWS,
              xlsx_engine: str | None = None) -> StreamedFile:
    """Sniff a door-visit file on disk; its rows are read later, chunk by chunk (:attr:`StreamedFile.chunks`).

    Parameters
    ----------
    path : path-like
        CSV or XLSX file.
    limits : ReadLimits, optional
        Every bound of the read (default :data:`geo.coverage.limits.DEFAULT_LIMITS`).
    chunk_rows : int
        Most data rows per chunk.
    xlsx_engine : {"calamine", "openpyxl"}, optional
        Library that reads a spreadsheet (default: :func:`xlsx_engine`).

    Returns
    -------
    StreamedFile

    Raises
    ------
    FileRefusedError
        When the file is missing, empty, too large (only with ``limits.max_bytes``), binary, an old ``.xls``,
        has no usable header, or crosses a limit found before its rows are read.
    """
    path = Path(path)
    if not path.is_file():
        raise FileRefusedError("missing", name=str(path))
    return _open(lambda: open(path, "rb"), name=path.name, xlsx_source=path, limits=limits, chunk_rows=chunk_rows,
                 engine=xlsx_engine)


def open_bytes(data: bytes, *, name: str, limits: ReadLimits | None = None, chunk_rows: int = CHUNK_ROWS,
               xlsx_engine: str | None = None) -> StreamedFile:
    """:func:`open_file` for a file held in memory (an upload); ``name`` is for messages, never logged."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    return _open(lambda: io.BytesIO(data), name=name, xlsx_source=data, limits=limits, chunk_rows=chunk_rows,
                 engine=xlsx_engine)


def read_file(path: str | os.PathLike[str], *, max_bytes: int | None = None, max_rows: int | None = None,
              limits: ReadLimits | None = None) -> RawTable:
    """Read a whole door-visit file from disk into one table (:func:`open_file`, chunks collected).

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
    return collect(open_file(path, limits=bounds))


def read_bytes(data: bytes, *, name: str, max_bytes: int | None = None, max_rows: int | None = None,
               limits: ReadLimits | None = None, xlsx_engine: str | None = None) -> RawTable:
    """Read a whole door-visit file held in memory (an upload) into one table.

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
    bounds = (limits or DEFAULT_LIMITS).replace(max_bytes=max_bytes, max_rows=max_rows)
    return collect(open_bytes(data, name=name, limits=bounds, xlsx_engine=xlsx_engine))


def collect(streamed: StreamedFile) -> RawTable:
    """All the chunks of a file in one :class:`RawTable`."""
    frames: list[pd.DataFrame] = []
    errors: list[tuple[int, int, int]] = []
    for chunk in streamed.chunks:
        frames.append(chunk.frame)
        errors += chunk.field_count_errors
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    logger.info("read a %s file: %d data rows, %d columns recognised, %d ignored", streamed.format, len(frame),
                len(streamed.header.columns), len(streamed.header.ignored))
    return RawTable(name=streamed.name, format=streamed.format, encoding=streamed.encoding,
                    delimiter=streamed.delimiter, header=streamed.header, frame=frame, field_count_errors=errors,
                    raw_header=streamed.raw_header)


@dataclass
class _Scan:
    """What the first pass over a file's bytes learns: size, hash, line count, quotes, head and encoding."""

    size: int
    sha256: str
    lines: int
    quoted: bool
    head: bytes
    encoding: str


def _scan(opener: Any) -> _Scan:
    """One pass over the bytes, a block at a time: hash, newlines, the first 64 KiB, and whether the whole
    file decodes as UTF-8 (else Windows-1252, else Latin-1; UTF-16 when it starts with a byte-order mark)."""
    digest = hashlib.sha256()
    size = lines = 0
    quoted = False
    head = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    valid = True
    with opener() as handle:
        while block := handle.read(_BLOCK):
            if len(head) < 65536:
                head += block[:65536 - len(head)]
            digest.update(block)
            size += len(block)
            lines += block.count(b"\n") or block.count(b"\r")
            quoted = quoted or b'"' in block
            if valid:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    valid = False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif valid:
        encoding = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
    else:
        encoding = "cp1252" if _decodes(opener, "cp1252") else "latin-1"
    return _Scan(size=size, sha256=digest.hexdigest(), lines=lines, quoted=quoted, head=head, encoding=encoding)


def _decodes(opener: Any, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    with opener() as handle:
        try:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _open(opener: Any, *, name: str, xlsx_source: bytes | Path, limits: ReadLimits | None, chunk_rows: int,
          engine: str | None) -> StreamedFile:
    if not isinstance(chunk_rows, int) or isinstance(chunk_rows, bool) or chunk_rows < 1:
        raise ValueError(f"chunk_rows: expected a positive integer, got {chunk_rows!r}")
    bounds = limits or DEFAULT_LIMITS
    scanned = _scan(opener)
    _check_size(scanned.size, name, bounds.max_bytes)
    if scanned.head.startswith(_OLE_MAGIC):
        raise FileRefusedError("xls", name=name)
    if scanned.head.startswith(_ZIP_MAGIC):
        return _open_xlsx(xlsx_source, scanned, name=name, limits=bounds, chunk_rows=chunk_rows, engine=engine)
    return _open_csv(opener, scanned, name=name, limits=bounds, chunk_rows=chunk_rows)


def _check_size(size: int, name: str, max_bytes: int | None) -> None:
    if size == 0:
        raise FileRefusedError("empty", name=name)
    if max_bytes is not None and size > max_bytes:
        raise FileRefusedError("too_large", size_mb=f"{size / 1048576:.1f}", max_mb=f"{max_bytes / 1048576:.0f}")


def _looks_binary(data: bytes) -> bool:
    head = data[:65536]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13, 12))
    return controls > max(2, len(head) // 100)


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
    """The lines of a text stream, handed to the csv parser one by one within the read limits.

    Counts the characters of the record being parsed (:meth:`start_record` resets the count), so that a
    record longer than the limit (an unclosed quote included) stops the read at once, and the physical lines,
    so that a file of blank lines stops too.
    """

    def __init__(self, text: IO[str], *, name: str, limits: ReadLimits) -> None:
        self._lines = text
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


def _text(opener: Any, encoding: str) -> IO[str]:
    return io.TextIOWrapper(opener(), encoding=encoding, newline="")


def _sniff(text: IO[str], *, name: str, limits: ReadLimits) -> tuple[str | None, str]:
    """Excel's declared separator (``sep=;`` line), if any, and the first line holding something other than
    blanks and separators (``""`` when there is none)."""
    room = limits.max_line_chars
    line = text.readline(room + 1)
    declared = _SEP_LINE.match(line)
    if declared:  # Excel's "sep=;" line: it names the separator and is not counted as a line
        line = text.readline(room + 1)
    seen = 0
    while line:
        if _CONTENT.search(line):
            first = _LINE_END.split(line, maxsplit=1)[0]
            if len(first) > room:
                raise LimitExceededError("line_length", name=name, line=1, limit=room)
            return (declared.group(1) if declared else None), first
        seen += 1
        if seen > 2 * limits.max_rows + 2:
            raise LimitExceededError("rows", name=name, line=seen, limit=limits.max_rows)
        line = text.readline(room + 1)
    return (declared.group(1) if declared else None), ""


def _open_csv(opener: Any, scanned: _Scan, *, name: str, limits: ReadLimits, chunk_rows: int) -> StreamedFile:
    if scanned.encoding != "utf-16" and _looks_binary(scanned.head):
        raise FileRefusedError("binary", name=name)
    try:
        with _text(opener, scanned.encoding) as text:
            declared, first = _sniff(text, name=name, limits=limits)
    except UnicodeDecodeError as exc:
        raise FileRefusedError("binary", name=name) from exc
    if not first:
        raise FileRefusedError("empty", name=name)
    sep, header_cells, header = _choose_separator(first, declared=declared)
    _check_header(header, name)
    shape = _Shape(name=name, header_cells=header_cells, header=header, limits=limits, chunk_rows=chunk_rows)
    chunks = _csv_chunks(opener, scanned.encoding, sep=sep, declared=declared is not None, shape=shape,
                         quoted=scanned.quoted or scanned.encoding == "utf-16")
    return StreamedFile(name=name, format="csv", encoding=scanned.encoding, delimiter=sep, header=header,
                        raw_header=[c.strip() for c in header_cells], size=scanned.size, sha256=scanned.sha256,
                        expected_rows=max(0, scanned.lines - 1), chunks=chunks)


@dataclass
class _Shape:
    """How a file's records become chunks: its header, bounds and chunk size."""

    name: str
    header_cells: list[str]
    header: schema.HeaderMap
    limits: ReadLimits
    chunk_rows: int

    def chunks(self, records: Iterable[tuple[int, list[str]]]) -> Iterator[Chunk]:
        """Group ``(line, cells)`` records into chunks; refuse the file past ``max_rows`` or when it has none."""
        records = iter(records)
        total = 0
        while batch := list(itertools.islice(records, min(self.chunk_rows, self.limits.max_rows + 1 - total))):
            total += len(batch)
            if total > self.limits.max_rows:
                raise FileRefusedError("too_many_rows", name=self.name,
                                       max_rows=f"{self.limits.max_rows:,}".replace(",", "\u202f"))
            lines, rows = zip(*batch, strict=True)
            yield _chunk(self.header_cells, self.header, list(rows), list(lines))
        if not total:
            raise FileRefusedError("no_rows", name=self.name)

    def plain_chunks(self, blocks: Iterable[tuple[pd.Series, np.ndarray]], *, sep: str) -> Iterator[Chunk]:
        """:meth:`chunks` for the lines of a CSV without quotes, given a block of lines at a time."""
        held: list[tuple[pd.Series, np.ndarray]] = []
        count = total = 0
        for cells, numbers in blocks:
            total += len(cells)
            if total > self.limits.max_rows:
                raise FileRefusedError("too_many_rows", name=self.name,
                                       max_rows=f"{self.limits.max_rows:,}".replace(",", "\u202f"))
            held.append((cells, numbers))
            count += len(cells)
            while count >= self.chunk_rows:
                lines = pd.concat([c for c, _ in held], ignore_index=True)
                numbers_all = np.concatenate([n for _, n in held])
                yield _split_chunk(self, lines[:self.chunk_rows], numbers_all[:self.chunk_rows], sep)
                held = [(lines[self.chunk_rows:].reset_index(drop=True), numbers_all[self.chunk_rows:])]
                count -= self.chunk_rows
        if count:
            yield _split_chunk(self, pd.concat([c for c, _ in held], ignore_index=True),
                               np.concatenate([n for _, n in held]), sep)
        if not total:
            raise FileRefusedError("no_rows", name=self.name)


def _split_chunk(shape: _Shape, lines: pd.Series, numbers: np.ndarray, sep: str) -> Chunk:
    """A chunk from lines without quotes: each split on the separator, padded or cut to the header's width.

    Split and trimmed with Arrow's string kernels on the whole chunk (the cells stay Arrow strings, as pandas
    keeps them): the lines are padded with ``width`` separators so that every one has the header's fields.
    """
    width = len(shape.header_cells)
    text = pa.array(lines)
    fields = pc.add(pc.count_substring(text, sep), 1).to_numpy()
    field_errors: list[tuple[int, int, int]] = []
    for at in np.flatnonzero(fields > width):  # rare: extra fields, an error when one is not blank
        extra = pc.utf8_trim_whitespace(pa.array(lines.iloc[at].split(sep)[width:], type=pa.large_string()))
        if pc.any(pc.not_equal(extra, "")).as_py():
            field_errors.append((int(numbers[at]), int(fields[at]), width))
    padding = pa.scalar(sep * width, type=text.type)
    parts = pc.split_pattern(pc.binary_join_element_wise(text, padding, pa.scalar("", type=text.type)), sep)
    data: dict[str, Any] = {"ligne": numbers.astype(np.int64)}
    for col, pos in zip(shape.header.columns, shape.header.positions, strict=True):
        data[col] = pd.Series(pd.array(pc.utf8_trim_whitespace(pc.list_element(parts, pos)), dtype="str"))
    return Chunk(frame=pd.DataFrame(data), field_count_errors=field_errors)


def _csv_records(text: IO[str], *, sep: str, name: str, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:
    lines = _BoundedLines(text, name=name, limits=limits)
    parser = csv.reader(lines, delimiter=sep)
    seen_header = False
    try:
        for record in parser:
            start = lines.record_start
            lines.start_record()
            _check_record(record, name=name, line=start, limits=limits)
            if not any(cell.strip() for cell in record):
                continue
            if not seen_header:
                seen_header = True
                continue
            yield start, record
    except csv.Error as exc:
        detail = "champ trop long ou guillemet non fermé" if "field larger" in str(exc) else "format CSV invalide"
        raise FileRefusedError("malformed", name=name, line=lines.record_start, detail=detail) from exc


def _plain_blocks(text: IO[str], *, name: str, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:
    """The physical lines of a text (``\\r\\n``, ``\\r`` or ``\\n``), a block at a time: the number of the
    block's first line and its lines. A line longer than the limit stops the read as soon as it is seen."""
    number = 0
    tail = ""
    while block := text.read(_BLOCK):
        if "\x00" in block:
            raise FileRefusedError("malformed", name=name, line=number + 1, detail="format CSV invalide")
        data = tail + block
        hold = "\r" if data.endswith("\r") else ""  # perhaps the first half of a "\r\n" cut by the block's end
        lines = _LINE_END.split(data[:-1] if hold else data)
        tail = lines.pop() + hold
        if len(tail) > limits.max_line_chars:
            raise LimitExceededError("line_length", name=name, line=number + len(lines) + 1,
                                     limit=limits.max_line_chars)
        if lines:
            yield number + 1, lines
            number += len(lines)
        if number > 2 * limits.max_rows + 2:
            raise LimitExceededError("rows", name=name, line=number, limit=limits.max_rows)
    if tail.rstrip("\r"):
        yield number + 1, [tail.rstrip("\r")]


def _plain_records(text: IO[str], *, sep: str, name: str, limits: ReadLimits) -> Iterator[tuple[pd.Series, np.ndarray]]:
    """Records of a CSV holding no quote character, a block at a time: one per non-blank line, the header left
    out, with their line numbers. What the csv module reads there, checked with vectorised string operations."""
    seen_header = False
    for first, lines in _plain_blocks(text, name=name, limits=limits):
        cells = pd.Series(lines, dtype="str")
        numbers = np.arange(first, first + len(lines), dtype=np.int64)
        length = cells.str.len().to_numpy()
        if (length > limits.max_line_chars).any():
            at = int(np.argmax(length > limits.max_line_chars))
            raise LimitExceededError("line_length", name=name, line=int(numbers[at]), limit=limits.max_line_chars)
        fields = cells.str.count(re.escape(sep)).to_numpy() + 1
        suspect = (fields > limits.max_columns) | (length > limits.max_field_chars)
        for at in np.flatnonzero(suspect):  # rare: the exact checks of the csv path, blank lines included
            _check_record(cells.iloc[at].split(sep), name=name, line=int(numbers[at]), limits=limits)
        filled = (cells.str.replace(sep, "", regex=False).str.strip() != "").to_numpy(dtype=bool).copy()
        if not seen_header and filled.any():
            filled[np.argmax(filled)] = False  # the first non-blank line is the header
            seen_header = True
        cells, numbers = cells[filled], numbers[filled]
        if len(cells):
            yield cells.reset_index(drop=True), numbers


def _csv_chunks(opener: Any, encoding: str, *, sep: str, declared: bool, shape: _Shape,
                quoted: bool = True) -> Iterator[Chunk]:
    try:
        with _text(opener, encoding) as text:
            if declared:
                text.readline(shape.limits.max_line_chars + 1)
            if quoted:
                yield from shape.chunks(_csv_records(text, sep=sep, name=shape.name, limits=shape.limits))
            else:
                yield from shape.plain_chunks(_plain_records(text, sep=sep, name=shape.name, limits=shape.limits),
                                              sep=sep)
    except UnicodeDecodeError as exc:
        raise FileRefusedError("binary", name=shape.name) from exc


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


def _calamine_sheets(source: bytes | Path, limits: ReadLimits) -> Iterator[Rows]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    book = (CalamineWorkbook.from_path(str(source)) if isinstance(source, Path)
            else CalamineWorkbook.from_filelike(io.BytesIO(source)))
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


def _openpyxl_sheets(source: bytes | Path, limits: ReadLimits) -> Iterator[Rows]:
    import openpyxl

    book = openpyxl.load_workbook(source if isinstance(source, Path) else io.BytesIO(source), read_only=True,
                                  data_only=True)
    for sheet in book.worksheets:
        max_col = min(limits.max_columns, sheet.max_column or limits.max_columns)
        yield enumerate(sheet.iter_rows(min_row=1, max_row=limits.max_rows + 1, max_col=max_col,
                                        values_only=True), start=1)


def _xlsx_records(rows: Rows, *, name: str, limits: ReadLimits) -> Iterator[tuple[int, list[str]]]:
    for line, values in rows:
        if line > limits.max_rows + 1:
            raise LimitExceededError("rows", name=name, line=line, limit=limits.max_rows)
        record = [_cell_text(v).strip() for v in values]
        if not any(record):
            continue
        if max(map(len, record), default=0) > limits.max_field_chars:
            raise LimitExceededError("cell_length", name=name, limit=limits.max_field_chars)
        yield line, record


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


def _open_xlsx(source: bytes | Path, scanned: _Scan, *, name: str, limits: ReadLimits, chunk_rows: int,
               engine: str | None = None) -> StreamedFile:
    check_xlsx(source, name=name, limits=limits)
    engine = engine or xlsx_engine()
    if engine not in ("calamine", "openpyxl"):
        raise ValueError(f"engine: expected 'calamine' or 'openpyxl', got {engine!r}")
    sheets = _calamine_sheets if engine == "calamine" else _openpyxl_sheets
    try:
        best = _best_sheet(sheets(source, limits))
        if best is None:
            raise FileRefusedError("empty", name=name)
        rows_left, header_cells, header = best
        _check_header(header, name)
    except FileRefusedError:
        raise
    except Exception as exc:  # both libraries raise their own exceptions on malformed parts
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
    # trailing empty header cells of a sheet are not columns
    while header_cells and not header_cells[-1].strip():
        header_cells.pop()
    shape = _Shape(name=name, header_cells=header_cells, header=header, limits=limits, chunk_rows=chunk_rows)
    return StreamedFile(name=name, format="xlsx", encoding=None, delimiter=None, header=header,
                        raw_header=[c.strip() for c in header_cells], size=scanned.size, sha256=scanned.sha256,
                        expected_rows=0, chunks=_xlsx_chunks(rows_left, shape))


def _xlsx_chunks(rows: Rows, shape: _Shape) -> Iterator[Chunk]:
    try:
        yield from shape.chunks(_xlsx_records(rows, name=shape.name, limits=shape.limits))
    except FileRefusedError:
        raise
    except Exception as exc:  # a part the library cannot read, found while its rows are read
        raise FileRefusedError("xlsx_unreadable", name=shape.name) from exc


def _chunk(header_cells: list[str], header: schema.HeaderMap, rows: list[list[str]], lines: list[int]) -> Chunk:
    """Rows padded or cut to the header's width (extra non-empty fields noted), as a frame of schema columns."""
    width = len(header_cells)
    field_errors: list[tuple[int, int, int]] = []
    if any(len(record) != width for record in rows):
        for i, record in enumerate(rows):
            n = len(record)
            if n < width:
                rows[i] = record + [""] * (width - n)
            elif n > width:
                if any(cell.strip() for cell in record[width:]):
                    field_errors.append((lines[i], n, width))
                rows[i] = record[:width]
    columns = list(zip(*rows, strict=True))  # one pass in C: the cells of each column
    data: dict[str, Any] = {"ligne": np.asarray(lines, dtype=np.int64)}
    for col, pos in zip(header.columns, header.positions, strict=True):
        data[col] = pd.Series(columns[pos], dtype="str").str.strip()
    return Chunk(frame=pd.DataFrame(data), field_count_errors=field_errors)
