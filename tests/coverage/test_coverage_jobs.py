"""Background jobs for real: the SQL queue on SQLite and PostgreSQL, the RQ queue on Redis, competing workers,
the worker command, a geocoder that never answers."""

from __future__ import annotations

import os
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from jobs_helpers import csv_upload, redis_worker_process, run_in_processes, silent_server, sql_worker_process
from spreadsheet_bombs import dimension_bomb

from geo.coverage import store
from geo.coverage.geocode import Geocoder
from geo.jobs import DONE, FAILED, QUEUED, enqueue_geocode, enqueue_import, extension_of, store_upload
from geo.jobs.sql_queue import JOBS, SqlJobQueue
from geo.jobs.tasks import WorkerContext
from geo.jobs.worker import start_background_worker, work

REDIS_ENV = "VOISINMAP_TEST_REDIS_URL"
NO_DATA = Path("/nonexistent-voisinmap-data")


@pytest.fixture
def queue(engine: sa.Engine) -> SqlJobQueue:
    return SqlJobQueue(engine)


@pytest.fixture
def context(db_url: str) -> Iterator[WorkerContext]:
    ctx = WorkerContext(store_url=db_url, data_dir=NO_DATA, geocode_budget=5.0)
    yield ctx
    ctx.close()


def _visits(engine: sa.Engine) -> int:
    return store.count_visits(engine)


def test_store_upload_keeps_a_hash_never_the_name(tmp_path: Path) -> None:
    data = csv_upload(3)
    ext = extension_of("visites famille Diallo 0612345678.CSV")
    stored = store_upload(data, extension=ext, folder=tmp_path / "uploads")
    assert stored.path.name == f"{stored.sha256}.csv" and stored.path.read_bytes() == data
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.path.parent.stat().st_mode) == 0o700
    assert store_upload(data, extension="csv", folder=tmp_path / "uploads") == stored
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [stored.path.name]
    with pytest.raises(ValueError, match="expected a name ending in .csv or .xlsx, got an extension 'txt'"):
        extension_of("notes.txt")


def test_import_job_runs_once_reports_and_is_idempotent(queue: SqlJobQueue, context: WorkerContext,
                                                       engine: sa.Engine, tmp_path: Path) -> None:
    stored = store_upload(csv_upload(40), extension="csv", folder=tmp_path)
    job = enqueue_import(queue, stored, geocode=False)
    assert job.status == QUEUED and job.payload["path"] == str(stored.path)
    assert enqueue_import(queue, stored, geocode=False).id == job.id  # the same file is one job
    assert work(queue, context=context, burst=True) == 1
    done = queue.get(job.id)
    assert done.status == DONE and done.finished_at is not None
    assert done.report["imported"] == 40 and done.report["file"] == stored.path.name
    assert (done.step, done.done, done.total) == ("write", 40, 40)
    assert _visits(engine) == 40
    again = enqueue_import(queue, stored, geocode=False)
    assert again.id == job.id and again.status == DONE
    assert work(queue, context=context, burst=True) == 0 and _visits(engine) == 40
    other_scope = enqueue_import(queue, stored, geocode=False, allowed_sites=["91286"])
    assert other_scope.id != job.id  # another manager's scope is another job, which adds nothing either
    work(queue, context=context, burst=True)
    assert queue.get(other_scope.id).report["duplicates"] == 40 and _visits(engine) == 40


def test_refused_and_failed_jobs(queue: SqlJobQueue, context: WorkerContext, tmp_path: Path,
                                 engine: sa.Engine) -> None:
    bomb = store_upload(dimension_bomb(tmp_path / "b.xlsx").read_bytes(), extension="xlsx", folder=tmp_path / "u")
    refused = enqueue_import(queue, bomb)
    stored = store_upload(csv_upload(5), extension="csv", folder=tmp_path / "u")
    content = stored.path.read_bytes()
    stored.path.unlink()
    lost = enqueue_import(queue, stored, geocode=False)
    assert work(queue, context=context, burst=True) == 2
    report = queue.get(refused.id).report
    assert report["status"] == "refused" and report["code"] == "limit.dimension"
    assert "dimension déclarée" in report["message"] and "declared sheet dimension" in report["message_en"]
    failed = queue.get(lost.id)
    assert failed.status == FAILED and failed.error == "FileNotFoundError"
    stored.path.write_bytes(content)
    assert enqueue_import(queue, stored, geocode=False).status == QUEUED  # a failed job is queued again
    work(queue, context=context, burst=True)
    assert queue.get(lost.id).status == DONE and _visits(engine) == 5


