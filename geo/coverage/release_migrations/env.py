"""Alembic environment of the releases schema.

Run only through :func:`geo.coverage.releases.upgrade`, which hands over its connection (and holds the
store's migration lock). Only the ``release_*`` tables belong to this chain: the visits' and the
accounts' tables of the same database have their own chains and are left out (``include_name``).
"""

from __future__ import annotations

from alembic import context

from geo.coverage.releases import VERSION_TABLE, metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=lambda name, type_, _parent: type_ != "table" or str(name).startswith("release_"),
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
