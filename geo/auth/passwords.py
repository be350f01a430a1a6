"""Password hashing with Argon2id (argon2-cffi) and the password rule.

Hashes are self-describing strings (``$argon2id$v=19$m=...``); parameters may be raised later and
:func:`needs_rehash` tells when a stored hash should be replaced at the next log-in.
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

logger = logging.getLogger(__name__)

MIN_LENGTH = 12
MAX_LENGTH = 1024

#: Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
#: A hash of a random password, verified when a user name is unknown, so that answering takes as long.
#: Written out rather than computed at import (a tenth of a second of every start); its parameters are
#: the hasher's (checked by the tests).
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$RS+KdkM3JLNr8W0BtoI/Og$DQr0AomWlwzmOGrMEGRCc2Le0Cx8M/jNnbpI4y4bcu0"


def check_password(password: str) -> str:
    """Return ``password`` when it follows the rule (12 to 1024 characters, not only spaces).

    Raises
    ------
    ValueError
        Saying what was expected and how long the password received is (never its content).
    """
    if not isinstance(password, str):
        raise ValueError(f"password: expected a string, got {type(password).__name__}")
    if not password.strip():
        raise ValueError("password: expected at least one non-space character, got an empty password")
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password: expected at least {MIN_LENGTH} characters, got {len(password)}")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"password: expected at most {MAX_LENGTH} characters, got {len(password)}")
    return password


def hash_password(password: str) -> str:
    """Hash a password (after :func:`check_password`) with Argon2id."""
    return _HASHER.hash(check_password(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``.

    ``stored_hash=None`` (unknown user) verifies against a dummy hash and returns False, so that the
    time taken does not tell whether the user exists.
    """
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when ``stored_hash`` was made with weaker parameters than the current ones."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
