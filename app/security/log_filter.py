"""Keep client addresses out of the development server's request log lines."""

from __future__ import annotations

import logging
import re


class NoClientAddress(logging.Filter):
    """Remove the client address that the development server writes at the start of each request line."""

    _ADDRESS = re.compile(r"^\S+ - - ")

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without its leading address; never drops a record."""
        if isinstance(record.msg, str):
            record.msg = self._ADDRESS.sub("- - - ", record.msg)
        return True


def hide_client_addresses() -> None:
    """Install :class:`NoClientAddress` on the ``werkzeug`` logger (once)."""
    wz = logging.getLogger("werkzeug")
    if not any(isinstance(f, NoClientAddress) for f in wz.filters):
        wz.addFilter(NoClientAddress())
