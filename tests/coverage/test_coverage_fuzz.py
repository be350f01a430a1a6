"""Malformed files generated with hypothesis never crash the importer and never leave a partial import."""

from __future__ import annotations

import string

import pytest
import sqlalchemy as sa
from coverage_helpers import TODAY, xlsx_bytes
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from geo.coverage import importer, schema, store
from geo.coverage.errors import FileRefusedError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.data_too_large,
                                                                       HealthCheck.too_slow])
HEADERS = list(schema.ALIASES) + ["Nom", "téléphone", "commentaire", "", "x", "campagne", "date"]
CELL_ALPHABET = string.printable + "éèàçœ’°;,\"'\x00\x07\x1f\u202f\u00a0ÀŒ–"
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]


def _cell() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet=CELL_ALPHABET, max_size=12),
        st.sampled_from(["ouvert", "Absent", "à revoir", "NPD", "refus", "ne_pas_deranger", "x"]),
        st.sampled_from(["2025-03-18", "18/03/2025 18h30", "45734", "2025-02-30", "2030-01-01", "31/12/99", ""]),
        st.sampled_from(["48.65", "2,37", "-21.1", "55.5", "200", "nan", "1e3", "48.6511", "2.3766"]),
        st.sampled_from(["91286", "91350", "V017", "Fatima", "06 12 34 56 78", "a@b.fr", "A-03-12", "x" * 90]),
    )


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=0, max_size=18))
    width = max(1, len(header))
    rows = draw(st.lists(st.lists(_cell(), min_size=0, max_size=width + 2), max_size=25))
    sep = draw(st.sampled_from([";", ",", "\t", "|"]))
    quote = draw(st.booleans())
    lines = [sep.join(header)]
    for row in rows:
        cells = [f'"{c}"' if quote and draw(st.booleans()) else c for c in row]
        lines.append(sep.join(cells))
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.integers(min_value=0, max_value=len(data)))
    return data[:cut] if draw(st.booleans()) else data


#: Plausible values per column (mixed with junk by :func:`structured_files`).
GOOD_VALUES: dict[str, list[str]] = {
    "campagne": ["Eau 2025", "Santé", "Énergie – hiver"], "site": ["91286", "59350", "200042190", "1053"],
    "date": ["2025-03-18", "18/03/2025", "45734", "2025-03-18T18:30", "18.03.2025 18h30"],
    "heure": ["18:30", "18h", "", "0,75"], "numero": ["12", "12 bis", ""], "voie": ["avenue des Tuileries", ""],
    "code_postal": ["91350", "1000", ""], "commune": ["Grigny", ""], "latitude": ["48.6511", "48,65", ""],
    "longitude": ["2.3766", "2,37", ""], "batiment": ["GB-T12", ""], "porte": ["A-03-12", ""],
    "resultat": ["ouvert", "absent", "À revoir", "refus", "NPD"], "langue": ["français", "arabe", ""],
    "sujets": ["eau|énergie", "santé, école", ""], "voisin": ["V017", "GRI-V03", ""],
}


@st.composite
def structured_files(draw: st.DrawFn) -> bytes:
    """Files whose header is usable, with rows mixing plausible values and junk."""
    location = draw(st.sampled_from(schema.LOCATION_GROUPS))
    optional = draw(st.lists(st.sampled_from(schema.COLUMN_NAMES), unique=True, max_size=8))
    columns = list(dict.fromkeys([*schema.REQUIRED, *location, *optional]))
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from([c, c.upper(), c.replace("_", " ").title()])) for c in columns]
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        row = []
        for c in columns:
            value = draw(st.one_of(st.sampled_from(GOOD_VALUES[c]), _cell()) if draw(st.booleans()) else
                         st.sampled_from(GOOD_VALUES[c]))
            row.append(value)
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(_cell(), max_size=2))
        rows.append(row)
    sep = draw(st.sampled_from([";", ","]))
    lines = [sep.join(header)] + [sep.join(f'"{v}"' if sep in v or '"' in v else v for v in r) for r in rows]
    return "\n".join(lines).encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=0, max_size=18))
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    values = st.one_of(_cell().map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
                       st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                       st.dates(), st.datetimes(), st.times(), st.none(), st.booleans())
    rows = draw(st.lists(st.lists(values, max_size=len(header) + 2), max_size=15))
    data = xlsx_bytes([header, *rows])
    if draw(st.booleans()):  # damage the archive
        # a position independent of the archive's length (its timestamp makes the length vary by a byte)
        at = draw(st.integers(0, 10**6)) % len(data)
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at + 20:]
    return data


