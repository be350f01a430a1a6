"""Alias of :mod:`app.security` for page modules that still import ``app.auth``.

The security layer lives in the package :mod:`app.security`; import it from there. This module only
re-exports the names pages use, until the last of them moves (no code of its own).
"""

from app.security import DB_KEY, DOWNLOAD_PREFIX, current_principal, register_download, site_scope

__all__ = ["DB_KEY", "DOWNLOAD_PREFIX", "current_principal", "register_download", "site_scope"]
