"""Helpers of the job-queue tests: stored uploads, a geocoder that never answers, worker processes."""

from __future__ import annotations

import contextlib
import socket
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coverage_helpers import visit_rows


def csv_upload(n: int, *, start: int = 0, addresses: bool = False, campaign: str = "Jobs 2025") -> bytes:
    """A valid door-visit CSV of ``n`` rows (address-only rows with ``addresses``)."""
    rows = visit_rows(n, start=start, campaign=campaign)
    if addresses:
        rows = rows.assign(latitude="", longitude="", numero=[str(1 + i % 40) for i in range(n)],
                           voie="avenue des Tuileries", code_postal="91350", commune="Grigny")
    return rows.to_csv(sep=";", index=False).encode("utf-8")


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A server on 127.0.0.1 that accepts connections and never answers; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never read from nor written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def sql_worker_process(url: str, barrier: Any, results: Any) -> None:
    """Run a burst SQL worker on the store at ``url`` once every worker is ready; report the jobs it ran."""
    try:
        from geo.coverage.store import open_store
        from geo.jobs.sql_queue import SqlJobQueue
        from geo.jobs.tasks import WorkerContext
        from geo.jobs.worker import work

        queue = SqlJobQueue(open_store(url))
        context = WorkerContext(store_url=url, data_dir=Path("/nonexistent-voisinmap-data"))
        barrier.wait(timeout=120)
        results.put({"ran": work(queue, context=context, burst=True)})
    except Exception:  # reported to the parent, which fails the test
        results.put({"error": traceback.format_exc()})


def redis_worker_process(redis_url: str, queue_name: str, store_url: str, barrier: Any, results: Any) -> None:
    """Run a burst RQ worker on ``queue_name``; report that it stopped."""
    try:
        from geo.jobs.redis_queue import RedisJobQueue, set_worker_context
        from geo.jobs.tasks import WorkerContext

        set_worker_context(WorkerContext(store_url=store_url, data_dir=Path("/nonexistent-voisinmap-data")))
        queue = RedisJobQueue(redis_url, name=queue_name)
        barrier.wait(timeout=120)
        queue.work(burst=True)
        results.put({"ran": True})
    except Exception:
        results.put({"error": traceback.format_exc()})
