"""The app's settings and data layer: versioned caches, tiles, site names, store version."""

from __future__ import annotations

import threading
import time

import pytest

from app import data, settings


def test_versioned_cache_builds_once_per_version_and_key():
    cache: data.VersionedCache[int] = data.VersionedCache("test", maxsize=2)
    calls: list[tuple[str, str | None]] = []

    def build(version: str, key: str | None):
        def _build() -> int:
            calls.append((version, key))
            return len(calls)
        return _build

    assert cache.get("v1", build("v1", None)) == 1
    assert cache.get("v1", build("v1", None)) == 1  # cached
    assert cache.get("v1", build("v1", "a"), key="a") == 2
    assert cache.get("v1", build("v1", "b"), key="b") == 3  # maxsize 2: the least recent (None) goes
    assert cache.get("v1", build("v1", None)) == 4
    assert cache.get("v2", build("v2", "a"), key="a") == 5  # a new version drops the old entries
    assert cache.get("v2", build("v2", "a"), key="a") == 5
    assert cache.get("v1", build("v1", "a"), key="a") == 6
    assert len(calls) == 6
    cache.clear()
    assert cache.get("v1", build("v1", "a"), key="a") == 7


def test_versioned_cache_builds_once_under_concurrent_callbacks():
    cache: data.VersionedCache[object] = data.VersionedCache("test")
    builds = []

    def slow() -> object:
        builds.append(1)
        time.sleep(0.05)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("db", 1), slow))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len({id(r) for r in results}) == 1


def test_versioned_cache_refuses_a_size_below_one():
    with pytest.raises(ValueError, match="maxsize: expected a positive number of entries, got 0"):
        data.VersionedCache("test", maxsize=0)


def test_tiles_follow_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(settings.TILES_ENV, raising=False)
    monkeypatch.delenv(settings.TILES_ATTRIBUTION_ENV, raising=False)
    assert settings.tiles() == settings.Tiles(settings.DEFAULT_TILES_URL, settings.DEFAULT_TILES_ATTRIBUTION)
    assert settings.tiles(default_url=None) is None  # the Impact page: no tiles unless asked
    monkeypatch.setenv(settings.TILES_ENV, " None ")
    assert settings.tiles() is None
    monkeypatch.setenv(settings.TILES_ENV, "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv(settings.TILES_ATTRIBUTION_ENV, "© example")
    assert settings.tiles(default_url=None) == settings.Tiles("https://tiles.example/{z}/{x}/{y}.png", "© example")


def test_settings_read_the_running_app(dash_app, processed_dir):
    assert settings.data_dir() is None  # outside a request: the library defaults
    with dash_app.server.app_context():
        assert settings.data_dir() == str(processed_dir)
        assert settings.data_path() == processed_dir
        assert settings.store_url() == dash_app.server.config[settings.STORE_URL_KEY]


def test_site_names_come_from_the_sites_file_then_the_official_names(dash_app):
    with dash_app.server.app_context():
        names = data.site_names(["91286", "200042190", "93066", "99999"])
    assert names["91286"] == "Grigny (Grigny 2; La Grande Borne)"  # data/sites.csv
    assert names["200042190"] == "l'Établi (CA de la Porte du Hainaut)"  # data/sites.csv, not the demo name
    assert names["93066"] == "Saint-Denis"  # a commune of the processed data
    assert names["99999"] == "99999"  # unknown: its code


def test_an_empty_store_has_no_visits_and_version_zero(tmp_path):
    url = f"sqlite:///{tmp_path / 'voisinmap.db'}"
    assert data.store_version(url) == (0, 0)
    assert data.store_sites(url) == []
