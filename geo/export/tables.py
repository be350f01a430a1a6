"""CSV, XLSX and GeoJSON exports of tables, safe to open in a spreadsheet.

Spreadsheet formula injection: a text cell starting with ``=``, ``+``, ``-`` or ``@`` (or with a tab or
carriage return, which some spreadsheets skip before reading a formula) would be run as a formula by
Excel or LibreOffice when the exported file is opened. :func:`neutralise` prefixes such text with an
apostrophe (``'=1+1``), which spreadsheets show as text; numbers are left as numbers (``-3`` stays a
number). Every writer here applies it, to every text column and to the column names.

>>> neutralise_value("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> neutralise_value(-3)
-3
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo import webgeo

logger = logging.getLogger(__name__)

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: Formats :func:`to_bytes` writes.
FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "html": "text/html; charset=utf-8",
    "png": "image/png",
}
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def neutralise_value(value: Any) -> Any:
    """``value`` with an apostrophe in front when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as spreadsheet formulas.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Numeric, boolean and date columns unchanged; text, mixed object and categorical columns
        neutralised (a categorical column comes back as text).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame: expected a pandas DataFrame, got {type(frame).__name__}")
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            if col == "geometry" and hasattr(out, "geometry"):
                continue
            out[col] = series.map(neutralise_value, na_action="ignore")
    out.columns = [neutralise_value(str(c)) for c in out.columns]
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    if "geometry" in frame.columns:
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    return frame


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV as French spreadsheets expect it: UTF-8 with a BOM, ``;`` separator, decimal comma."""
    text = neutralise(_plain(frame)).to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def to_xlsx_bytes(tables: Mapping[str, pd.DataFrame] | pd.DataFrame, *, notes: Mapping[str, str] | None = None,
                  ) -> bytes:
    """An XLSX workbook, one sheet per table; text cells are written as text, never as formulas.

    Parameters
    ----------
    tables : DataFrame or mapping of sheet name -> DataFrame
    notes : mapping of str -> str, optional
        Lines written on a first sheet « Notes » (sources, secrecy rule, « données fictives »...).
    """
    from openpyxl import Workbook

    if isinstance(tables, pd.DataFrame):
        tables = {"table": tables}
    wb = Workbook()
    wb.remove(wb.active)
    if notes:
        _notes_sheet(wb, notes)
    used: set[str] = set()
    for name, frame in tables.items():
        title = _sheet_title(name, used)
        used.add(title)
        _table_sheet(wb, title, frame)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _notes_sheet(wb: Any, notes: Mapping[str, str]) -> None:
    """The first sheet « Notes »: one line per note, every cell text."""
    from openpyxl.cell.cell import TYPE_STRING

    ws = wb.create_sheet("Notes")
    for key, text in notes.items():
        ws.append([neutralise_value(str(key)), neutralise_value(str(text))])
    for cells in ws.iter_rows():
        for cell in cells:
            cell.data_type = TYPE_STRING
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100


def _sheet_title(name: object, used: set[str]) -> str:
    """A valid sheet title (31 characters, no forbidden character) not among ``used``."""
    title = str(name).translate(_SHEET_FORBIDDEN).strip("'")[:31] or "table"
    base, n = title, 1
    while title in used:
        n += 1
        title = f"{base[:28]}_{n}"
    return title


def _table_sheet(wb: Any, title: str, frame: pd.DataFrame) -> None:
    """One table on its own sheet: bold header, frozen first row, text never read as a formula."""
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    frame = neutralise(_plain(frame))
    ws.append(list(frame.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.data_type = TYPE_STRING
    for row in frame.itertuples(index=False, name=None):
        ws.append([_xlsx_value(v) for v in row])
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING  # never a formula, whatever the text
    ws.freeze_panes = "A2"


def _xlsx_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def to_geojson_bytes(frame: pd.DataFrame, *, precision: int = 5) -> bytes:
    """A GeoJSON FeatureCollection (EPSG:4326) of a GeoDataFrame; text properties neutralised.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        In EPSG:4326 (or without CRS, taken as lon/lat).
    precision : int
        Decimals kept in coordinates (5: about a metre).

    Raises
    ------
    ValueError
        When ``frame`` has no geometry or another CRS than EPSG:4326.
    """
    import geopandas as gpd

    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValueError(f"frame: expected a GeoDataFrame with a geometry, got {type(frame).__name__}")
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        raise ValueError(f"frame: expected EPSG:4326 (lon/lat), got {frame.crs}")
    props = neutralise(pd.DataFrame(frame.drop(columns=frame.geometry.name)))
    data = webgeo.feature_collection(props, properties=list(props.columns), geometry=frame.geometry.values,
                                     decimals=None, coordinate_decimals=precision, missing="null")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_bytes(frame: pd.DataFrame, fmt: str, *, sheet: str = "table", notes: Mapping[str, str] | None = None,
             ) -> bytes:
    """One table as ``fmt`` (``csv``, ``xlsx`` or ``geojson``).

    Raises
    ------
    ValueError
        When ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt == "csv":
        return to_csv_bytes(frame)
    if fmt == "xlsx":
        return to_xlsx_bytes({sheet: frame}, notes=notes)
    if fmt == "geojson":
        return to_geojson_bytes(frame)
    raise ValueError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str], *, fmt: str | None = None,
                notes: Mapping[str, str] | None = None) -> Path:
    """Write one table to ``path`` (format from ``fmt`` or the file extension), atomically.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    data = to_bytes(frame, fmt, sheet=path.stem, notes=notes)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    logger.info("wrote %s (%d rows, %d bytes)", path.name, len(frame), len(data))
    return path
