"""Initial coverage schema: imports, door visits, geocoding cache.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "coverage_imports",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_format", sa.String(8), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_imported", sa.Integer(), nullable=False),
        sa.Column("n_duplicates", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("n_pending", sa.Integer(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "door_visits",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("content_key", sa.String(32), nullable=False),
        sa.Column("import_id", _BigId, sa.ForeignKey("coverage_imports.id"), nullable=False),
        sa.Column("campaign", sa.String(80), nullable=False),
        sa.Column("site", sa.String(60), nullable=False),
        sa.Column("visited_at", sa.DateTime(), nullable=False),
        sa.Column("time_known", sa.Boolean(), nullable=False),
        sa.Column("street_number", sa.String(10), nullable=False),
        sa.Column("street", sa.String(120), nullable=False),
        sa.Column("postcode", sa.String(5), nullable=False),
        sa.Column("city", sa.String(80), nullable=False),
        sa.Column("building", sa.String(40), nullable=False),
        sa.Column("door", sa.String(40), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_status", sa.String(12), nullable=False),
        sa.Column("geocode_score", sa.Float(), nullable=True),
        sa.Column("code_qp", sa.String(10), nullable=True),
        sa.Column("qpv_status", sa.String(10), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("language", sa.String(30), nullable=False),
        sa.Column("topics", sa.String(200), nullable=False),
        sa.Column("voisin", sa.String(32), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("content_key", name="uq_door_visits_content_key"),
    )
    op.create_index("ix_door_visits_site_campaign", "door_visits", ["site", "campaign"])
    op.create_index("ix_door_visits_visited_at", "door_visits", ["visited_at"])
    op.create_index("ix_door_visits_location_status", "door_visits", ["location_status"])
    op.create_table(
        "geocode_cache",
        sa.Column("query_key", sa.String(32), primary_key=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("result_type", sa.String(20), nullable=False),
        sa.Column("citycode", sa.String(5), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("geocode_cache")
    op.drop_index("ix_door_visits_location_status", table_name="door_visits")
    op.drop_index("ix_door_visits_visited_at", table_name="door_visits")
    op.drop_index("ix_door_visits_site_campaign", table_name="door_visits")
    op.drop_table("door_visits")
    op.drop_table("coverage_imports")
