"""The association's current network: reading and validating a sites file (``data/sites.csv``).

The file has one row per current site or essaimage partner, with the columns

``code``
    INSEE code of the city (5 characters; for Paris, Lyon and Marseille the code of the
    arrondissement municipal, e.g. ``75119``) or SIREN of the EPCI (9 digits).
``name``
    A readable name.
``opening_year``
    Year of opening (or of the first campaign for an essaimage).
``kind``
    ``site`` (a city team of the association) or ``essaimage`` (a mentored local partner).
``source``
    Where the fact comes from (free text, may be empty in a user's own file).
``qpv_codes`` (optional)
    The quartiers the team actually works in, as QPV 2024 codes separated by ``;`` (e.g.
    ``QN09126M;QN09125M`` for Grigny 2 and La Grande Borne). A site with codes is credited with
    those quartiers only, not with a catchment circle; empty = the circle (radius and own commune).

Reading (:func:`read_sites`) is the only I/O; :func:`validate_sites` is a pure function over a frame.
"""

from __future__ import annotations

import logging
import os
import re

import pandas as pd

from geo._errors import VoisinmapError

logger = logging.getLogger(__name__)

SITE_COLUMNS: tuple[str, ...] = ("code", "name", "opening_year", "kind", "source")
#: Optional columns (empty when absent).
OPTIONAL_COLUMNS: tuple[str, ...] = ("source", "qpv_codes")
SITE_KINDS: tuple[str, ...] = ("site", "essaimage")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_SIREN = re.compile(r"^\d{9}$")
MIN_YEAR, MAX_YEAR = 2000, 2100


class SitesError(VoisinmapError, ValueError):
    """A sites file or frame that does not follow the expected format."""


def read_sites(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a sites CSV file (codes kept as strings) and validate it.

    Parameters
    ----------
    path : path-like
        A CSV file with the columns of :data:`SITE_COLUMNS` (comma or semicolon separated, UTF-8).

    Returns
    -------
    pandas.DataFrame
        The validated sites (see :func:`validate_sites`).

    Raises
    ------
    SitesError
        When the file cannot be read or does not validate.
    """
    try:
        frame = pd.read_csv(path, dtype=str, sep=None, engine="python", keep_default_na=False,
                            encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SitesError(f"sites: file not found: {path}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise SitesError(f"sites: expected a UTF-8 CSV file, could not parse {path}: {exc}") from exc
    logger.info("read %d sites from %s", len(frame), path)
    return validate_sites(frame)


def validate_sites(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a sites frame and return a clean copy.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``code``, ``name``, ``opening_year``, ``kind`` and optionally ``source`` and ``qpv_codes``.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (str), ``name`` (str), ``opening_year`` (int), ``kind`` (str), ``source``
        (str), ``qpv_codes`` (str, ``;``-separated, may be empty) and ``code_type`` (``insee`` or
        ``siren``), in the input order.

    Raises
    ------
    SitesError
        Naming the column, the row (1-based line of the data, header excluded) and the bad value.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SitesError(f"sites: expected a pandas DataFrame, got {type(frame).__name__}")
    cols = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in SITE_COLUMNS if c not in cols and c not in OPTIONAL_COLUMNS]
    if missing:
        raise SitesError(
            f"sites: missing column(s) {missing}; expected columns {list(SITE_COLUMNS)}, "
            f"got {[str(c) for c in frame.columns]}",
            msgid="sites.error.columns", fields={"missing": ", ".join(missing), "expected": ", ".join(SITE_COLUMNS)},
        )
    if frame.empty:
        raise SitesError("sites: expected at least one site, got an empty table", msgid="sites.error.empty")
    out = pd.DataFrame(index=range(len(frame)))
    for col in (*SITE_COLUMNS, "qpv_codes"):
        values = frame[cols[col]] if col in cols else pd.Series([""] * len(frame))
        out[col] = [("" if pd.isna(v) else str(v).strip()) for v in values]

    codes, types, years = [], [], []
    for i, row in enumerate(out.itertuples(index=False), start=1):
        code, kind, year = _check_row(row, i)
        codes.append(code)
        types.append(kind)
        years.append(year)
    out["qpv_codes"] = [";".join(c.strip().upper() for c in v.split(";") if c.strip()) for v in out["qpv_codes"]]
    out["code"] = codes
    out["opening_year"] = pd.Series(years, dtype="int64")
    out["code_type"] = types
    dup = out["code"][out["code"].duplicated()]
    if len(dup):
        raise SitesError(f"sites: column code: expected unique codes, got duplicates {sorted(set(dup))}",
                         msgid="sites.error.duplicates", fields={"codes": ", ".join(sorted(set(dup)))})
    return out[[*SITE_COLUMNS, "qpv_codes", "code_type"]]


def _check_row(row: object, i: int) -> tuple[str, str, int]:
    """(code, code type, opening year) of one row, or ``SitesError`` naming the row and column."""
    code = row.code.upper()
    if _INSEE.match(code):
        kind = "insee"
    elif _SIREN.match(code):
        kind = "siren"
    else:
        raise SitesError(
            f"sites: row {i}, column code: expected a 5-character INSEE code or a 9-digit EPCI "
            f"SIREN, got {row.code!r}", msgid="sites.error.code", fields={"row": i, "value": row.code},
        )
    if not row.name:
        raise SitesError(f"sites: row {i}, column name: expected a name, got an empty value",
                         msgid="sites.error.name", fields={"row": i})
    if row.kind not in SITE_KINDS:
        raise SitesError(f"sites: row {i}, column kind: expected one of {list(SITE_KINDS)}, got {row.kind!r}",
                         msgid="sites.error.kind", fields={"row": i, "value": row.kind, "expected": ", ".join(SITE_KINDS)})
    try:
        year = int(float(row.opening_year))
    except ValueError:
        year = None
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise SitesError(
            f"sites: row {i}, column opening_year: expected a year between {MIN_YEAR} and {MAX_YEAR}, "
            f"got {row.opening_year!r}",
            msgid="sites.error.year", fields={"row": i, "value": row.opening_year, "lo": MIN_YEAR, "hi": MAX_YEAR},
        )
    _check_qpv_codes(row.qpv_codes, i)
    return code, kind, year


def _check_qpv_codes(value: str, row: int) -> None:
    """Raise ``SitesError`` unless ``value`` is empty or a ``;``-list of QPV 2024 codes."""
    for code in (c.strip().upper() for c in value.split(";") if c.strip()):
        if not re.match(r"^QN[0-9][0-9AB0-9]\d{3}[A-Z]$", code):
            raise SitesError(f"sites: row {row}, column qpv_codes: expected QPV 2024 codes such as 'QN09126M' "
                             f"separated by ';', got {code!r}", msgid="sites.error.qpv_codes",
                             fields={"row": row, "value": code})
