"""`voisinmap coverage ...` and `voisinmap demo`: exit statuses, JSON summaries, reports, templates."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from coverage_helpers import visit_rows, write_csv

from geo.cli import main
from geo.coverage import schema, store
from geo.coverage.importer import REDACTED


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("VOISINMAP_GEOCODER_URL", "http://127.0.0.1:9")  # nothing listens there
    runner = CliRunner()

    def invoke(*args: str):  # noqa: ANN202
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_template_files(run, tmp_path: Path) -> None:  # noqa: ANN001
    result = run("coverage", "template", tmp_path / "modele.csv")
    assert result.exit_code == 0
    header = (tmp_path / "modele.csv").read_text(encoding="utf-8-sig").strip()
    assert header.split(";") == list(schema.COLUMN_NAMES)
    assert run("coverage", "template", tmp_path / "modele.xlsx").exit_code == 0
    assert (tmp_path / "modele.xlsx").read_bytes()[:2] == b"PK"
    bad = run("coverage", "template", tmp_path / "modele.ods")
    assert bad.exit_code == 2 and "extension attendue .csv ou .xlsx" in bad.output


def test_import_all_rows_exit_0_and_json(run, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_csv(tmp_path / "v.csv", visit_rows(25))
    result = run("coverage", "import", path, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("imported", "duplicates", "rejected", "pending_geocoding"):
        assert isinstance(summary[key], int)
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (25, 0, 0)
    again = json.loads(run("coverage", "import", path, "--json").stdout)
    assert (again["imported"], again["duplicates"]) == (0, 25)


def test_import_with_rejections_exit_3_and_report(run, tmp_path: Path) -> None:  # noqa: ANN001
    rows = visit_rows(5)
    rows.loc[1, "date"] = "2025-02-30"
    rows.loc[3, "sujets"] = "rappeler 06 12 34 56 78"
    path = write_csv(tmp_path / "v.csv", rows)
    result = run("coverage", "import", path)
    assert result.exit_code == 3
    assert "lignes rejetées" in result.output and "v.rejets.csv" in result.output
    report = pd.read_csv(tmp_path / "v.rejets.csv", sep=";", dtype=str, encoding="utf-8-sig")
    assert report[["ligne", "colonne"]].values.tolist() == [["3", "date"], ["5", "sujets"]]
    assert report["sujets"].tolist()[1] == REDACTED  # the phone number is not copied
    assert report["date"].tolist()[0] == "2025-02-30"  # the rejected row is kept, to be fixed
    custom = tmp_path / "rapport.csv"
    result = run("coverage", "import", path, "--json", "--report", custom)
    assert result.exit_code == 3
    assert json.loads(result.stdout)["report"] == str(custom) and custom.exists()


def test_import_refused_exit_2(run, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "v.csv"
    path.write_text("nom;téléphone;résultat\nX;0612345678;ouvert\n", encoding="utf-8")
    result = run("coverage", "import", path)
    assert result.exit_code == 2
    assert "Fichier refusé : Colonnes de données personnelles refusées" in result.output
    result = run("coverage", "import", path, "--json")
    payload = json.loads(result.stdout)
    assert result.exit_code == 2 and payload["status"] == "refused" and payload["code"] == "personal_columns"
    assert payload["imported"] == 0
    assert run("coverage", "import", tmp_path / "absent.csv", "--json").exit_code == 2


def test_store_error_exit_1(run, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_csv(tmp_path / "v.csv", visit_rows(2))
    result = run("coverage", "import", path, "--db", "oracle://x@y/z")
    assert result.exit_code == 1 and "Base de données inaccessible" in result.output


def test_stats(run, tmp_path: Path) -> None:  # noqa: ANN001
    empty = run("coverage", "stats")
    assert empty.exit_code == 0 and "Aucune visite" in empty.output
    run("coverage", "import", write_csv(tmp_path / "v.csv", visit_rows(6, campaign="Eau")))
    payload = json.loads(run("coverage", "stats", "--json").stdout)
    assert payload["visits"] == 6
    assert payload["campaigns"][0]["campaign"] == "Eau" and payload["campaigns"][0]["ouvert"] == 6


def test_demo_command(run, tmp_path: Path, processed_dir: Path) -> None:  # noqa: ANN001
    first = run("demo", "--if-missing", "--data-dir", processed_dir, "--json")
    assert first.exit_code == 0, first.output
    written = json.loads(first.stdout)
    assert written["imported"] > 20_000 and written["rejected"] == 0
    skipped = json.loads(run("demo", "--if-missing", "--data-dir", processed_dir, "--json").stdout)
    assert skipped["skipped"] is True and skipped["visits"] == written["imported"]
    engine = store.open_store()
    assert store.count_visits(engine, demo=True) == written["imported"]
    engine.dispose()
    stats = run("coverage", "stats")
    assert "[démo]" in stats.output
    removed = json.loads(run("demo", "--remove", "--json").stdout)
    assert removed["removed"] == written["imported"]
    text = run("demo", "--if-missing", "--data-dir", tmp_path / "nowhere")
    assert text.exit_code == 1 and "voisinmap data build" in text.output


def test_import_checks_coordinates_against_the_departements(run, tmp_path: Path, processed_dir: Path) -> None:  # noqa: ANN001
    rows = visit_rows(4)
    rows.loc[1, ["latitude", "longitude"]] = ["50.8503", "4.3517"]  # Brussels: inside France's bounding box
    rows.loc[2, ["latitude", "longitude"]] = ["46.2044", "6.1432"]  # Geneva
    path = write_csv(tmp_path / "v.csv", rows)
    result = run("coverage", "import", path, "--json", "--data-dir", processed_dir)
    assert result.exit_code == 3, result.output
    summary = json.loads(result.stdout)
    assert (summary["imported"], summary["rejected"]) == (2, 2)
    report = pd.read_csv(tmp_path / "v.rejets.csv", sep=";", dtype=str, encoding="utf-8-sig")
    assert report["motif"].tolist() == ["coordonnées hors de France"] * 2


def test_import_report_has_one_line_per_row_and_no_personal_data(run, tmp_path: Path) -> None:  # noqa: ANN001
    rows = visit_rows(3).assign(commentaire="Mme Diallo 06.98.76.54.32 diallo@example.fr")
    rows.loc[1, ["date", "porte", "voisin"]] = ["2025-02-30", "Mme Diallo", "Fatima2"]
    path = write_csv(tmp_path / "v.csv", rows)
    assert run("coverage", "import", path).exit_code == 3
    text = (tmp_path / "v.rejets.csv").read_text(encoding="utf-8-sig")
    assert "Diallo" not in text and "06.98" not in text and "example.fr" not in text and "Fatima" not in text
    report = pd.read_csv(io.StringIO(text), sep=";", dtype=str)
    assert report["ligne"].tolist() == ["3"] and report["colonne"].iat[0] == "date | porte | voisin"
    assert "commentaire" not in report.columns


def test_a_mistyped_db_path_is_named_not_created(run, tmp_path: Path) -> None:  # noqa: ANN001
    path = write_csv(tmp_path / "v.csv", visit_rows(2))
    result = run("coverage", "import", path, "--db", f"sqlite:///{tmp_path / 'dat' / 'v.db'}")
    assert result.exit_code == 1
    assert "dossier introuvable" in result.output and str(tmp_path / "dat") in result.output
    assert not (tmp_path / "dat").exists()


def test_progress_bars_on_a_terminal_only(capsys: pytest.CaptureFixture[str]) -> None:
    from geo.cli.coverage import _progress_bars, _ProgressBars

    bars = _ProgressBars(enabled=True)
    for done in (0, 5_000, 10_000):
        bars("validate", done, 10_000)
    bars("geocode", 40, 120)
    bars("write", 9_000, 9_000)
    bars.close()
    err = capsys.readouterr().err
    assert "Validation des lignes" in err and "Géocodage des adresses" in err and "Écriture en base" in err
    assert _progress_bars(True).enabled is False  # --json: no bar
    silent = _ProgressBars(enabled=False)
    silent("validate", 1, 2)
    silent.close()
    assert capsys.readouterr().err == ""


def test_import_speaks_english_and_shows_progress_lines_off_a_terminal(run, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    path = write_csv(tmp_path / "v.csv", visit_rows(120))
    result = run("coverage", "import", path, "--no-geocode", "--lang", "en", "--chunk-rows", "50")
    assert result.exit_code == 0, result.output
    assert "Import of v.csv" in result.stdout and "visits imported" in result.stdout and "120" in result.stdout
    assert "visites importées" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("Checking the rows:")]
    assert lines[0] == "Checking the rows: 50 of 120" and lines[-1] == "Checking the rows: 120 of 120"
    assert "Writing to the store: 120 of 120" in result.stderr
    refused = tmp_path / "r.csv"
    refused.write_text("nom;téléphone;résultat\nX;0612345678;ouvert\n", encoding="utf-8")
    monkeypatch.setenv("LANG", "en_GB.UTF-8")  # no --lang: the locale's language
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    result = run("coverage", "import", refused)
    assert result.exit_code == 2 and result.stderr.startswith("File refused: ")
    assert "Fichier refusé" not in result.output


def test_import_in_french_by_default_with_thousands_spaced(run, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    path = write_csv(tmp_path / "v.csv", visit_rows(1_200))
    result = run("coverage", "import", path, "--no-geocode")
    assert result.exit_code == 0, result.output
    assert "Import de v.csv" in result.stdout and "visites importées" in result.stdout
    assert "1\u202f200" in result.stdout
    assert "Validation des lignes : 1\u202f200 sur 1\u202f200" in result.stderr
