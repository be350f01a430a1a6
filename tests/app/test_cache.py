"""``app.cache``: results memoized per data version, language and scope, on a real Flask app and backend.

The multi-process behaviour (two gunicorn workers sharing a result) is in ``test_cache_workers.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import flask
import flask_login
import pytest

from app import cache, i18n
from app.main import DATA_DIR_KEY
from app.security.settings import DB_KEY


def write_manifest(folder: Path) -> None:
    """A processed-data manifest with new content (a new build)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"built_at": dt.datetime.now(dt.UTC).isoformat(),
                                                      "build": uuid.uuid4().hex}), encoding="utf-8")


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    """A Flask app with only the shared cache, on a fresh data folder and door store."""
    monkeypatch.setenv(cache.VERSION_TTL_ENV, "0")
    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path / "cache"))
    for name in cache.URL_ENVS:
        monkeypatch.delenv(name, raising=False)
    write_manifest(tmp_path / "processed")
    server = flask.Flask("probe")
    server.config[DATA_DIR_KEY] = str(tmp_path / "processed")
    server.config[DB_KEY] = f"sqlite:///{tmp_path / 'doors.db'}"
    cache.init_app(server)
    return server


def counted(name: str, **options: object):  # noqa: ANN201
    calls: list[tuple] = []

    @cache.memoize(name, **options)
    def compute(*args: object, **kwargs: object) -> dict:
        calls.append((args, kwargs))
        return {"args": list(args), "n": len(calls)}

    return compute, calls


def test_equal_inputs_are_computed_once(probe: flask.Flask) -> None:
    compute, calls = counted("test.equal")
    with probe.test_request_context("/"):
        first = compute(3, 2.5, region="84", sites=["91286"])
        again = compute(3, 2.5, sites=["91286"], region="84")  # keyword order does not matter
        other = compute(4, 2.5, region="84", sites=["91286"])
    assert first == again == {"args": [3, 2.5], "n": 1}
    assert other["n"] == 2 and len(calls) == 2


def test_a_none_result_is_cached_too(probe: flask.Flask) -> None:
    calls = []

    @cache.memoize("test.none")
    def nothing(x: int) -> None:
        calls.append(x)

    with probe.test_request_context("/"):
        assert nothing(1) is None and nothing(1) is None
    assert calls == [1]


def test_the_language_is_part_of_the_key(probe: flask.Flask) -> None:
    compute, calls = counted("test.lang")
    with probe.test_request_context("/", headers={"Cookie": f"{i18n.LANG_COOKIE}=en"}):
        compute(1)
    with probe.test_request_context("/"):
        compute(1)
        compute(1)
    assert len(calls) == 2


def _new_build(server: flask.Flask) -> None:
    write_manifest(Path(server.config[DATA_DIR_KEY]))


def _imported_visits(server: flask.Flask) -> None:
    from geo.coverage import importer
    from geo.coverage.store import open_store
    from tests.coverage.coverage_helpers import visit_rows

    engine = open_store(server.config[DB_KEY])
    try:
        importer.import_frame(visit_rows(5), name="visites", engine=engine, today=dt.date(2026, 1, 1))
    finally:
        engine.dispose()


@pytest.mark.parametrize("change,part", [(_new_build, 0), (_imported_visits, 1)], ids=["build", "visits"])
def test_new_data_invalidates(probe: flask.Flask, change, part: int) -> None:
    compute, calls = counted(f"test.invalidate.{part}")
    with probe.test_request_context("/"):
        before = cache.current_data_version().split("-")
        compute(1)
        change(probe)
        after = cache.current_data_version().split("-")
        compute(1)
        compute(1)
    assert [b != a for b, a in zip(before, after, strict=True)] == [i == part for i in range(3)]
    assert len(calls) == 2


def test_inputs_without_a_stable_form_are_refused(probe: flask.Flask) -> None:
    compute, _ = counted("test.refused")
    with probe.test_request_context("/"), pytest.raises(TypeError, match="inputs: expected JSON-like"):
        compute(object())
    assert cache.inputs_digest((dt.date(2025, 1, 2), {"b", "a"}), {}) == \
        cache.inputs_digest((dt.date(2025, 1, 2), {"a", "b"}), {})


def test_outside_an_app_nothing_is_cached() -> None:
    compute, calls = counted("test.outside")
    compute(1)
    compute(1)
    assert len(calls) == 2


