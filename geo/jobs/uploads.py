"""Where an uploaded door-visit file waits for its import job: under its content hash, never its name.

An upload's name may hold a family name or a phone number (« visites famille … 06….csv »): it is neither
stored nor logged. The file is written once as ``<sha256>.<csv|xlsx>`` (mode 0600, folder 0700), atomically,
so a worker never reads half a file; the same content uploaded twice is the same file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from geo.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

ENV_UPLOAD_DIR = "VOISINMAP_UPLOAD_DIR"
EXTENSIONS: tuple[str, ...] = ("csv", "xlsx")


@dataclass(frozen=True)
class StoredFile:
    """An upload kept for a job.

    Attributes
    ----------
    path : pathlib.Path
        ``<folder>/<sha256>.<extension>``.
    sha256 : str
        Hash of the content.
    extension : str
        ``csv`` or ``xlsx``.
    size : int
        Bytes.
    """

    path: Path
    sha256: str
    extension: str
    size: int


def upload_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Folder of stored uploads: ``override``, ``$VOISINMAP_UPLOAD_DIR`` or ``data/uploads`` in the checkout."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(ENV_UPLOAD_DIR)
    return Path(env).expanduser() if env else PROJECT_ROOT / "data" / "uploads"


def extension_of(filename: str) -> str:
    """The lower-case extension of an uploaded name (``csv`` or ``xlsx``); ValueError otherwise."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in EXTENSIONS:
        raise ValueError(f"filename: expected a name ending in .csv or .xlsx, got an extension {ext!r}")
    return ext


def store_upload(data: bytes, *, extension: str, folder: str | os.PathLike[str] | None = None) -> StoredFile:
    """Keep an upload under its hash for a job.

    Parameters
    ----------
    data : bytes
        The file's content.
    extension : {"csv", "xlsx"}
        Its extension (:func:`extension_of` of the uploaded name); the name itself is not kept.
    folder : path-like, optional
        Where to keep it (default :func:`upload_dir`).

    Returns
    -------
    StoredFile
    """
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data: expected bytes, got {type(data).__name__}")
    if extension not in EXTENSIONS:
        raise ValueError(f"extension: expected one of {EXTENSIONS}, got {extension!r}")
    target_dir = upload_dir(folder)
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    path = target_dir / f"{digest}.{extension}"
    if not path.is_file() or path.stat().st_size != len(data):
        handle, part = tempfile.mkstemp(dir=target_dir, prefix=".upload-", suffix=".part")  # created 0600
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, path)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    logger.info("upload stored as %s.%s (%d bytes)", digest[:12], extension, len(data))
    return StoredFile(path=path, sha256=digest, extension=extension, size=len(data))
