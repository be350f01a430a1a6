"""Releases: the doors opened of each published cell (NULL where hidden, and in older releases).

Revision ID: release_0002
Revises: release_0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "release_0002"
down_revision = "release_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release_cells") as batch:
        batch.add_column(sa.Column("doors_opened", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_cells") as batch:
        batch.drop_column("doors_opened")
