"""The cell-key secret of the releases (:mod:`geo.cellkey`): a setting, never in the code or a release.

* ``$VOISINMAP_CELLKEY_SECRET`` -- at least 16 characters (e.g. ``python -c "import secrets;
  print(secrets.token_hex(32))"``). **Required in production** (``VOISINMAP_ENV=production``): a
  server that would perturb with a secret nobody kept could not publish consistent releases.
* In development, when the variable is unset, a random secret is created once per installation in
  the data folder (``data/cellkey.secret``, mode 0600) and read back afterwards, so that every release
  of that installation uses the same key.

The secret must stay the same for every release compared by readers: whoever changes it changes every
published noise (see the limits of :mod:`geo.cellkey`).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from geo import config
from geo.auth.environment import PRODUCTION, ConfigurationError, run_mode

logger = logging.getLogger(__name__)

ENV_SECRET = "VOISINMAP_CELLKEY_SECRET"
SECRET_FILE = "cellkey.secret"
MIN_LENGTH = 16


def default_folder() -> Path:
    """Folder of the development secret file: the project's ``data/`` folder (beside the SQLite store)."""
    return config.PROJECT_ROOT / "data"


def cellkey_secret(*, environ: Mapping[str, str] | None = None, folder: str | os.PathLike[str] | None = None) -> bytes:
    """The cell-key secret of this installation.

    Parameters
    ----------
    environ : mapping, optional
        Environment to read (default :data:`os.environ`).
    folder : path-like, optional
        Folder of the development secret file (default :func:`default_folder`).

    Raises
    ------
    ConfigurationError
        In production without ``$VOISINMAP_CELLKEY_SECRET``, or when it is shorter than 16 characters.
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_SECRET, "").strip()
    if value:
        if len(value) < MIN_LENGTH:
            raise ConfigurationError(f"{ENV_SECRET}: expected at least {MIN_LENGTH} characters, got {len(value)}")
        return value.encode()
    if run_mode(env) == PRODUCTION:
        raise ConfigurationError(f"{ENV_SECRET}: expected a secret of at least {MIN_LENGTH} characters in "
                                 "production, got nothing (releases need the same secret every time)")
    return _development_secret(Path(folder) if folder is not None else default_folder())


def _development_secret(folder: Path) -> bytes:
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # another process created it meanwhile
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            logger.info("development cell-key secret created in %s", path)
    value = path.read_text().strip()
    if len(value) < MIN_LENGTH:
        raise ConfigurationError(f"{path}: expected a secret of at least {MIN_LENGTH} characters, got {len(value)}")
    return value.encode()
