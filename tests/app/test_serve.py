"""``voisinmap serve``: gunicorn by default with preloaded, warmed workers; the shipped settings; /healthz;
sign-in and access checks across the workers of a real multi-worker server."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from app import gunicorn_conf
from app import server as serving
from geo.cli import main

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "un mot de passe de test assez long"


def test_auto_picks_gunicorn_on_posix_and_names_bad_choices() -> None:
    assert serving.choose_server("auto") == ("gunicorn" if os.name == "posix" else "waitress")
    assert serving.choose_server("waitress") == "waitress"
    with pytest.raises(ValueError, match="server: expected one of auto, gunicorn, waitress, flask, got 'uwsgi'"):
        serving.choose_server("uwsgi")


def test_workers_follow_the_cores_within_bounds() -> None:
    assert [gunicorn_conf.default_workers(n) for n in (1, 2, 4, 16)] == [2, 2, 4, 8]
    assert gunicorn_conf.cores() >= 1


def test_environment_and_options_override_the_sizing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOISINMAP_WORKERS", "3")
    assert gunicorn_conf._positive("VOISINMAP_WORKERS", 2) == 3  # noqa: SLF001
    monkeypatch.setenv("VOISINMAP_WORKERS", "zero")
    with pytest.raises(ValueError, match=r"\$VOISINMAP_WORKERS: expected a whole number >= 1, got 'zero'"):
        gunicorn_conf._positive("VOISINMAP_WORKERS", 2)  # noqa: SLF001
    settings = serving.gunicorn_settings(host="::1", port=8123, workers=5, threads=7)
    assert settings["bind"] == ["[::1]:8123"] and settings["workers"] == 5 and settings["threads"] == 7
    assert settings["preload_app"] is True and settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None  # client addresses are not logged


@pytest.mark.parametrize("args,env,message", [
    (["--server", "flask", "--host", "0.0.0.0"], {}, "--server flask: expected a loopback --host"),
    (["--server", "flask"], {"VOISINMAP_ENV": "production"}, "--server flask: refused in production"),
    (["--dev", "--host", "192.168.1.10"], {}, "--dev: expected a loopback --host"),
])
def test_the_development_server_stays_on_loopback_outside_production(tmp_path, monkeypatch, args, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 1 and message in result.output


# ------------------------------------------------------------------------------- a real gunicorn
@pytest.fixture(scope="module")
def served(processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """``voisinmap -v serve --workers 2`` on the national data, with a manager, a funder and an admin."""
    from geo.auth.store import UserStore

    folder = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{folder / 'voisinmap.db'}"
    store = UserStore(url)
    store.add_user("admin-served", PASSWORD, role="admin")
    store.add_user("financeur-served", PASSWORD, role="financeur")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "VOISINMAP_TILES_URL": "none",
           "VOISINMAP_COOKIE_SECURE": "0", "VOISINMAP_APP_CACHE_DIR": str(folder / "cache")}
    env.pop("VOISINMAP_SECRET_KEY", None)  # a random key, drawn once in the master and shared by the workers
    proc, base = start_serve(["--workers", "2", "--threads", "2"], env=env, data_dir=processed_dir,
                             log=folder / "server.log")
    try:
        yield {"url": base, "proc": proc, "log": folder / "server.log", "data": processed_dir}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_serve(args: list[str], *, env: dict[str, str], data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``voisinmap -v serve ARGS`` on a free port, once ``/healthz`` answers: ``(process, base URL)``."""
    from tests.plugins.browser import free_port

    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from geo.cli import main; main()", "-v", "serve",
                                 "--port", str(port), "--data-dir", str(data_dir), *args],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            requests.get(base + "/healthz", timeout=5)
            return proc, base
        except requests.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("voisinmap serve did not start: " + log.read_text()[-3000:])
            time.sleep(0.3)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@pytest.mark.slow
def test_the_master_warms_up_once_before_it_listens(served) -> None:
    deadline = time.monotonic() + 60  # the second worker may still be booting on a loaded machine
    while True:
        lines = Path(served["log"]).read_text().splitlines()
        if sum("Booting worker" in line for line in lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    warmed = [i for i, line in enumerate(lines) if "warm-up done" in line]
    listening = [i for i, line in enumerate(lines) if "Listening at" in line]
    assert len(warmed) == 1 and listening and warmed[0] < listening[0], lines[-20:]
    assert sum("Booting worker" in line for line in lines) == 2
    assert len(_children(served["proc"].pid)) == 2


@pytest.mark.slow
def test_health_reports_readiness_and_the_data_version(served) -> None:
    response = requests.get(served["url"] + "/healthz", timeout=10)
    body = response.json()
    manifest = Path(served["data"]) / "manifest.json"
    assert response.status_code == 200 and body["ready"] is True and body["status"] == "ready"
    assert body["data_version"].split("-")[0] == hashlib.sha256(manifest.read_bytes()).hexdigest()[:16]
    assert body["data_built_at"] == json.loads(manifest.read_text(encoding="utf-8"))["built_at"]
    assert body["cache"] == "filesystem"
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"
    assert set(body) == {"ready", "status", "data_version", "data_built_at", "cache"}  # nothing personal


def _signed_in(base: str, username: str) -> dict[str, str]:
    from bench.bench_load import HttpClient
    from tests.plugins import app_session

    client = HttpClient(base)
    assert app_session.sign_in(client, username, PASSWORD).status_code == 303
    return requests.utils.dict_from_cookiejar(client.session.cookies)


@pytest.mark.slow
def test_sessions_and_access_checks_hold_on_every_worker(served) -> None:
    base = served["url"]
    admin = _signed_in(base, "admin-served")
    funder = _signed_in(base, "financeur-served")

    def fetch(cookies: dict[str, str] | None) -> int:  # a new connection each time: any worker may answer
        return requests.get(base + "/_voisinmap/layers/regions.pbf", cookies=cookies, timeout=30,
                            headers={"Connection": "close"}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        signed = list(pool.map(fetch, [admin] * 24))
        anonymous = list(pool.map(fetch, [None] * 8))
    assert signed == [200] * 24 and anonymous == [401] * 8
    refused = requests.get(base + "/terrain", cookies=funder, timeout=30, allow_redirects=False)
    assert refused.status_code == 403  # the Terrain page is door-level: a funder is refused on any worker


@pytest.mark.slow
def test_waitress_serves_one_warmed_process(processed_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
           "VOISINMAP_TILES_URL": "none", "VOISINMAP_APP_CACHE_DIR": str(tmp_path / "cache")}
    proc, base = start_serve(["--server", "waitress", "--threads", "4"], env=env, data_dir=processed_dir,
                             log=tmp_path / "server.log")
    try:
        health = requests.get(base + "/healthz", timeout=10)
        page = requests.get(base + "/login", timeout=30)
        assert health.status_code == 200 and health.json()["ready"] is True
        assert page.status_code == 200 and page.headers["Server"] == "voisinmap"
        assert _children(proc.pid) == []  # one process
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "warm-up done" in (tmp_path / "server.log").read_text()
