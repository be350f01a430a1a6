"""Background jobs seen from the page Terrain: the queue of this process, who may read a job, its progress view.

An upload or the « Géocoder » button only enqueues a job (:mod:`geo.jobs`); the page keeps the job's id in a
``dcc.Store`` and polls :func:`readable_job` with a ``dcc.Interval``. The status lives in the queue (the SQL
table of the store, or Redis), so whichever server process answers a poll reads the same job.

Access: a job carries the sites it may touch (:attr:`geo.jobs.model.Job.sites`: the uploading manager's sites,
None for an administrator's job). A manager reads only jobs whose sites are all theirs; an administrator reads
every job; an unknown, malformed or foreign id reads as nothing (:func:`readable_job` returns None, the page
says the job is unknown, and nothing tells a foreign job from a missing one).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
from collections.abc import Collection
from typing import Any

from dash import html

from geo.i18n import t
from geo.jobs import (
    FAILED,
    KIND_IMPORT,
    QUEUED,
    Job,
    JobQueue,
    enqueue_import,
    extension_of,
    open_queue,
    redis_url,
)
from geo.jobs.uploads import store_upload

logger = logging.getLogger(__name__)

#: What a job id looks like (both queues use UUID4 hex); anything else is not looked up.
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: Milliseconds between two polls of a job by the page.
POLL_MS = 1000
#: Steps of an import or a geocoding (:mod:`geo.coverage.importer`) and the message naming each.
STEPS: dict[str, str] = {"validate": "terrain.job_step_validate", "geocode": "terrain.job_step_geocode",
                         "write": "terrain.job_step_write"}

_QUEUES: dict[tuple[str, str | None], JobQueue] = {}
_LOCK = threading.Lock()


def queue(store_url: str) -> JobQueue:
    """The job queue of the store ``store_url`` (Redis when ``$VOISINMAP_REDIS_URL`` is set), one per process."""
    key = (store_url, redis_url())
    with _LOCK:
        if key not in _QUEUES:
            _QUEUES[key] = open_queue(store_url=store_url)
        return _QUEUES[key]


def after_fork() -> None:
    """Forget the queues (and their database connections) inherited from the parent process."""
    with _LOCK:
        for opened in _QUEUES.values():
            engine = getattr(opened, "engine", None)
            if engine is not None:
                engine.dispose(close=False)
        _QUEUES.clear()


def may_read(job: Job, scope: Collection[str] | None) -> bool:
    """Whether a user of site ``scope`` (None: an administrator) may read ``job``.

    A manager may read a job only when it is limited to sites that are all theirs.
    """
    if scope is None:
        return True
    sites = job.sites
    return sites is not None and bool(sites) and set(sites) <= set(scope)


def readable_job(store_url: str, job_id: Any, *, kind: str, scope: Collection[str] | None) -> Job | None:
    """The job ``job_id`` of ``kind`` if the user of ``scope`` may read it, else None.

    Parameters
    ----------
    store_url : str
        The door-visit store (home of the SQL queue).
    job_id : Any
        The id the page kept (untrusted: anything but a job id reads as nothing).
    kind : {"import", "geocode"}
        The kind of job the caller follows.
    scope : collection of str or None
        The user's sites (None: an administrator).
    """
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        return None
    job = queue(store_url).get(job_id)
    if job is None or job.kind != kind:
        return None
    if not may_read(job, scope):
        logger.warning("job %s refused to a user of another scope", job_id)
        return None
    return job


def progress_view(job: Job, lang: str, *, queued_key: str, running_key: str = "terrain.job_running") -> list[Any]:
    """A running or queued job: a progress bar and « étape : n sur N » (``running_key`` with ``step``,
    ``done``, ``total``)."""
    if job.status == QUEUED or not job.step:
        return [html.Progress(className="geocode-bar job-bar"), html.Span(t(queued_key, lang))]
    step = t(STEPS[job.step], lang) if job.step in STEPS else job.step
    total = max(1, job.total)
    return [html.Progress(value=str(min(job.done, total)), max=str(total), className="geocode-bar job-bar"),
            html.Span(t(running_key, lang, step=step, done=job.done, total=job.total))]


def failed_view(lang: str, *, key: str) -> html.Div:
    """A job that failed (its message may name a server problem: it goes to the log, not to the page)."""
    return html.Div(t(key, lang), className="error", role="alert")


def unknown_view(lang: str) -> html.Div:
    """A job this user cannot read (unknown, expired or of another site)."""
    return html.Div(t("terrain.job_unknown", lang), className="error", role="alert")


def import_outcome(report: dict[str, Any], lang: str, *, filename: str) -> list[Any]:
    """The report of a finished import: counts, the importer's notes, the geocoding hint; or the refusal."""
    if report.get("status") == "refused":
        message = report.get("message_en") if lang == "en" and report.get("message_en") else report.get("message")
        return [html.Div(t("terrain.upload_refused", lang, e=message or ""), className="error", role="alert")]
    pending = int(report.get("pending_geocoding", 0))
    out: list[Any] = [html.Div(t("terrain.upload_done", lang, file=filename, imported=report.get("imported", 0),
                                 duplicates=report.get("duplicates", 0), rejected=report.get("rejected", 0),
                                 pending=pending), id="terrain-upload-summary")]
    # the page has its own geocoding button: notes that send the manager to the command line are left out
    out += [html.Div(note) for note in report.get("notes", []) if "voisinmap " not in note]
    if pending:
        out.append(html.Div(t("terrain.geocode_hint", lang, count=pending)))
    return out


