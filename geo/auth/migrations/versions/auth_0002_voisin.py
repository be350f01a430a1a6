"""The role ``voisin``: accounts of Voisins Malins, with their pseudonymous Voisin code.

Revision ID: auth_0002
Revises: auth_0001
Create Date: 2026-11-30

SQLite cannot change a CHECK constraint in place: the table ``auth_users`` is rebuilt (Alembic batch
mode). Foreign keys are on, so dropping the old table would cascade to ``auth_user_sites``: its rows are
read first and written back after the rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "auth_0002"
down_revision = "auth_0001"
branch_labels = None
depends_on = None

_OLD_ROLES = "role IN ('strategie', 'financeur', 'manager', 'admin')"
_NEW_ROLES = "role IN ('strategie', 'financeur', 'manager', 'admin', 'voisin')"


def _rebuild(new_check: str, *, add_code: bool) -> None:
    conn = op.get_bind()
    sites = sa.table("auth_user_sites", sa.column("user_id", sa.Integer), sa.column("site", sa.String))
    kept = [dict(r._mapping) for r in conn.execute(sa.select(sites.c.user_id, sites.c.site))]
    old = sa.Table("auth_users", sa.MetaData(), autoload_with=conn)  # its CHECK constraint reflected too
    with op.batch_alter_table("auth_users", copy_from=old, recreate="auto") as batch:
        batch.drop_constraint("ck_auth_users_role", type_="check")
        batch.create_check_constraint("ck_auth_users_role", sa.text(new_check))
        if add_code:
            batch.add_column(sa.Column("voisin_code", sa.String(16), nullable=True))
        else:
            batch.drop_column("voisin_code")
    present = {(r.user_id, r.site) for r in conn.execute(sa.select(sites.c.user_id, sites.c.site))}
    missing = [r for r in kept if (r["user_id"], r["site"]) not in present]
    if missing:
        conn.execute(sites.insert(), missing)


def upgrade() -> None:
    _rebuild(_NEW_ROLES, add_code=True)


def downgrade() -> None:
    op.execute("DELETE FROM auth_user_sites WHERE user_id IN (SELECT id FROM auth_users WHERE role = 'voisin')")
    op.execute("DELETE FROM auth_users WHERE role = 'voisin'")
    _rebuild(_OLD_ROLES, add_code=False)
