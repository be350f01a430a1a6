"""The pure access policy: role × resource level × declared roles × manager sites."""

from __future__ import annotations

import pytest

from geo.auth.policy import (
    ADMIN,
    AGGREGATE,
    DOOR,
    LEVELS,
    NATIONAL,
    PUBLIC,
    ROLES,
    Principal,
    Resource,
    check_sites,
    decide,
    is_allowed,
)

SITE_A, SITE_B = "91286", "59350"
PRINCIPALS = {
    "anonymous": None,
    "strategie": Principal("s", "strategie"),
    "financeur": Principal("f", "financeur"),
    "manager_a": Principal("ma", "manager", (SITE_A,)),
    "manager_b": Principal("mb", "manager", (SITE_B,)),
    "admin": Principal("a", "admin"),
}

# level -> who may reach a resource of that level that declares no roles
EXPECTED = {
    PUBLIC: set(PRINCIPALS),
    AGGREGATE: {"strategie", "financeur", "manager_a", "manager_b", "admin"},
    NATIONAL: {"strategie", "financeur", "manager_a", "manager_b", "admin"},
    DOOR: {"manager_a", "manager_b", "admin"},
    ADMIN: {"admin"},
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("who", list(PRINCIPALS))
def test_levels(level: str, who: str) -> None:
    assert is_allowed(PRINCIPALS[who], Resource("page", "x", level=level)) == (who in EXPECTED[level])


def test_door_level_is_scoped_to_the_managers_sites() -> None:
    res_a = Resource("callback", "terrain", level=DOOR, sites=(SITE_A,))
    assert is_allowed(PRINCIPALS["manager_a"], res_a)
    decision = decide(PRINCIPALS["manager_b"], res_a)
    assert not decision and SITE_A in decision.reason
    assert is_allowed(PRINCIPALS["admin"], res_a)
    both = Resource("download", "terrain.csv", level=DOOR, sites=(SITE_A, SITE_B))
    assert not is_allowed(PRINCIPALS["manager_a"], both)
    assert is_allowed(Principal("m2", "manager", (SITE_A, SITE_B)), both)


def test_declared_roles_narrow_but_never_widen_door_level() -> None:
    strat_only = Resource("page", "strategie", level=NATIONAL, roles=("strategie", "admin"))
    assert [w for w in PRINCIPALS if is_allowed(PRINCIPALS[w], strat_only)] == ["strategie", "admin"]
    # a door-level page that (wrongly) declares the funder role still refuses funders
    wide = Resource("page", "terrain", level=DOOR, roles=ROLES)
    assert not is_allowed(PRINCIPALS["financeur"], wide)
    assert not is_allowed(PRINCIPALS["strategie"], wide)


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="role: expected one of"):
        Principal("x", "superuser")
    with pytest.raises(ValueError, match="kind: expected one of"):
        Resource("file", "x")
    with pytest.raises(ValueError, match="level: expected one of"):
        Resource("page", "x", level="secret")
    with pytest.raises(ValueError, match="sites: expected at least one site"):
        check_sites("manager", [])
    with pytest.raises(ValueError, match="only the role 'manager' has sites"):
        check_sites("financeur", ["91286"])
    with pytest.raises(ValueError, match="INSEE codes"):
        check_sites("manager", ["9128"])
    assert check_sites("manager", [" 2a004", "200042190", "91286", "91286"]) == ("200042190", "2A004", "91286")
