"""The import pipeline: read a file, validate each row, locate it, store the good rows in one transaction.

>>> from geo.coverage import importer, store
>>> engine = store.open_store()                                        # doctest: +SKIP
>>> summary = importer.import_file("visites.csv", engine=engine)       # doctest: +SKIP
>>> summary.as_dict()["imported"]                                      # doctest: +SKIP

* A file that cannot be used raises :class:`geo.coverage.errors.FileRefusedError` before anything is stored.
* Rejected rows never enter the store; they are kept in :attr:`ImportSummary.report` (line, column,
  reason and the row as written), which :func:`write_report` saves as CSV.
* Rows with coordinates keep them (checked to lie in France; flagged when outside every QPV). Rows with an
  address only are geocoded when a :class:`~geo.coverage.geocode.Geocoder` is given and the service
  answers; otherwise they are stored as pending (``en_attente``).
* The good rows of a file and its import record are written in one transaction: all or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from geo.coverage import reader, store
from geo.coverage.aggregate import assign_qpv
from geo.coverage.errors import CoverageError
from geo.coverage.geocode import Geocoder
from geo.coverage.validate import validate_rows

logger = logging.getLogger(__name__)

#: Written in the report instead of a cell detected as personal data.
REDACTED = "[donnée personnelle retirée]"


@dataclass
class ImportSummary:
    """What an import did (counts are of data rows).

    Attributes
    ----------
    file : str
        File name.
    format : str
        ``csv``, ``xlsx`` or ``frame``.
    rows : int
        Data rows read.
    imported : int
        Visits added to the store.
    duplicates : int
        Valid rows already in the store (same content key).
    rejected : int
        Rows left out (listed in :attr:`report`).
    pending_geocoding : int
        Rows stored without coordinates, awaiting ``voisinmap coverage geocode``.
    geocoded : int
        Rows located by the address API during this import.
    geocoding_failed : int
        Rows whose address the API could not match reliably (stored, not mapped).
    outside_qpv : int
        Located rows outside every QPV (stored and flagged).
    qpv_checked : bool
        False when the QPV layer was not available (QPV status left unknown).
    ignored_columns : list of str
        Headers not in the schema (never stored).
    report : pandas.DataFrame
        One row per problem: ``ligne``, ``colonne``, ``motif``, then the rejected row's cells as written.
    notes : list of str
        Messages for the user (e.g. the address service was unreachable).
    """

    file: str
    format: str
    rows: int
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    pending_geocoding: int = 0
    geocoded: int = 0
    geocoding_failed: int = 0
    outside_qpv: int = 0
    qpv_checked: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    report: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``ok`` when no row was rejected, else ``partial``."""
        return "ok" if self.rejected == 0 else "partial"

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values (integer counts)."""
        return {"file": self.file, "format": self.format, "status": self.status, "rows": int(self.rows),
                "imported": int(self.imported), "duplicates": int(self.duplicates), "rejected": int(self.rejected),
                "pending_geocoding": int(self.pending_geocoding), "geocoded": int(self.geocoded),
                "geocoding_failed": int(self.geocoding_failed), "outside_qpv": int(self.outside_qpv),
                "qpv_checked": bool(self.qpv_checked), "ignored_columns": list(self.ignored_columns),
                "notes": list(self.notes)}


def import_file(path: str | os.PathLike[str], *, engine: Engine, geocoder: Geocoder | None = None,
                qpv: pd.DataFrame | None = None, today: dt.date | None = None,
                max_bytes: int = reader.MAX_BYTES, max_rows: int = reader.MAX_ROWS) -> ImportSummary:
    """Import a CSV or XLSX file of door visits.

    Parameters
    ----------
    path : path-like
        The file.
    engine : sqlalchemy.engine.Engine
        The store (:func:`geo.coverage.store.open_store`).
    geocoder : Geocoder, optional
        Locates address-only rows; without one they are stored as pending.
    qpv : geopandas.GeoDataFrame, optional
        QPV polygons (:func:`geo.load.load_qpv`) to flag rows outside every QPV.
    today : datetime.date, optional
        Latest accepted visit date (default: today).
    max_bytes, max_rows : int
        Size limits.

    Returns
    -------
    ImportSummary

    Raises
    ------
    FileRefusedError
        When the file cannot be used (nothing is stored).
    """
    path = Path(path)
    table = reader.read_file(path, max_bytes=max_bytes, max_rows=max_rows)
    digest = _sha256_file(path)
    return import_table(table, engine=engine, file_sha256=digest, geocoder=geocoder, qpv=qpv, today=today)


def import_bytes(data: bytes, *, name: str, engine: Engine, geocoder: Geocoder | None = None,
                 qpv: pd.DataFrame | None = None, today: dt.date | None = None,
                 max_bytes: int = reader.MAX_BYTES, max_rows: int = reader.MAX_ROWS,
                 allowed_sites: Collection[str] | None = None) -> ImportSummary:
    """Import a file held in memory (an upload in the app). Same behaviour as :func:`import_file`.

    ``allowed_sites``, when given, rejects the rows of other sites (a manager's upload).
    """
    table = reader.read_bytes(data, name=name, max_bytes=max_bytes, max_rows=max_rows)
    return import_table(table, engine=engine, file_sha256=hashlib.sha256(data).hexdigest(), geocoder=geocoder,
                        qpv=qpv, today=today, allowed_sites=allowed_sites)


def import_frame(frame: pd.DataFrame, *, name: str, engine: Engine, qpv: pd.DataFrame | None = None,
                 today: dt.date | None = None, demo: bool = False) -> ImportSummary:
    """Import rows given as a frame of strings with the schema's column names (e.g. the demo history).

    The rows go through the same validation as a file; line numbers count from 2 as in a file.
    """
    cells = frame.astype("str").fillna("")
    header = list(cells.columns)
    from geo.coverage import schema

    header_map = schema.resolve_header(header)
    rows = cells.to_numpy(dtype=object).tolist()
    lines = list(range(2, len(rows) + 2))
    table = reader._table(name, "frame", None, None, header, header_map, rows, lines)
    digest = hashlib.sha256(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes()).hexdigest()
    return import_table(table, engine=engine, file_sha256=digest, qpv=qpv, today=today, demo=demo)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(valid: pd.DataFrame, *, geocoder: Geocoder | None, qpv: pd.DataFrame | None,
           ) -> tuple[pd.DataFrame, list[str]]:
    """Add location and QPV columns to valid rows (geocoding address-only rows when possible).

    Returns
    -------
    (pandas.DataFrame, list of str)
        The rows with ``location_status, geocode_score, code_qp, qpv_status`` (and ``lat, lon`` filled for
        geocoded rows), and notes for the user.
    """
    notes: list[str] = []
    rows = valid.copy()
    has_coords = rows["lat"].notna().to_numpy()
    status = np.where(has_coords, store.LOCATION_PROVIDED, store.LOCATION_PENDING).astype(object)
    score = np.full(len(rows), np.nan)
    lat = rows["lat"].to_numpy(dtype=float).copy()
    lon = rows["lon"].to_numpy(dtype=float).copy()
    if geocoder is not None and (~has_coords).any():
        idx = np.flatnonzero(~has_coords)
        addresses = rows.iloc[idx][["street_number", "street", "postcode", "city"]]
        try:
            found = geocoder.geocode(addresses)
        except CoverageError as exc:  # the service answered with an error: keep the rows pending
            notes.append(exc.message)
        else:
            lat[idx] = found["lat"].to_numpy(dtype=float)
            lon[idx] = found["lon"].to_numpy(dtype=float)
            score[idx] = found["geocode_score"].to_numpy(dtype=float)
            status[idx] = found["location_status"].to_numpy(dtype=object)
            still = int((found["location_status"] == store.LOCATION_PENDING).sum())
            if still:
                from geo.coverage.geocode import GeocoderUnavailableError

                notes.append(GeocoderUnavailableError(geocoder.url, still).message)
    rows["lat"], rows["lon"] = lat, lon
    rows["location_status"] = pd.Series(status, index=rows.index, dtype="str")
    rows["geocode_score"] = score
    located = np.isfinite(lat) & np.isfinite(lon)
    codes = np.full(len(rows), None, dtype=object)
    qpv_status = np.full(len(rows), store.QPV_UNKNOWN, dtype=object)
    if qpv is not None and located.any():
        codes[located] = assign_qpv(lon[located], lat[located], qpv)
        qpv_status[located] = np.where(pd.isna(codes[located]), store.QPV_OUTSIDE, store.QPV_INSIDE)
    rows["code_qp"] = codes
    rows["qpv_status"] = pd.Series(qpv_status, index=rows.index, dtype="str")
    return rows, notes


def import_table(table: reader.RawTable, *, engine: Engine, file_sha256: str, geocoder: Geocoder | None = None,
                 qpv: pd.DataFrame | None = None, today: dt.date | None = None, demo: bool = False,
                 allowed_sites: Collection[str] | None = None) -> ImportSummary:
    """Validate, locate and store the rows of a table read by :mod:`geo.coverage.reader`.

    Returns
    -------
    ImportSummary
    """
    checked = validate_rows(table.frame, today=today, field_count_errors=table.field_count_errors,
                            allowed_sites=allowed_sites)
    rows, notes = locate(checked.valid, geocoder=geocoder, qpv=qpv)
    rejected_lines = checked.rejected_lines
    with store.write_transaction(engine) as conn:
        result = store.insert_visits(conn, rows, file_sha256=file_sha256, file_name=table.name,
                                     file_format=table.format, n_rows=checked.n_rows,
                                     n_rejected=int(rejected_lines.size), demo=demo)
    summary = ImportSummary(
        file=table.name, format=table.format, rows=checked.n_rows, imported=result.imported,
        duplicates=result.duplicates, rejected=int(rejected_lines.size),
        pending_geocoding=int((rows["location_status"] == store.LOCATION_PENDING).sum()),
        geocoded=int((rows["location_status"] == store.LOCATION_GEOCODED).sum()),
        geocoding_failed=int((rows["location_status"] == store.LOCATION_FAILED).sum()),
        outside_qpv=int((rows["qpv_status"] == store.QPV_OUTSIDE).sum()),
        qpv_checked=qpv is not None, ignored_columns=list(table.header.ignored),
        report=_report(table, checked.problems), notes=notes,
    )
    logger.info("imported %s: %d rows, %d imported, %d duplicates, %d rejected, %d pending", table.name,
                summary.rows, summary.imported, summary.duplicates, summary.rejected, summary.pending_geocoding)
    return summary


def _report(table: reader.RawTable, problems: pd.DataFrame) -> pd.DataFrame:
    base = problems[["ligne", "colonne", "motif"]].reset_index(drop=True)
    if base.empty:
        return pd.DataFrame(columns=["ligne", "colonne", "motif", *_unique_names(table.raw_header)])
    position = {line: i for i, line in enumerate(table.all_lines)}
    names = _unique_names(table.raw_header)
    cells = [list(table.all_rows[position[line]]) for line in base["ligne"].to_numpy(dtype=np.int64)]
    # a cell detected as personal data (phone, e-mail) is not copied into the report
    where = dict(zip(table.header.columns, table.header.positions, strict=True))
    for i, (code, column) in enumerate(zip(problems["code"], problems["colonne"], strict=True)):
        if code == "personal" and column in where and where[column] < len(cells[i]):
            for j, line in enumerate(base["ligne"]):
                if line == base["ligne"].iat[i]:
                    cells[j][where[column]] = REDACTED
    raw = pd.DataFrame([(c + [""] * len(names))[:len(names)] for c in cells], columns=names)
    return pd.concat([base, raw], axis=1)


def _unique_names(header: list[str]) -> list[str]:
    out: list[str] = []
    for i, name in enumerate(header):
        name = name or f"colonne_{i + 1}"
        while name in out or name in ("ligne", "colonne", "motif"):
            name = f"{name}_{i + 1}"
        out.append(name)
    return out


def _defuse(value: object) -> object:
    """Protect a cell against spreadsheet formula injection."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(summary: ImportSummary) -> str:
    """The report of rejected rows as CSV text (``;``-separated; cells that a spreadsheet would run as a
    formula are prefixed with ``'``)."""
    return summary.report.map(_defuse).to_csv(sep=";", index=False, lineterminator="\r\n")


def write_report(summary: ImportSummary, path: str | os.PathLike[str]) -> Path:
    """Write :func:`report_csv` to ``path`` (UTF-8 with BOM, for spreadsheets), atomically.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(report_csv(summary), encoding="utf-8-sig", newline="")
    os.replace(tmp, path)
    return path
