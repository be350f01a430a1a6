"""Terrain's uploads and geocoding as background jobs, under a real ``voisinmap serve`` with two gunicorn workers.

The requests are posted as the browser posts them (sign-in form, Dash callbacks over HTTP, a new connection each
time so that either worker may answer); the jobs run in the embedded job threads of the workers.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "coverage"))

from coverage_helpers import visit_rows  # noqa: E402
from jobs_helpers import csv_upload, silent_server  # noqa: E402
from spreadsheet_bombs import dimension_bomb  # noqa: E402
from test_serve import start_serve  # noqa: E402

PASSWORD = "un mot de passe de test assez long"
GRIGNY, LILLE = "91286", "59350"
USERS = {"jobs-admin": ("admin", ()), "jobs-grigny": ("manager", (GRIGNY,)), "jobs-lille": ("manager", (LILLE,))}
#: Seconds the geocoding jobs may spend on the address service in these tests.
BUDGET = 4.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(processed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``voisinmap serve --workers 2`` with a geocoder that never answers and one account per role."""
    from geo.auth.store import UserStore

    folder = tmp_path_factory.mktemp("terrain-jobs")
    url = f"sqlite:///{folder / 'voisinmap.db'}"
    users = UserStore(url)
    for name, (role, sites) in USERS.items():
        users.add_user(name, PASSWORD, role=role, sites=sites)
    with silent_server() as geocoder:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "VOISINMAP_TILES_URL": "none",
               "VOISINMAP_COOKIE_SECURE": "0", "VOISINMAP_APP_CACHE_DIR": str(folder / "cache"),
               "VOISINMAP_UPLOAD_DIR": str(folder / "uploads"), "VOISINMAP_GEOCODER_URL": geocoder,
               "VOISINMAP_GEOCODE_BUDGET": str(BUDGET)}
        for name in ("VOISINMAP_SECRET_KEY", "VOISINMAP_REDIS_URL", "VOISINMAP_EMBEDDED_WORKER"):
            env.pop(name, None)
        proc, base = start_serve(["--workers", "2", "--threads", "2"], env=env, data_dir=processed_dir,
                                 log=folder / "server.log")
        try:
            yield {"url": base, "db": url, "log": folder / "server.log", "uploads": folder / "uploads",
                   "clients": {name: _signed_in(base, name) for name in USERS}}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _signed_in(base: str, username: str) -> Any:
    from bench.bench_load import HttpClient
    from tests.plugins import app_session

    client = HttpClient(base)
    client.session.headers["Connection"] = "close"  # a new connection each request: either worker may answer
    assert app_session.sign_in(client, username, PASSWORD).status_code == 303
    client.get("/_dash-dependencies")
    return client


