"""Sessions end on sign-out (a copied cookie is void) and after 8 hours whatever the activity."""

from __future__ import annotations

import time
from typing import Any

from tests.auth.conftest import PASSWORD, AccessEnv


def _cookie(client: Any) -> str:
    from app.security import session

    cookie = client.get_cookie(session.SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def test_cookie_replayed_after_sign_out_is_refused(dash_app: Any, access_env: AccessEnv) -> None:
    from app.security import session
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("sortie", PASSWORD, role="financeur")
    client = dash_app.server.test_client()
    assert app_session.sign_in(client, "sortie", PASSWORD).status_code == 303
    stolen = _cookie(client)
    assert client.get("/impact").status_code == 200
    token = app_session.form_token(client, path="/login", field_id="logout-csrf")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    replay = dash_app.server.test_client()
    replay.set_cookie(session.SESSION_COOKIE, stolen)
    assert replay.get("/impact").status_code == 302
    assert replay.get("/download/impact-regions.csv").status_code == 401
    # the account itself still works
    again = dash_app.server.test_client()
    assert app_session.sign_in(again, "sortie", PASSWORD).status_code == 303
    assert again.get("/impact").status_code == 200


def test_sessions_have_an_absolute_expiry(dash_app: Any, access_env: AccessEnv) -> None:
    from app.security import session
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    UserStore(access_env.url).add_user("duree", PASSWORD, role="financeur")
    client = dash_app.server.test_client()
    assert app_session.sign_in(client, "duree", PASSWORD).status_code == 303
    assert dash_app.server.config["SESSION_REFRESH_EACH_REQUEST"] is False
    serializer = dash_app.server.session_interface.get_signing_serializer(dash_app.server)
    data = serializer.loads(_cookie(client))
    assert 0 < data["exp"] - time.time() <= session.SESSION_HOURS * 3600
    # a cookie freshly signed (as a refresh would) but past its absolute expiry, or without one
    for forged in ({**data, "exp": int(time.time()) - 1}, {k: v for k, v in data.items() if k != "exp"}):
        other = dash_app.server.test_client()
        other.set_cookie(session.SESSION_COOKIE, serializer.dumps(forged))
        assert other.get("/impact").status_code == 302
    fine = dash_app.server.test_client()
    fine.set_cookie(session.SESSION_COOKIE, serializer.dumps(data))
    assert fine.get("/impact").status_code == 200


def test_the_cookie_holds_the_session_version_and_nothing_about_the_client(dash_app: Any,
                                                                          access_env: AccessEnv) -> None:
    """Flask-Login's user id carries the session version; no digest of the address or browser is kept."""
    from app.security import session
    from geo.auth.store import UserStore
    from tests.plugins import app_session

    user = UserStore(access_env.url).add_user("contenu", PASSWORD, role="financeur")
    client = dash_app.server.test_client()
    assert app_session.sign_in(client, "contenu", PASSWORD).status_code == 303
    serializer = dash_app.server.session_interface.get_signing_serializer(dash_app.server)
    data = serializer.loads(_cookie(client))
    assert data["_user_id"] == f"{user.id}.{user.session_version}"
    assert set(data) <= {"_user_id", "_fresh", "_permanent", "exp", "db", "csrf_token"}, sorted(data)
    # a forged cookie naming the next version (as if signed before a change) does not load either
    forged = dash_app.server.test_client()
    forged.set_cookie(session.SESSION_COOKIE, serializer.dumps({**data, "_user_id": f"{user.id}.{user.session_version + 1}"}))
    assert forged.get("/impact").status_code == 302
