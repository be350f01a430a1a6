"""The report of rejected rows: one line per row, schema columns only, no personal data, linear work."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, visit_rows, write_csv

from geo.coverage import importer, reader, store
from geo.coverage.importer import REDACTED, REPORT_SEPARATOR, WITHHELD
from geo.coverage.validate import validate_rows

#: What a field worker might type about a resident; none of it may reach the report.
RESIDENT = "Mme Diallo 06.98.76.54.32 diallo@example.fr"
TRACES = ("Diallo", "diallo", "06.98", "98.76.54.32", "@example", "Fatima", "fatima")


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(sep=";", index=False).encode("utf-8")


def _no_trace(text: str) -> None:
    found = [t for t in TRACES if t in text]
    assert not found, f"personal data in the report: {found}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> sa.Engine:
    engine = store.open_store(f"sqlite:///{tmp_path / 'r.db'}")
    yield engine
    engine.dispose()


def test_report_keeps_schema_columns_only_and_redacts(sqlite_engine: sa.Engine) -> None:
    rows = visit_rows(6).assign(commentaire=RESIDENT, **{"Observations": "appeler Fatima"})
    rows.loc[0, "date"] = "2025-02-30"  # rejected for its date; its comment must not follow it
    rows.loc[1, "porte"] = "Mme Diallo"
    rows.loc[2, "voisin"] = "Fatima2"
    rows.loc[3, "sujets"] = "diallo fatima"
    rows.loc[4, "langue"] = "Mme Diallo arabe"
    rows.loc[5, "campagne"] = "Eau, rappeler " + RESIDENT
    summary = importer.import_bytes(_csv(rows), name="v.csv", engine=sqlite_engine, today=TODAY)
    assert summary.rejected == 6 and summary.imported == 0
    report = summary.report
    assert "commentaire" not in report.columns and "Observations" not in report.columns
    assert list(report.columns) == ["ligne", "colonne", "motif", *rows.columns[:-2]]
    by_line = report.set_index("ligne")
    assert by_line.loc[2, "date"] == "2025-02-30"  # a cell that cannot hold a name is kept, to be fixed
    assert by_line.loc[3, "porte"] == REDACTED  # a civility word
    assert by_line.loc[4, "voisin"] == WITHHELD  # rejected, and may be a name
    assert by_line.loc[5, "sujets"] == WITHHELD
    assert by_line.loc[6, "langue"] == REDACTED
    assert by_line.loc[7, "campagne"] == REDACTED
    _no_trace(importer.report_csv(summary))


def test_one_report_line_per_rejected_row() -> None:
    rows = visit_rows(3)
    rows.loc[1, ["date", "heure", "voisin"]] = ["2025-02-30", "25:99", "Fatima2"]
    table = reader.read_bytes(_csv(rows), name="v.csv")
    checked = validate_rows(table.frame, today=TODAY)
    assert len(checked.problems) == 3  # three checks failed on one row...
    report = importer.rejection_report(table, checked.problems)
    assert report["ligne"].tolist() == [3]  # ...one report line
    assert report["colonne"].iat[0] == REPORT_SEPARATOR.join(["date", "heure", "voisin"])
    assert report["motif"].iat[0].count(REPORT_SEPARATOR) == 2
    assert report["motif"].iat[0].startswith("date invalide")


def test_fixed_report_reimports_each_row_once(sqlite_engine: sa.Engine, tmp_path: Path) -> None:
    """The report, fixed in place and imported again, adds each rejected visit once."""
    rows = visit_rows(5)
    rows.loc[2, ["date", "heure"]] = ["2025-02-30", "25:99"]  # two problems on one row
    first = importer.import_file(write_csv(tmp_path / "v.csv", rows), engine=sqlite_engine, today=TODAY)
    assert (first.imported, first.rejected) == (4, 1)
    path = importer.write_report(first, tmp_path / "v.rejets.csv")
    fixed = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(fixed) == 1
    fixed[["date", "heure"]] = ["2025-02-28", "18:30"]
    fixed.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    again = importer.import_file(path, engine=sqlite_engine, today=TODAY)
    assert (again.imported, again.rejected) == (1, 0)  # ligne, colonne, motif are ignored columns
    assert store.count_visits(sqlite_engine) == 5
    assert importer.import_file(path, engine=sqlite_engine, today=TODAY).duplicates == 1
    assert store.count_visits(sqlite_engine) == 5


def _python_calls(function, *args) -> int:  # noqa: ANN001
    calls = 0

    def count(frame, event, arg) -> None:  # noqa: ANN001, ARG001
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return calls


def _rejected_table(n: int) -> tuple[reader.RawTable, pd.DataFrame]:
    rows = visit_rows(n).assign(sujets="rappeler au 06 12 34 56 78", commentaire=RESIDENT)
    table = reader.read_bytes(_csv(rows), name="v.csv")
    return table, validate_rows(table.frame, today=TODAY).problems


def test_report_work_does_not_grow_with_the_rows() -> None:
    """Redaction is vectorised: 10 times more rejected rows, (about) the same number of Python calls.

    The former cell-by-cell redaction called pandas once per pair of rejected rows (4,000 rows: 293 s)."""
    small = _python_calls(importer.rejection_report, *_rejected_table(400))
    large = _python_calls(importer.rejection_report, *_rejected_table(4000))
    assert large < 1.5 * small, (small, large)


def test_thousands_of_rows_with_a_phone_number(sqlite_engine: sa.Engine) -> None:
    rows = visit_rows(4000).assign(sujets="rappeler au 06 12 34 56 78", commentaire=RESIDENT)
    rows.loc[::2, "sujets"] = "eau"  # half the rows are good
    summary = importer.import_bytes(_csv(rows), name="v.csv", engine=sqlite_engine, today=TODAY)
    assert (summary.imported, summary.rejected) == (2000, 2000)
    assert len(summary.report) == 2000 and (summary.report["sujets"] == REDACTED).all()
    text = importer.report_csv(summary)
    _no_trace(text)
    assert "06 12 34" not in text


def test_report_csv_defuses_formulas_but_keeps_numbers() -> None:
    frame = pd.DataFrame({"ligne": [2, 3], "colonne": ["campagne", "date"], "motif": ["x", "y"],
                          "campagne": ["=HYPERLINK(\"http://x\")", "Eau"], "latitude": ["-21.11", "+48,6"]})
    summary = importer.ImportSummary(file="v.csv", format="csv", rows=2, report=frame)
    parsed = pd.read_csv(io.StringIO(importer.report_csv(summary)), sep=";", dtype=str)
    assert parsed["campagne"].tolist() == ["'=HYPERLINK(\"http://x\")", "Eau"]
    assert parsed["latitude"].tolist() == ["-21.11", "+48,6"]
