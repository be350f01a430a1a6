"""What a background job is, whichever queue holds it: :class:`Job`, its statuses, the :class:`JobQueue` protocol."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
STATUSES: tuple[str, ...] = (QUEUED, RUNNING, DONE, FAILED)

#: Kinds of work a worker knows how to run (:mod:`geo.jobs.tasks`).
KIND_IMPORT = "import"
KIND_GEOCODE = "geocode"
KINDS: tuple[str, ...] = (KIND_IMPORT, KIND_GEOCODE)


@dataclass
class Job:
    """One unit of background work and what is known of it.

    Attributes
    ----------
    id : str
        Queue-wide identifier.
    kind : str
        One of :data:`KINDS`.
    status : str
        One of :data:`STATUSES`.
    payload : dict
        What the task needs (stored file path and hash, options); never a person's data or an uploaded name.
    step : str
        Current step of the work (``validate``, ``geocode``, ``write``...), empty before it starts.
    done, total : int
        Progress of the current step (rows or addresses).
    report : dict or None
        The final report (the import's counts), once done.
    error : str or None
        Why the job failed (a user-facing message, or the exception's type).
    dedupe_key : str or None
        Jobs with the same key are one job: enqueuing it again returns the existing one.
    created_at, started_at, finished_at : datetime or None
        UTC times.
    """

    id: str
    kind: str
    status: str
    payload: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: str | None = None
    dedupe_key: str | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @property
    def finished(self) -> bool:
        """True once the job is done or failed."""
        return self.status in (DONE, FAILED)

    @property
    def sites(self) -> tuple[str, ...] | None:
        """Sites the job may read or write (``allowed_sites`` of an import, ``sites`` of a geocoding); None for
        every site (an administrator's job)."""
        scope = self.payload.get("allowed_sites" if self.kind == KIND_IMPORT else "sites")
        return None if scope is None else tuple(str(s) for s in scope)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view (for a page or ``--json``), without the payload."""
        return {"id": self.id, "kind": self.kind, "status": self.status, "step": self.step, "done": self.done,
                "total": self.total, "report": self.report, "error": self.error,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


class JobQueue(Protocol):
    """A queue shared by several processes: :class:`~geo.jobs.sql_queue.SqlJobQueue` or
    :class:`~geo.jobs.redis_queue.RedisJobQueue`."""

    def enqueue(self, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None) -> Job:
        """Add a job, or return the live job of the same ``dedupe_key``."""

    def get(self, job_id: str) -> Job | None:
        """The job of that id, or None."""

    def run_next(self, *, worker: str, run: Any) -> Job | None:
        """Claim the oldest queued job (no other worker can take it), run it with ``run``, record the outcome."""


def utcnow() -> dt.datetime:
    """Now in UTC, naive (as stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def check_kind(kind: str) -> None:
    """Raise ValueError unless ``kind`` is one of :data:`KINDS`."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
