"""Who may see what: the access policy as one pure function of a principal and a resource.

Five roles:

``strategie``
    the strategy team: national open data, scenarios and recommendations, the funders' aggregates;
``financeur``
    funders: protected aggregates only (suppressed below 11 households, see :mod:`geo.privacy`);
``manager``
    a site manager: door-level data of *their own* sites (INSEE codes or EPCI SIREN), plus aggregates;
``voisin``
    a Voisin Malin of one site: records door visits of that site in the field (page ``/saisie``) under
    their pseudonymous Voisin code, and sees only their own entries of the day and the campaign's walk
    list: no heatmap, no aggregate, no other site;
``admin``
    user management; sees everything.

Resources carry a *level* that says how sensitive their content is:

=============  =============================================================  ===========================
level          content                                                        roles admitted
=============  =============================================================  ===========================
``public``     log-in page, static files                                      anyone, even signed out
``aggregate``  protected aggregates (Impact page, funder exports)             every role
``national``   national open data, scenarios (Stratégie, Données)             every role, narrowed by
                                                                              the roles a page declares
``door``       door-level visit data of some sites (Terrain)                  manager of those sites,
                                                                              admin
``field``      field entry of one site (``/saisie``: own entries, walk list)    voisin or manager of that
                                                                              site, admin
``admin``      user accounts                                                  admin
=============  =============================================================  ===========================

A resource may also declare its own ``roles`` (the ``roles=`` of ``dash.register_page``): both the
declared roles and the level must admit the principal (``admin`` passes every declaration). The
``door`` level is never widened by a page's declaration: a funder or strategist never receives
door-level data, whatever a page declares, and a manager only that of their own sites. A Voisin reaches
only ``field`` (and ``public``) resources, of their own site.

>>> manager = Principal("m1", "manager", sites=("91286",))
>>> is_allowed(manager, Resource("callback", "terrain", level=DOOR, sites=("91286",)))
True
>>> is_allowed(manager, Resource("callback", "terrain", level=DOOR, sites=("93066",)))
False
>>> is_allowed(Principal("f", "financeur"), Resource("page", "terrain", level=DOOR))
False
>>> voisin = Principal("v1", "voisin", sites=("91286",), voisin="GRI-V03")
>>> is_allowed(voisin, Resource("route", "saisie", level=FIELD, sites=("91286",)))
True
>>> is_allowed(voisin, Resource("page", "terrain", level=DOOR, sites=("91286",)))
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from geo.coverage import vocabulary

ROLES: tuple[str, ...] = ("strategie", "financeur", "manager", "admin", "voisin")
#: Roles whose accounts belong to sites (a manager: one or more; a Voisin: exactly one).
SITE_ROLES: tuple[str, ...] = ("manager", "voisin")

PUBLIC = "public"
AGGREGATE = "aggregate"
NATIONAL = "national"
DOOR = "door"
FIELD = "field"
ADMIN = "admin"
LEVELS: tuple[str, ...] = (PUBLIC, AGGREGATE, NATIONAL, DOOR, FIELD, ADMIN)

#: Roles each level admits by default (``None``: anybody, signed in or not).
LEVEL_ROLES: dict[str, tuple[str, ...] | None] = {
    PUBLIC: None,
    AGGREGATE: ("strategie", "financeur", "manager", "admin"),
    NATIONAL: ("strategie", "financeur", "manager", "admin"),
    DOOR: ("manager", "admin"),
    FIELD: ("voisin", "manager", "admin"),
    ADMIN: ("admin",),
}

#: Resource kinds.
KINDS: tuple[str, ...] = ("page", "callback", "download", "route")

#: A site code: INSEE commune / arrondissement code (5 characters, Corsica 2A/2B) or EPCI SIREN (9 digits).
SITE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3}|\d{9})$")

#: A Voisin's pseudonymous code, the pattern of the door-visit files (:data:`geo.coverage.vocabulary.VOISIN_CODE`).
VOISIN_CODE = re.compile(vocabulary.VOISIN_CODE)


def check_voisin_code(role: str, code: str | None) -> str | None:
    """Validate the Voisin code of an account: required for a Voisin (``V017``, ``GRI-V03``), refused
    for other roles.

    Returns
    -------
    str or None
        The code in upper case (None for other roles).

    Raises
    ------
    ValueError
        When a Voisin has no code or a malformed one, or another role has one.
    """
    text = str(code or "").strip().upper()
    if role != "voisin":
        if text:
            raise ValueError(f"voisin_code: only the role 'voisin' has a Voisin code, got {text!r} for role {role!r}")
        return None
    if not VOISIN_CODE.match(text):
        raise ValueError("voisin_code: expected a pseudonymous code such as V017 or GRI-V03 (V and 1 to 4 digits, "
                         f"optionally after a team prefix of 2 to 5 letters or digits and a hyphen), got {text!r}")
    return text


def check_role(role: str) -> str:
    """Return ``role`` when it is one of :data:`ROLES`.

    Raises
    ------
    ValueError
        Naming the expected roles and the value received.
    """
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_sites(role: str, sites: Iterable[str]) -> tuple[str, ...]:
    """Validate the sites of an account: a manager needs at least one, a Voisin exactly one, other roles none.

    Parameters
    ----------
    role : str
        One of :data:`ROLES`.
    sites : iterable of str
        INSEE codes (5 characters) or EPCI SIREN (9 digits).

    Returns
    -------
    tuple of str
        The sites, stripped, de-duplicated and sorted.

    Raises
    ------
    ValueError
        When a code is malformed, a manager has no site or another role has sites.
    """
    check_role(role)
    out = sorted({str(s).strip().upper() for s in sites})
    bad = [s for s in out if not SITE_CODE.match(s)]
    if bad:
        raise ValueError(f"sites: expected INSEE codes (5 characters) or EPCI SIREN (9 digits), got {bad!r}")
    if role == "manager" and not out:
        raise ValueError("sites: expected at least one site for the role 'manager', got none")
    if role == "voisin" and len(out) != 1:
        raise ValueError(f"sites: expected exactly one site for the role 'voisin', got {len(out)}")
    if role not in SITE_ROLES and out:
        raise ValueError(f"sites: only the role 'manager' has sites (one or more) and the role 'voisin' (exactly "
                         f"one), got {out!r} for role {role!r}")
    return tuple(out)


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the policy sees it.

    Attributes
    ----------
    username : str
    role : str
        One of :data:`ROLES`.
    sites : tuple of str
        The manager's sites, the Voisin's site (empty for other roles).
    voisin : str
        A Voisin's pseudonymous code (empty for other roles): what their visits are recorded under.
    """

    username: str
    role: str
    sites: tuple[str, ...] = ()
    voisin: str = ""

    def __post_init__(self) -> None:
        check_role(self.role)


