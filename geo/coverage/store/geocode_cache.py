"""The geocoding cache kept in the store (table ``geocode_cache``), keyed by a hash of the normalised query.

The in-memory twin for tests and one-off runs is :class:`geo.coverage.geocode.MemoryGeocodeCache`; both
answer ``get_many`` / ``put_many``. Only the address API's answer is stored (position, score, type, INSEE
code), never a visit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.coverage.store.models import GEOCODE_CACHE
from geo.db import write_transaction

_ANSWER_FIELDS = ("lat", "lon", "score", "result_type", "citycode")


class SqlGeocodeCache:
    """The geocoding cache kept in the store (table ``geocode_cache``), keyed by query hash."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, keys: Sequence[str]) -> dict[str, dict]:
        """Cached answers for the keys that have one."""
        out: dict[str, dict] = {}
        c = GEOCODE_CACHE.c
        keys = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                for row in conn.execute(sa.select(GEOCODE_CACHE).where(c.query_key.in_(chunk))).mappings():
                    out[row["query_key"]] = {k: row[k] for k in _ANSWER_FIELDS}
        return out

    def put_many(self, answers: dict[str, dict]) -> None:
        """Store answers (existing keys are kept)."""
        if not answers:
            return
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        records = [{"query_key": k, "lat": a.get("lat"), "lon": a.get("lon"), "score": a.get("score"),
                    "result_type": a.get("result_type") or "", "citycode": a.get("citycode") or "",
                    "created_at": now} for k, a in answers.items()]
        with write_transaction(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            conn.execute(insert(GEOCODE_CACHE).on_conflict_do_nothing(index_elements=["query_key"]), records)
