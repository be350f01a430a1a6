"""Database files readable by their owner only (mode 0600), whoever's umask starts the process.

The SQLite file holds door-visit logs and password hashes. SQLite creates a missing file with the
process umask (usually 0644: readable by every local account), and its ``-wal`` / ``-shm`` / journal
files copy the mode of the database file. :func:`private_sqlite_file` is called by the engine factory
before the first connection: it creates the file empty with mode 0600, or narrows an existing file
(created by an older version) to 0600. No library does this small job.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

#: Owner read and write, nothing for the group and others.
PRIVATE_MODE = 0o600
_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_sqlite_file(url: str) -> Path | None:
    """Create (or narrow) the file of a SQLite URL with mode 0600; other URLs are left alone.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL. ``sqlite://`` in memory and non-SQLite URLs return None untouched.

    Returns
    -------
    pathlib.Path or None
        The database file, now private; None when the URL names no file.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:") \
            or str(parsed.database).startswith("file:"):
        return None
    path = Path(parsed.database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_MODE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
        logger.info("database file created with mode 0600")
    for candidate in (path, *(path.with_name(path.name + s) for s in _SIDE_FILES)):
        _narrow(candidate)
    return path


def _narrow(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & ~PRIVATE_MODE:
        try:
            path.chmod(PRIVATE_MODE)
        except PermissionError:
            logger.warning("a database file is readable by others (mode %o) and not ours to change", mode)
        else:
            logger.info("database file narrowed from mode %o to 0600", mode)