def test_claims_are_exclusive_under_contention(queue: SqlJobQueue) -> None:
    ids = {queue.enqueue("geocode", {"limit": i + 1}).id for i in range(30)}
    claimed: list[str] = []
    start = threading.Barrier(6)

    def claimant(n: int) -> None:
        start.wait()
        while (job := queue.claim(worker=f"w{n}")) is not None:
            claimed.append(job.id)

    threads = [threading.Thread(target=claimant, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)  # every job claimed, none twice


def test_a_job_whose_worker_died_is_claimed_again(engine: sa.Engine) -> None:
    queue = SqlJobQueue(engine, lease_seconds=0.2)
    job = queue.enqueue("geocode", {"limit": 1})
    assert queue.claim(worker="dead").id == job.id
    assert queue.claim(worker="alive") is None
    time.sleep(0.4)
    again = queue.claim(worker="alive")
    assert again.id == job.id
    with engine.connect() as conn:
        assert conn.execute(sa.select(JOBS.c.attempts, JOBS.c.worker).where(JOBS.c.id == job.id)).one() == (2, "alive")


def test_two_worker_processes_share_the_jobs(db_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    queue = SqlJobQueue(engine)
    jobs = [enqueue_import(queue, store_upload(csv_upload(30, start=30 * i), extension="csv", folder=tmp_path),
                           geocode=False) for i in range(10)]
    outcomes = run_in_processes(sql_worker_process, (db_url,))
    assert not [o for o in outcomes if "error" in o], outcomes
    assert sum(o["ran"] for o in outcomes) == 10
    assert {queue.get(j.id).status for j in jobs} == {DONE}
    assert sum(queue.get(j.id).report["imported"] for j in jobs) == 300 == _visits(engine)
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(JOBS.c.attempts)).scalars()) == {1}


def test_worker_command_runs_the_queue(db_url: str, queue: SqlJobQueue, tmp_path: Path, engine: sa.Engine) -> None:
    from geo.cli.worker import worker

    for i in range(2):
        enqueue_import(queue, store_upload(csv_upload(10, start=10 * i), extension="csv", folder=tmp_path),
                       geocode=False)
    result = CliRunner().invoke(worker, ["--db", db_url, "--burst", "--data-dir", str(NO_DATA)])
    assert result.exit_code == 0, result.output
    assert "2 tâche(s) exécutée(s)" in result.output
    assert _visits(engine) == 20


def test_background_thread_runs_jobs(queue: SqlJobQueue, context: WorkerContext, tmp_path: Path) -> None:
    thread, stop = start_background_worker(queue, context=context, poll=0.05)
    try:
        job = enqueue_import(queue, store_upload(csv_upload(8), extension="csv", folder=tmp_path), geocode=False)
        deadline = time.monotonic() + 60
        while queue.get(job.id).status != DONE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.get(job.id).report["imported"] == 8
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_geocoder_that_never_answers_is_bounded_by_its_budget() -> None:
    import pandas as pd

    addresses = pd.DataFrame({"street_number": ["12", "3"], "street": ["avenue des Tuileries", "rue du Minotaure"],
                              "postcode": ["91350"] * 2, "city": ["Grigny"] * 2})
    with silent_server() as url:
        started = time.monotonic()
        out = Geocoder(url=url, timeout=(1.0, 30.0), retries=5, backoff=0.2, budget=2.0).geocode(addresses)
        elapsed = time.monotonic() - started
    assert set(out["location_status"]) == {"en_attente"}
    assert 1.5 < elapsed < 3.0, elapsed
    with pytest.raises(ValueError, match="budget: expected a number of seconds > 0 or None, got 0"):
        Geocoder(url="http://x", budget=0)


