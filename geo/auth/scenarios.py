"""Strategy scenarios saved by name, per user, in the accounts database (SQLite or PostgreSQL).

A scenario is stored as the Stratégie page's query string (every control, see
:class:`app.scenario_params.Scenario`) plus, optionally, the validated sites records of an uploaded
network as JSON. Saving under an existing name replaces it. Each user sees only their own scenarios.

>>> store = ScenarioStore("sqlite://")                          # doctest: +SKIP
>>> store.save(user_id, "Plan 20 villes", "mode=plan&cities=20")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import db
from geo._errors import VoisinmapError
from geo.auth.models import SAVED_SCENARIOS
from geo.auth.store import upgrade

logger = logging.getLogger(__name__)

MAX_NAME = 80
MAX_QUERY = 2000


class ScenarioNameError(VoisinmapError, ValueError):
    """A scenario name that is empty or too long."""


@dataclass(frozen=True)
class SavedScenario:
    """One saved scenario: its name, query string, sites records (None: the shipped sites), date."""

    name: str
    query: str
    sites: list[dict[str, Any]] | None
    updated_at: dt.datetime


def check_name(name: object) -> str:
    """A cleaned scenario name (1–80 characters) or :class:`ScenarioNameError`."""
    text = " ".join(str(name or "").split())
    if not text or len(text) > MAX_NAME:
        raise ScenarioNameError(f"name: expected 1 to {MAX_NAME} characters, got {len(text)}",
                                msgid="scenario.error.name", fields={"max": MAX_NAME})
    return text


class ScenarioStore:
    """Saved scenarios in the accounts database; ``url``, ``engine`` and ``migrate`` as for
    :class:`geo.auth.store.UserStore` (the accounts schema, this table included, is migrated on open)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, migrate: bool = True) -> None:
        self.engine = engine if engine is not None else db.make_engine(url)
        if migrate:
            upgrade(self.engine)

    def save(self, user_id: int, name: str, query: str, *, sites: list[dict[str, Any]] | None = None) -> SavedScenario:
        """Save (or replace) the scenario ``name`` of ``user_id``."""
        clean = check_name(name)
        if not isinstance(query, str) or len(query) > MAX_QUERY:
            raise ValueError(f"query: expected a query string of at most {MAX_QUERY} characters, got {type(query).__name__}")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        payload = None if sites is None else json.dumps(sites, ensure_ascii=False, default=str)
        table = SAVED_SCENARIOS
        with self.engine.begin() as conn:
            done = conn.execute(sa.update(table).where(table.c.user_id == user_id, table.c.name == clean)
                                .values(query=query, sites=payload, updated_at=now)).rowcount
            if not done:
                conn.execute(sa.insert(table).values(user_id=user_id, name=clean, query=query, sites=payload,
                                                     updated_at=now))
        logger.info("scenario saved for user %s", user_id)
        return SavedScenario(clean, query, sites, now)

    def list(self, user_id: int) -> list[SavedScenario]:
        """The user's scenarios, by name."""
        table = SAVED_SCENARIOS
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.name, table.c.query, table.c.sites, table.c.updated_at)
                                .where(table.c.user_id == user_id).order_by(table.c.name)).all()
        return [SavedScenario(r.name, r.query, None if r.sites is None else json.loads(r.sites), r.updated_at)
                for r in rows]

    def get(self, user_id: int, name: str) -> SavedScenario | None:
        """The scenario ``name`` of ``user_id``, or None."""
        return next((s for s in self.list(user_id) if s.name == name), None)

    def delete(self, user_id: int, name: str) -> bool:
        """Delete a scenario; True when it existed."""
        table = SAVED_SCENARIOS
        with self.engine.begin() as conn:
            return bool(conn.execute(sa.delete(table).where(table.c.user_id == user_id, table.c.name == name)).rowcount)
