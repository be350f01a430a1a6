"""One file's import as one transaction of the store, whatever the number of its chunks.

>>> with engine.connect() as conn, ImportTransaction(conn, file=record) as writing:     # doctest: +SKIP
...     for rows in chunks:
...         writing.add(rows)
...     import_id, inserted = writing.commit(n_rows=10, n_rejected=0, n_pending=0)

How the chunks reach the store depends on the database (:mod:`geo.coverage.store.staging` does the writing):

* **PostgreSQL**: one write transaction spans the whole import. It first takes the *import lock* (a
  transaction-level advisory lock, :data:`PG_IMPORT_LOCK`) without waiting: when it gets it, the import is
  recorded at once and each chunk is inserted into the visits as it comes (``COPY`` into the temporary table,
  then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``), so PostgreSQL's process inserts and indexes chunk N
  while Python reads chunk N+1. When another import holds the lock, the chunks are only staged, and
  :meth:`ImportTransaction.commit` waits for the lock before inserting them all in content-key order: imports
  writing visits at the same moment are thus serialised, and never wait on each other's rows (no deadlock
  between imports of overlapping files). The roll-up lock (:data:`geo.coverage.store.rollup.PG_ROLLUP_LOCK`)
  is taken only for the final recount, always after the import lock: field entry, which takes the roll-up
  lock alone, waits for that recount at most, not for the reading of a file. MVCC keeps every uncommitted row
  out of other connections' view: readers see the store as it was until the single commit.
* **SQLite** (one writer at a time): each chunk is staged in the temporary table in a short transaction of its
  own, outside any write lock; :meth:`ImportTransaction.commit` inserts them in one ``BEGIN IMMEDIATE``
  transaction (:meth:`geo.coverage.store.staging.VisitStaging.publish`).

All or nothing: an exception, or a killed process (its connection closes, PostgreSQL rolls the transaction
back), before :meth:`ImportTransaction.commit` returns leaves the store exactly as it was. Nothing here logs
row content or file names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RootTransaction
from sqlalchemy.exc import SQLAlchemyError

from geo.coverage.store.staging import VisitStaging
from geo.db import write_transaction

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock held by the import writing visits ("doorimpt" in ASCII).
PG_IMPORT_LOCK = 0x646F6F72696D7074


@dataclass(frozen=True)
class ImportRecord:
    """What the store records of an imported file.

    Attributes
    ----------
    file_sha256 : str
        The file's hash.
    file_name : str
        Its stored name (:func:`geo.coverage.importer.stored_file_name`, never the name given by the user).
    file_format : str
        ``csv``, ``xlsx`` or ``frame``.
    demo : bool
        True for the fictitious demo history.
    """

    file_sha256: str
    file_name: str
    file_format: str
    demo: bool = False


class ImportTransaction:
    """The store's side of one import (see the module docstring); a context manager.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection of its own, outside any transaction (its temporary table holds the staged visits).
    file : ImportRecord
        The file being imported.
    progress : callable, optional
        ``progress("write", done, total)`` as the visits are published.

    Attributes
    ----------
    streaming : bool
        True when the chunks go into the visits as they come (PostgreSQL, import lock taken at once).
    """

    def __init__(self, conn: Connection, *, file: ImportRecord,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        if conn.in_transaction():
            raise ValueError("conn: expected a connection outside any transaction, got one inside a transaction")
        self.conn = conn
        self.file = file
        self.progress = progress
        self.streaming = False
        self._postgresql = conn.dialect.name == "postgresql"
        self._transaction: RootTransaction | None = None
        self._staging: VisitStaging | None = None

    def __enter__(self) -> ImportTransaction:
        if not self._postgresql:
            with self.conn.begin():
                self._staging = VisitStaging(self.conn, progress=self.progress)
            return self
        self._transaction = self.conn.begin()
        self._staging = VisitStaging(self.conn, progress=self.progress)
        locked = self.conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PG_IMPORT_LOCK})
        if locked.scalar_one():
            self.streaming = True
            self._staging.stream_into_store(file_sha256=self.file.file_sha256, file_name=self.file.file_name,
                                            file_format=self.file.file_format, demo=self.file.demo)
        return self

    @property
    def staged(self) -> int:
        """Valid visits handed over so far (inserted or staged)."""
        return self._staging.staged if self._staging is not None else 0

    def add(self, rows: pd.DataFrame) -> int:
        """Hand over one chunk of located visits (content keys unique within the import); returns how many.

        May run in another thread than the one that entered the context, never in two at once.
        """
        if self._staging is None:
            raise ValueError("ImportTransaction.add: expected to run inside its `with` block")
        if self._transaction is not None:
            return self._staging.add(rows)
        with self.conn.begin():
            return self._staging.add(rows)

    def commit(self, *, n_rows: int, n_rejected: int, n_pending: int) -> tuple[int, int]:
        """Complete the import, its record and the roll-up of its buildings, and commit them.

        Parameters
        ----------
        n_rows, n_rejected, n_pending : int
            Data rows read, rows rejected by validation, visits awaiting geocoding.

        Returns
        -------
        (int, int)
            The import id and the visits inserted (the others were already stored).
        """
        if self._staging is None:
            raise ValueError("ImportTransaction.commit: expected to run inside its `with` block")
        options = {"file_sha256": self.file.file_sha256, "file_name": self.file.file_name,
                   "file_format": self.file.file_format, "demo": self.file.demo, "n_rows": n_rows,
                   "n_rejected": n_rejected, "n_pending": n_pending}
        if self._transaction is None:
            with write_transaction(self.conn):
                return self._staging.publish(**options)
        if not self.streaming:  # another import held the lock: wait for it, then insert in content-key order
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_IMPORT_LOCK})
        published = self._staging.publish(**options)
        self._transaction.commit()
        self._transaction = None
        return published

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
            self._transaction = None
            if self.conn.in_transaction():
                self.conn.rollback()
            if self._staging is not None:
                with self.conn.begin():
                    self._staging.drop()
        except SQLAlchemyError:  # the staged visits go with the connection anyway
            logger.debug("staged visits left to the connection's end", exc_info=True)
        self._staging = None
