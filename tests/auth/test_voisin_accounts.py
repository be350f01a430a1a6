"""Voisin accounts: one site, a pseudonymous Voisin code, created from the command line; the migration
that adds the role keeps the existing accounts and their sites (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geo import db
from geo.auth import store as auth_store
from geo.auth.store import UserStore
from geo.cli import main

PASSWORD = "une phrase de passe longue"


def test_voisin_codes_are_given_per_site_and_unique(tmp_path: Path) -> None:
    store = UserStore(f"sqlite:///{tmp_path / 'vm.db'}")
    first = store.add_user("amel", PASSWORD, role="voisin", sites=["91286"])
    assert (first.voisin_code, first.sites) == ("V001", ("91286",))
    assert first.principal().voisin == "V001"
    assert store.add_user("bakary", PASSWORD, role="voisin", sites=["91286"]).voisin_code == "V002"
    assert store.add_user("chloe", PASSWORD, role="voisin", sites=["59350"]).voisin_code == "V001"  # another site
    assert store.add_user("dina", PASSWORD, role="voisin", sites=["91286"], voisin_code="gri-v03").voisin_code == "GRI-V03"
    with pytest.raises(ValueError, match="voisin_code: expected a code not yet used on site 91286, got 'GRI-V03'"):
        store.add_user("eric", PASSWORD, role="voisin", sites=["91286"], voisin_code="GRI-V03")
    with pytest.raises(ValueError, match="voisin_code: expected a pseudonymous code"):
        store.add_user("eric", PASSWORD, role="voisin", sites=["91286"], voisin_code="Eric D.")
    with pytest.raises(ValueError, match="exactly one site"):
        store.add_user("eric", PASSWORD, role="voisin", sites=["91286", "59350"])
    with pytest.raises(ValueError, match="only the role 'voisin' has a Voisin code"):
        store.add_user("ines", PASSWORD, role="manager", sites=["91286"], voisin_code="V009")
    assert [u.username for u in store.voisins(["91286"])] == ["amel", "bakary", "dina"]
    assert store.next_voisin_code("91286") == "V003"


def _users(url: str, *args: str) -> tuple[int, str]:
    """``voisinmap users ARGS --db URL`` with the password on standard input: exit code and output."""
    done = CliRunner().invoke(main, ["users", *args, "--db", url], input=PASSWORD + "\n")
    return done.exit_code, done.output


def test_cli_adds_a_voisin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vm.db'}"
    code, output = _users(url, "add", "amel", "--role", "voisin", "--site", "91286")
    assert code == 0 and "code Voisin V001" in output and PASSWORD not in output, output
    code, output = _users(url, "add", "bob", "--role", "voisin")
    assert code != 0 and "exactly one site" in output
    code, output = _users(url, "add", "chloe", "--role", "voisin", "--site", "91286", "--voisin-code", "GRI-V03")
    assert code == 0 and "GRI-V03" in output
    code, output = _users(url, "list")
    assert code == 0 and "V001" in output and "GRI-V03" in output and "voisin" in output


def _upgrade_keeps_accounts(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for table in ("auth_saved_scenarios", "auth_user_sites", "auth_login_failures", "auth_users",
                      "voisinmap_auth_version"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}" + (" CASCADE" if engine.dialect.name == "postgresql" else "")))
    auth_store.upgrade(engine, revision="auth_0001")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO auth_users (username, password_hash, role, active, session_version, "
                             "created_at, updated_at) VALUES ('ines', 'x', 'manager', :t, 1, '2026-01-01', "
                             "'2026-01-01')"), {"t": True})
        conn.execute(sa.text("INSERT INTO auth_user_sites (user_id, site) SELECT id, '91286' FROM auth_users"))
    store = UserStore(engine=engine)  # migrates to the head
    assert store.get_by_name("ines").sites == ("91286",), "the rebuild of auth_users kept the manager's sites"
    assert store.add_user("amel", PASSWORD, role="voisin", sites=["91286"]).voisin_code == "V001"
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("UPDATE auth_users SET role = 'root' WHERE username = 'amel'"))
    engine.dispose()


def test_migration_keeps_accounts_sqlite(tmp_path: Path) -> None:
    _upgrade_keeps_accounts(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_migration_keeps_accounts_postgres() -> None:
    _upgrade_keeps_accounts(os.environ["VOISINMAP_TEST_PG_URL"])
