"""Hostile spreadsheets built by hand with :mod:`zipfile`, streaming (never held whole in memory).

* :func:`dimension_bomb`: a ~5 KB workbook of valid rows whose sheet declares the range ``A1:XFD1048576``
  (1,048,576 rows × 16,384 columns) and holds one cell at ``XFD1048576``;
* :func:`wide_row_bomb`: a ~0.5-0.9 MB workbook whose second row holds 30 million cells (~450 MB of XML);
* :func:`write_workbook` with :func:`data_rows_xml`: the same construction without the trick, a valid file.

Also :func:`measure`, which runs a function in a fresh interpreter and returns its result, wall time and peak
resident memory (``resource.getrusage``), so that the memory of one read is not mixed with the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ["campagne", "site", "date", "resultat", "latitude", "longitude"]

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_ROOT_RELS = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
              f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
             '<sheets><sheet name="visites" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
                  f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
                  '</Relationships>')


def _column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def row_xml(number: int, values: list[object]) -> bytes:
    """One ``<row>`` of inline strings and numbers, with cell references."""
    cells = []
    for col, value in enumerate(values, start=1):
        ref = f"{_column(col)}{number}"
        if isinstance(value, int | float):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


def data_rows_xml(n: int, *, start: int = 2) -> Iterator[bytes]:
    """``n`` valid door-visit rows (fictitious, around Grigny)."""
    for i in range(n):
        yield row_xml(start + i, ["Eau 2025", "91286", f"2025-03-{1 + i % 28:02d}", "ouvert",
                                  round(48.6511 + (i % 97) * 1e-5, 6), round(2.3766 + (i % 89) * 1e-5, 6)])


def write_workbook(path: Path, rows: Iterable[bytes], *, dimension: str | None = None,
                   compresslevel: int = 6, header: list[str] | None = None,
                   sheet_part: str = "xl/worksheets/sheet1.xml") -> Path:
    """Write a one-sheet workbook whose sheet XML is the header row, then ``rows``, streamed into the ZIP.

    ``sheet_part`` is where the sheet lies in the archive (the workbook's relationships point there).
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.replace("/xl/worksheets/sheet1.xml", f"/{sheet_part}"))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.replace('Target="worksheets/sheet1.xml"',
                                                                              f'Target="/{sheet_part}"'))
        with archive.open(sheet_part, "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}">'.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>" + row_xml(1, header or HEADER))
            for row in rows:
                sheet.write(row)
            sheet.write(b"</sheetData></worksheet>")
    return path


def dimension_bomb(path: Path, *, rows: int = 100, declare: bool = True, far_cell: bool = True) -> Path:
    """The ~5 KB workbook declaring cell (1048576, 16384): valid rows, the declared range, one far cell."""
    tail = [b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'] if far_cell else []
    return write_workbook(path, [*data_rows_xml(rows), *tail], dimension="A1:XFD1048576" if declare else None)


def wide_row_bomb(path: Path, *, cells: int = 30_000_000) -> Path:
    """The workbook whose second row holds ``cells`` cells of 15 bytes (``<c><v>1</v></c>``), written in blocks."""
    block = b"<c><v>1</v></c>" * 100_000

    def rows() -> Iterator[bytes]:
        yield b'<row r="2">'
        left = cells
        while left > 0:
            take = min(left, 100_000)
            yield block if take == 100_000 else block[:15 * take]
            left -= take
        yield b"</row>"

    return write_workbook(path, rows(), dimension=None, compresslevel=9)


_MEASURE = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{setup}
started = time.perf_counter()
outcome = {{}}
try:
{body}
except SystemExit as exc:
    outcome["exit"] = exc.code
except Exception as exc:
    outcome["error"] = type(exc).__name__
    outcome["code"] = getattr(exc, "code", None)
    outcome["message"] = str(exc)
outcome["seconds"] = time.perf_counter() - started
outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
outcome["baseline_mb"] = before / 1024
with open("/proc/self/status") as status:
    outcome["vmhwm_mb"] = next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM")), None)
with open({out!r}, "w") as handle:
    json.dump(outcome, handle)
"""


def measure(setup: str, body: str, *, out: Path, paths: list[str], timeout: float = 120) -> dict:
    """Run ``setup`` then time ``body`` in a fresh interpreter; return its outcome with seconds and peak MB.

    ``body`` may set keys of the dict ``outcome``; an exception is recorded as ``error``/``code``/``message``
    and a ``SystemExit`` as ``exit``. ``peak_mb`` is the interpreter's peak resident memory (imports included),
    from ``resource.getrusage``; ``vmhwm_mb`` the same peak read from ``/proc/self/status``.
    """
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    script = _MEASURE.format(paths=paths, setup=setup.strip(), body=indented, out=str(out))
    # Linux carries a process's peak RSS across exec, so a child forked from a large process (pytest) would
    # report its parent's peak: a small launcher starts the measured interpreter instead.
    launcher = "import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', sys.argv[1]]).returncode)"
    done = subprocess.run([sys.executable, "-c", launcher, script], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if not out.is_file():
        raise RuntimeError(f"measured run failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(out.read_text())
