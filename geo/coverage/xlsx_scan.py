"""Check an XLSX archive against :class:`~geo.coverage.limits.ReadLimits` before any spreadsheet library opens it.

One streaming pass, in bounded memory (one 1 MiB chunk at a time):

1. the archive's entry count, then each entry's *declared* inflated size and their sum;
2. each entry is inflated chunk by chunk and its *actual* size counted against the same caps, with its
   inflated/compressed ratio (``zipfile`` stops at the declared size and checks the CRC, so a header that
   lies is read as a damaged archive, never past the cap);
3. while a part inflates, its XML is scanned with byte searches. A worksheet (any part whose root is
   ``<worksheet>``, wherever it lies: readers follow the workbook's relationships, not folder names): the
   declared ``<dimension>``, the row numbers, the cells on each row, the total of cells, and cell references
   beyond the last allowed row or column. The shared strings (root ``<sst>``): their number, bounded like
   the cells, since readers load them all.

Why not a library: openpyxl and calamine size their work from the sheet's declared dimension and cell
references (the first walks every declared cell, the second allocates the whole rectangle) and load a row or
a sheet at once; defusedxml guards against entity expansion, not against large well-formed parts. None
bounds a ZIP entry's inflation. The scan is a few byte counts per row, so it adds about a second to a
20 MB workbook and refuses a bomb within its first megabyte.
"""

from __future__ import annotations

import io
import logging
import os
import re
import zipfile
import zlib
from dataclasses import dataclass

from geo.coverage.errors import FileRefusedError
from geo.coverage.limits import LimitExceededError, ReadLimits

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_MIB = 1024 * 1024
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?(worksheet|sst)[\s>/]")
_DIMENSION = rb'<%sdimension\s[^>]*?ref="\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?"'
_ROW = rb"<%srow(?=[\s>/])([^>]*)>"
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')


