"""The embedded job queue: one SQL table in the coverage store's database (SQLite or PostgreSQL).

Several processes share it. A worker *claims* a job with one conditional UPDATE
(``... SET status='running' WHERE id=:id AND (status='queued' OR lease expired)``): the database applies it to
one claimant only, so two workers never run the same job. A running job renews a lease as it reports
progress; a job whose worker died (lease expired) is claimed again, which is safe because an import is
all-or-nothing and idempotent. The table has its own SQLAlchemy metadata and is created on first use
(``CREATE TABLE IF NOT EXISTS``), apart from the store's migrations.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from geo.jobs.model import DONE, FAILED, QUEUED, RUNNING, Job, check_kind, utcnow

logger = logging.getLogger(__name__)

METADATA = sa.MetaData()
JOBS = sa.Table(
    "voisinmap_jobs", METADATA,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("dedupe_key", sa.String(128), unique=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("step", sa.String(32), nullable=False, default=""),
    sa.Column("done", sa.BigInteger, nullable=False, default=0),
    sa.Column("total", sa.BigInteger, nullable=False, default=0),
    sa.Column("report", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(128)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
)

#: Seconds a claimed job stays reserved without news from its worker.
LEASE_SECONDS = 300.0
#: Least seconds between two progress writes of one job.
PROGRESS_INTERVAL = 0.5


def _as_job(row: sa.Row) -> Job:
    return Job(id=row.id, kind=row.kind, status=row.status, payload=json.loads(row.payload), step=row.step or "",
               done=int(row.done or 0), total=int(row.total or 0),
               report=json.loads(row.report) if row.report else None, error=row.error, dedupe_key=row.dedupe_key,
               created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at)


class SqlJobQueue:
    """A job queue in a SQL table.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The coverage store's engine (:func:`geo.coverage.store.open_store`); the table is created if missing.
    lease_seconds : float
        How long a claimed job stays reserved without progress news.
    """

    def __init__(self, engine: Engine, *, lease_seconds: float = LEASE_SECONDS) -> None:
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds: expected a positive number, got {lease_seconds}")
        self.engine = engine
        self.lease_seconds = lease_seconds
        METADATA.create_all(engine, checkfirst=True)
        # SQLite has one writer: progress goes through connections that give up quickly instead of waiting
        # for another import's transaction, and is not written while this job's own import holds the lock
        self.single_writer = engine.dialect.name == "sqlite"
        self._progress_engine = (sa.create_engine(engine.url, connect_args={"timeout": 0.5}, poolclass=NullPool)
                                 if self.single_writer else engine)

    # ------------------------------------------------------------------ producer side
    def enqueue(self, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None) -> Job:
        """Add a job; with a ``dedupe_key`` already known, return that job instead (re-queued if it failed).

        Parameters
        ----------
        kind : str
            One of :data:`geo.jobs.model.KINDS`.
        payload : dict
            JSON-serialisable task arguments.
        dedupe_key : str, optional
            Identity of the work (e.g. ``import:<sha256>``): one job per key.

        Returns
        -------
        Job
        """
        check_kind(kind)
        values = {"id": uuid.uuid4().hex, "kind": kind, "status": QUEUED, "dedupe_key": dedupe_key,
                  "payload": json.dumps(payload, sort_keys=True), "step": "", "done": 0, "total": 0, "attempts": 0,
                  "created_at": utcnow()}
        try:
            with self.engine.begin() as conn:
                values["seq"] = conn.execute(sa.select(sa.func.coalesce(sa.func.max(JOBS.c.seq), 0) + 1)).scalar_one()
                conn.execute(sa.insert(JOBS), values)
        except IntegrityError:
            if dedupe_key is None:
                raise
            return self._existing(dedupe_key)
        logger.info("job %s (%s) queued", values["id"], kind)
        return self.get(values["id"])

    def _existing(self, dedupe_key: str) -> Job:
        with self.engine.begin() as conn:
            conn.execute(sa.update(JOBS).where(JOBS.c.dedupe_key == dedupe_key, JOBS.c.status == FAILED).values(
                status=QUEUED, error=None, step="", done=0, total=0, finished_at=None, lease_until=None))
            row = conn.execute(sa.select(JOBS).where(JOBS.c.dedupe_key == dedupe_key)).one()
        return _as_job(row)

    def get(self, job_id: str) -> Job | None:
        """The job of that id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(JOBS).where(JOBS.c.id == job_id)).one_or_none()
        return None if row is None else _as_job(row)

    def jobs(self, *, status: str | None = None) -> list[Job]:
        """All jobs (of one status), oldest first."""
        query = sa.select(JOBS).order_by(JOBS.c.seq)
        if status is not None:
            query = query.where(JOBS.c.status == status)
        with self.engine.connect() as conn:
            return [_as_job(row) for row in conn.execute(query)]

    # ------------------------------------------------------------------ worker side
    def claim(self, *, worker: str) -> Job | None:
        """Take the oldest claimable job for ``worker``; None when there is none.

        A job is claimable when queued, or running with an expired lease (its worker died). The conditional
        UPDATE succeeds for one claimant only.
        """
        now = utcnow()
        claimable = sa.or_(JOBS.c.status == QUEUED, sa.and_(JOBS.c.status == RUNNING, JOBS.c.lease_until < now))
        with self.engine.connect() as conn:
            candidates = conn.execute(sa.select(JOBS.c.id).where(claimable).order_by(JOBS.c.seq).limit(8)).scalars().all()
        for job_id in candidates:
            with self.engine.begin() as conn:
                taken = conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, claimable).values(
                    status=RUNNING, worker=worker[:128], started_at=now, attempts=JOBS.c.attempts + 1,
                    lease_until=now + dt.timedelta(seconds=self.lease_seconds))).rowcount
            if taken == 1:
                logger.info("job %s claimed by %s", job_id, worker)
                return self.get(job_id)
        return None

    def progress(self, job_id: str, step: str, done: int, total: int) -> bool:
        """Record progress and renew the lease; False when the database was busy (progress is best-effort)."""
        try:
            with self._progress_engine.begin() as conn:
                conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id, JOBS.c.status == RUNNING).values(
                    step=step[:32], done=int(done), total=int(total),
                    lease_until=utcnow() + dt.timedelta(seconds=self.lease_seconds)))
        except OperationalError:
            logger.debug("job %s: progress not recorded (database busy)", job_id)
            return False
        return True

    def finish(self, job_id: str, report: dict[str, Any], **last: object) -> None:
        """Mark a job done with its report (and its last ``step``, ``done``, ``total``)."""
        self._close(job_id, status=DONE, report=json.dumps(report, sort_keys=True), error=None, **last)

    def fail(self, job_id: str, error: str, **last: object) -> None:
        """Mark a job failed with a message (and its last ``step``, ``done``, ``total``)."""
        self._close(job_id, status=FAILED, report=None, error=error, **last)

    def _close(self, job_id: str, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(JOBS).where(JOBS.c.id == job_id).values(finished_at=utcnow(), lease_until=None,
                                                                          **values))

    def run_next(self, *, worker: str, run: Callable[[Job, Callable[[str, int, int], None]], dict[str, Any]]
                 ) -> Job | None:
        """Claim one job and run it with ``run(job, progress)``; return the finished job (None when idle).

        ``run`` returns the report; an exception fails the job with its message (a
        :class:`~geo.coverage.errors.CoverageError`'s text, else its type only: no data in the message).
        """
        job = self.claim(worker=worker)
        if job is None:
            return None
        state: dict[str, Any] = {"step": "", "done": 0, "total": 0}
        written = [0.0]

        def progress(step: str, done: int, total: int) -> None:
            state.update(step=step[:32], done=int(done), total=int(total))
            if self.single_writer and step == "write":
                return  # this job's own transaction holds SQLite's lock; the final counts come with finish()
            now = time.monotonic()
            if now - written[0] >= PROGRESS_INTERVAL or done >= total:
                written[0] = now
                self.progress(job.id, step, done, total)

        try:
            report = run(job, progress)
        except Exception as exc:  # the job fails, the worker goes on
            from geo.jobs.tasks import failure_message

            logger.warning("job %s failed: %s", job.id, type(exc).__name__)
            self.fail(job.id, failure_message(exc), **state)
        else:
            self.finish(job.id, report, **state)
        return self.get(job.id)
