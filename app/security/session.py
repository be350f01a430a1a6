"""Sessions on Flask-Login: who the signed-in account of a request is.

The session cookie (``voisinmap_session``, Flask's signed cookie: ``Secure``, ``HttpOnly``,
``SameSite=Lax``) holds Flask-Login's user id, which :meth:`SessionAccount.get_id` writes as
``"<account id>.<session version>"``, plus an **absolute expiry** (``exp``, 8 hours after sign-in, never
extended by use) and a digest of the accounts database (``db``). :func:`load_account` (the
``user_loader``) refuses the session when the version no longer matches the account's: signing out,
changing the password or disabling the account raises the version, so every copy of the cookie is void.
In production, demo accounts (:mod:`geo.auth.demo`) are refused here too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time

import flask
import flask_login

from app.security.settings import DB_KEY, production
from geo import config
from geo.auth.demo import is_demo_account
from geo.auth.policy import Principal
from geo.auth.store import User, UserStore, name_digest

logger = logging.getLogger(__name__)

SESSION_COOKIE = "voisinmap_session"
SESSION_HOURS = 8

_STORES: dict[str, UserStore] = {}
_STORES_LOCK = threading.Lock()


class SessionAccount(flask_login.UserMixin):
    """Flask-Login's view of an account: :attr:`user` plus the id that carries the session version."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        """``"<id>.<session version>"``: a session of an older version does not load."""
        return f"{self.user.id}.{self.user.session_version}"


def accounts_url() -> str:
    """Database URL of the accounts of the running app."""
    return flask.current_app.config.get(DB_KEY) or config.database_url()


def db_tag() -> str:
    """A short digest naming the accounts database: a session opened on another database is void."""
    from sqlalchemy.engine import make_url

    url = accounts_url()
    with contextlib.suppress(Exception):
        url = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def user_store() -> UserStore:
    """The accounts store of the running app (created and migrated on first use)."""
    url = accounts_url()
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = UserStore(url)
            _STORES[url] = store
    return store


def refused_in_production(username: str) -> bool:
    """Demo accounts (shared printed password) are refused in production."""
    return production() and is_demo_account(username)


def load_account(user_id: str) -> SessionAccount | None:
    """Flask-Login ``user_loader``: the account of a session, or None (expired, other database, version
    changed, disabled, or a demo account in production); a refused session is cleared."""
    session = flask.session
    uid, _, version = str(user_id).partition(".")
    expires = session.get("exp")
    account = None
    if (uid.isdigit() and version.isdigit() and isinstance(expires, int) and time.time() < expires
            and session.get("db") == db_tag()):
        found = user_store().get(int(uid))
        if (found is not None and found.active and found.session_version == int(version)
                and not refused_in_production(found.username)):
            account = SessionAccount(found)
    if account is None:
        session.clear()
    return account


def init_login(server: flask.Flask) -> flask_login.LoginManager:
    """Attach Flask-Login to ``server`` (no remember-me cookie; sessions are permanent with an absolute expiry)."""
    manager = flask_login.LoginManager()
    # the session version and the absolute expiry bound a session; Flask-Login's protection would keep a
    # digest of the client address and browser in the cookie for nothing more
    manager.session_protection = None
    manager.user_loader(load_account)
    manager.init_app(server)
    return manager


def current_user() -> User | None:
    """The signed-in account of this request, or None (signed out, expired, or revoked)."""
    if not flask.has_request_context():
        return None
    account = flask_login.current_user
    return account.user if isinstance(account, SessionAccount) else None


def current_principal() -> Principal | None:
    """The :class:`~geo.auth.policy.Principal` of this request, or None when signed out."""
    user = current_user()
    return user.principal() if user is not None else None


def who(principal: Principal | None) -> str:
    """How logs name a principal: a keyed digest of the name and the role, never the name."""
    return "a signed-out visitor" if principal is None else f"{name_digest(principal.username)} ({principal.role})"


def site_scope() -> tuple[str, ...] | None:
    """Sites whose door-level data this request may read: ``None`` for all (admin), the manager's
    sites, or ``()`` (nothing) for other roles and when signed out. Pages filter their data with it."""
    principal = current_principal()
    if principal is None:
        return ()
    if principal.role == "admin":
        return None
    return principal.sites if principal.role == "manager" else ()


def start_session(user: User) -> None:
    """Open a fresh session for ``user`` (the previous session's content is dropped first)."""
    flask.session.clear()
    flask.session.permanent = True
    flask_login.login_user(SessionAccount(user))
    flask.session.pop("_id", None)  # Flask-Login's digest of address and browser: unused (no protection mode)
    flask.session["db"] = db_tag()
    flask.session["exp"] = int(time.time()) + SESSION_HOURS * 3600  # absolute: not extended by use
    logger.info("signed in: %s (%s)", name_digest(user.username), user.role)


def end_session() -> None:
    """Sign out: clear the session and end every open session of the account (its version goes up)."""
    user = current_user()
    flask_login.logout_user()
    flask.session.clear()
    if user is not None:
        user_store().end_sessions(user.id)  # a copy of the cookie is void from now on
        logger.info("signed out: %s", name_digest(user.username))


def warn_demo_accounts() -> list[str]:
    """In production, the demo accounts present in the default accounts database, named in a warning."""
    if not production():
        return []
    try:
        names = sorted(u.username for u in UserStore(config.database_url()).list_users() if is_demo_account(u.username))
    except Exception as exc:  # noqa: BLE001 - the database may not be reachable yet; sign-in still refuses them
        logger.warning("demo accounts not checked at start-up (%s)", type(exc).__name__)
        return []
    if names:
        logger.warning("production: demo accounts exist and are refused at sign-in: %s "
                       "(remove them with `voisinmap users remove NAME`)", ", ".join(names))
    return names
