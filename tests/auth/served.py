"""The access tests' clients: in-process (Flask test clients) or served (a real ``voisinmap serve``).

``served`` starts ``voisinmap -v serve --workers 2 --threads 2`` (gunicorn, preloaded workers, the shared
Flask-Caching cache: filesystem in a temporary folder, or Redis with ``cache_url``) on 127.0.0.1 on a free
port, over the access tests' database and processed data, and stops it (no worker left behind).

:class:`ServedClient` is one browser over real HTTP with the surface of Flask's test client that the access
tests read (``get``, ``post``, ``open``; answers with ``status_code``, ``headers``, ``data``,
``get_data``, ``get_json``). Every request opens a new connection (``Connection: close``), so that
consecutive requests of one role land on either worker, as a browser's do behind a proxy.

:class:`RoleClients` maps each role to its client, and says how to empty the shared cache and how to
read what the app logged, whichever way the app runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.bench_load import HttpClient, Reply
from tests.app.test_serve import ROOT, _children, start_serve

#: Ways the access matrix reaches the app.
IN_PROCESS, SERVED, SERVED_REDIS = "in-process", "served", "served-redis"
#: Environment variable: a Redis URL for the Redis-backed served run (database 7 in the project's tests).
REDIS_ENV = "VOISINMAP_TEST_REDIS_URL"


class ServedReply(Reply):
    """A ``requests`` answer with the reading methods of Flask's test response."""

    def get_data(self, as_text: bool = False) -> bytes | str:  # noqa: FBT001, FBT002 -- Flask's signature
        """The body, as bytes or (``as_text``) as text."""
        return self.data.decode("utf-8", "replace") if as_text else self.data

    @property
    def text(self) -> str:
        """The body as text."""
        return self.data.decode("utf-8", "replace")


class ServedClient(HttpClient):
    """One browser over real HTTP, with a new connection per request (either worker may answer).

    Parameters
    ----------
    base_url : str
        The server's address.
    server : Server, optional
        The server, whose ``requests`` count this client's requests.
    """

    def __init__(self, base_url: str, *, server: Server | None = None) -> None:
        super().__init__(base_url)
        self.server = server

    def open(self, path: str, *, method: str = "GET", **kwargs: Any) -> ServedReply:
        """Send ``method path`` (``json=``, ``data=``, ``headers=``); no redirect followed."""
        if method == "GET" and path == "/_dash-dependencies" and self._dependencies is not None:
            return self._dependencies
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        if self.server is not None:
            self.server.requests += 1
        reply = ServedReply(self.session.request(method, self.base_url + path, headers=headers,
                                                 allow_redirects=False, timeout=120, **kwargs))
        if method == "GET" and path == "/_dash-dependencies" and reply.status_code == 200:
            self._dependencies = reply
        return reply

    def get(self, path: str, **kwargs: Any) -> ServedReply:
        """GET ``path``."""
        return self.open(path, method="GET", **kwargs)

    def post(self, path: str, **kwargs: Any) -> ServedReply:
        """POST ``path``; the answer is kept in ``last``."""
        self.last = self.open(path, method="POST", **kwargs)
        return self.last


class RoleClients(dict):
    """Role name -> client, with the way the app runs (``mode``) and its shared cache and log.

    Parameters
    ----------
    mode : str
        :data:`IN_PROCESS`, :data:`SERVED` or :data:`SERVED_REDIS`.
    clients : dict
        Role name -> client.
    clear_cache : callable
        Empties the app's shared cache.
    log_lines : callable
        Context manager factory: ``log_lines(logger_name)`` yields a list that holds, on exit, the messages
        the app logged at INFO or above under that logger meanwhile.
    server : Server, optional
        The served app (None in-process).
    """

    def __init__(self, mode: str, clients: dict[str, Any], *, clear_cache: Callable[[], None],
                 log_lines: Callable[[str], contextlib.AbstractContextManager[list[str]]],
                 server: Server | None = None) -> None:
        super().__init__(clients)
        self.mode = mode
        self.clear_cache = clear_cache
        self.log_lines = log_lines
        self.server = server


@contextlib.contextmanager
def in_process_log(name: str) -> Iterator[list[str]]:
    """Messages logged under ``name`` in this process meanwhile (INFO and above)."""
    found: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    target = logging.getLogger(name)
    handler, level = Keep(logging.INFO), target.level
    target.addHandler(handler)
    target.setLevel(logging.INFO)
    try:
        yield found
    finally:
        target.removeHandler(handler)
        target.setLevel(level)