def test_a_failing_backend_never_fails_the_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.VERSION_TTL_ENV, "0")
    monkeypatch.setenv("VOISINMAP_CACHE_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    write_manifest(tmp_path / "processed")
    server = flask.Flask("down")
    server.config[DATA_DIR_KEY] = str(tmp_path / "processed")
    server.config[DB_KEY] = f"sqlite:///{tmp_path / 'doors.db'}"
    cache.init_app(server)
    compute, calls = counted("test.down")
    with server.test_request_context("/"):
        assert compute(1) == {"args": [1], "n": 1}
        assert compute(1) == {"args": [1], "n": 2}


def test_an_unreadable_door_store_computes_without_caching(probe: flask.Flask, tmp_path: Path) -> None:
    probe.config[DB_KEY] = f"sqlite:///{tmp_path / 'absent' / 'doors.db'}"  # its folder does not exist
    compute, calls = counted("test.store_down")
    with probe.test_request_context("/"):
        assert compute(1) == {"args": [1], "n": 1}
        assert compute(1) == {"args": [1], "n": 2}
    assert len(calls) == 2


def test_backend_choice(tmp_path: Path) -> None:
    files = cache.backend_config(data_dir=tmp_path / "processed", environ={})
    assert files["CACHE_TYPE"] == "FileSystemCache" and files["CACHE_DIR"] == str(tmp_path / "cache" / "app")
    redis = cache.backend_config(environ={"VOISINMAP_REDIS_URL": "redis://127.0.0.1:6379/9"})
    assert redis["CACHE_TYPE"] == "RedisCache" and redis["CACHE_REDIS_URL"].endswith("/9")
    first = cache.backend_config(environ={"VOISINMAP_CACHE_URL": "redis://a/1", "VOISINMAP_REDIS_URL": "redis://b/2"})
    assert first["CACHE_REDIS_URL"] == "redis://a/1"
    with pytest.raises(ValueError, match=r"\$VOISINMAP_CACHE_URL: expected a Redis URL"):
        cache.backend_config(environ={"VOISINMAP_CACHE_URL": "memcached://host"})


# ------------------------------------------------------------------------------- scopes (real accounts)
def _signed_in(server: flask.Flask, user: object):  # noqa: ANN202
    from app.security.session import SessionAccount

    context = server.test_request_context("/")
    context.push()
    flask_login.login_user(SessionAccount(user))
    return context


def test_scoped_results_never_cross_scopes(dash_app, tmp_path: Path) -> None:
    from geo.auth.store import UserStore

    store = UserStore(f"sqlite:///{tmp_path / 'accounts.db'}")
    password = "un mot de passe assez long"
    grigny = store.add_user("manager-grigny", password, role="manager", sites=["91286"])
    grigny_bis = store.add_user("manager-grigny-bis", password, role="manager", sites=["91286"])
    lille = store.add_user("manager-lille", password, role="manager", sites=["59350"])
    both = store.add_user("manager-both", password, role="manager", sites=["59350", "91286"])
    admin = store.add_user("admin-national", password, role="admin")
    funder = store.add_user("financeur-a", password, role="financeur")
    calls: list[str] = []

    @cache.memoize_scoped(f"test.scope.{uuid.uuid4().hex}")
    def sites_seen(region: str) -> str:
        from app.security import current_principal

        principal = current_principal()
        if principal is None:
            calls.append("anonymous")
            return f"nobody:{region}"
        calls.append(principal.username)
        return f"{principal.role}:{','.join(principal.sites)}:{region}"

    answers = {}
    for user in (grigny, lille, both, admin, funder, grigny_bis):
        context = _signed_in(dash_app.server, user)
        try:
            answers[user.username] = (cache.current_scope(), sites_seen("11"))
        finally:
            context.pop()
    context = dash_app.server.test_request_context("/")
    with context:
        answers["anonymous"] = (cache.current_scope(), sites_seen("11"))
    assert answers["manager-grigny"] == ("manager:91286", "manager:91286:11")
    assert answers["manager-lille"] == ("manager:59350", "manager:59350:11")
    assert answers["manager-both"] == ("manager:59350,91286", "manager:59350,91286:11")
    assert answers["admin-national"][1] == "admin::11" and answers["financeur-a"][1] == "financeur::11"
    assert answers["anonymous"] == ("anonymous", "nobody:11")
    # the second Grigny manager shares the first one's result; every other scope computed its own
    assert answers["manager-grigny-bis"] == answers["manager-grigny"]
    assert calls == ["manager-grigny", "manager-lille", "manager-both", "admin-national", "financeur-a", "anonymous"]
    assert "manager-grigny-bis" not in calls


def test_dash_results_come_back_equal(probe: flask.Flask) -> None:
    import dash
    from dash import html
    from dash._no_update import NoUpdate
    from plotly.io.json import to_json_plotly

    @cache.memoize("test.dash")
    def render(n: int) -> tuple:
        return html.Div([html.H2(f"{n} sites"), html.P("ok", id="x")], className="kpis"), dash.no_update

    with probe.test_request_context("/"):
        first, second = render(3), render(3)
    assert second is not first  # a copy read back from the backend
    assert to_json_plotly(second[0]) == to_json_plotly(first[0])  # the JSON Dash sends to the browser
    assert NoUpdate.is_no_update(second[1])


def test_the_filesystem_cache_is_private(probe: flask.Flask, tmp_path: Path) -> None:
    compute, _ = counted("test.private")
    with probe.test_request_context("/"):
        compute(1)
    folder = tmp_path / "cache"
    files = [p for p in folder.iterdir() if p.is_file()]
    assert folder.stat().st_mode & 0o777 == 0o700
    assert files and all(p.stat().st_mode & 0o077 == 0 for p in files)


def test_results_without_door_visits_survive_an_import_not_a_build(probe: flask.Flask) -> None:
    processed, processed_calls = counted("test.processed", doors=False)
    doors, door_calls = counted("test.doors")
    with probe.test_request_context("/"):
        processed(1), doors(1)
        _imported_visits(probe)
        processed(1), doors(1)
        assert (len(processed_calls), len(door_calls)) == (1, 2)  # the import invalidates the door result only
        _new_build(probe)
        processed(1), doors(1)
    assert (len(processed_calls), len(door_calls)) == (2, 3)
    assert cache.processed_version(data_dir=probe.config[DATA_DIR_KEY]).count("-") == 1
