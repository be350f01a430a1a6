"""Door roll-up: building key and roll-up week on each visit, the roll-up table, indexes for it.

Existing visits get their building key and week (:mod:`geo.coverage.keys`, computed in chunks), then the
roll-up is counted from them (:func:`geo.coverage.store.rollup.refresh_rollup`).

Revision ID: 0002_rollup
Revises: 0001_initial
Create Date: 2026-11-30
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0002_rollup"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_CHUNK = 50_000


def _backfill(conn: sa.Connection) -> None:
    from geo.coverage.keys import building_keys, day_numbers, week_start

    visits = sa.table("door_visits", sa.column("id"), sa.column("site"), sa.column("building"),
                      sa.column("street_number"), sa.column("street"), sa.column("postcode"), sa.column("city"),
                      sa.column("lat"), sa.column("lon"), sa.column("visited_at"), sa.column("building_key"),
                      sa.column("week_start"))
    c = visits.c
    update = (sa.update(visits).where(c.id == sa.bindparam("b_id"))
              .values(building_key=sa.bindparam("b_key"), week_start=sa.bindparam("b_week")))
    last = 0
    while True:
        rows = conn.execute(sa.select(c.id, c.site, c.building, c.street_number, c.street, c.postcode, c.city,
                                      c.lat, c.lon, c.visited_at).where(c.id > last).order_by(c.id)
                            .limit(_CHUNK)).all()
        if not rows:
            return
        frame = pd.DataFrame(rows, columns=["id", "site", "building", "street_number", "street", "postcode", "city",
                                            "lat", "lon", "visited_at"])
        frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce").astype(float)
        frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce").astype(float)
        keys, _ = building_keys(frame)
        weeks = week_start(day_numbers(pd.to_datetime(frame["visited_at"])))
        conn.execute(update, [{"b_id": int(i), "b_key": k, "b_week": int(w)}
                              for i, k, w in zip(frame["id"], keys, weeks, strict=True)])
        last = int(frame["id"].iloc[-1])


def upgrade() -> None:
    with op.batch_alter_table("door_visits") as batch:
        batch.add_column(sa.Column("building_key", sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("week_start", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_door_visits_building_key", "door_visits", ["building_key"])
    op.create_index("ix_door_visits_import_id", "door_visits", ["import_id"])
    op.create_table(
        "door_rollup",
        sa.Column("building_key", sa.String(255), primary_key=True),
        sa.Column("week_start", sa.Integer(), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("campaign", sa.String(80), primary_key=True),
        sa.Column("site", sa.String(60), primary_key=True),
        sa.Column("located", sa.Boolean(), primary_key=True),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("new_doors", sa.Integer(), nullable=False),
    )
    op.create_index("ix_door_rollup_site_week", "door_rollup", ["site", "week_start"])
    op.create_index("ix_door_rollup_week", "door_rollup", ["week_start"])
    conn = op.get_bind()
    _backfill(conn)
    from geo.coverage.store.rollup import refresh_rollup

    refresh_rollup(conn)


def downgrade() -> None:
    op.drop_index("ix_door_rollup_week", table_name="door_rollup")
    op.drop_index("ix_door_rollup_site_week", table_name="door_rollup")
    op.drop_table("door_rollup")
    op.drop_index("ix_door_visits_import_id", table_name="door_visits")
    op.drop_index("ix_door_visits_building_key", table_name="door_visits")
    with op.batch_alter_table("door_visits") as batch:
        batch.drop_column("week_start")
        batch.drop_column("building_key")