def column_letters(index: int) -> str:
    """Excel's letters of a 1-based column index (``1`` → ``A``, ``200`` → ``GR``)."""
    if index < 1:
        raise ValueError(f"index: expected a column number >= 1, got {index}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_index(letters: str) -> int:
    """1-based column index of Excel's letters (``"A"`` → ``1``, ``"XFD"`` → ``16384``)."""
    if not letters.isalpha() or not letters.isupper():
        raise ValueError(f"letters: expected upper-case column letters, got {letters!r}")
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index


def check_xlsx(data: bytes | str | os.PathLike[str], *, name: str, limits: ReadLimits) -> None:
    """Refuse an XLSX archive that crosses a limit; return quietly when it is within all of them.

    Parameters
    ----------
    data : bytes or path-like
        The archive, in memory or on disk (read from disk one chunk at a time, never whole).
    name : str
        File name, for messages.
    limits : ReadLimits
        The bounds.

    Raises
    ------
    LimitExceededError
        At the first limit crossed.
    FileRefusedError
        ``xlsx_unreadable`` when the archive is damaged (bad CRC, truncated entry, not a ZIP).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes | bytearray) else data)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a damaged header that declares a ZIP version or method Python cannot read
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
    if len(infos) > limits.max_zip_entries:
        raise LimitExceededError("zip_entries", name=name, count=len(infos), limit=limits.max_zip_entries)
    _check_declared(infos, name=name, limits=limits)
    inflated = 0
    with archive:
        for info in infos:
            # every part is scanned: a sheet may live at any path its workbook's relationships name
            scan = _SheetScan(name=name, limits=limits)
            inflated += _inflate(archive, info, name=name, limits=limits, before=inflated, scan=scan)
            scan.finish()


def _mb(size: int) -> str:
    return f"{size / _MIB:.0f}"


def _check_declared(infos: list[zipfile.ZipInfo], *, name: str, limits: ReadLimits) -> None:
    total = 0
    for info in infos:
        if info.file_size > limits.max_entry_bytes:
            raise LimitExceededError("entry_size", name=name, size_mb=_mb(info.file_size),
                                     limit_mb=_mb(limits.max_entry_bytes))
        total += info.file_size
    if total > limits.max_inflated_bytes:
        raise LimitExceededError("inflated_size", name=name, size_mb=_mb(total),
                                 limit_mb=_mb(limits.max_inflated_bytes))


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, name: str, limits: ReadLimits, before: int,
             scan: _SheetScan | None) -> int:
    """Inflate one entry chunk by chunk, counting its actual size; feed a worksheet's chunks to ``scan``."""
    size = 0
    try:
        with archive.open(info) as part:
            while chunk := part.read(CHUNK):
                size += len(chunk)
                _check_actual(size, before, info, name=name, limits=limits)
                if scan is not None:
                    scan.feed(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, OSError,
            EOFError, ValueError) as exc:  # bad CRC, damaged or truncated stream, encrypted, unknown compression
        raise FileRefusedError("xlsx_unreadable", name=name) from exc
    return size


def _check_actual(size: int, before: int, info: zipfile.ZipInfo, *, name: str, limits: ReadLimits) -> None:
    if size > limits.max_entry_bytes:
        raise LimitExceededError("entry_size", name=name, size_mb=_mb(size), limit_mb=_mb(limits.max_entry_bytes))
    if before + size > limits.max_inflated_bytes:
        raise LimitExceededError("inflated_size", name=name, size_mb=_mb(before + size),
                                 limit_mb=_mb(limits.max_inflated_bytes))
    if size > limits.ratio_floor_bytes and size > limits.max_ratio * max(info.compress_size, 1):
        raise LimitExceededError("compression_ratio", name=name, ratio=f"{size / max(info.compress_size, 1):.0f}",
                                 limit=f"{limits.max_ratio:.0f}")


@dataclass
class _SheetScan:
    """Streaming checks of one part's XML (fed in chunks, holds at most one chunk and a partial tag).

    Whatever the part's name, its root element decides: a worksheet is scanned for rows and cells, the shared
    strings are counted, any other part is only inflated and sized.
    """

    name: str
    limits: ReadLimits
    carry: bytes = b""
    prefix: bytes | None = None
    strings: bool = False
    dimension_seen: bool = False
    row: int = 0
    row_cells: int = 0
    cells: int = 0

    def feed(self, chunk: bytes) -> None:
        """Scan the complete tags of ``carry + chunk``; keep the partial last tag for the next chunk."""
        buffer = self.carry + chunk
        cut = buffer.rfind(b"<")
        if cut <= 0:
            cut = len(buffer) if cut < 0 else 0
        self.carry = buffer[cut:]
        if len(self.carry) > max(CHUNK, 4 * self.limits.max_field_chars):
            raise LimitExceededError("cell_length", name=self.name, limit=self.limits.max_field_chars)
        if cut:
            self._scan(buffer[:cut])

    def finish(self) -> None:
        """Scan what is left once the part is fully inflated."""
        if self.carry:
            self._scan(self.carry + b" ")
            self.carry = b""

    def _compile(self, segment: bytes) -> bool:
        if self.prefix is None:
            root = _ROOT.search(segment)
            if root is None:
                return False
            self.prefix = root.group(1) or b""
            self.strings = root.group(2) == b"sst"
            p = re.escape(self.prefix)
            self._dimension = re.compile(_DIMENSION % p)
            self._row = re.compile(_ROW % p)
            self._cell_tokens = tuple(b"<" + self.prefix + b"c" + end for end in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
            self._string_start = b"<" + self.prefix + b"si"
            letters = len(column_letters(self.limits.max_columns))
            digits = len(str(self.limits.max_rows + 1))
            self._cell_start = b"<" + self.prefix + b"c"
            # a literal start lets the regex engine skip ahead; the character before r= is checked per match
            self._far_cell = re.compile(rb'r="(?:([A-Z]{%d,})(\d+)|([A-Z]+)(\d{%d,}))"' % (letters, digits))
        return True

    def _scan(self, segment: bytes) -> None:
        if not self._compile(segment):
            return
        if self.strings:
            self._count_strings(segment)
            return
        if not self.dimension_seen:
            self._check_dimension(segment)
        self._check_far_cells(segment)
        starts = list(self._row.finditer(segment))
        total = segment.count(self._cell_start)  # an upper bound of the cells (one pass); rows count exactly
        self.cells += total
        if self.cells > self.limits.max_cells:
            raise LimitExceededError("cells", name=self.name, limit=self.limits.max_cells)
        if self.row_cells + total <= self.limits.max_columns:  # no row of this segment can cross the bound
            self.row_cells += total
            for match in starts:
                self._next_row(match)
            if starts:
                self.row_cells = self._count(segment, starts[-1].end(), len(segment))
            return
        self._count_rows(segment, starts)

    def _count_strings(self, segment: bytes) -> None:
        self.cells += segment.count(self._string_start)
        if self.cells > self.limits.max_cells:
            raise LimitExceededError("cells", name=self.name, limit=self.limits.max_cells)

    def _count(self, segment: bytes, start: int, end: int) -> int:
        return sum(segment.count(token, start, end) for token in self._cell_tokens)

    def _count_rows(self, segment: bytes, starts: list[re.Match[bytes]]) -> None:
        # a cell tag is at least 3 bytes, so a row shorter than 3 x max_columns bytes cannot cross the bound:
        # only longer rows are counted (most rows of a valid sheet are shorter)
        shortest = 3 * (self.limits.max_columns + 1)
        bounds = [m.start() for m in starts] + [len(segment)]
        self._add_cells(self._count(segment, 0, bounds[0]))
        for match, end in zip(starts, bounds[1:], strict=True):
            self._next_row(match)
            if end - match.end() >= shortest or end == len(segment):
                self._add_cells(self._count(segment, match.end(), end))

    def _add_cells(self, count: int) -> None:
        self.row_cells += count
        if self.row_cells > self.limits.max_columns:
            raise LimitExceededError("cells_per_row", name=self.name, line=max(self.row, 1),
                                     limit=self.limits.max_columns)

    def _next_row(self, match: re.Match[bytes]) -> None:
        number = _ROW_NUMBER.search(match.group(1))
        self.row = int(number.group(1)) if number else self.row + 1
        self.row_cells = 0
        if self.row > self.limits.max_rows + 1:
            raise LimitExceededError("rows", name=self.name, line=self.row, limit=self.limits.max_rows)

    def _check_dimension(self, segment: bytes) -> None:
        found = self._dimension.search(segment)
        if found is None:
            if self._row.search(segment):  # the dimension comes before the rows, or not at all
                self.dimension_seen = True
            return
        self.dimension_seen = True
        last_col, last_row = found.group(3) or found.group(1), int(found.group(4) or found.group(2))
        columns = column_index(last_col.decode())
        if (last_row > self.limits.max_rows + 1 or columns > self.limits.max_columns
                or last_row * columns > self.limits.max_cells):
            raise LimitExceededError("dimension", name=self.name, ref=found.group(0).split(b'ref="')[1][:-1].decode(),
                                     rows=last_row, columns=columns, max_rows=self.limits.max_rows,
                                     max_columns=self.limits.max_columns)

    def _check_far_cells(self, segment: bytes) -> None:
        for match in self._far_cell.finditer(segment):
            if match.start() == 0 or segment[match.start() - 1] not in b" \t\r\n":
                continue  # another attribute whose name ends in r
            letters, digits = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            columns, row = column_index(letters.decode()), int(digits)
            if columns > self.limits.max_columns:
                raise LimitExceededError("columns", name=self.name, line=row, limit=self.limits.max_columns)
            if row > self.limits.max_rows + 1:
                raise LimitExceededError("rows", name=self.name, line=row, limit=self.limits.max_rows)