def test_import_and_geocode_jobs_end_within_the_budget(queue: SqlJobQueue, db_url: str, tmp_path: Path,
                                                       engine: sa.Engine) -> None:
    with silent_server() as url:
        ctx = WorkerContext(store_url=db_url, data_dir=NO_DATA, geocoder_url=url, geocode_budget=2.0,
                            geocode_timeout=(1.0, 30.0))
        job = enqueue_import(queue, store_upload(csv_upload(12, addresses=True), extension="csv", folder=tmp_path))
        started = time.monotonic()
        work(queue, context=ctx, burst=True)
        import_seconds = time.monotonic() - started
        geocode = enqueue_geocode(queue)
        started = time.monotonic()
        work(queue, context=ctx, burst=True)
        geocode_seconds = time.monotonic() - started
        ctx.close()
    report = queue.get(job.id).report
    assert report["imported"] == 12 and report["pending_geocoding"] == 12
    assert import_seconds < 2.0 + 3.0, import_seconds  # the budget, plus reading and writing 12 rows
    assert queue.get(geocode.id).report["pending_geocoding"] == queue.get(geocode.id).report["addresses"] > 0
    assert geocode_seconds < 2.0 + 3.0, geocode_seconds
    assert len(store.pending_addresses(engine)) == queue.get(geocode.id).report["addresses"]  # still pending


# ---------------------------------------------------------------------------------------------- Redis (RQ)
@pytest.fixture
def redis_queue_name() -> Iterator[tuple[str, str]]:
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("VOISINMAP_REQUIRE_REDIS") == "1":
            pytest.fail(f"{REDIS_ENV} is not set but VOISINMAP_REQUIRE_REDIS=1")
        pytest.skip(f"{REDIS_ENV} is not set (CI sets it to a Redis database reserved for tests)")
    from redis import Redis

    name = f"test-{uuid.uuid4().hex[:10]}"
    yield url, name
    connection = Redis.from_url(url)
    for key in connection.scan_iter(match=f"*{name}*"):
        connection.delete(key)


def test_redis_queue_dedupes_and_two_workers_share_the_jobs(redis_queue_name: tuple[str, str], db_url: str,
                                                            engine: sa.Engine, tmp_path: Path) -> None:
    from geo.jobs.redis_queue import RedisJobQueue

    url, name = redis_queue_name
    queue = RedisJobQueue(url, name=name)
    uploads = [store_upload(csv_upload(20, start=20 * i), extension="csv", folder=tmp_path) for i in range(6)]
    jobs = [enqueue_import(queue, stored, geocode=False) for stored in uploads]
    assert enqueue_import(queue, uploads[0], geocode=False).id == jobs[0].id
    assert {queue.get(j.id).status for j in jobs} == {QUEUED}
    outcomes = run_in_processes(redis_worker_process, (url, name, db_url))
    assert not [o for o in outcomes if "error" in o], outcomes
    finished = [queue.get(j.id) for j in jobs]
    assert {j.status for j in finished} == {DONE}
    assert sum(j.report["imported"] for j in finished) == 120 == _visits(engine)
    assert (finished[0].step, finished[0].done, finished[0].total) == ("write", 20, 20)
    again = enqueue_import(queue, uploads[0], geocode=False)
    assert again.id == jobs[0].id and again.status == DONE


def test_redis_failed_job_keeps_no_data_and_is_queued_again(redis_queue_name: tuple[str, str], db_url: str,
                                                            engine: sa.Engine, tmp_path: Path) -> None:
    from geo.jobs.redis_queue import RedisJobQueue, set_worker_context

    url, name = redis_queue_name
    queue = RedisJobQueue(url, name=name)
    stored = store_upload(csv_upload(4), extension="csv", folder=tmp_path)
    content = stored.path.read_bytes()
    stored.path.unlink()
    job = enqueue_import(queue, stored, geocode=False)
    set_worker_context(WorkerContext(store_url=db_url, data_dir=NO_DATA))
    queue.work(burst=True)
    failed = queue.get(job.id)
    assert failed.status == FAILED and failed.error == "FileNotFoundError"
    stored.path.write_bytes(content)
    assert enqueue_import(queue, stored, geocode=False).status == QUEUED
    queue.work(burst=True)
    assert queue.get(job.id).status == DONE and _visits(engine) == 4
