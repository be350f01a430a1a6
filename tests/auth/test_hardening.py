"""Hardening: security headers, cookies, CSRF, sign-in rate limit, uploads, downloads, secrets, logs."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

import pytest

from tests.auth.conftest import PASSWORD, SITE_A, AccessEnv


def _fresh(dash_app: Any) -> Any:
    return dash_app.server.test_client()


def test_security_headers_and_cookie_flags(dash_app: Any, clients: dict[str, Any]) -> None:
    from app.security import session
    from tests.plugins import app_session

    admin = clients["admin"]
    for response in (admin.get("/donnees"), admin.post("/_dash-update-component", json={}),
                     clients["anonymous"].get("/login")):
        h = response.headers
        assert "script-src 'self' 'sha256-" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert "unsafe-eval" not in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
    assert admin.get("/donnees").headers["Cache-Control"] == "no-store"
    client = _fresh(dash_app)
    response = app_session.sign_in(client, "financeur", PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(session.SESSION_COOKIE + "="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    https = dash_app.server.test_client().get("/login", base_url="https://localhost")
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


def test_csrf_on_the_login_form(dash_app: Any, access_env: AccessEnv) -> None:
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    # its own account: signing out ends every session of the account (the shared clients' too)
    UserStore(access_env.url).add_user("formulaire", PASSWORD, role="financeur")
    client = _fresh(dash_app)
    no_token = client.post("/login", data={"username": "formulaire", "password": PASSWORD})
    assert no_token.status_code == 303 and "error=csrf" in no_token.headers["Location"]
    forged = client.post("/login", data={"username": "formulaire", "password": PASSWORD, "csrf_token": "x" * 40})
    assert "error=csrf" in forged.headers["Location"]
    assert client.get("/impact").status_code == 302  # still signed out
    token = app_session.form_token(client)
    cross = client.post("/login", data={"username": "formulaire", "password": PASSWORD, "csrf_token": token},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert client.get("/impact").status_code == 302
    ok = client.post("/login", data={"username": "formulaire", "password": PASSWORD, "csrf_token": token,
                                     "next": "https://evil.example/"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/impact"  # no open redirect
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/impact").status_code == 200
    out = client.post("/logout", data={"csrf_token": app_session.form_token(client, field_id="logout-csrf")})
    assert out.status_code == 303 and client.get("/impact").status_code == 302


def test_sign_in_attempts_are_rate_limited(dash_app: Any, access_env: AccessEnv) -> None:
    from app.security import session, throttle
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("cible", PASSWORD, role="financeur")
    client = _fresh(dash_app)
    for _ in range(throttle.MAX_FAILURES_PER_USER):
        token = app_session.form_token(client)
        bad = client.post("/login", data={"username": "cible", "password": "mauvais mot de passe", "csrf_token": token})
        assert bad.status_code == 303 and "error=1" in bad.headers["Location"]
    token = app_session.form_token(client)
    locked = client.post("/login", data={"username": "cible", "password": PASSWORD, "csrf_token": token})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "Trop de tentatives" in locked.get_data(as_text=True)
    assert client.get("/impact").status_code == 302
    # another account from the same client is not locked (the client limit is higher)
    assert app_session.sign_in(client, "strategie", PASSWORD).status_code == 303
    # failures older than the window no longer count
    with dash_app.server.app_context():
        store = session.user_store()
        key = throttle.digest("user", "ancienne")
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - throttle.FAILURE_WINDOW - dt.timedelta(minutes=1)
    for _ in range(10):
        store.record_failure(key, now=old)
    assert store.count_failures(key, since=old + dt.timedelta(minutes=1)) == 0


def test_revoked_sessions(dash_app: Any, access_env: AccessEnv) -> None:
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    store = UserStore(access_env.url)
    store.add_user("revoque", PASSWORD, role="financeur")
    client = _fresh(dash_app)
    app_session.sign_in(client, "revoque", PASSWORD)
    assert client.get("/impact").status_code == 200
    store.set_password("revoque", "un tout nouveau mot de passe")
    assert client.get("/impact").status_code == 302


def _upload(filename: str, data: bytes, mime: str = "text/csv") -> dict[str, Any]:
    contents = f"data:{mime};base64," + base64.b64encode(data).decode()
    return {"output": "..strategie-sites.data...strategie-upload-error.children..",
            "outputs": [{"id": "strategie-sites", "property": "data"},
                        {"id": "strategie-upload-error", "property": "children"}],
            "inputs": [{"id": "strategie-upload", "property": "contents", "value": contents},
                       {"id": "strategie-sites-reset", "property": "n_clicks", "value": None}],
            "state": [{"id": "strategie-upload", "property": "filename", "value": filename}],
            "changedPropIds": ["strategie-upload.contents"]}


def test_upload_type_and_size_limits(dash_app: Any, clients: dict[str, Any]) -> None:
    admin = clients["admin"]
    good = admin.post("/_dash-update-component", json=_upload("sites.csv", b"code,name\n91286,Grigny\n"))
    assert good.status_code == 200
    exe = admin.post("/_dash-update-component", json=_upload("outil.exe", b"MZ\x90\x00", "application/x-msdownload"))
    assert exe.status_code == 415
    disguised = admin.post("/_dash-update-component", json=_upload("sites.csv", b"<svg/>", "image/svg+xml"))
    assert disguised.status_code == 415
    fake_xlsx = admin.post("/_dash-update-component", json=_upload(
        "visites.xlsx", b"not a zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    assert fake_xlsx.status_code == 415
    not_json = admin.post("/_dash-update-component", data="a=1", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415
    previous = dash_app.server.config["MAX_CONTENT_LENGTH"]
    dash_app.server.config["MAX_CONTENT_LENGTH"] = 100_000
    try:
        big = admin.post("/_dash-update-component", json=_upload("sites.csv", b"x" * 150_000))
        assert big.status_code == 413
    finally:
        dash_app.server.config["MAX_CONTENT_LENGTH"] = previous


@pytest.mark.parametrize("path", [
    "/download/../../etc/passwd", "/download/%2e%2e/%2e%2e/etc/passwd", "/download/..%2f..%2fetc%2fpasswd",
    "/download/impact-..%2fregions.csv", "/download/impact-regions.csv/../../app/auth.py",
    "/download/....//....//etc/passwd", "/download/C:%5Cwindows%5Cwin.ini", "/download/impact-regions.csv%00.png",
    "/download/%252e%252e%252fetc%252fpasswd", "/download/impact-carte.csv",
])
def test_path_traversal_refused_on_downloads(clients: dict[str, Any], path: str) -> None:
    response = clients["admin"].get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    body = response.get_data(as_text=True)
    assert "root:" not in body and "def init_app" not in body


def test_production_needs_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.security import settings

    monkeypatch.setenv(settings.ENV_MODE, "production")
    monkeypatch.delenv(settings.ENV_SECRET, raising=False)
    with pytest.raises(settings.ConfigurationError, match="VOISINMAP_SECRET_KEY: expected a secret of at least 32"):
        settings.secret_key()
    monkeypatch.setenv(settings.ENV_SECRET, "short")
    with pytest.raises(settings.ConfigurationError, match="got 5 characters"):
        settings.secret_key()
    for weak in ("a" * 32, "ab" * 24, "0123" * 10):
        monkeypatch.setenv(settings.ENV_SECRET, weak)
        with pytest.raises(settings.ConfigurationError, match="got a guessable one"):
            settings.secret_key()
    import secrets

    for strong in (secrets.token_urlsafe(48), secrets.token_hex(32)):
        monkeypatch.setenv(settings.ENV_SECRET, strong)
        assert settings.secret_key() == strong
    monkeypatch.setenv(settings.ENV_COOKIE_SECURE, "0")
    with pytest.raises(settings.ConfigurationError, match="VOISINMAP_COOKIE_SECURE: expected 1 in production"):
        settings.cookie_secure()
    monkeypatch.setenv(settings.ENV_MODE, "development")
    assert settings.cookie_secure() is False
    monkeypatch.delenv(settings.ENV_SECRET)
    assert len(settings.secret_key()) >= 32  # generated outside production
    monkeypatch.setenv(settings.ENV_MAX_UPLOAD_MB, "lots")
    with pytest.raises(settings.ConfigurationError, match="VOISINMAP_MAX_UPLOAD_MB: expected a number"):
        settings.max_upload_bytes()


def test_nothing_personal_in_the_logs(dash_app: Any, access_env: AccessEnv, caplog: pytest.LogCaptureFixture) -> None:
    from tests.plugins import app_session
    from tests.plugins.app_session import call_callback

    caplog.set_level(logging.DEBUG)
    client = _fresh(dash_app)
    secret_csv = b"code,name\n91286,Madame Dupont 06 12 34 56 78\n"
    with caplog.at_level(logging.DEBUG):
        token = app_session.form_token(client)
        client.post("/login", data={"username": "manager-a", "password": "faux mot de passe 123", "csrf_token": token})
        app_session.sign_in(client, "manager-a", PASSWORD)
        call_callback(client, "impact-kpis.children", inputs={"impact-region.value": "11"})
        client.post("/_dash-update-component", json=_upload("visites.exe", secret_csv, "application/x-msdownload"))
        client.get("/download/impact-sites.csv")
        client.get("/terrain")
        body = {"outputs": {"id": "terrain-map", "property": "children"},
                "inputs": [{"id": "terrain-site", "property": "value", "value": SITE_A}]}
        client.post("/_dash-update-component", json={**body, "output": "terrain-map.children", "state": []})
    text = caplog.text
    assert "signed in: user#" in text  # the logs do say what happened...
    for secret in (PASSWORD, "faux mot de passe", "manager-a", "Dupont", "06 12 34 56 78", "127.0.0.1"):
        assert secret not in text, secret  # ...but not who, with what, from where
    assert access_env.door_pairs_in(text) == []


def test_client_rate_limit_across_accounts(dash_app: Any, access_env: AccessEnv) -> None:
    from app.security import throttle
    from tests.plugins import app_session

    client = _fresh(dash_app)
    base = {"REMOTE_ADDR": "192.0.2.77"}  # a documentation address of its own
    for k in range(throttle.MAX_FAILURES_PER_CLIENT):
        token = app_session.form_token(client)
        client.post("/login", data={"username": f"inconnu{k}", "password": "x" * 12, "csrf_token": token},
                    environ_base=base)
    token = app_session.form_token(client)
    locked = client.post("/login", data={"username": "financeur", "password": PASSWORD, "csrf_token": token},
                         environ_base=base)
    assert locked.status_code == 429
    other = _fresh(dash_app)
    assert app_session.sign_in(other, "financeur", PASSWORD).status_code == 303  # another address is not locked


def test_development_server_lines_lose_the_client_address() -> None:
    from app.security import log_filter

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '203.0.113.9 - - [21/Nov/2026 10:00:00] "GET /impact HTTP/1.1" 200 -', None, None)
    log_filter.NoClientAddress().filter(record)
    assert "203.0.113.9" not in record.getMessage() and "GET /impact" in record.getMessage()


def test_failures_do_not_lock_the_account_elsewhere(dash_app: Any, access_env: AccessEnv) -> None:
    """Failures are counted per (account, address): a stranger cannot lock a user out from afar."""
    from app.security import throttle
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("lointaine", PASSWORD, role="financeur")
    attacker = _fresh(dash_app)
    far = {"REMOTE_ADDR": "198.51.100.9"}
    for _ in range(throttle.MAX_FAILURES_PER_USER + 2):
        token = app_session.form_token(attacker)
        attacker.post("/login", data={"username": "lointaine", "password": "mauvais mot de passe",
                                      "csrf_token": token}, environ_base=far)
    token = app_session.form_token(attacker)
    assert attacker.post("/login", data={"username": "lointaine", "password": PASSWORD, "csrf_token": token},
                         environ_base=far).status_code == 429
    assert app_session.sign_in(_fresh(dash_app), "lointaine", PASSWORD).status_code == 303  # from another address


def test_a_known_browser_is_not_locked_out_by_a_flood_from_its_address(dash_app: Any, access_env: AccessEnv) -> None:
    """Behind a shared address, unknown-name floods and failures of others lock out strangers only;
    a browser that signed into the account before (device cookie) still signs in."""
    from app.security import throttle
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("habituee", PASSWORD, role="financeur")
    shared = {"REMOTE_ADDR": "203.0.113.50"}
    user = _fresh(dash_app)

    def attempt(client: Any, name: str, password: str) -> Any:
        token = app_session.form_token(client)
        return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                           environ_base=shared)

    assert attempt(user, "habituee", PASSWORD).status_code == 303
    assert user.get_cookie(throttle.DEVICE_COOKIE, path="/login") is not None
    user.post("/logout", data={"csrf_token": app_session.form_token(user, field_id="logout-csrf")}, environ_base=shared)
    flood = _fresh(dash_app)
    for k in range(throttle.MAX_FAILURES_PER_CLIENT + 3):
        attempt(flood, f"inconnu-flot{k}", "x" * 12)
    for _ in range(throttle.MAX_FAILURES_PER_USER + 1):
        attempt(flood, "habituee", "mauvais mot de passe")
    assert attempt(flood, "habituee", PASSWORD).status_code == 429  # the stranger is locked
    assert attempt(_fresh(dash_app), "strategie", PASSWORD).status_code == 429  # so is a new browser there
    assert attempt(user, "habituee", PASSWORD).status_code == 303  # the known browser is not
    user.post("/logout", data={"csrf_token": app_session.form_token(user, field_id="logout-csrf")}, environ_base=shared)
    # a device cookie is bound to its account: it does not lift the limits for another name
    assert attempt(user, "strategie", PASSWORD).status_code == 429


def test_concurrent_failures_cannot_exceed_the_limit(dash_app: Any, access_env: AccessEnv) -> None:
    """Attempts are recorded before the check: parallel guesses cannot all slip under the limit."""
    from concurrent.futures import ThreadPoolExecutor

    from app.security import throttle
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("parallele", PASSWORD, role="financeur")
    addr = {"REMOTE_ADDR": "192.0.2.200"}

    def guess(k: int) -> int:
        client = _fresh(dash_app)
        token = app_session.form_token(client)
        return client.post("/login", data={"username": "parallele", "password": f"mauvais {k:04d} essai",
                                           "csrf_token": token}, environ_base=addr).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(guess, range(16)))
    checked = [c for c in codes if c == 303]  # the password was verified (and wrong)
    assert len(checked) <= throttle.MAX_FAILURES_PER_USER, codes
    assert codes.count(429) >= 16 - throttle.MAX_FAILURES_PER_USER


def test_download_content_type_names_its_charset_once(clients: dict[str, Any]) -> None:
    response = clients["financeur"].get("/download/impact-regions.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
