"""Production mode cannot be half on: strict run mode, no demo accounts, bounded and purged sign-in
failures, lock-out by address only with a known proxy setting, private database files, no upload names."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.auth.conftest import PASSWORD, AccessEnv


@pytest.mark.parametrize("value", ["prod", "dev", "staging", "production1", "yes"])
def test_an_unknown_run_mode_stops_the_start(value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import flask

    from app import security
    from geo.auth.environment import ConfigurationError, run_mode
    from geo.cli import main

    with pytest.raises(ConfigurationError, match=f"VOISINMAP_ENV: expected 'production' or 'development', got '{value}'"):
        run_mode({"VOISINMAP_ENV": value})
    monkeypatch.setenv("VOISINMAP_ENV", value)
    with pytest.raises(ConfigurationError, match="VOISINMAP_ENV: expected"):
        security.init_app(types.SimpleNamespace(server=flask.Flask("probe")))  # refused before any set-up
    runner = CliRunner()
    for args in (["serve", "--data-dir", str(tmp_path)], ["serve", "--dev", "--data-dir", str(tmp_path)],
                 ["users", "demo", "--db", f"sqlite:///{tmp_path / 'd.db'}"]):
        result = runner.invoke(main, args, env={"VOISINMAP_ENV": value})
        assert result.exit_code != 0 and "VOISINMAP_ENV: expected" in result.output, (args, result.output)
    assert not (tmp_path / "d.db").exists()


def test_the_two_modes_and_their_spellings() -> None:
    from geo.auth.environment import run_mode

    assert run_mode({}) == run_mode({"VOISINMAP_ENV": ""}) == run_mode({"VOISINMAP_ENV": "development"}) == "development"
    assert run_mode({"VOISINMAP_ENV": " Production "}) == "production"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org", "::"])
def test_dev_mode_only_on_loopback(host: str, tmp_path: Path) -> None:
    from geo.cli import main
    from geo.cli.serve import is_loopback

    result = CliRunner().invoke(main, ["serve", "--dev", "--host", host, "--data-dir", str(tmp_path)],
                                env={"VOISINMAP_ENV": "development"})
    assert result.exit_code != 0 and "--dev: expected a loopback --host" in result.output, result.output
    assert not is_loopback(host)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")


def test_demo_accounts_are_refused_in_production(dash_app: Any, access_env: AccessEnv,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    from app.security import session
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("demo-financeur", PASSWORD, role="financeur")
    before = dash_app.server.test_client()
    assert app_session.sign_in(before, "demo-financeur", PASSWORD).status_code == 303  # development: allowed
    assert before.get("/impact").status_code == 200
    monkeypatch.setenv("VOISINMAP_ENV", "production")
    client = dash_app.server.test_client()
    refused = app_session.sign_in(client, "Demo-Financeur", PASSWORD)
    assert refused.status_code == 303 and "error=demo" in refused.headers["Location"]
    assert client.get("/impact").status_code == 302
    assert before.get("/impact").status_code == 302  # the session opened before is void too
    assert app_session.sign_in(dash_app.server.test_client(), "financeur", PASSWORD).status_code == 303
    monkeypatch.setenv("DATABASE_URL", access_env.url)
    with caplog.at_level(logging.WARNING, logger="app.security.session"):
        assert session.warn_demo_accounts() == ["demo-financeur"]
    assert "demo accounts exist and are refused at sign-in: demo-financeur" in caplog.text
    monkeypatch.setenv("VOISINMAP_ENV", "development")
    assert session.warn_demo_accounts() == []


def _failures(url: str) -> int:
    from geo.auth.models import LOGIN_FAILURES
    from geo.auth.store import UserStore

    with UserStore(url).engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(LOGIN_FAILURES)).scalar_one())


def _post_login(client: Any, name: str, password: str, addr: str) -> Any:
    from tests.plugins import app_session

    token = app_session.form_token(client)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": addr})


def test_failures_are_bounded_per_address_and_purged(dash_app: Any, access_env: AccessEnv) -> None:
    from app.security import throttle
    from geo.auth.store import UserStore

    client = dash_app.server.test_client()
    before = _failures(access_env.url)
    codes = [_post_login(client, f"anonyme{k}", "x" * 12, "192.0.2.150").status_code for k in range(60)]
    assert codes.count(429) == 60 - throttle.MAX_FAILURES_PER_CLIENT
    assert _failures(access_env.url) - before <= throttle.MAX_FAILURES_PER_CLIENT  # 60 POSTs, at most 20 rows
    store = UserStore(access_env.url)
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - throttle.FAILURE_WINDOW - dt.timedelta(hours=1)
    for k in range(30):
        store.record_failure(f"vieille-{k}", now=old)
    throttle._LAST_PURGE.clear()  # the next sign-in is the scheduled purge
    _post_login(client, "quelconque", "x" * 12, "192.0.2.151")
    assert store.count_failures("vieille-0", since=old - dt.timedelta(days=1)) == 0
    with store.engine.connect() as conn:
        from geo.auth.models import LOGIN_FAILURES

        oldest = conn.execute(sa.select(sa.func.min(LOGIN_FAILURES.c.at))).scalar_one()
    assert oldest is None or oldest >= old + dt.timedelta(hours=1) - dt.timedelta(seconds=1)


def test_lockout_by_address_needs_a_known_proxy_setting(dash_app: Any, access_env: AccessEnv,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import flask

    from app import security
    from app.security import settings, throttle

    client = dash_app.server.test_client()
    previous = dash_app.server.config[settings.PROXY_KEY]
    dash_app.server.config[settings.PROXY_KEY] = None  # unknown: every browser may share the proxy's address
    try:
        for k in range(throttle.MAX_FAILURES_PER_CLIENT + 5):
            assert _post_login(client, f"inconnue{k}", "x" * 12, "198.51.100.77").status_code == 303
        assert _post_login(client, "financeur", PASSWORD, "198.51.100.77").status_code == 303
        assert client.get("/impact").status_code == 200
    finally:
        dash_app.server.config[settings.PROXY_KEY] = previous
    monkeypatch.delenv(settings.ENV_PROXY_FIX, raising=False)
    assert "lock-out by address OFF" in security.attach_proxy_setting(flask.Flask("probe"))
    monkeypatch.setenv(settings.ENV_PROXY_FIX, "0")
    assert "lock-out by address on" in security.attach_proxy_setting(flask.Flask("probe"))
    monkeypatch.setenv(settings.ENV_PROXY_FIX, "1")
    server = flask.Flask("probe")
    assert "reverse proxy" in security.attach_proxy_setting(server) and server.config[settings.PROXY_KEY] == "proxy"
    monkeypatch.setenv(settings.ENV_PROXY_FIX, "peut-etre")
    with pytest.raises(settings.ConfigurationError, match="VOISINMAP_PROXY_FIX: expected 1"):
        settings.proxy_setting()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_are_created_private(tmp_path: Path) -> None:
    from geo.auth.store import UserStore
    from geo.private_file import private_sqlite_file

    previous = os.umask(0o022)
    try:
        (tmp_path / "nouveau").mkdir()  # only the default data folder is created by the engine
        url = f"sqlite:///{tmp_path / 'nouveau' / 'voisinmap.db'}"
        store = UserStore(url)
        store.add_user("prive", PASSWORD, role="financeur")
        db = tmp_path / "nouveau" / "voisinmap.db"
        assert _mode(db) == 0o600
        wal = db.with_name(db.name + "-wal")
        assert not wal.exists() or _mode(wal) == 0o600
        old = tmp_path / "ancienne.db"
        old.write_bytes(b"")
        old.chmod(0o644)
        assert private_sqlite_file(f"sqlite:///{old}") == old and _mode(old) == 0o600
    finally:
        os.umask(previous)
    assert private_sqlite_file("sqlite://") is None
    assert private_sqlite_file("postgresql+psycopg://u@127.0.0.1:1/x") is None


def test_upload_file_names_are_not_stored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from geo.coverage.importer import import_bytes, stored_file_name
    from geo.coverage.store import IMPORTS, open_store

    name = "visites famille Diallo 0612345678.csv"
    data = ("campagne,site,date,heure,latitude,longitude,batiment,porte,resultat,langue,sujets,voisin\n"
            "Test,91286,2025-03-12,18:10,48.6495,2.3800,B-1,A-01,ouvert,français,eau,V01\n").encode()
    engine = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    with caplog.at_level(logging.DEBUG):
        summary = import_bytes(data, name=name, engine=engine)
    assert summary.imported == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(IMPORTS.c.file_name, IMPORTS.c.file_sha256)).one()
    engine.dispose()
    digest = hashlib.sha256(data).hexdigest()
    assert stored.file_name == digest[:16] + ".csv" == stored_file_name(name, digest)
    assert stored.file_sha256 == digest
    assert "Diallo" not in caplog.text and "0612345678" not in caplog.text
    assert stored_file_name("sans extension", digest) == digest[:16]
    assert stored_file_name("bizarre.c sv", digest) == digest[:16]
