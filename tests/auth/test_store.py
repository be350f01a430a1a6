"""The accounts store: Argon2id hashes, roles and sites, its own migration chain, failed log-ins."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.auth import passwords
from geo.auth.models import VERSION_TABLE
from geo.auth.store import UnknownUserError, UserExistsError, UserStore, check_username, name_digest

PASSWORD = "correct horse battery staple"


@pytest.fixture()
def store(tmp_path: Path) -> UserStore:
    return UserStore(f"sqlite:///{tmp_path / 'vm.db'}")


def test_add_authenticate_and_hash(store: UserStore) -> None:
    user = store.add_user("Ines", PASSWORD, role="manager", sites=["91286", "75119"])
    assert (user.username, user.role, user.sites) == ("ines", "manager", ("75119", "91286"))
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM auth_users")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert store.authenticate("INES", PASSWORD).id == user.id
    assert store.authenticate("ines", PASSWORD + "x") is None
    assert store.authenticate("nobody", PASSWORD) is None
    assert user.principal().sites == ("75119", "91286")


def test_unknown_users_are_verified_against_a_hash_of_the_same_cost() -> None:
    """The written-out dummy hash has the hasher's parameters (an unknown name takes as long to refuse) and
    matches no password a user could send."""
    from argon2 import extract_parameters

    assert extract_parameters(passwords._DUMMY_HASH) == passwords._HASHER._parameters
    assert not passwords.verify_password(None, "voisinmap-no-such-user-0f3c9a")
    assert not passwords.needs_rehash(passwords._DUMMY_HASH)


def test_errors(store: UserStore) -> None:
    store.add_user("ines", PASSWORD, role="admin")
    with pytest.raises(UserExistsError, match="already exists"):
        store.add_user("INES", PASSWORD, role="admin")
    with pytest.raises(ValueError, match="password: expected at least 12 characters, got 5"):
        store.add_user("bob", "short", role="admin")
    with pytest.raises(ValueError, match="role: expected one of"):
        store.add_user("bob", PASSWORD, role="root")
    with pytest.raises(ValueError, match="username: expected 2 to 40 characters"):
        check_username("a b")
    with pytest.raises(UnknownUserError, match="no account named 'ghost'"):
        store.set_password("ghost", PASSWORD)
    assert store.count_users() == 1


def test_password_change_and_disable_end_sessions(store: UserStore) -> None:
    user = store.add_user("ines", PASSWORD, role="financeur")
    changed = store.set_password("ines", "another long passphrase")
    assert changed.session_version == user.session_version + 1
    assert store.authenticate("ines", PASSWORD) is None
    disabled = store.set_active("ines", False)
    assert disabled.session_version == user.session_version + 2
    assert store.authenticate("ines", "another long passphrase") is None
    store.remove_user("ines")
    assert store.list_users() == []


def test_weak_hash_is_replaced_on_login(store: UserStore) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    store.add_user("ines", PASSWORD, role="admin")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE auth_users SET password_hash = :h"), {"h": weak})
    assert passwords.needs_rehash(weak)
    assert store.authenticate("ines", PASSWORD) is not None
    with store.engine.connect() as conn:
        assert not passwords.needs_rehash(conn.execute(sa.text("SELECT password_hash FROM auth_users")).scalar_one())


def test_failures_window(store: UserStore) -> None:
    now = dt.datetime(2026, 1, 1, 12, 0)
    for minutes in (0, 5, 20):
        store.record_failure("k1", now=now - dt.timedelta(minutes=minutes))
    assert store.count_failures("k1", since=now - dt.timedelta(minutes=15)) == 2
    store.clear_failures("k1")
    assert store.count_failures("k1", since=now - dt.timedelta(days=1)) == 0


def test_own_version_table_beside_the_coverage_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    coverage_store = pytest.importorskip("geo.coverage.store")
    engine = coverage_store.open_store(url)
    UserStore(url).add_user("ines", PASSWORD, role="admin")
    UserStore(url)  # migrating twice is a no-op
    tables = set(sa.inspect(engine).get_table_names())
    assert {VERSION_TABLE, "auth_users", "auth_user_sites", "auth_login_failures"} <= tables
    assert coverage_store.VERSION_TABLE in tables and "door_visits" in tables
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "auth_0003"  # head: saved scenarios
        assert conn.execute(sa.text(f"SELECT count(*) FROM {coverage_store.VERSION_TABLE}")).scalar_one() == 1
    coverage_store.open_store(url)  # the coverage chain does not see the accounts tables as its own


def test_digest_hides_the_name() -> None:
    assert name_digest("Ines") == name_digest(" ines ") and "ines" not in name_digest("ines")
    import hashlib

    assert name_digest("ines")[5:] != hashlib.sha256(b"ines").hexdigest()[:8]  # keyed: not a plain hash


@pytest.mark.postgres
def test_postgres_store() -> None:
    url = os.environ["VOISINMAP_TEST_PG_URL"]
    store = UserStore(url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM auth_user_sites"))
        conn.execute(sa.text("DELETE FROM auth_users"))
    store.add_user("ines", PASSWORD, role="manager", sites=["91286"])
    assert store.authenticate("ines", PASSWORD).sites == ("91286",)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "auth_0003"  # head: saved scenarios
    store.remove_user("ines")
