"""The import pipeline: read a file chunk by chunk, validate and locate each chunk, store the good rows in one
transaction.

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
* The file is read in chunks of ``chunk_rows`` rows (:func:`geo.coverage.reader.open_file`); each chunk is
  validated (content keys ranked across chunks, :class:`~geo.coverage.validate.RankCounter`), located and
  handed to the store (:mod:`geo.coverage.store.import_transaction`: on PostgreSQL copied into the visits
  inside the import's one transaction, on SQLite staged in a temporary table), so that memory holds a few
  chunks whatever the file's size. :attr:`ImportSummary.peak_chunk_rows` says how many rows
  a chunk held at most. For a large file the chunks are checked in a worker process
  (:mod:`geo.coverage.checking`) and staged by a writer thread, while this process reads the next one.
* The good rows of a file, its import record and the roll-up of its buildings are written in one
  transaction, committed once the last chunk is in: all or nothing. A file refused halfway (a limit crossed, a malformed record), an error or a
  killed process leaves the store exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from geo.coverage import reader, store
from geo.coverage.checking import CheckOptions, ChunkChecker
from geo.coverage.geocode import Geocoder
from geo.coverage.limits import DEFAULT_LIMITS, ReadLimits
from geo.coverage.locating import locate
from geo.coverage.territory import Territory
from geo.coverage.validate import looks_personal

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
#: steps ``validate`` (rows read and checked, of the rows the file is expected to hold), ``geocode``
#: (distinct addresses of a chunk) and ``write`` (valid rows, once all are staged).
Progress = Callable[[str, int, int], None]
#: Rows read, validated and staged at a time by default.
CHUNK_ROWS = reader.CHUNK_ROWS
#: Files expected to hold at least this many rows are checked in a worker process (:mod:`geo.coverage.checking`).
WORKER_ROWS = 2 * CHUNK_ROWS



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
    chunks : int
        Chunks the file was read in.
    peak_chunk_rows : int
        Most data rows of one chunk (at most three chunks are held at once: read, checked, staged).
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
    chunks: int = 0
    peak_chunk_rows: int = 0

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
                max_bytes: int | None = None, max_rows: int | None = None, progress: Progress | None = None,
                lang: str = "fr", allowed_sites: Collection[str] | None = None, chunk_rows: int = CHUNK_ROWS,
                limits: ReadLimits | None = None, in_worker: bool | None = None) -> ImportSummary:
    """Import a CSV or XLSX file of door visits, chunk by chunk, all or nothing.

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
    max_bytes, max_rows : int, optional
        Size limits overriding those of ``limits`` (by default no file-size cap).
    progress : callable, optional
        ``progress(step, done, total)``, called as reading, geocoding and writing advance.
    lang : {"fr", "en"}
        Language of the rejection reasons and notes of the summary (default French).
    allowed_sites : collection of str, optional
        When given, the rows of other sites are rejected (a manager's upload).
    chunk_rows : int
        Rows read, validated and staged at a time (bounds the memory used).
    limits : ReadLimits, optional
        Every bound of the read (default :data:`geo.coverage.limits.DEFAULT_LIMITS`).
    in_worker : bool, optional
        Check the chunks in a worker process (default: for a file of at least :data:`WORKER_ROWS` rows).

    Returns
    -------
    ImportSummary

    Raises
    ------
    FileRefusedError
        When the file cannot be used, also when found out halfway (nothing is stored).
    """
    bounds = (limits or DEFAULT_LIMITS).replace(max_bytes=max_bytes, max_rows=max_rows)
    source = reader.open_file(path, limits=bounds, chunk_rows=chunk_rows)
    return import_stream(source, engine=engine, geocoder=geocoder, qpv=qpv, territory=territory, today=today,
                         allowed_sites=allowed_sites, progress=progress, lang=lang, in_worker=in_worker)


def import_bytes(data: bytes, *, name: str, engine: Engine, geocoder: Geocoder | None = None,
                 qpv: pd.DataFrame | None = None, territory: Territory | None = None, today: dt.date | None = None,
                 max_bytes: int | None = None, max_rows: int | None = None,
                 allowed_sites: Collection[str] | None = None, lang: str = "fr",
                 chunk_rows: int = CHUNK_ROWS) -> ImportSummary:
    """Import a file held in memory (an upload in the app). Same behaviour as :func:`import_file`.

    ``allowed_sites``, when given, rejects the rows of other sites (a manager's upload).
    """
    bounds = DEFAULT_LIMITS.replace(max_bytes=max_bytes, max_rows=max_rows)
    source = reader.open_bytes(data, name=name, limits=bounds, chunk_rows=chunk_rows)
    return import_stream(source, engine=engine, geocoder=geocoder, qpv=qpv, territory=territory, today=today,
                         allowed_sites=allowed_sites, lang=lang)


def import_frame(frame: pd.DataFrame, *, name: str, engine: Engine, qpv: pd.DataFrame | None = None,
                 territory: Territory | None = None, today: dt.date | None = None, demo: bool = False,
                 ) -> ImportSummary:
    """Import rows given as a frame of strings with the schema's column names (e.g. the demo history).

    The rows go through the same validation as a file; line numbers count from 2 as in a file.
    """
    from geo.coverage import schema

    cells = frame.astype("str").fillna("")
    header_map = schema.resolve_header(list(cells.columns))
    table_frame = pd.DataFrame({"ligne": np.arange(2, len(cells) + 2, dtype=np.int64),
                                **{col: cells.iloc[:, pos].str.strip().to_numpy(dtype=object)
                                   for col, pos in zip(header_map.columns, header_map.positions, strict=True)}})
    table = reader.RawTable(name=name, format="frame", encoding=None, delimiter=None, header=header_map,
                            frame=table_frame, raw_header=list(cells.columns))
    digest = hashlib.sha256(pd.util.hash_pandas_object(cells, index=False).to_numpy().tobytes()).hexdigest()
    return import_table(table, engine=engine, file_sha256=digest, qpv=qpv, territory=territory, today=today,
                        demo=demo)


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
    """Validate, locate and store the rows of a whole table read by :mod:`geo.coverage.reader` (one chunk).

    The keyword options are those of :func:`import_stream`, ``file_sha256`` being the hash of the table's file.

    Returns
    -------
    ImportSummary
    """
    chunk = reader.Chunk(frame=table.frame, field_count_errors=list(table.field_count_errors))
    source = reader.StreamedFile(name=table.name, format=table.format, encoding=table.encoding,
                                 delimiter=table.delimiter, header=table.header, raw_header=table.raw_header,
                                 size=0, sha256=file_sha256, expected_rows=len(table.frame), chunks=iter([chunk]))
    return import_stream(source, engine=engine, geocoder=geocoder, qpv=qpv, territory=territory, today=today,
                         demo=demo, allowed_sites=allowed_sites, progress=progress, lang=lang)


def _count_chunk(summary: ImportSummary, chunk: reader.Chunk, rejected: int, rows: pd.DataFrame,
                 notes: list[str]) -> None:
    """Add one chunk's counts and notes to the summary being built."""
    summary.chunks += 1
    summary.rows += len(chunk.frame)
    summary.peak_chunk_rows = max(summary.peak_chunk_rows, len(chunk.frame))
    summary.rejected += rejected
    status = rows["location_status"]
    summary.pending_geocoding += int((status == store.LOCATION_PENDING).sum())
    summary.geocoded += int((status == store.LOCATION_GEOCODED).sum())
    summary.geocoding_failed += int((status == store.LOCATION_FAILED).sum())
    summary.outside_qpv += int((rows["qpv_status"] == store.QPV_OUTSIDE).sum())
    summary.notes += [note for note in notes if note not in summary.notes]


def _whole_report(source: reader.StreamedFile, reports: list[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' reports of rejected rows as one (an empty report with its columns when none was rejected)."""
    if not reports:
        return rejection_report(_as_table(source, pd.DataFrame({"ligne": []})), _NO_PROBLEMS)
    return pd.concat(reports, ignore_index=True) if len(reports) > 1 else reports[0]


_NO_PROBLEMS = pd.DataFrame({"ligne": pd.Series([], dtype="int64"), "colonne": pd.Series([], dtype="str"),
                             "code": pd.Series([], dtype="str"), "motif": pd.Series([], dtype="str")})


def _as_table(source: reader.StreamedFile, frame: pd.DataFrame,
              errors: list[tuple[int, int, int]] | None = None) -> reader.RawTable:
    return reader.RawTable(name=source.name, format=source.format, encoding=source.encoding,
                           delimiter=source.delimiter, header=source.header, frame=frame,
                           field_count_errors=errors or [], raw_header=source.raw_header)


def import_stream(source: reader.StreamedFile, *, engine: Engine, geocoder: Geocoder | None = None,
                  qpv: pd.DataFrame | None = None, territory: Territory | None = None, today: dt.date | None = None,
                  demo: bool = False, allowed_sites: Collection[str] | None = None,
                  progress: Progress | None = None, lang: str = "fr", in_worker: bool | None = None,
                  ) -> ImportSummary:
    """Validate, locate and stage each chunk of a file, then store its visits in one transaction.

    Parameters
    ----------
    source : geo.coverage.reader.StreamedFile
        The file, sniffed (:func:`geo.coverage.reader.open_file`); its chunks are read here, once.
    engine : sqlalchemy.engine.Engine
        The store.
    geocoder, qpv, territory, today, allowed_sites, progress, lang
        As for :func:`import_file`.
    demo : bool
        The mark of the fictitious demo history.
    in_worker : bool, optional
        Check the chunks in a worker process (:mod:`geo.coverage.checking`); by default when the file is
        expected to hold at least :data:`WORKER_ROWS` rows.

    Returns
    -------
    ImportSummary

    Raises
    ------
    FileRefusedError
        When a chunk turns the file down (nothing is stored).
    """
    summary = ImportSummary(file=source.name, format=source.format, rows=0, qpv_checked=qpv is not None,
                            ignored_columns=list(source.header.ignored))
    reports: list[pd.DataFrame] = []
    options = CheckOptions(today=today, allowed_sites=allowed_sites, territory=territory, lang=lang)
    if in_worker is None:
        in_worker = source.expected_rows >= WORKER_ROWS
    name = stored_file_name(source.name, source.sha256)
    record = store.ImportRecord(file_sha256=source.sha256, file_name=name, file_format=source.format, demo=demo)
    with engine.connect() as conn, store.ImportTransaction(conn, file=record, progress=progress) as writing:
        # the checker (a worker process for a large file) validates chunk N+1 while this thread locates chunk N
        # and a writer thread hands chunk N-1 to the store; waiting for the writer before handing it the next chunk
        # keeps a bounded number of chunks in memory
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="visit-staging") as writer, \
                ChunkChecker(options=options, in_worker=in_worker) as checker:
            staged: Future[int] | None = None
            for chunk, checked in checker.checked(source.chunks):
                if progress is not None:
                    done = summary.rows + len(chunk.frame)
                    progress("validate", done, max(done, source.expected_rows))
                rows, notes = locate(checked.rows, geocoder=geocoder, qpv=qpv, progress=progress, lang=lang)
                report = rejection_report(_as_table(source, chunk.frame), checked.problems)
                if len(report):
                    reports.append(report)
                _count_chunk(summary, chunk, checked.rejected, rows, notes)
                if staged is not None:
                    staged.result()
                staged = writer.submit(writing.add, rows)
                del checked, rows, report
            if staged is not None:
                staged.result()
        _, summary.imported = writing.commit(n_rows=summary.rows, n_rejected=summary.rejected,
                                             n_pending=summary.pending_geocoding)
        summary.duplicates = writing.staged - summary.imported
    summary.report = _whole_report(source, reports)
    logger.info("imported %s in %d chunks: %d rows, %d imported, %d duplicates, %d rejected, %d pending", name,
                summary.chunks, summary.rows, summary.imported, summary.duplicates, summary.rejected,
                summary.pending_geocoding)
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