class Server:
    """A running ``voisinmap serve`` (see :func:`serve`)."""

    def __init__(self, proc: subprocess.Popen, url: str, log: Path, cache_dir: Path, cache_url: str | None) -> None:
        self.proc, self.url, self.log, self.cache_dir, self.cache_url = proc, url, log, cache_dir, cache_url
        #: Workers still running after the master stopped, killed then (none when gunicorn stops cleanly).
        self.killed: list[int] = []
        #: Requests its clients sent since it started or since :meth:`fresh_workers`.
        self.requests = 0

    def clear_cache(self) -> None:
        """Empty the shared cache the workers read (the folder's entries, or the Redis database)."""
        if self.cache_url:
            import redis

            client = redis.Redis.from_url(self.cache_url)
            try:
                client.flushdb()
            finally:
                client.close()
            return
        for entry in self.cache_dir.iterdir():
            if entry.is_file():
                entry.unlink(missing_ok=True)

    @contextlib.contextmanager
    def log_lines(self, name: str) -> Iterator[list[str]]:
        """Messages the server logged under ``name`` meanwhile (``-v``: INFO and above)."""
        found: list[str] = []
        start = self.log.stat().st_size
        try:
            yield found
        finally:
            time.sleep(0.2)  # the last worker lines reach the file
            with open(self.log, "rb") as f:
                f.seek(start)
                marker = f" {name}: "
                found.extend(line.split(marker, 1)[1] for line in f.read().decode("utf-8", "replace").splitlines()
                             if marker in line)

    def workers(self) -> list[int]:
        """Process ids of the gunicorn workers."""
        return _children(self.proc.pid)

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds (user and system) each current worker has used since it was forked."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        for pid in self.workers():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return out

    def fresh_workers(self) -> set[int]:
        """Retire the workers for new ones, forked from the master with nothing computed in them."""
        new = fresh_workers(self.proc.pid)
        self.requests = 0
        return new


def fresh_workers(master: int, *, timeout: float = 90) -> set[int]:
    """Retire the current workers of the gunicorn ``master`` for new ones (``TTIN`` then ``TTOU``: gunicorn
    retires the oldest first); returns the new workers' process ids."""
    old = set(_children(master))
    for _ in old:
        os.kill(master, signal.SIGTTIN)
        time.sleep(0.3)
    deadline = time.monotonic() + timeout
    while len(set(_children(master)) - old) < len(old):
        assert time.monotonic() < deadline, "gunicorn did not add workers"
        time.sleep(0.3)
    for _ in old:
        os.kill(master, signal.SIGTTOU)
        time.sleep(0.3)
    while set(_children(master)) & old:
        assert time.monotonic() < deadline, "gunicorn did not retire the old workers"
        time.sleep(0.3)
    return set(_children(master))


def environment(*, db_url: str, data_dir: Path, folder: Path, cache_url: str | None = None) -> dict[str, str]:
    """The environment of a served app on loopback (plain HTTP, no background tiles, a random secret key
    drawn once in the master and shared by the workers), for ``voisinmap`` commands and :func:`serve`.

    Parameters
    ----------
    db_url : str
        The accounts and door store database.
    data_dir : Path
        The processed data.
    folder : Path
        Temporary folder: the filesystem cache goes to its ``cache`` subfolder.
    cache_url : str, optional
        A Redis URL: the shared cache lives there instead.
    """
    cache_dir = folder / "cache"
    cache_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "VOISINMAP_TILES_URL": "none",
           "VOISINMAP_COOKIE_SECURE": "0", "VOISINMAP_APP_CACHE_DIR": str(cache_dir),
           "VOISINMAP_DATA_DIR": str(data_dir)}
    for name in ("VOISINMAP_SECRET_KEY", "VOISINMAP_CACHE_URL", "VOISINMAP_REDIS_URL", "VOISINMAP_ENV"):
        env.pop(name, None)
    if cache_url:
        env["VOISINMAP_CACHE_URL"] = cache_url
    return env


@contextlib.contextmanager
def serve(env: dict[str, str], *, folder: Path, workers: int = 2, threads: int = 2) -> Iterator[Server]:
    """``voisinmap -v serve`` in ``env`` (see :func:`environment`) until the block ends; then stopped, workers
    too, and its shared cache emptied.

    Parameters
    ----------
    env : dict
        The environment: database, processed data, cache folder or Redis URL.
    folder : Path
        Temporary folder: the server's log (``server.log``).
    workers, threads : int
        gunicorn workers and threads per worker.
    """
    cache_dir, cache_url = Path(env["VOISINMAP_APP_CACHE_DIR"]), env.get("VOISINMAP_CACHE_URL")
    log = folder / "server.log"
    proc, url = start_serve(["--workers", str(workers), "--threads", str(threads)], env=env,
                            data_dir=Path(env["VOISINMAP_DATA_DIR"]), log=log)
    server = Server(proc, url, log, cache_dir, cache_url)
    try:
        deadline = time.monotonic() + 60  # the first worker answers while the others may still be booting
        while len(server.workers()) < workers and time.monotonic() < deadline:
            time.sleep(0.2)
        if cache_url:
            server.clear_cache()
        yield server
    finally:
        server.killed = stop(proc)
        if cache_url:
            server.clear_cache()
        shutil.rmtree(cache_dir, ignore_errors=True)


def stop(proc: subprocess.Popen, *, timeout: float = 30) -> list[int]:
    """Stop the gunicorn master gracefully (it stops its workers); after ``timeout``, kill it and the workers
    still running. Returns the workers that had to be killed (none when the stop was clean)."""
    workers = {pid: _command(pid) for pid in _children(proc.pid)}  # forked: the master's command line
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

    def left() -> list[int]:  # the same process (a reused id has another command line), not a zombie
        return [pid for pid, command in workers.items() if command and _command(pid) == command]

    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = left()
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


def _command(pid: int) -> bytes:
    """The command line of a live process ``pid`` (empty for a zombie or a process gone)."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return b""
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return b""
