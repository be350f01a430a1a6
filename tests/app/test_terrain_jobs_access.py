"""Who reads a Terrain job, on a real SQL queue; the embedded worker setting; the geocoding job of one site."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "coverage"))

from jobs_helpers import csv_upload  # noqa: E402

GRIGNY, LILLE = "91286", "59350"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VOISINMAP_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.delenv("VOISINMAP_REDIS_URL", raising=False)
    return f"sqlite:///{tmp_path / 'voisinmap.db'}"


def _import_job(store_url: str, scope: tuple[str, ...] | None) -> str:
    from app.components import jobs

    contents = "data:text/csv;base64," + base64.b64encode(csv_upload(3)).decode()
    return jobs.start_import(store_url, contents, "visites Diallo.csv", scope=scope).id


def test_a_manager_reads_only_jobs_of_their_own_sites(store_url: str) -> None:
    from app.components import jobs

    grigny_job = _import_job(store_url, (GRIGNY,))
    admin_job = _import_job(store_url, None)
    read = jobs.readable_job
    assert read(store_url, grigny_job, kind="import", scope=(GRIGNY,)).id == grigny_job
    assert read(store_url, grigny_job, kind="import", scope=(GRIGNY, LILLE)) is not None  # a manager of both
    assert read(store_url, grigny_job, kind="import", scope=(LILLE,)) is None
    assert read(store_url, grigny_job, kind="import", scope=()) is None
    assert read(store_url, grigny_job, kind="geocode", scope=(GRIGNY,)) is None  # not followed as another kind
    assert read(store_url, grigny_job, kind="import", scope=None) is not None  # an administrator
    assert read(store_url, admin_job, kind="import", scope=(GRIGNY,)) is None  # an admin's job covers every site
    for forged in (None, 42, {"id": grigny_job}, grigny_job.upper(), "../" + grigny_job, "0" * 32):
        assert read(store_url, forged, kind="import", scope=None) is None


def test_the_uploaded_name_is_never_kept(store_url: str, tmp_path: Path) -> None:
    from app.components import jobs

    job = jobs.queue(store_url).get(_import_job(store_url, (GRIGNY,)))
    stored = Path(job.payload["path"])
    assert stored.parent == tmp_path / "uploads" and stored.name == f"{job.payload['sha256']}.csv"
    assert "Diallo" not in str(job.payload) and "Diallo" not in str(job.as_dict())
    with pytest.raises(ValueError, match="filename"):
        jobs.start_import(store_url, "data:text/csv;base64,YQ==", "visites.ods", scope=(GRIGNY,))
    with pytest.raises(ValueError, match="contents"):
        jobs.start_import(store_url, "data:text/csv;base64,%%%", "visites.csv", scope=(GRIGNY,))


def test_a_geocoding_job_carries_the_managers_sites(store_url: str) -> None:
    from app.components import geocoding

    job_id = geocoding.start(store_url, sites=(GRIGNY,))
    kept, polling, status = geocoding.follow(store_url, job_id, sites=(GRIGNY,), lang="fr")
    assert kept == job_id and polling is False and "Géocodage en file d'attente" in str(status)
    kept, stopped, status = geocoding.follow(store_url, job_id, sites=(LILLE,), lang="fr")
    assert kept is None and stopped is True and "Tâche introuvable" in str(status)


@pytest.mark.parametrize(("value", "redis", "expected"), [
    ("", None, True), ("1", None, True), ("0", None, False), ("off", None, False),
    ("", "redis://127.0.0.1:6379/14", False)])
def test_the_embedded_worker_setting(monkeypatch: pytest.MonkeyPatch, value: str, redis: str | None,
                                     expected: bool) -> None:
    from app.server import embedded_worker_enabled

    monkeypatch.setenv("VOISINMAP_EMBEDDED_WORKER", value)
    if redis:
        monkeypatch.setenv("VOISINMAP_REDIS_URL", redis)
    else:
        monkeypatch.delenv("VOISINMAP_REDIS_URL", raising=False)
    assert embedded_worker_enabled() is expected


def test_a_wrong_embedded_worker_setting_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.server import embedded_worker_enabled
    from geo.auth.environment import ConfigurationError

    monkeypatch.setenv("VOISINMAP_EMBEDDED_WORKER", "maybe")
    with pytest.raises(ConfigurationError, match="VOISINMAP_EMBEDDED_WORKER: expected 1 or 0, got 'maybe'"):
        embedded_worker_enabled()
