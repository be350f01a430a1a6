"""Alembic environment of the releases schema (run by :func:`geo.coverage.releases.upgrade`).

Only the ``release_*`` tables are this chain's: the door-visit and account tables of the same database
belong to their own chains and are ignored here (``include_name``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from geo.coverage.releases import VERSION_TABLE, metadata

config = context.config


def _include_name(name: str | None, type_: str, _parent: object) -> bool:
    return type_ != "table" or bool(name and name.startswith("release_"))


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, version_table=VERSION_TABLE, include_name=_include_name,
                      render_as_batch=True, **kwargs)


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()
