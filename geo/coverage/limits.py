"""The bounds every door-visit file is read within, and the refusal raised at the first one crossed.

A spreadsheet is a ZIP of XML parts: 5 KB can declare a sheet of 1,048,576 × 16,384 cells, and 1 MB can
inflate to 450 MB of cells on one row. :class:`ReadLimits` holds the bounds checked before and while a file is
read (:mod:`geo.coverage.xlsx_scan` for spreadsheets, :mod:`geo.coverage.reader` for CSV), so that a hostile
or broken file is refused within about two seconds and 200 MB of memory (``docs/coverage.md``, « Limites de
lecture »). :class:`LimitExceededError` names the limit in the catalogue's words (message ids
``coverage.limit.<name>``, French first, English through :meth:`LimitExceededError.text`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from geo.coverage.errors import CoverageError, FileRefusedError
from geo.i18n import format_number, t

logger = logging.getLogger(__name__)

#: Every limit a file can cross: the suffix of its message id ``coverage.limit.<name>``.
LIMIT_NAMES: tuple[str, ...] = ("zip_entries", "entry_size", "inflated_size", "compression_ratio",
                                "dimension", "rows", "columns", "cells", "cells_per_row", "line_length",
                                "fields_per_line", "cell_length")


@dataclass(frozen=True)
class ReadLimits:
    """Bounds of a readable door-visit file.

    Attributes
    ----------
    max_bytes : int or None
        Largest file, in bytes (CSV and XLSX); None (the default): no cap, since files are read in chunks
        and memory does not grow with their size.
    max_rows : int
        Largest number of data rows (CSV records; XLSX sheet rows below the header). An import is one
        transaction: this bounds how long it may hold the store's write lock.
    max_columns : int
        Most fields on a CSV line, cells on an XLSX row, and the last column a sheet may reach.
    max_line_chars : int
        Longest CSV record, in characters.
    max_field_chars : int
        Longest cell, in characters.
    max_zip_entries : int
        Most parts in an XLSX archive.
    max_entry_bytes : int
        Largest part of an XLSX archive once inflated (declared and actual).
    max_inflated_bytes : int
        Largest sum of the inflated parts.
    max_ratio : float
        Highest inflated/compressed ratio of a part, checked once :attr:`ratio_floor_bytes` are inflated.
    ratio_floor_bytes : int
        Inflated bytes below which a part's ratio is not judged (small parts compress very well).
    max_cells : int
        Most cells in one sheet.
    """

    max_bytes: int | None = None
    max_rows: int = 10_000_000
    max_columns: int = 200
    max_line_chars: int = 65_536
    max_field_chars: int = 10_000
    max_zip_entries: int = 500
    max_entry_bytes: int = 512 * 1024 * 1024
    max_inflated_bytes: int = 768 * 1024 * 1024
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 16 * 1024 * 1024
    max_cells: int = 20_000_000

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None and item.name == "max_bytes":
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{item.name}: expected a positive number, got {value!r}")

    def replace(self, **changes: int | float | None) -> ReadLimits:
        """A copy with the given bounds changed; ``None`` values keep the current bound."""
        kept = {k: v for k, v in changes.items() if v is not None}
        unknown = sorted(set(kept) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"changes: expected names of ReadLimits fields, got {unknown}")
        return ReadLimits(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **kept})


#: The bounds used when none are given.
DEFAULT_LIMITS = ReadLimits()


def _display(params: dict[str, object], lang: str) -> dict[str, object]:
    return {k: format_number(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in params.items()}


class LimitExceededError(FileRefusedError):
    """A file crossed one of the :class:`ReadLimits`; nothing is read further and nothing is stored.

    Attributes
    ----------
    limit : str
        The limit crossed, one of :data:`LIMIT_NAMES`.
    params : dict
        The values its message quotes (the limit and what the file holds or declares).
    """

    def __init__(self, limit: str, /, **params: object) -> None:
        if limit not in LIMIT_NAMES:
            raise ValueError(f"limit: expected one of {LIMIT_NAMES}, got {limit!r}")
        self.limit = limit
        self.params = params
        CoverageError.__init__(self, f"limit.{limit}", self.text("fr"))

    def text(self, lang: str) -> str:
        """The refusal in ``lang`` (``fr`` or ``en``), numbers written the way its readers expect."""
        return t(f"coverage.limit.{self.limit}", lang, **_display(self.params, lang))
