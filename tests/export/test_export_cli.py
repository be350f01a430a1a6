"""``voisinmap export`` reports the library's errors as a message and status 1, not a traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from geo.cli import main


def test_unsupported_store_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "impact", "--out", str(tmp_path / "r.csv"), "--db", "mysql://u@h/d"])
    assert result.exit_code == 1
    assert "Base de données inaccessible (mysql://u@h/d)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r.csv").exists()


def test_missing_processed_data_is_a_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "scenario", "--out", str(tmp_path / "s.csv"),
                                       "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "run `voisinmap data build`" in result.output