def rejected_rows(report: dict[str, Any], *, filename: str) -> dict[str, str] | None:
    """The rejected-rows report of a finished import for ``dcc.Download`` (``name``, ``csv``), or None.

    The file was written by the job beside the stored upload (:func:`geo.jobs.tasks.run_import`); its name
    comes from the job's report, never from the request. The download takes the name the browser gave.
    """
    from geo.jobs.uploads import upload_dir

    written = report.get("report_file")
    if not report.get("rejected") or not isinstance(written, str) or "/" in written or "\\" in written:
        return None
    path = upload_dir() / written
    if not path.is_file():
        return None
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return {"name": f"{stem}.rejets.csv", "csv": path.read_text(encoding="utf-8-sig")}


def geocode_outcome(job: Job, lang: str) -> Any:
    """The end of a geocoding job: visits located, not found, still pending; or its failure."""
    if job.status == FAILED or job.report is None:
        return failed_view(lang, key="terrain.geocode_failed")
    report = job.report
    return t("terrain.geocode_done", lang, geocoded=report.get("visits_geocoded", 0),
             failed=report.get("visits_failed", 0), pending=report.get("visits_pending", 0))


def start_import(store_url: str, contents: str, filename: Any, *, scope: Collection[str] | None) -> Job:
    """Keep an uploaded file under its hash and queue its import; return the job at once.

    Parameters
    ----------
    store_url : str
        The door-visit store.
    contents : str
        The upload's data URL (``data:…;base64,…``).
    filename : Any
        The name the browser gave; only its extension is kept.
    scope : collection of str or None
        The user's sites: rows of other sites are rejected (None: an administrator, every site).

    Raises
    ------
    ValueError
        When ``contents`` is not base64 or ``filename`` does not end in ``.csv`` or ``.xlsx``.
    """
    extension = extension_of(str(filename or ""))
    try:
        data = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error) as exc:
        raise ValueError("contents: expected a base64 data URL") from exc
    stored = store_upload(data, extension=extension)
    return enqueue_import(queue(store_url), stored, allowed_sites=scope)


def follow_import(store_url: str, job_id: Any, *, scope: Collection[str] | None, lang: str,
                  filename: str) -> tuple[Any, Any, bool, bool]:
    """The state of an import job for the page: ``(children, rejected-rows report, report button hidden,
    poll disabled)``."""
    job = readable_job(store_url, job_id, kind=KIND_IMPORT, scope=scope)
    if job is None:
        return unknown_view(lang), None, True, True
    if not job.finished:
        return progress_view(job, lang, queued_key="terrain.job_queued"), None, True, False
    if job.status == FAILED or job.report is None:
        return failed_view(lang, key="terrain.job_failed"), None, True, True
    report = rejected_rows(job.report, filename=filename)
    return import_outcome(job.report, lang, filename=filename), report, report is None, True
