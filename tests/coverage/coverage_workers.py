"""Functions run in child processes by the concurrency tests (importable by name under ``spawn``)."""

from __future__ import annotations

import traceback
from typing import Any


def import_in_process(url: str, path: str, barrier: Any, results: Any, chunk_rows: int | None = None) -> None:
    """Open the store (migrating it if needed), wait for the others, import one file (in chunks of
    ``chunk_rows`` when given), report the counts."""
    try:
        import datetime as dt

        from geo.coverage.importer import import_file
        from geo.coverage.store import open_store

        barrier.wait(timeout=120)
        engine = open_store(url)
        options = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
        summary = import_file(path, engine=engine, today=dt.date(2026, 11, 21), **options)
        engine.dispose()
        results.put({"file": path, **summary.as_dict(), "chunks": summary.chunks})
    except Exception:  # reported to the parent, which fails the test
        results.put({"file": path, "error": traceback.format_exc()})


def import_at_once(url: str, paths: list[str], *, chunk_rows: int | None = None) -> list[dict]:
    """Import each file in its own process, all released together; returns the counts (fails on any error)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(paths))
    results = ctx.Queue()
    procs = [ctx.Process(target=import_in_process, args=(url, p, barrier, results, chunk_rows)) for p in paths]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=300) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    errors = [o["error"] for o in outcomes if "error" in o]
    assert not errors, errors[0]
    return outcomes
