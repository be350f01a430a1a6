"""Two gunicorn workers (the shipped settings, ``app/gunicorn_conf.py``) serve one cached result, and a new
data version invalidates it for both; on the filesystem backend and on Redis.

The server runs :func:`probe_app`: a Flask app holding only :mod:`app.cache` and one memoized function
that records which process computed it. Redis tests use ``$VOISINMAP_TEST_REDIS_URL`` (skipped without it,
unless ``VOISINMAP_REQUIRE_REDIS=1``).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest

from app import cache
from app.main import DATA_DIR_KEY
from app.security.settings import DB_KEY
from tests.app.test_cache import write_manifest

ROOT = Path(__file__).resolve().parents[2]


def probe_app() -> flask.Flask:
    """The probe served by gunicorn: ``GET /probe?x=…`` answers who served and the memoized result."""
    server = flask.Flask("probe")
    server.config[DATA_DIR_KEY] = os.environ["PROBE_DATA_DIR"]
    server.config[DB_KEY] = os.environ["PROBE_DB_URL"]
    cache.init_app(server)

    @cache.memoize("probe.result")
    def result(x: str) -> dict[str, object]:
        return {"computed_by": os.getpid(), "token": uuid.uuid4().hex, "x": x}

    @server.get("/probe")
    def probe() -> dict[str, object]:
        return {"served_by": os.getpid(), "result": result(flask.request.args["x"]),
                "version": cache.current_data_version()}

    return server


def _backends() -> list[object]:
    url = os.environ.get("VOISINMAP_TEST_REDIS_URL")
    if url or os.environ.get("VOISINMAP_REQUIRE_REDIS") == "1":
        redis = pytest.param(url, id="redis")
    else:
        redis = pytest.param(None, id="redis", marks=pytest.mark.skip(
            reason="set VOISINMAP_TEST_REDIS_URL=redis://host:port/db to test the Redis backend"))
    return [pytest.param("", id="filesystem"), redis]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def gunicorn_probe(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    from tests.plugins.browser import free_port

    redis_url = request.param
    if redis_url is None:
        pytest.fail("VOISINMAP_REQUIRE_REDIS=1 but VOISINMAP_TEST_REDIS_URL is not set")
    write_manifest(tmp_path / "processed")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROBE_DATA_DIR": str(tmp_path / "processed"),
           "PROBE_DB_URL": f"sqlite:///{tmp_path / 'doors.db'}", cache.VERSION_TTL_ENV: "0",
           cache.DIR_ENV: str(tmp_path / "cache"), "VOISINMAP_CACHE_URL": redis_url}
    env.pop("VOISINMAP_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:app.gunicorn_conf", "--workers", "2", "--threads", "2",
         "--bind", f"127.0.0.1:{port}", "tests.app.test_cache_workers:probe_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{url}/probe?x=start")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
                time.sleep(0.3)
        yield url, tmp_path / "processed", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _from_both_workers(url: str, x: str, master: int) -> list[dict]:
    """Answers to ``/probe?x=…``: one first (it computes), then concurrent ones until two workers answered."""
    answers: list[dict] = [_get(f"{url}/probe?x={x}")]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            answers += list(pool.map(lambda _i: _get(f"{url}/probe?x={x}"), range(16)))
            if len({a["served_by"] for a in answers}) >= 2:
                break
    served_by = {a["served_by"] for a in answers}
    assert len(served_by) == 2 and master not in served_by, served_by
    return answers


@pytest.mark.slow
@pytest.mark.parametrize("gunicorn_probe", _backends(), indirect=True)
def test_two_workers_share_a_result_until_the_data_changes(gunicorn_probe: tuple[str, Path, int]) -> None:
    url, processed, master = gunicorn_probe
    x = uuid.uuid4().hex
    before = _from_both_workers(url, x, master)
    assert len({json.dumps(a["result"], sort_keys=True) for a in before}) == 1  # one computation, both workers
    assert len({a["version"] for a in before}) == 1
    write_manifest(processed)  # a new build of the processed data
    after = _from_both_workers(url, x, master)
    assert len({json.dumps(a["result"], sort_keys=True) for a in after}) == 1
    assert after[0]["result"]["token"] != before[0]["result"]["token"]
    assert after[0]["version"] != before[0]["version"]
