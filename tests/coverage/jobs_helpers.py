"""Helpers of the job-queue tests: stored uploads, a geocoder that never answers, worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import threading
import traceback
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


class silent_server:  # noqa: N801 - used as a context manager, like a function
    """A server on 127.0.0.1 that accepts connections and never answers; ``with`` gives its base URL."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.listener.settimeout(0.2)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError):
                self.held.append(self.listener.accept()[0])  # kept open, never read from nor written to

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        for conn in [*self.held, self.listener]:
            conn.close()


def run_in_processes(target: Any, args: tuple, *, count: int = 2, timeout: float = 300) -> list[dict]:
    """Start ``count`` spawned processes running ``target(*args, barrier, results)``; return their reports."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(count), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for _ in range(count)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=timeout) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return outcomes


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
