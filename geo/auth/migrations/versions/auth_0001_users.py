"""Accounts: users, their sites, failed log-in attempts.

Revision ID: auth_0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "auth_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("session_version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("username", name="uq_auth_users_username"),
        sa.CheckConstraint("role IN ('strategie', 'financeur', 'manager', 'admin')", name="ck_auth_users_role"),
    )
    op.create_table(
        "auth_user_sites",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site", sa.String(9), primary_key=True),
    )
    op.create_table(
        "auth_login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_auth_login_failures_key", "auth_login_failures", ["key"])
    op.create_index("ix_auth_login_failures_at", "auth_login_failures", ["at"])


def downgrade() -> None:
    op.drop_index("ix_auth_login_failures_at", table_name="auth_login_failures")
    op.drop_index("ix_auth_login_failures_key", table_name="auth_login_failures")
    op.drop_table("auth_login_failures")
    op.drop_table("auth_user_sites")
    op.drop_table("auth_users")
