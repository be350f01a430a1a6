"""One file's visits staged in a temporary table, then published into the store in one transaction.

>>> with engine.connect() as conn:                                              # doctest: +SKIP
...     staged = VisitStaging(conn)
...     for rows in chunks:
...         with conn.begin():
...             staged.add(rows)
...     with write_transaction(conn):
...         result = staged.publish(file_sha256=h, file_name="a.csv", file_format="csv", n_rows=10, n_rejected=0)

A large import is read, validated and located chunk by chunk (:mod:`geo.coverage.importer`); each chunk's
visits go into a temporary table of the importing connection, so memory holds one chunk at a time and the
store's own tables are not touched:

* SQLite: a ``TEMP`` table (SQLite keeps temporary tables in a temporary file unless built otherwise),
  filled with batched inserts outside any write lock: other writers (field entry, other imports) go on
  meanwhile;
* PostgreSQL: a ``TEMP`` table filled with ``COPY`` (each chunk written as CSV by Arrow, in C++, and sent in
  one piece, rather than row by row through Python); or, after
  :meth:`VisitStaging.stream_into_store`, each chunk copied straight into the visits inside the import's one
  write transaction (:mod:`geo.coverage.store.import_transaction`), so that PostgreSQL's process inserts and
  indexes it while Python reads the next one.

:meth:`VisitStaging.publish` then, in the caller's write transaction: records the import, inserts the staged
visits with ``ON CONFLICT (content_key) DO NOTHING`` (a visit already stored is a duplicate; on PostgreSQL in
content-key order, which keeps concurrent importers of overlapping files free of deadlocks), and recounts the
roll-up of the buildings it added visits to (:mod:`geo.coverage.store.rollup`); on SQLite a first large import
builds the secondary indexes of the visits again rather than maintaining them row by row. All or nothing: the temporary
table lives and dies with the connection, so a failure, or a killed process, before that commit leaves the
store exactly as it was. Nothing here logs row content.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import logging
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geo.coverage.keys import building_keys, day_numbers, week_start
from geo.coverage.store.models import IMPORTS, VISITS
from geo.coverage.store.rollup import refresh_rollup_of_import

logger = logging.getLogger(__name__)

#: The temporary table of staged visits (one per connection).
STAGED = "door_visits_staged"
#: Rows per ``executemany`` batch on SQLite.
SQLITE_BATCH = 20_000
#: Page cache (KiB) of SQLite while the staged visits are published (the indexes of a large import fit).
SQLITE_CACHE_KIB = 256 * 1024
#: Columns of a visit given by the caller, and those derived from them (:mod:`geo.coverage.keys`).
VISIT_FIELDS = ("content_key", "campaign", "site", "visited_at", "time_known", "street_number", "street",
                "postcode", "city", "building", "door", "lat", "lon", "location_status", "geocode_score",
                "code_qp", "qpv_status", "outcome", "language", "topics", "voisin")
DERIVED_FIELDS = ("building_key", "week_start")
_NAMES = (*VISIT_FIELDS, *DERIVED_FIELDS)
#: Arrow types of the columns that are not text, for the CSV that ``COPY`` reads on PostgreSQL (Arrow writes
#: a missing value as an empty field and an empty text as ``""``, which is what ``COPY ... (FORMAT csv)`` reads
#: as NULL and as an empty text).
_ARROW_TYPES = {"time_known": pa.bool_(), "lat": pa.float64(), "lon": pa.float64(), "geocode_score": pa.float64(),
                "week_start": pa.int64()}


def visit_columns(rows: pd.DataFrame) -> dict[str, list]:
    """The columns of ``rows`` as Python values ready for the database, with the derived ones.

    Parameters
    ----------
    rows : pandas.DataFrame
        Visits with the columns :data:`VISIT_FIELDS`.

    Returns
    -------
    dict of str to list
        One list per name of :data:`VISIT_FIELDS` and :data:`DERIVED_FIELDS` (``None`` for missing values).
    """
    missing = [c for c in VISIT_FIELDS if c not in rows.columns]
    if missing:
        raise ValueError(f"rows: expected the columns {list(VISIT_FIELDS)}, missing {missing}")
    cols: dict[str, list] = {}
    for name in VISIT_FIELDS:
        values = rows[name]
        if name in ("lat", "lon", "geocode_score"):
            arr = values.to_numpy(dtype=float)
            cells = arr.astype(object)
            cells[np.isnan(arr)] = None
            cols[name] = cells.tolist()
        elif name == "visited_at":  # the text sqlite3 stores for a datetime (seconds), which COPY reads too
            stamps = np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="s")
            cols[name] = np.char.replace(stamps, "T", " ").tolist()
        elif name == "time_known":
            cols[name] = values.to_numpy(dtype=bool).tolist()
        elif name == "code_qp":
            cols[name] = [v if isinstance(v, str) and v else None for v in values.to_numpy(dtype=object).tolist()]
        else:
            cols[name] = values.astype("str").tolist()
    keys, _ = building_keys(rows)
    cols["building_key"] = keys.tolist()
    cols["week_start"] = week_start(day_numbers(rows["visited_at"])).tolist()
    return cols


class VisitStaging:
    """The temporary table of one import's visits on one connection (see the module docstring).

    Creating it, :meth:`add` and :meth:`publish` run inside the caller's transactions: ``add`` in short ones
    of their own (or the write transaction of a small insert), ``publish`` in :func:`geo.db.write_transaction`.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        The importing connection; the staged rows are visible to it alone.
    progress : callable, optional
        ``progress("write", done, total)`` as the staged visits are published.

    Attributes
    ----------
    staged : int
        Visits staged so far.
    import_id : int or None
        The import record, once written (:meth:`stream_into_store` or :meth:`publish`).
    streamed : int
        Visits inserted into the store as they were added (PostgreSQL, after :meth:`stream_into_store`).
    """

    def __init__(self, conn: Connection, *, progress: Callable[[str, int, int], None] | None = None) -> None:
        self.conn = conn
        self.progress = progress
        self.staged = 0
        self.streamed = 0
        self.import_id: int | None = None
        self._streaming = False
        self._overlapping = False  # a streamed chunk held a stored content key
        self._demo = False
        self.postgresql = conn.dialect.name == "postgresql"
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {STAGED} AS "
                             f"SELECT {', '.join(_NAMES)} FROM door_visits WHERE 1 = 0")
        conn.exec_driver_sql(f"DELETE FROM {STAGED}")

    def add(self, rows: pd.DataFrame) -> int:
        """Stage visits (content keys unique within the import); returns how many."""
        if not len(rows):
            return 0
        cols = visit_columns(rows)
        if self._streaming:
            self.streamed += self._copy_new(cols)
        elif self.postgresql:
            self._copy(cols)
        else:
            self._insert(cols)
        self.staged += len(rows)
        return len(rows)

    def stream_into_store(self, *, file_sha256: str, file_name: str, file_format: str, demo: bool = False) -> int:
        """PostgreSQL: record the import now, and from here on insert each chunk :meth:`add` stages into the
        visits at once, inside the caller's write transaction, which stays open until :meth:`publish`.

        The database's own process then inserts and indexes a chunk while Python reads the next one; readers see
        nothing of it before the commit. The caller serialises such imports (an advisory lock held by that
        transaction, :mod:`geo.coverage.store.import_transaction`), so two of them never wait on each other's
        rows.

        Parameters
        ----------
        file_sha256, file_name, file_format : str
            The file's hash, stored name and format.
        demo : bool
            True for the fictitious demo history.

        Returns
        -------
        int
            The import id.
        """
        if not self.postgresql:
            raise ValueError(f"conn: expected a PostgreSQL connection to stream visits into the store, "
                             f"got {self.conn.dialect.name}")
        if self.staged:
            raise ValueError(f"stream_into_store: expected no visit staged yet, got {self.staged}")
        self._record(file_sha256=file_sha256, file_name=file_name, file_format=file_format, n_rows=0,
                     n_rejected=0, demo=demo)
        self._streaming, self._demo = True, demo
        return int(self.import_id)

    def _record(self, *, file_sha256: str, file_name: str, file_format: str, n_rows: int, n_rejected: int,
                demo: bool) -> None:
        """Insert the import record (counts completed by :meth:`publish`)."""
        self.import_id = int(self.conn.execute(
            sa.insert(IMPORTS).returning(IMPORTS.c.id),
            {"file_sha256": file_sha256, "file_name": file_name[:255], "file_format": file_format,
             "imported_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "n_rows": n_rows, "n_imported": 0,
             "n_duplicates": 0, "n_rejected": n_rejected, "n_pending": 0, "demo": demo},
        ).scalar_one())

    def _insert(self, cols: dict[str, list]) -> None:
        rows = list(zip(*(cols[f] for f in _NAMES), strict=True))
        sql = f"INSERT INTO {STAGED} ({', '.join(_NAMES)}) VALUES ({', '.join('?' * len(_NAMES))})"
        for start in range(0, len(rows), SQLITE_BATCH):
            self.conn.exec_driver_sql(sql, rows[start:start + SQLITE_BATCH])

    def _copy(self, cols: dict[str, list], *, into: str = STAGED, extra: tuple = ()) -> None:
        """``COPY`` the rows of ``cols`` into the table ``into``, with the values ``extra`` of the columns
        ``import_id, demo`` when given."""
        names = (*_NAMES, "import_id", "demo") if extra else _NAMES
        n = len(cols["content_key"])
        arrays = [pa.array(cols[f], type=_ARROW_TYPES.get(f, pa.string())) for f in _NAMES]
        arrays += [pa.array(itertools.repeat(value, n), type=kind, size=n)
                   for value, kind in zip(extra, (pa.int64(), pa.bool_()), strict=False)]
        text = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_arrays(arrays, names=list(names)), text,
                         pa_csv.WriteOptions(include_header=False))
        import psycopg  # the PostgreSQL driver, there whenever this runs

        sql = f"COPY {into} ({', '.join(names)}) FROM STDIN (FORMAT csv)"
        raw = self.conn.connection.driver_connection
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                copy.write(text.getbuffer())
        except psycopg.Error as exc:
            # raised as SQLAlchemy raises the errors of its own statements, with the server's first line only: its
            # context quotes the failing row, which must reach no log nor any job's error
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise sa.exc.DBAPIError.instance(sql, None, type(exc)(first), psycopg.Error,
                                             dialect=self.conn.dialect) from None

    def _copy_new(self, cols: dict[str, list]) -> int:
        """Streaming: ``COPY`` a chunk's visits straight into the visits (the fastest way in: no temporary table,
        no speculative insertion); returns how many went in.

        Importers are serialised, so a content key of the chunk is already stored only when the file overlaps
        an earlier one (or a field entry, whose keys are made otherwise, hits one): the ``COPY`` then fails
        under a savepoint and the chunk goes in through the temporary table with ``ON CONFLICT DO NOTHING``,
        as do the next chunks of the file (an overlapping file seldom overlaps in one chunk only).
        """
        import psycopg  # the PostgreSQL driver, there whenever this runs

        if not self._overlapping:
            savepoint = self.conn.begin_nested()
            try:
                self._copy(cols, into="door_visits", extra=(self.import_id, self._demo))
            except sa.exc.IntegrityError as exc:
                savepoint.rollback()
                if not isinstance(exc.orig, psycopg.errors.UniqueViolation):
                    raise
                self._overlapping = True
            else:
                savepoint.commit()
                return len(cols["content_key"])
        self._copy(cols)
        inserted = self._insert_staged(int(self.import_id), self._demo)
        self.conn.exec_driver_sql(f"TRUNCATE {STAGED}")
        return inserted

    def publish(self, *, file_sha256: str, file_name: str, file_format: str, n_rows: int, n_rejected: int,
                n_pending: int, demo: bool = False) -> tuple[int, int]:
        """Record the import and insert the staged visits, inside the caller's write transaction.

        After :meth:`stream_into_store` the import is already recorded and its visits inserted: only the roll-up
        and the counts of the record remain.

        Parameters
        ----------
        file_sha256, file_name, file_format : str
            The file's hash, stored name and format.
        n_rows, n_rejected, n_pending : int
            Data rows read, rows rejected by validation, staged visits awaiting geocoding.
        demo : bool
            True for the fictitious demo history.

        Returns
        -------
        (int, int)
            The import id and the visits inserted (the others were already stored).
        """
        conn = self.conn
        if self.import_id is None:
            self._record(file_sha256=file_sha256, file_name=file_name, file_format=file_format, n_rows=n_rows,
                         n_rejected=n_rejected, demo=demo)
        import_id = int(self.import_id)
        if self.progress is not None:
            self.progress("write", 0, self.staged)
        with self._large_cache():
            if self._streaming:
                inserted = self.streamed
            else:
                with self._indexes_rebuilt():
                    inserted = self._insert_staged(import_id, demo) if self.staged else 0
            if inserted:
                refresh_rollup_of_import(conn, import_id=import_id)
        conn.execute(sa.update(IMPORTS).where(IMPORTS.c.id == import_id).values(
            n_rows=n_rows, n_rejected=n_rejected, n_imported=inserted, n_duplicates=self.staged - inserted,
            n_pending=n_pending))
        if self.progress is not None:
            self.progress("write", self.staged, self.staged)
        return int(import_id), inserted

    @contextlib.contextmanager
    def _large_cache(self) -> Iterator[None]:
        """On SQLite, the indexes and the roll-up recount of a large insert work in a page cache of
        :data:`SQLITE_CACHE_KIB` instead of 2 MiB (set back afterwards: the connection returns to the pool)."""
        if self.postgresql or self.staged < SQLITE_BATCH:
            yield
            return
        default = int(self.conn.exec_driver_sql("PRAGMA main.cache_size").scalar_one())
        self.conn.exec_driver_sql(f"PRAGMA main.cache_size = -{SQLITE_CACHE_KIB}")
        try:
            yield
        finally:
            self.conn.exec_driver_sql(f"PRAGMA main.cache_size = {default}")

    @contextlib.contextmanager
    def _indexes_rebuilt(self) -> Iterator[None]:
        """On SQLite, when the staged visits are at least as many as the stored ones (a first large import), the
        secondary indexes of the visits are dropped before the insert and built again after it, in the same
        transaction: sorting once is about three times faster than a million random index inserts. Readers
        (WAL) keep seeing the indexes of the last commit; the unique index of the content keys stays."""
        if self.postgresql or self.staged < SQLITE_BATCH:
            yield
            return
        stored = int(self.conn.execute(sa.select(sa.func.count()).select_from(VISITS)).scalar_one())
        if self.staged < stored:
            yield
            return
        for index in VISITS.indexes:
            index.drop(self.conn)
        yield
        for index in VISITS.indexes:
            index.create(self.conn)

    def _insert_staged(self, import_id: int, demo: bool, *, ordered: bool = True) -> int:
        names = ", ".join(_NAMES)
        if self.postgresql:
            # a fixed order (by content key) keeps concurrent writers of overlapping visits free of deadlocks; a
            # streamed chunk needs none (streaming imports are serialised, see stream_into_store)
            order = "ORDER BY content_key" if ordered else ""
            sql = (f"INSERT INTO door_visits ({names}, import_id, demo) SELECT {names}, %(import_id)s, %(demo)s "
                   f"FROM {STAGED} {order} ON CONFLICT (content_key) DO NOTHING")
            return int(self.conn.exec_driver_sql(sql, {"import_id": import_id, "demo": demo}).rowcount)
        # file order (the staged table's rowid); "WHERE 1" lets SQLite read the ON CONFLICT clause
        sql = (f"INSERT INTO door_visits ({names}, import_id, demo) SELECT {names}, ?, ? FROM {STAGED} "
               "WHERE 1 ORDER BY rowid ON CONFLICT (content_key) DO NOTHING")
        return int(self.conn.exec_driver_sql(sql, (import_id, demo)).rowcount)

    def drop(self) -> None:
        """Forget the staged visits (the table goes with the connection anyway)."""
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGED}")
        self.staged = self.streamed = 0
        self.import_id, self._streaming, self._overlapping = None, False, False
