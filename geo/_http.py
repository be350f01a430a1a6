"""Download plumbing: streamed, retried, hash-checked, atomically written.

Only a complete file whose SHA-256 matches enters its destination; a partial or corrupt download is
deleted. Used by :mod:`geo.sources` and tested against a local HTTP server.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from pathlib import Path

import requests
from tqdm.auto import tqdm

from geo._errors import VoisinmapError

logger = logging.getLogger(__name__)

CHUNK = 1 << 16


class DownloadError(VoisinmapError, RuntimeError):
    """A download failed for good (HTTP error, time-out after retries, truncated body, wrong hash)."""


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_once(url: str, tmp: Path, *, timeout: float, label: str, progress: bool) -> str:
    """Stream ``url`` into ``tmp``; return its SHA-256. Raises on HTTP errors and short bodies."""
    digest = hashlib.sha256()
    with requests.get(url, stream=True, timeout=timeout) as resp:
        if resp.status_code >= 400:
            raise requests.HTTPError(f"HTTP {resp.status_code} for {url}", response=resp)
        expected = resp.headers.get("Content-Length")
        total = int(expected) if expected and expected.isdigit() else None
        received = 0
        with (
            open(tmp, "wb") as out,
            tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not progress, leave=False) as bar,
        ):
            for chunk in resp.iter_content(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(f"{label}: truncated body from {url}: received {received} of {total} bytes")
    return digest.hexdigest()


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    label: str | None = None,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``dest`` atomically, with retries and an optional hash check.

    Parameters
    ----------
    url : str
        HTTP(S) address of the file.
    dest : path-like
        Final path; its folder is created. It is replaced only by a complete, verified file.
    sha256 : str, optional
        Expected SHA-256 (hex). A mismatch is final (no retry): the file is deleted.
    timeout : float
        Seconds for connecting and between bytes.
    retries : int
        Attempts after the first one for connection errors, time-outs, truncated bodies and HTTP 5xx/429.
    backoff : float
        Base delay in seconds, doubled after each failed attempt.
    label : str, optional
        Name shown in the progress bar and in errors (default: the file name).
    progress : bool
        Show a progress bar.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DownloadError
        HTTP 4xx, wrong hash, or every attempt failed.
    """
    if retries < 0:
        raise ValueError(f"retries: expected an integer >= 0, got {retries!r}")
    dest = Path(dest)
    label = label or dest.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(retries + 1):
        fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            digest = _fetch_once(url, tmp, timeout=timeout, label=label, progress=progress)
            if sha256 and digest != sha256.lower():
                raise DownloadError(
                    f"{label}: SHA-256 mismatch for {url}: expected {sha256}, got {digest}; "
                    "the file was not kept"
                )
            os.replace(tmp, dest)
            logger.info("downloaded %s -> %s", url, dest)
            return dest
        except DownloadError as exc:
            last = exc
            if "mismatch" in str(exc):
                raise
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            last = exc
            if status < 500 and status != 429:
                raise DownloadError(f"{label}: {exc}") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            last = exc
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < retries:
            delay = backoff * (2**attempt)
            logger.warning("%s: attempt %d failed (%s); retrying in %.1f s", label, attempt + 1, last, delay)
            time.sleep(delay)
    raise DownloadError(f"{label}: download from {url} failed after {retries + 1} attempts: {last}")
