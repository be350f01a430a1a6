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
    """Base class of every error raised on purpose by :mod:`geo`; its message is meant for the user.

    ``msgid`` and ``fields`` (optional) name the catalogue message that renders the error in any language
    (:func:`geo.i18n.error_text`); ``str(error)`` stays the English message of logs and the CLI.

    >>> VoisinmapError("row 3: bad year", msgid="sites.error.year", fields={"row": 3}).fields
    {'row': 3}
    """

    def __init__(self, *args: object, msgid: str | None = None, fields: dict[str, object] | None = None) -> None:
        super().__init__(*args)
        if msgid is not None:  # only when given: subclasses may define msgid as a class attribute
            self.msgid = msgid
            self.fields = dict(fields or {})
