"""Accounts, roles and the access policy.

* :mod:`geo.auth.policy` -- roles, principals, resources and the pure access decision;
* :mod:`geo.auth.passwords` -- Argon2id hashing and the password rule;
* :mod:`geo.auth.models` -- the ``auth_*`` tables (own metadata, own Alembic chain);
* :mod:`geo.auth.store` -- :class:`~geo.auth.store.UserStore`, the accounts in the door-visit database.

Importing this package does no I/O.
"""

from geo.auth.policy import ROLES, Principal, Resource, decide, is_allowed

__all__ = ["ROLES", "Principal", "Resource", "decide", "is_allowed"]
