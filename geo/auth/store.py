"""The accounts store: users (Argon2id hashes, role, sites) and failed log-in attempts, in SQL.

>>> store = UserStore("sqlite://")                      # in memory; migrates on open
>>> store.add_user("ines", "une phrase de passe longue", role="manager", sites=["91286"]).sites
('91286',)
>>> store.authenticate("ines", "une phrase de passe longue").role
'manager'

The database is the door-visit store's (:func:`geo.config.database_url`, ``$DATABASE_URL``); the tables
are the ``auth_*`` ones of :mod:`geo.auth.models`, migrated by their own Alembic chain (version table
``voisinmap_auth_version``), under a lock so that several server processes starting together migrate
once. Nothing here logs a password, and user names only as a short digest (:func:`name_digest`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geo import db
from geo._errors import VoisinmapError
from geo.auth import passwords
from geo.auth.models import LOGIN_FAILURES, USER_SITES, USERS, VERSION_TABLE
from geo.auth.policy import Principal, check_role, check_sites, check_voisin_code

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")


class UserExistsError(VoisinmapError, ValueError):
    """``add_user`` with a name already taken."""


class UnknownUserError(VoisinmapError, KeyError):
    """An operation on a user name that does not exist."""


_LOG_KEY: list[bytes] = []


def _log_key() -> bytes:
    """Key of :func:`name_digest`: ``$VOISINMAP_SECRET_KEY``, or one random key per process without it."""
    key = os.environ.get("VOISINMAP_SECRET_KEY", "")
    if key:
        return key.encode()
    if not _LOG_KEY:
        _LOG_KEY.append(secrets.token_bytes(32))
    return _LOG_KEY[0]


def name_digest(username: str) -> str:
    """A short digest of a user name, for logs (``user#1a2b3c4d``): the name itself is not logged.

    Keyed (HMAC-SHA-256 with the secret key), so a list of likely names cannot be hashed to find who is
    behind a digest; stable while the key is (without ``VOISINMAP_SECRET_KEY``, within one process)."""
    return "user#" + hmac.new(_log_key(), str(username).strip().lower().encode(), hashlib.sha256).hexdigest()[:8]


def check_username(username: str) -> str:
    """Normalise (strip, lower-case) and validate a user name.

    Raises
    ------
    ValueError
        When it is not 2 to 40 characters among ``a-z 0-9 . _ -`` starting with a letter or digit.
    """
    name = str(username).strip().lower()
    if not USERNAME.match(name):
        raise ValueError(
            "username: expected 2 to 40 characters among a-z, 0-9, '.', '_' and '-', starting with a letter "
            f"or a digit, got {len(name)} character(s)" + ("" if name.isascii() else " with non-ASCII ones")
        )
    return name


@dataclass(frozen=True)
class User:
    """An account as read from the store (never holds the password hash)."""

    id: int
    username: str
    role: str
    sites: tuple[str, ...]
    active: bool
    session_version: int
    created_at: dt.datetime
    voisin_code: str = ""

    def principal(self) -> Principal:
        """The :class:`~geo.auth.policy.Principal` the access policy reasons about."""
        return Principal(self.username, self.role, self.sites, voisin=self.voisin_code)


def upgrade(engine: Engine, *, revision: str = "head") -> str:
    """Migrate the accounts tables to ``revision`` (their own Alembic chain; other tables untouched).

    Returns
    -------
    str
        The revision now in force.
    """
    return db.migrate(engine, MIGRATIONS_DIR, VERSION_TABLE, revision=revision)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class UserStore:
    """Accounts in the database of ``url`` (migrated on open unless ``migrate=False``).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default :func:`geo.config.database_url`.
    engine : sqlalchemy.engine.Engine, optional
        An existing engine (wins over ``url``).
    migrate : bool
        Upgrade the accounts schema first (default True).
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, migrate: bool = True) -> None:
        self.engine = engine if engine is not None else db.make_engine(url)
        if migrate:
            upgrade(self.engine)

    # ----------------------------------------------------------------------------------------- users
    def _sites(self, conn: Connection, user_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        ids = list(user_ids)
        out: dict[int, list[str]] = {i: [] for i in ids}
        if ids:
            rows = conn.execute(sa.select(USER_SITES.c.user_id, USER_SITES.c.site)
                                .where(USER_SITES.c.user_id.in_(ids)).order_by(USER_SITES.c.site))
            for uid, site in rows:
                out[uid].append(site)
        return {k: tuple(v) for k, v in out.items()}

    def _users(self, conn: Connection, where: sa.ColumnElement[bool] | None = None) -> list[User]:
        query = sa.select(USERS.c.id, USERS.c.username, USERS.c.role, USERS.c.active, USERS.c.session_version,
                          USERS.c.created_at, USERS.c.voisin_code).order_by(USERS.c.username)
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query).all()
        sites = self._sites(conn, (r.id for r in rows))
        return [User(r.id, r.username, r.role, sites[r.id], bool(r.active), r.session_version, r.created_at,
                     r.voisin_code or "") for r in rows]

    def _voisin_codes(self, conn: Connection, site: str) -> set[str]:
        rows = conn.execute(sa.select(USERS.c.voisin_code).join(USER_SITES, USER_SITES.c.user_id == USERS.c.id)
                            .where(USERS.c.role == "voisin", USER_SITES.c.site == site))
        return {r.voisin_code for r in rows if r.voisin_code}

    def next_voisin_code(self, site: str) -> str:
        """The first free code ``V001``, ``V002``… among the Voisin accounts of ``site``."""
        with self.engine.connect() as conn:
            taken = self._voisin_codes(conn, str(site).strip().upper())
        return next(f"V{k:03d}" for k in range(1, 10_000) if f"V{k:03d}" not in taken)

    def voisins(self, sites: Iterable[str]) -> list[User]:
        """The Voisin accounts of ``sites``, by name (a manager's team)."""
        wanted = sorted({str(s).strip().upper() for s in sites})
        with self.engine.connect() as conn:
            ids = sa.select(USER_SITES.c.user_id).where(USER_SITES.c.site.in_(wanted))
            return self._users(conn, sa.and_(USERS.c.role == "voisin", USERS.c.id.in_(ids)))

    def add_user(self, username: str, password: str, *, role: str, sites: Iterable[str] = (),
                 voisin_code: str | None = None) -> User:
        """Create an account.

        Parameters
        ----------
        username : str
            See :func:`check_username`.
        password : str
            See :func:`geo.auth.passwords.check_password`; stored as an Argon2id hash.
        role : str
            One of :data:`geo.auth.policy.ROLES`.
        sites : iterable of str
            A manager's INSEE codes / EPCI SIREN (one or more), a Voisin's site (exactly one); refused for
            other roles.
        voisin_code : str, optional
            A Voisin's pseudonymous code (``V017``, ``GRI-V03``), unique within the site; default the
            first free ``V001``, ``V002``… (:meth:`next_voisin_code`). Refused for other roles.

        Raises
        ------
        ValueError
            Invalid name, role, sites, Voisin code or password, or a Voisin code taken on the site.
        UserExistsError
            The name is taken.
        """
        name = check_username(username)
        check_role(role)
        site_codes = check_sites(role, sites)
        if role == "voisin" and not str(voisin_code or "").strip():
            voisin_code = self.next_voisin_code(site_codes[0])
        code = check_voisin_code(role, voisin_code)
        pw_hash = passwords.hash_password(password)
        now = _now()
        with self.engine.begin() as conn:
            if conn.execute(sa.select(USERS.c.id).where(USERS.c.username == name)).first() is not None:
                raise UserExistsError(f"username: {name!r} already exists")
            if code is not None and code in self._voisin_codes(conn, site_codes[0]):
                raise ValueError(f"voisin_code: expected a code not yet used on site {site_codes[0]}, got {code!r}")
            uid = conn.execute(USERS.insert().values(
                username=name, password_hash=pw_hash, role=role, active=True, session_version=1,
                created_at=now, updated_at=now, voisin_code=code)).inserted_primary_key[0]
            if site_codes:
                conn.execute(USER_SITES.insert(), [{"user_id": uid, "site": s} for s in site_codes])
            user = self._users(conn, USERS.c.id == uid)[0]
        logger.info("account %s created with role %s", name_digest(name), role)
        return user

    def list_users(self) -> list[User]:
        """Every account, by name."""
        with self.engine.connect() as conn:
            return self._users(conn)

    def get(self, user_id: int) -> User | None:
        """The account of id ``user_id``, or None."""
        with self.engine.connect() as conn:
            found = self._users(conn, USERS.c.id == int(user_id))
        return found[0] if found else None

    def get_by_name(self, username: str) -> User | None:
        """The account named ``username`` (case-insensitive), or None."""
        name = str(username).strip().lower()
        with self.engine.connect() as conn:
            found = self._users(conn, USERS.c.username == name)
        return found[0] if found else None

    def _require(self, username: str) -> User:
        user = self.get_by_name(username)
        if user is None:
            raise UnknownUserError(f"username: no account named {str(username).strip().lower()!r}")
        return user

    def authenticate(self, username: str, password: str) -> User | None:
        """The active account matching ``username`` and ``password``, or None.

        An unknown name costs the same hashing time as a wrong password. A hash made with weaker
        parameters is replaced on success.
        """
        name = str(username).strip().lower()[:80]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(USERS.c.id, USERS.c.password_hash, USERS.c.active)
                               .where(USERS.c.username == name)).first()
        ok = passwords.verify_password(row.password_hash if row is not None else None, password)
        if not ok or row is None or not row.active:
            return None
        if passwords.needs_rehash(row.password_hash):
            with self.engine.begin() as conn:
                conn.execute(USERS.update().where(USERS.c.id == row.id)
                             .values(password_hash=passwords.hash_password(password), updated_at=_now()))
        return self.get(row.id)

    def set_password(self, username: str, password: str) -> User:
        """Replace a password; sessions opened before are invalidated (``session_version`` + 1)."""
        user = self._require(username)
        pw_hash = passwords.hash_password(password)
        with self.engine.begin() as conn:
            conn.execute(USERS.update().where(USERS.c.id == user.id).values(
                password_hash=pw_hash, session_version=USERS.c.session_version + 1, updated_at=_now()))
        logger.info("password of %s changed", name_digest(user.username))
        return self._require(username)

    def end_sessions(self, user_id: int) -> None:
        """End every open session of an account (``session_version`` + 1): signing out does this, so a
        copy of the session cookie is worthless afterwards."""
        with self.engine.begin() as conn:
            conn.execute(USERS.update().where(USERS.c.id == int(user_id)).values(
                session_version=USERS.c.session_version + 1, updated_at=_now()))

    def set_active(self, username: str, active: bool) -> User:
        """Enable or disable an account; disabling also ends its sessions."""
        user = self._require(username)
        with self.engine.begin() as conn:
            conn.execute(USERS.update().where(USERS.c.id == user.id).values(
                active=bool(active), session_version=USERS.c.session_version + 1, updated_at=_now()))
        logger.info("account %s %s", name_digest(user.username), "enabled" if active else "disabled")
        return self._require(username)

    def remove_user(self, username: str) -> None:
        """Delete an account and its sites."""
        user = self._require(username)
        with self.engine.begin() as conn:
            conn.execute(USER_SITES.delete().where(USER_SITES.c.user_id == user.id))
            conn.execute(USERS.delete().where(USERS.c.id == user.id))
        logger.info("account %s removed", name_digest(user.username))

    def count_users(self) -> int:
        """Number of accounts."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(USERS)).scalar_one())

    # ------------------------------------------------------------------------------ failed log-ins
    def record_failure(self, key: str, *, now: dt.datetime | None = None) -> int:
        """Remember a failed (or pending) log-in for ``key`` (an opaque digest chosen by the caller);
        returns the id of the record, for :meth:`forget_failure`."""
        with self.engine.begin() as conn:
            result = conn.execute(LOGIN_FAILURES.insert().values(key=str(key)[:64], at=now or _now()))
            return int(result.inserted_primary_key[0])

    def forget_failure(self, record_id: int) -> None:
        """Delete one record of :meth:`record_failure` (an attempt recorded before the check that succeeded)."""
        with self.engine.begin() as conn:
            conn.execute(LOGIN_FAILURES.delete().where(LOGIN_FAILURES.c.id == int(record_id)))

    def count_failures(self, key: str, *, since: dt.datetime) -> int:
        """Failed log-ins recorded for ``key`` at or after ``since``."""
        with self.engine.connect() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(LOGIN_FAILURES)
                .where(LOGIN_FAILURES.c.key == str(key)[:64], LOGIN_FAILURES.c.at >= since)).scalar_one())

    def clear_failures(self, key: str) -> None:
        """Forget the failed log-ins of ``key`` (after a successful log-in)."""
        with self.engine.begin() as conn:
            conn.execute(LOGIN_FAILURES.delete().where(LOGIN_FAILURES.c.key == str(key)[:64]))

    def purge_failures(self, *, before: dt.datetime) -> int:
        """Delete failures older than ``before``; returns how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(LOGIN_FAILURES.delete().where(LOGIN_FAILURES.c.at < before)).rowcount or 0)