def _contents(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _upload(client: Any, contents: str, name: str) -> tuple[str | None, float]:
    """Post the upload callback; the job id and the seconds the request took."""
    from tests.plugins.app_session import call_callback

    started = time.monotonic()
    out = call_callback(client, "terrain-upload-job.data", inputs={"terrain-upload.contents": contents},
                        state={"terrain-upload.filename": name})
    return out["terrain-upload-job"]["data"], time.monotonic() - started


def _poll_upload(client: Any, job_id: str | None, name: str) -> dict[str, Any]:
    from tests.plugins.app_session import call_callback

    return call_callback(client, "terrain-upload-result.children",
                         inputs={"terrain-upload-job.data": job_id, "terrain-upload-poll.n_intervals": 1},
                         state={"terrain-upload.filename": name}, triggered="terrain-upload-poll.n_intervals")


def _follow_upload(client: Any, job_id: str, name: str, *, timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Poll as the page's interval does until the poll stops; the last outputs and every status shown."""
    shown: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        out = _poll_upload(client, job_id, name)
        shown.append(str(out["terrain-upload-result"]["children"]))
        if out["terrain-upload-poll"]["disabled"]:
            return out, shown
        assert time.monotonic() < deadline, shown[-3:]
        time.sleep(0.5)


def _geocode(client: Any, task: str | None, *, click: bool) -> dict[str, Any]:
    from tests.plugins.app_session import call_callback

    trigger = "terrain-geocode.n_clicks" if click else "terrain-geocode-poll.n_intervals"
    return call_callback(client, "terrain-geocode-task.data",
                         inputs={"terrain-geocode.n_clicks": 1, "terrain-geocode-poll.n_intervals": 1},
                         state={"terrain-geocode-task.data": task}, triggered=trigger)


def _visits(url: str) -> int:
    from geo.coverage import store

    engine = store.open_store(url)
    try:
        return store.count_visits(engine)
    finally:
        engine.dispose()


def test_a_20_mb_file_imports_as_a_job_and_the_request_returns_at_once(served: dict[str, Any]) -> None:
    rows = visit_rows(190_000, campaign="Gros fichier", site=GRIGNY)
    buffer = io.StringIO()
    rows.to_csv(buffer, sep=";", index=False)
    data = buffer.getvalue().encode("utf-8")
    assert len(data) >= 20 * 1000 * 1000, len(data)
    manager = served["clients"]["jobs-grigny"]
    before = _visits(served["db"])
    job_id, seconds = _upload(manager, _contents(data), "visites famille Diallo 0612345678.csv")
    assert job_id and seconds < 1.0, seconds  # the request stores the file and queues the job, nothing more
    out, shown = _follow_upload(manager, job_id, "visites famille Diallo 0612345678.csv", timeout=600)
    assert any("job-bar" in status for status in shown[:-1]), shown[:3]  # progress first...
    assert "190\u202f000 visite(s) importée(s)" in shown[-1] or "190000 visite(s) importée(s)" in shown[-1], shown[-1]
    assert "0 ligne(s) rejetée(s)" in shown[-1] and out["terrain-report-button"]["hidden"] is True  # ...then the report
    assert _visits(served["db"]) == before + 190_000
    log = Path(served["log"]).read_text()
    assert "WORKER TIMEOUT" not in log and "Diallo" not in log
    stored = [p.name for p in Path(served["uploads"]).iterdir()]
    assert stored and all("Diallo" not in name and "0612" not in name for name in stored), stored
    # the same file again is the same job: nothing imported twice
    again, _ = _upload(manager, _contents(data), "copie.csv")
    assert again == job_id and _visits(served["db"]) == before + 190_000


def test_another_sites_manager_cannot_read_the_job(served: dict[str, Any]) -> None:
    grigny, lille = served["clients"]["jobs-grigny"], served["clients"]["jobs-lille"]
    job_id, _ = _upload(grigny, _contents(csv_upload(5, campaign="Accès")), "acces.csv")
    done, _ = _follow_upload(grigny, job_id, "acces.csv", timeout=120)
    assert "5 visite(s) importée(s)" in str(done["terrain-upload-result"]["children"])
    foreign = _poll_upload(lille, job_id, "acces.csv")
    text = str(foreign["terrain-upload-result"]["children"])
    assert "Tâche introuvable" in text and "importée" not in text and foreign["terrain-upload-poll"]["disabled"]
    assert "Tâche introuvable" in str(_geocode(lille, job_id, click=False))  # not as a geocoding either
    admin = _poll_upload(served["clients"]["jobs-admin"], job_id, "acces.csv")
    assert "5 visite(s) importée(s)" in str(admin["terrain-upload-result"]["children"])


def test_a_spreadsheet_bomb_ends_as_a_refused_job(served: dict[str, Any], tmp_path: Path) -> None:
    manager = served["clients"]["jobs-grigny"]
    bomb = dimension_bomb(tmp_path / "bombe.xlsx").read_bytes()
    job_id, seconds = _upload(manager, _contents(bomb, "application/vnd.openxmlformats-officedocument."
                                                      "spreadsheetml.sheet"), "bombe.xlsx")
    assert job_id and seconds < 1.0
    out, _ = _follow_upload(manager, job_id, "bombe.xlsx", timeout=60)
    text = str(out["terrain-upload-result"]["children"])
    assert "Fichier refusé" in text and "Feuille trop grande" in text, text  # the limit reached, in French


def test_a_hanging_geocoder_leaves_the_page_responsive_and_rows_pending(served: dict[str, Any]) -> None:
    manager = served["clients"]["jobs-grigny"]
    job_id, _ = _upload(manager, _contents(csv_upload(6, start=500_000, addresses=True, campaign="Adresses")),
                        "adresses.csv")
    out, _ = _follow_upload(manager, job_id, "adresses.csv", timeout=60)  # the import's own geocoding: bounded
    assert "6 adresse(s) en attente de géocodage" in str(out["terrain-upload-result"]["children"])
    started = time.monotonic()
    task = _geocode(manager, None, click=True)["terrain-geocode-task"]["data"]
    assert task and time.monotonic() - started < 1.0
    logins: list[float] = []
    while True:
        before = time.monotonic()
        assert requests.get(served["url"] + "/login", timeout=10, headers={"Connection": "close"}).status_code == 200
        logins.append(time.monotonic() - before)
        polled = _geocode(manager, task, click=False)
        if polled["terrain-geocode-poll"]["disabled"]:
            break
        assert time.monotonic() - started < BUDGET + 20, "the geocoding job outlived its budget"
        time.sleep(0.3)
    elapsed = time.monotonic() - started
    message = str(polled["terrain-geocode-status"]["children"])
    assert "Géocodage terminé" in message and "6 toujours en attente" in message, message
    assert elapsed < BUDGET + 20 and len(logins) >= 3, (elapsed, logins)
    assert max(logins) < 1.0, logins  # GET /login answers while the job waits on the silent geocoder
    from geo.coverage.store import open_store
    from geo.jobs.sql_queue import SqlJobQueue

    job = SqlJobQueue(open_store(served["db"])).get(task)
    ran = (job.finished_at - job.started_at).total_seconds()
    assert job.report["visits_pending"] == 6 and ran < BUDGET + 3.0, (ran, job.report)  # within its budget


@pytest.mark.browser
def test_the_page_shows_the_progress_then_the_report_in_a_browser(served: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from tests.plugins.app_session import browser_sign_in
    from tests.plugins.browser import chrome, wait_for

    rows = visit_rows(60_000, campaign="Navigateur", site=GRIGNY, start=1_000_000)
    rows.loc[0, "site"] = LILLE  # one row of another site: rejected, with its report
    path = tmp_path / "visites navigateur.csv"
    rows.to_csv(path, sep=";", index=False)
    with chrome() as driver:
        browser_sign_in(driver, served["url"], "jobs-grigny", PASSWORD)
        driver.get(served["url"] + "/terrain")
        field = wait_for(lambda: driver.find_element(By.CSS_SELECTOR, "#terrain-upload input[type=file]"),
                         timeout=60, message="the upload field")
        field.send_keys(str(path))
        result = driver.find_element(By.ID, "terrain-upload-result")
        wait_for(lambda: result.find_elements(By.CSS_SELECTOR, "progress"), timeout=30, message="a progress bar")
        wait_for(lambda: "importée" in result.text, timeout=300, message="the import's report")
        assert "59\u202f999 visite(s) importée(s)" in result.text or "59999 visite(s) importée(s)" in result.text
        assert "1 ligne(s) rejetée(s)" in result.text and not result.find_elements(By.CSS_SELECTOR, "progress")
        assert driver.find_element(By.ID, "terrain-report-button").is_displayed()
