"""Publishing a release from the door-visit store (the I/O edge of :mod:`geo.coverage.releases`).

``voisinmap releases publish`` and the admin's button on the page Impact call :func:`publish_from_store`:
it reads the households met and the doors opened (:mod:`geo.coverage.release_records`) and the cell-key secret
(:mod:`geo.coverage.release_secret`), then freezes the next block of **closed** quarters, up to the
quarter before today's by default.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from geo import timebins
from geo.coverage import release_records, releases
from geo.coverage.release_secret import cellkey_secret

logger = logging.getLogger(__name__)


class NothingToPublish(releases.ReleaseError):
    """No closed quarter after the latest release, or no household met yet."""


def last_closed_quarter(now: dt.datetime) -> str:
    """The last quarter that ended before ``now`` (``2026-05-02`` -> ``"2026-T1"``)."""
    quarter = (now.month - 1) // 3 + 1
    return timebins.quarter_code(now.year - 1, 4) if quarter == 1 else timebins.quarter_code(now.year, quarter - 1)


def publish_from_store(*, db: str | None = None, data_dir: str | os.PathLike[str] | None = None,
                       through: str | None = None, published_at: dt.datetime | None = None,
                       secret: bytes | None = None) -> releases.Release:
    """Publish the next release of the store at ``db``.

    Parameters
    ----------
    db : str, optional
        Database URL of the door-visit store (default :func:`geo.config.database_url`); the releases live
        in the same database.
    data_dir : path-like, optional
        Processed national data (régions of the sites).
    through : str, optional
        Last quarter of the block (default: the last closed quarter, :func:`last_closed_quarter`).
    published_at : datetime.datetime, optional
        Date of the release, naive UTC (default: now).
    secret : bytes, optional
        Cell-key secret (default :func:`geo.coverage.release_secret.cellkey_secret`).

    Raises
    ------
    NothingToPublish
        When no household was met yet, or ``through`` is not after the latest release's block.
    """
    now = published_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)  # full precision: imports of this second count
    through = through or last_closed_quarter(now)
    timebins.parse_quarter(through)
    key = secret if secret is not None else cellkey_secret()
    records, doors = release_records.store_openings(db=db, data_dir=data_dir)
    if records.empty:
        raise NothingToPublish("records: expected households met in the store, got none")
    store = releases.open_releases(db)
    try:
        latest = store.latest()
        if latest is not None and through <= latest.through_period:
            raise NothingToPublish(f"through: expected a quarter after {latest.through_period} (release "
                                   f"{latest.version}), got {through}")
        first = None if latest is not None else min(str(records["period"].min()), through)
        return releases.create_release(store, records, levels=release_records.LEVELS, through=through,
                                       secret=key, published_at=now, first=first, doors=doors)
    finally:
        store.engine.dispose()
