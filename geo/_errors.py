"""The common base of the errors :mod:`geo` raises on purpose.

Every exception class defined in :mod:`geo` derives from :class:`VoisinmapError`, so a caller (the
command line, the web app) can tell a refusal the library explains in words -- a missing data file, a
sites file in the wrong format, an unreachable database -- from a programming error, with one
``except VoisinmapError``. Each class keeps its historical built-in base as well (``ValueError``,
``RuntimeError``, ``KeyError``, ``FileNotFoundError``), so callers catching those still do.

>>> from geo.load import DataNotBuiltError
>>> issubclass(DataNotBuiltError, VoisinmapError), issubclass(DataNotBuiltError, FileNotFoundError)
(True, True)
"""

from __future__ import annotations

__all__ = ["VoisinmapError"]


class VoisinmapError(Exception):
    """Base class of every error raised on purpose by :mod:`geo`; its message is meant for the user."""