def _counts(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        visits = conn.execute(sa.select(sa.func.count()).select_from(store.VISITS)).scalar_one()
        imports = conn.execute(sa.select(sa.func.count()).select_from(store.IMPORTS)).scalar_one()
    return visits, imports


def _check_one(engine: sa.Engine, data: bytes, name: str) -> str:
    status = _import_one(engine, data, name)
    event(status)
    return status


def _import_one(engine: sa.Engine, data: bytes, name: str) -> str:
    before = _counts(engine)
    try:
        summary = importer.import_bytes(data, name=name, engine=engine, today=TODAY)
    except FileRefusedError as exc:
        from geo.coverage.errors import FILE_MESSAGES
        from geo.coverage.limits import LimitExceededError

        if isinstance(exc, LimitExceededError):  # a bound crossed: its own message, in both languages
            assert exc.code == f"limit.{exc.limit}" and exc.text("fr") and exc.text("en")
        else:
            assert exc.code in FILE_MESSAGES
        assert _counts(engine) == before, "a refused file changed the store"
        return f"refused: {exc.code}"
    after = _counts(engine)
    assert after[0] - before[0] == summary.imported
    assert after[1] - before[1] == 1
    assert summary.imported + summary.duplicates + summary.rejected == summary.rows
    assert summary.report["ligne"].nunique() == summary.rejected == len(summary.report)  # one line per row
    assert not set(summary.report.columns) - {"ligne", "colonne", "motif", *schema.COLUMN_NAMES}
    with engine.connect() as conn:  # what went in satisfies the schema
        bad = conn.execute(sa.select(sa.func.count()).select_from(store.VISITS).where(
            store.VISITS.c.outcome.not_in(schema.OUTCOMES) | (store.VISITS.c.campaign == "")
            | (store.VISITS.c.site == ""))).scalar_one()
    assert bad == 0
    return summary.status


@pytest.fixture
def fuzz_engine(engine: sa.Engine) -> sa.Engine:
    return engine


@FUZZ
@given(data=csv_files())
def test_fuzzed_csv_files(fuzz_engine: sa.Engine, data: bytes) -> None:
    _check_one(fuzz_engine, data, "fuzz.csv")


@FUZZ
@given(data=structured_files())
def test_fuzzed_files_with_usable_headers(fuzz_engine: sa.Engine, data: bytes) -> None:
    _check_one(fuzz_engine, data, "fuzz.csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.data_too_large,
                                                                 HealthCheck.too_slow])
@given(data=xlsx_files())
def test_fuzzed_xlsx_files(fuzz_engine: sa.Engine, data: bytes) -> None:
    _check_one(fuzz_engine, data, "fuzz.xlsx")


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(fuzz_engine: sa.Engine, data: bytes) -> None:
    _check_one(fuzz_engine, data, "fuzz.bin")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_good=st.integers(1, 400), position=st.floats(0, 1))
def test_a_failure_at_any_row_leaves_no_partial_import(fuzz_engine: sa.Engine, n_good: int, position: float) -> None:
    """A database error on any row of a file rolls the whole file back."""
    from coverage_helpers import visit_rows

    engine = fuzz_engine
    if not getattr(engine, "_boom_trigger", False):
        from test_coverage_store import _add_failing_trigger

        _add_failing_trigger(engine)
        engine._boom_trigger = True  # type: ignore[attr-defined]
    rows = visit_rows(n_good, start=int(position * 1e6))
    at = min(int(position * n_good), n_good - 1)
    rows.loc[at, "campagne"] = "boom"
    before = _counts(engine)
    with pytest.raises(sa.exc.DBAPIError):
        importer.import_bytes(rows.to_csv(index=False, sep=";").encode(), name="f.csv", engine=engine, today=TODAY)
    assert _counts(engine) == before
