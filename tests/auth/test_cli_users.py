"""``voisinmap users``: password on standard input, roles and sites checked, never echoed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from geo.cli import main

PASSWORD = "une phrase de passe longue"


def test_add_and_list(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vm.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "Ines", "--role", "manager", "--site", "91286", "--db", db],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "ines" in result.output and PASSWORD not in result.output
    result = runner.invoke(main, ["users", "add", "fanny", "--role", "financeur", "--db", db], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    listing = runner.invoke(main, ["users", "list", "--db", db])
    assert listing.exit_code == 0
    assert "ines" in listing.output and "91286" in listing.output and "financeur" in listing.output
    assert "argon2" not in listing.output


def test_refusals(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vm.db'}"
    runner = CliRunner()
    short = runner.invoke(main, ["users", "add", "bob", "--role", "admin", "--db", db], input="court\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output and "court" not in short.output
    nosite = runner.invoke(main, ["users", "add", "bob", "--role", "manager", "--db", db], input=PASSWORD + "\n")
    assert nosite.exit_code == 1 and "at least one site" in nosite.output
    badrole = runner.invoke(main, ["users", "add", "bob", "--role", "root", "--db", db], input=PASSWORD + "\n")
    assert badrole.exit_code == 2
    runner.invoke(main, ["users", "add", "bob", "--role", "admin", "--db", db], input=PASSWORD + "\n")
    again = runner.invoke(main, ["users", "add", "BOB", "--role", "admin", "--db", db], input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.output
    passwd = runner.invoke(main, ["users", "passwd", "bob", "--db", db], input="another long passphrase\n")
    assert passwd.exit_code == 0
    disabled = runner.invoke(main, ["users", "disable", "bob", "--db", db])
    assert disabled.exit_code == 0 and "désactivé" in disabled.output


def test_production_refuses_demo_accounts_and_debug_server(tmp_path: Path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'p.db'}"
    for mode in ("production", " Production ", "production\n"):
        result = runner.invoke(main, ["users", "demo", "--db", url], env={"VOISINMAP_ENV": mode})
        assert result.exit_code != 0 and "refusés en production" in result.output, (mode, result.output)
        result = runner.invoke(main, ["serve", "--debug", "--data-dir", str(tmp_path)], env={"VOISINMAP_ENV": mode})
        assert result.exit_code != 0 and "--debug: refused in production" in result.output, (mode, result.output)
