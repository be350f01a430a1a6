"""Every message a user of the door-visit import can read, as message ids of the catalogues.

Two kinds:

* **file refusals** (codes :data:`FILE_CODES`, message ids ``coverage.file.<code>``, raised as
  :class:`FileRefusedError`): the whole file is refused, nothing is stored, ``voisinmap coverage import``
  exits with status 2;
* **row rejections** (codes :data:`ROW_CODES`, message ids ``coverage.row.<code>``): one row is left out of
  the store and listed in the report with its line, column and reason; the other rows are imported
  (exit status 3).

Each text is in French and English in ``geo/locale/{fr,en}/LC_MESSAGES/voisinmap.po`` (:mod:`geo.i18n`);
:data:`FILE_MESSAGES`, :data:`ROW_MESSAGES` and :data:`OTHER_MESSAGES` are read-only views of their French
templates. An error keeps its code and fields, so :meth:`CoverageError.text` renders it in either language.

Messages never quote the content of a cell that may hold personal data. ``docs/coverage.md`` lists them all
and ``tests/coverage/test_coverage_messages.py`` triggers each one.
"""

from __future__ import annotations

from geo._errors import VoisinmapError
from geo.i18n import DEFAULT_LANG, MessageView, error_text, t

#: Codes of the file refusals.
FILE_CODES: tuple[str, ...] = (
    "missing", "empty", "too_large", "binary", "xls", "xlsx_unreadable", "no_header", "missing_columns",
    "no_location", "personal_columns", "duplicate_columns", "no_rows", "too_many_rows", "malformed",
)
#: Codes of the row rejections (the report's ``motif``).
ROW_CODES: tuple[str, ...] = (
    "required", "field_count", "too_long", "date", "date_range", "time", "outcome", "number", "coords_partial",
    "coords_swapped", "coords_outside", "location", "postcode", "identifier", "house_number", "door",
    "civility", "voisin", "personal", "topic", "language", "text", "site_scope",
)
#: Codes of the other messages of the import command (exit status 1).
OTHER_CODES: tuple[str, ...] = ("store_unreachable", "geocoder_unavailable", "geocoder_error")

#: code -> French template of a file refusal (a view of the catalogue).
FILE_MESSAGES = MessageView("coverage.file", FILE_CODES)
#: code -> French template of a row rejection (a view of the catalogue).
ROW_MESSAGES = MessageView("coverage.row", ROW_CODES)
#: code -> French template of the other messages (a view of the catalogue).
OTHER_MESSAGES = MessageView("coverage.other", OTHER_CODES)


def _check_code(code: str, messages: MessageView) -> str:
    if code not in messages:
        raise ValueError(f"code: expected one of {sorted(messages)}, got {code!r}")
    return messages.msgid(code)


class CoverageError(VoisinmapError):
    """Base class of the errors of :mod:`geo.coverage`, carrying a catalogue ``code``.

    Parameters
    ----------
    code : str
        The code of the message.
    message : str, optional
        The French text (``str(error)``); by default the message ``msgid`` rendered in French.
    msgid : str, optional
        Message id of the text, with ``fields`` its placeholders, so :meth:`text` can render it in English;
        by default the message of ``code`` among :data:`OTHER_CODES`.
    fields : dict, optional
        Values of the placeholders of ``msgid``.
    """

    def __init__(self, code: str, message: str | None = None, *, msgid: str | None = None,
                 fields: dict[str, object] | None = None) -> None:
        self.fields = dict(fields or {})
        if msgid is None and message is None:
            msgid = _check_code(code, OTHER_MESSAGES)
        self.msgid = msgid
        self.message = message if message is not None else t(msgid, DEFAULT_LANG, **self.fields)
        self.code = code
        super().__init__(self.message)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        """The message in ``lang`` (the French message when the error carries no message id)."""
        return error_text(self, lang) if self.msgid else self.message


class FileRefusedError(CoverageError):
    """The whole file is refused (nothing is stored). ``str(error)`` is the French message."""

    def __init__(self, code: str, **fields: object) -> None:
        super().__init__(code, msgid=_check_code(code, FILE_MESSAGES), fields=fields)


class StoreUnavailableError(CoverageError):
    """The database cannot be opened or migrated."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__("store_unreachable", fields={"url": url, "detail": detail})


def row_message(code: str, lang: str = DEFAULT_LANG, /, **fields: object) -> str:
    """The reason of a row rejection, in ``lang``.

    Parameters
    ----------
    code : str
        One of :data:`ROW_CODES`.
    lang : {"fr", "en"}
        Language of the reason (default French).
    **fields
        Values for the template's placeholders.

    Returns
    -------
    str
        The reason, as written in the report.
    """
    return t(_check_code(code, ROW_MESSAGES), lang, **fields)


def other_message(code: str, lang: str = DEFAULT_LANG, /, **fields: object) -> str:
    """The text of another message of the import (one of :data:`OTHER_CODES`), in ``lang``."""
    return t(_check_code(code, OTHER_MESSAGES), lang, **fields)