@dataclass(frozen=True)
class Resource:
    """Something a request reaches: a page, a callback, a download or another route.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    name : str
        Page name (``terrain``), download name (``impact-regions.csv``) or path.
    level : str
        One of :data:`LEVELS`.
    roles : tuple of str or None
        Roles the resource declares (``None``: no restriction beyond the level).
    sites : tuple of str
        Door-level resources: the sites whose data the request asks for (empty: none chosen yet).
    """

    kind: str
    name: str
    level: str = AGGREGATE
    roles: tuple[str, ...] | None = None
    sites: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.level not in LEVELS:
            raise ValueError(f"level: expected one of {', '.join(LEVELS)}, got {self.level!r}")


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`decide`: ``allowed`` and a short English ``reason`` (for logs and tests)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def decide(principal: Principal | None, resource: Resource) -> Decision:
    """Decide whether ``principal`` may reach ``resource``.

    Parameters
    ----------
    principal : Principal or None
        The signed-in user, or ``None`` when signed out.
    resource : Resource

    Returns
    -------
    Decision
        Allowed or not, with the reason.
    """
    if resource.level == PUBLIC:
        return Decision(True, "public")
    if principal is None:
        return Decision(False, "not signed in")
    role = principal.role
    level_roles = LEVEL_ROLES[resource.level] or ROLES
    if role not in level_roles:
        return Decision(False, f"role {role} may not see {resource.level}-level data")
    if resource.roles is not None and role not in resource.roles and role != "admin":
        return Decision(False, f"{resource.kind} {resource.name} admits {', '.join(resource.roles) or 'nobody'}")
    if resource.level in (DOOR, FIELD) and role in SITE_ROLES:
        foreign = sorted(set(resource.sites) - set(principal.sites))
        if foreign:
            return Decision(False, f"site(s) {', '.join(foreign)} are not the {role}'s")
    return Decision(True, "role admitted")


def is_allowed(principal: Principal | None, resource: Resource) -> bool:
    """``decide(principal, resource).allowed``."""
    return decide(principal, resource).allowed
