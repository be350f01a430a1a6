"""The import pipeline: read a file, validate each row, locate it, store the good rows in one transaction.

>>> from geo.coverage import importer, store
>>> engine = store.open_store()                                        # doctest: +SKIP
>>> summary = importer.import_file("visites.csv", engine=engine)       # doctest: +SKIP
>>> summary.as_dict()["imported"]                                      # doctest: +SKIP

* A file that cannot be used raises :class:`geo.coverage.errors.FileRefusedError` before anything is stored.
* Rejected rows never enter the store; they are kept in :attr:`ImportSummary.report`, one line per rejected
  row (its line, the columns and reasons joined by `` | ``, then its schema cells as written, so that it can
  be fixed and imported again), which :func:`write_report` saves as CSV. Only schema columns are copied;
  a cell holding a phone number, an e-mail or a civility word is replaced by :data:`REDACTED`, and a rejected
  cell of a column that may hold a name (door mark, Voisin, topics...) by :data:`WITHHELD`.
* Rows with coordinates keep them (checked to lie in France against the département polygons when a
  :class:`~geo.coverage.territory.Territory` is given; flagged when outside every QPV). Rows with an
  address only are geocoded when a :class:`~geo.coverage.geocode.Geocoder` is given and the service
  answers; otherwise they are stored as pending (``en_attente``).
* The good rows of a file and its import record are written in one transaction: all or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Collection
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
from geo.coverage.territory import Territory
from geo.coverage.validate import looks_personal, validate_rows

logger = logging.getLogger(__name__)

#: Written in the report instead of a cell detected as personal data (phone, e-mail, civility word).
REDACTED = "[donnée personnelle retirée]"
#: Written in the report instead of a rejected cell of a column that may hold a name.
WITHHELD = "[valeur non recopiée]"
#: Columns whose rejected cells are never copied into the report (a name may be what got them rejected).
WITHHELD_WHEN_REJECTED: tuple[str, ...] = ("numero", "batiment", "porte", "resultat", "langue", "sujets",
                                           "voisin")
#: Joins the columns and the reasons of one rejected row in the report.
REPORT_SEPARATOR = " | "
#: ``progress(step, done, total)``: called as long work advances (the command line shows a progress bar);
#: steps ``validate`` (rows), ``geocode`` (distinct addresses) and ``write`` (valid rows).
Progress = Callable[[str, int, int], None]


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
        One row per rejected row: ``ligne``, ``colonne`` and ``motif`` (joined by `` | ``), then the row's
        schema cells as written (personal data redacted, see :func:`rejection_report`).
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
                qpv: pd.DataFrame | None = None, territory: Territory | None = None, today: dt.date | None = None,
                max_bytes: int = reader.MAX_BYTES, max_rows: int = reader.MAX_ROWS,
                progress: Progress | None = None, lang: str = "fr") -> ImportSummary:
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
    territory : Territory, optional
        France's land (:func:`geo.coverage.territory.france_territory`) to reject coordinates outside France;
        without it a coarse bounding-box check applies.
    today : datetime.date, optional
        Latest accepted visit date (default: today).
    max_bytes, max_rows : int
        Size limits.
    progress : callable, optional
        ``progress(step, done, total)``, called as validation, geocoding and writing advance.
    lang : {"fr", "en"}
        Language of the rejection reasons and notes of the summary (default French).

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
    return import_table(table, engine=engine, file_sha256=digest, geocoder=geocoder, qpv=qpv, territory=territory,
                        today=today, progress=progress, lang=lang)


def import_bytes(data: bytes, *, name: str, engine: Engine, geocoder: Geocoder | None = None,
                 qpv: pd.DataFrame | None = None, territory: Territory | None = None, today: dt.date | None = None,
                 max_bytes: int = reader.MAX_BYTES, max_rows: int = reader.MAX_ROWS,
                 allowed_sites: Collection[str] | None = None, lang: str = "fr") -> ImportSummary:
    """Import a file held in memory (an upload in the app). Same behaviour as :func:`import_file`.

    ``allowed_sites``, when given, rejects the rows of other sites (a manager's upload).
    """
    table = reader.read_bytes(data, name=name, max_bytes=max_bytes, max_rows=max_rows)
    return import_table(table, engine=engine, file_sha256=hashlib.sha256(data).hexdigest(), geocoder=geocoder,
                        qpv=qpv, territory=territory, today=today, allowed_sites=allowed_sites, lang=lang)


def import_frame(frame: pd.DataFrame, *, name: str, engine: Engine, qpv: pd.DataFrame | None = None,
                 territory: Territory | None = None, today: dt.date | None = None, demo: bool = False,
                 ) -> ImportSummary:
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
    return import_table(table, engine=engine, file_sha256=digest, qpv=qpv, territory=territory, today=today,
                        demo=demo)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locate(valid: pd.DataFrame, *, geocoder: Geocoder | None, qpv: pd.DataFrame | None,
           progress: Progress | None = None, lang: str = "fr") -> tuple[pd.DataFrame, list[str]]:
    """Add location and QPV columns to valid rows (geocoding address-only rows when possible).

    ``progress(step, done, total)``, when given, follows the geocoding (distinct addresses); the notes are
    written in ``lang``.

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
            found = geocoder.geocode(addresses, progress=progress)
        except CoverageError as exc:  # the service answered with an error: keep the rows pending
            notes.append(exc.text(lang))
        else:
            lat[idx] = found["lat"].to_numpy(dtype=float)
            lon[idx] = found["lon"].to_numpy(dtype=float)
            score[idx] = found["geocode_score"].to_numpy(dtype=float)
            status[idx] = found["location_status"].to_numpy(dtype=object)
            still = int((found["location_status"] == store.LOCATION_PENDING).sum())
            if still:
                from geo.coverage.geocode import GeocoderUnavailableError

                notes.append(GeocoderUnavailableError(geocoder.url, still).text(lang))
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


def stored_file_name(name: str, file_sha256: str) -> str:
    """What the store keeps of an uploaded file's name: the start of its hash and its extension
    (« visites famille Diallo 0612345678.csv » -> ``"3f2a…9c01.csv"``), never the name itself."""
    suffix = Path(str(name)).suffix.lower()
    ext = suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ""
    return f"{file_sha256[:16]}{ext}"


def import_table(table: reader.RawTable, *, engine: Engine, file_sha256: str, geocoder: Geocoder | None = None,
                 qpv: pd.DataFrame | None = None, territory: Territory | None = None, today: dt.date | None = None,
                 demo: bool = False, allowed_sites: Collection[str] | None = None,
                 progress: Progress | None = None, lang: str = "fr") -> ImportSummary:
    """Validate, locate and store the rows of a table read by :mod:`geo.coverage.reader`.

    The keyword options are those of :func:`import_file` (plus ``demo``, the mark of the fictitious
    history, and ``allowed_sites``, the sites whose rows may be imported).

    Returns
    -------
    ImportSummary
    """
    n = len(table.frame)
    if progress is not None:
        progress("validate", 0, n)
    checked = validate_rows(table.frame, today=today, field_count_errors=table.field_count_errors,
                            allowed_sites=allowed_sites, territory=territory, lang=lang)
    if progress is not None:
        progress("validate", n, n)
    rows, notes = locate(checked.valid, geocoder=geocoder, qpv=qpv, progress=progress, lang=lang)
    rejected_lines = checked.rejected_lines
    with store.write_transaction(engine) as conn:
        result = store.insert_visits(conn, rows, file_sha256=file_sha256, file_name=stored_file_name(table.name, file_sha256),
                                     file_format=table.format, n_rows=checked.n_rows,
                                     n_rejected=int(rejected_lines.size), demo=demo, progress=progress)
    summary = ImportSummary(
        file=table.name, format=table.format, rows=checked.n_rows, imported=result.imported,
        duplicates=result.duplicates, rejected=int(rejected_lines.size),
        pending_geocoding=int((rows["location_status"] == store.LOCATION_PENDING).sum()),
        geocoded=int((rows["location_status"] == store.LOCATION_GEOCODED).sum()),
        geocoding_failed=int((rows["location_status"] == store.LOCATION_FAILED).sum()),
        outside_qpv=int((rows["qpv_status"] == store.QPV_OUTSIDE).sum()),
        qpv_checked=qpv is not None, ignored_columns=list(table.header.ignored),
        report=rejection_report(table, checked.problems), notes=notes,
    )
    logger.info("imported %s: %d rows, %d imported, %d duplicates, %d rejected, %d pending",
                stored_file_name(table.name, file_sha256),
                summary.rows, summary.imported, summary.duplicates, summary.rejected, summary.pending_geocoding)
    return summary


def _join_per_line(line: pd.Series, text: pd.Series, lines: np.ndarray) -> np.ndarray:
    """``text`` joined by :data:`REPORT_SEPARATOR` per line of ``lines``, in order (one pass per rank)."""
    line = line.to_numpy(dtype=np.int64)
    text = text.astype("str").to_numpy(dtype=object)
    order = np.argsort(line, kind="stable")
    line, text = line[order], text[order]
    row = np.searchsorted(lines, line)
    rank = np.arange(line.size) - np.searchsorted(line, line)  # position within its line
    out = np.full(lines.size, "", dtype=object)
    for r in range(int(rank.max()) + 1 if rank.size else 0):  # a row has at most a few problems
        at = rank == r
        out[row[at]] = (out[row[at]] + REPORT_SEPARATOR + text[at]) if r else text[at]
    return out


def rejection_report(table: reader.RawTable, problems: pd.DataFrame) -> pd.DataFrame:
    """The report of rejected rows: one line per row, personal data left out (vectorised, linear).

    Parameters
    ----------
    table : reader.RawTable
        The file as read.
    problems : pandas.DataFrame
        ``ligne, colonne, code, motif``, one row per failed check (:attr:`Validated.problems`).

    Returns
    -------
    pandas.DataFrame
        ``ligne``; ``colonne`` and ``motif``, each row's columns and reasons joined by `` | ``; then the
        row's cells of the schema columns found in the file, as written, except that a cell holding a phone
        number, an e-mail or a civility word reads :data:`REDACTED` and a rejected cell of
        :data:`WITHHELD_WHEN_REJECTED` reads :data:`WITHHELD`. Columns the schema does not know are never
        copied.
    """
    columns = [c for c in table.header.columns if c in table.frame.columns]
    if problems.empty:
        return pd.DataFrame({"ligne": pd.Series([], dtype="int64"),
                             **{c: pd.Series([], dtype="str") for c in ("colonne", "motif", *columns)}})
    named = problems[problems["colonne"] != ""].drop_duplicates(["ligne", "colonne"])
    reasons = problems.drop_duplicates(["ligne", "motif"])
    lines = np.unique(problems["ligne"].to_numpy(dtype=np.int64))
    out = pd.DataFrame({"ligne": lines})
    out["colonne"] = _join_per_line(named["ligne"], named["colonne"], lines)
    out["motif"] = _join_per_line(reasons["ligne"], reasons["motif"], lines)
    raw = table.frame.set_index("ligne").loc[lines, columns].reset_index(drop=True)
    rejected_in = named.groupby("colonne")["ligne"].unique()
    for name in columns:
        cells = raw[name].astype("str")
        cells = cells.where(~looks_personal(cells).to_numpy(dtype=bool), REDACTED)
        if name in WITHHELD_WHEN_REJECTED and name in rejected_in.index:
            hit = np.isin(lines, rejected_in[name]) & (cells != REDACTED).to_numpy(dtype=bool)
            cells = cells.where(~hit, WITHHELD)
        out[name] = cells.to_numpy(dtype=object)
    return out.astype({c: "str" for c in out.columns if c != "ligne"})


def _defuse(cells: pd.Series) -> pd.Series:
    """Protect text cells against spreadsheet formula injection (plain numbers such as -21.1 stay)."""
    if cells.dtype.kind in "iufb":
        return cells
    text = cells.astype("str")
    risky = text.str.match(r"[=+\-@\t\r]") & ~text.str.fullmatch(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
    return text.where(~risky, "'" + text)


def report_csv(summary: ImportSummary) -> str:
    """The report of rejected rows as CSV text (``;``-separated; cells that a spreadsheet would run as a
    formula are prefixed with ``'``, plain numbers excepted)."""
    return summary.report.apply(_defuse).to_csv(sep=";", index=False, lineterminator="\r\n")


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
