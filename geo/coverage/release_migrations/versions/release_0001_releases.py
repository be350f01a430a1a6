"""Releases of funders' figures: versions and their frozen cells.

Revision ID: release_0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "release_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "release_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("published_at", sa.DateTime, nullable=False),
        sa.Column("first_period", sa.String(7), nullable=False),
        sa.Column("through_period", sa.String(7), nullable=False),
        sa.Column("levels", sa.String(255), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("n_cells", sa.Integer, nullable=False),
    )
    op.create_table(
        "release_cells",
        sa.Column("version", sa.Integer, sa.ForeignKey("release_versions.version"), primary_key=True),
        sa.Column("group_key", sa.String(255), primary_key=True),
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("households", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(16), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("release_cells")
    op.drop_table("release_versions")
