"""The demonstration accounts (one per role, shared printed password, fictitious data).

They are created by ``voisinmap users demo`` outside production only; in production the app refuses
them at sign-in (:func:`is_demo_account`) and lists any that exist in a warning at start-up.
"""

from __future__ import annotations

#: Demo accounts: name -> (role, sites). The manager runs the fictitious Grigny demo site.
DEMO_ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "demo-admin": ("admin", ()),
    "demo-strategie": ("strategie", ()),
    "demo-financeur": ("financeur", ()),
    "demo-manager": ("manager", ("91286",)),
}


def is_demo_account(username: str) -> bool:
    """Whether ``username`` (any case, surrounding spaces ignored) is one of :data:`DEMO_ACCOUNTS`."""
    return str(username).strip().lower() in DEMO_ACCOUNTS
