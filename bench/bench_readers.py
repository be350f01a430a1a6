"""Bounded readers: refusal time and memory of the two spreadsheet bombs, read time of valid 20 MB files.

    python bench/bench_readers.py [--mb 20] [--folder DIR] [--openpyxl]

Each figure comes from a fresh interpreter (``resource.getrusage`` peak resident memory, imports included;
the wall time covers the read only). Budgets (``docs/coverage.md``, « Limites de lecture »): a bomb is
refused in under 2 s using under 200 MB. The valid files are synthetic door visits (fictitious, around
Grigny): a CSV and a workbook of about ``--mb`` megabytes each, the workbook read with python-calamine (and
with openpyxl, the fallback, when asked: it takes minutes).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "coverage")]

from spreadsheet_bombs import dimension_bomb, measure, row_xml, wide_row_bomb, write_workbook  # noqa: E402

PATHS = [str(ROOT)]
OUTCOMES = ("ok", "absent", "refus", "a_revoir")


def _rows(n: int, seed: int = 7) -> Iterator[list[object]]:
    rng = np.random.default_rng(seed)
    lat = np.round(48.64 + rng.random(n) * 0.03, 6)
    lon = np.round(2.36 + rng.random(n) * 0.04, 6)
    day = rng.integers(0, 600, n)
    hour = rng.integers(9, 20, n)
    outcome = rng.integers(0, len(OUTCOMES), n)
    for i in range(n):
        date = np.datetime64("2024-01-01") + int(day[i])
        yield ["Eau 2025", "91286", str(date), f"{hour[i]}:{i % 60:02d}", OUTCOMES[outcome[i]].replace("ok", "ouvert"),
               float(lat[i]), float(lon[i]), f"B{i // 40:05d}", f"A{(i // 4) % 10:02d}-{i % 4 + 1:02d}",
               f"V{i % 15:03d}"]


HEADER = ["campagne", "site", "date", "heure", "resultat", "latitude", "longitude", "batiment", "porte", "voisin"]


def valid_csv(path: Path, megabytes: float) -> Path:
    """A semicolon CSV of about ``megabytes`` MB of valid rows."""
    target = megabytes * 1024 * 1024
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(";".join(HEADER) + "\n")
        for row in _rows(10_000_000):
            handle.write(";".join(str(v) for v in row) + "\n")
            if handle.tell() >= target:
                break
    return path


def valid_xlsx(path: Path, megabytes: float) -> Path:
    """A workbook of about ``megabytes`` MB (compressed) of valid rows."""
    import zipfile

    probe = write_workbook(path, (row_xml(i + 2, row) for i, row in enumerate(_rows(20_000))), header=HEADER)
    per_row = probe.stat().st_size / 20_000
    n = int(megabytes * 1024 * 1024 / per_row)
    write_workbook(path, (row_xml(i + 2, row) for i, row in enumerate(_rows(n))), header=HEADER)
    with zipfile.ZipFile(path) as archive:
        header = archive.getinfo("xl/worksheets/sheet1.xml")
    sys.stdout.write(f"  workbook: {n:,} rows, sheet {header.file_size / 2**20:.0f} MB inflated\n")
    return path


def _line(label: str, outcome: dict) -> str:
    result = outcome.get("code") or outcome.get("rows") or outcome.get("error") or outcome.get("exit")
    return f"{label:<42} {outcome['seconds']:7.3f} s  peak {outcome['peak_mb']:6.0f} MB  -> {result}"


def main(argv: list[str] | None = None) -> None:
    """Build the files, read each in a fresh interpreter, print time and memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="size of the valid files (MB)")
    parser.add_argument("--folder", type=Path, default=None, help="keep the files here")
    parser.add_argument("--openpyxl", action="store_true", help="also read the workbook with openpyxl (minutes)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-readers-"))
    folder.mkdir(parents=True, exist_ok=True)
    files = {"dimension bomb (A1:XFD1048576)": dimension_bomb(folder / "dimension.xlsx"),
             "wide-row bomb (30 M cells on one row)": wide_row_bomb(folder / "wide.xlsx")}
    csv_path = valid_csv(folder / "valid.csv", args.mb)
    xlsx_path = valid_xlsx(folder / "valid.xlsx", args.mb)
    for label, path in files.items():
        sys.stdout.write(f"  {label}: {path.stat().st_size / 1024:.0f} KB\n")
    sys.stdout.write(f"  valid CSV: {csv_path.stat().st_size / 2**20:.1f} MB; valid XLSX: "
                     f"{xlsx_path.stat().st_size / 2**20:.1f} MB\n")
    setup = "from geo.coverage import reader"
    read = "table = reader.read_bytes(open({path!r}, 'rb').read(), name={name!r}, xlsx_engine={engine!r})\n" \
           "outcome['rows'] = len(table.frame)"
    runs = [(label, read.format(path=str(path), name=path.name, engine=None)) for label, path in files.items()]
    runs.append(("valid CSV", read.format(path=str(csv_path), name="v.csv", engine=None)))
    for engine in ("calamine", "openpyxl") if args.openpyxl else ("calamine",):
        runs.append((f"valid XLSX ({engine})", read.format(path=str(xlsx_path), name="v.xlsx", engine=engine)))
    for label, body in runs:
        outcome = measure(setup, body, out=folder / "outcome.json", paths=PATHS, timeout=1800)
        sys.stdout.write(_line(label, outcome) + "\n")


if __name__ == "__main__":
    main()
