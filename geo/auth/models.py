"""Tables of the user accounts, in their own SQLAlchemy metadata (not the coverage store's).

They live in the same database as the door-visit store (:func:`geo.config.database_url`), with table
names prefixed ``auth_`` and their own Alembic chain (version table :data:`VERSION_TABLE`), so the two
schemas evolve independently.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Alembic version table of the accounts schema.
VERSION_TABLE = "voisinmap_auth_version"

metadata = sa.MetaData()

USERS = sa.Table(
    "auth_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(40), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("session_version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("voisin_code", sa.String(16), nullable=True),
    sa.UniqueConstraint("username", name="uq_auth_users_username"),
    sa.CheckConstraint("role IN ('strategie', 'financeur', 'manager', 'admin', 'voisin')", name="ck_auth_users_role"),
)

USER_SITES = sa.Table(
    "auth_user_sites",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site", sa.String(9), primary_key=True),
)

#: Failed log-in attempts, keyed by an opaque digest (of a user name or a client address) made by the
#: caller: neither names nor addresses are stored in clear.
LOGIN_FAILURES = sa.Table(
    "auth_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Index("ix_auth_login_failures_key", "key"),
    sa.Index("ix_auth_login_failures_at", "at"),
)

#: Strategy scenarios saved by name, per user: the page's query string (every control) and, when the
#: user worked on an uploaded network, its validated sites as JSON (the association's public sites list,
#: never door-visit data).
SAVED_SCENARIOS = sa.Table(
    "auth_saved_scenarios",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("auth_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("query", sa.String(2000), nullable=False),
    sa.Column("sites", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("user_id", "name", name="uq_auth_saved_scenarios_user_name"),
)
