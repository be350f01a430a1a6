"""The pure access policy: role × resource level × declared roles × manager sites."""

from __future__ import annotations

import pytest

from geo.auth.policy import (
    ADMIN,
    AGGREGATE,
    DOOR,
    FIELD,
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
    "voisin_a": Principal("va", "voisin", (SITE_A,), voisin="V001"),
}

# level -> who may reach a resource of that level that declares no roles
EXPECTED = {
    PUBLIC: set(PRINCIPALS),
    AGGREGATE: {"strategie", "financeur", "manager_a", "manager_b", "admin"},
    NATIONAL: {"strategie", "financeur", "manager_a", "manager_b", "admin"},
    DOOR: {"manager_a", "manager_b", "admin"},
    FIELD: {"manager_a", "manager_b", "admin", "voisin_a"},
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


def test_voisin_reaches_field_entry_of_their_own_site_only() -> None:
    voisin = PRINCIPALS["voisin_a"]
    field_a = Resource("route", "saisie", level=FIELD, roles=("voisin",), sites=(SITE_A,))
    field_b = Resource("route", "saisie", level=FIELD, roles=("voisin",), sites=(SITE_B,))
    assert is_allowed(voisin, field_a)
    decision = decide(voisin, field_b)
    assert not decision and SITE_B in decision.reason
    # a page declaring the role voisin only: managers out, admin in
    assert not is_allowed(PRINCIPALS["manager_a"], field_a)
    assert is_allowed(PRINCIPALS["admin"], field_a)
    # no heatmap, no aggregate, no national data, whatever a page declares
    for level in (AGGREGATE, NATIONAL, DOOR, ADMIN):
        assert not is_allowed(voisin, Resource("page", "x", level=level, roles=("voisin", "manager")))


def test_voisin_accounts_have_one_site_and_a_code() -> None:
    from geo.auth.policy import check_voisin_code

    assert check_sites("voisin", [SITE_A]) == (SITE_A,)
    with pytest.raises(ValueError, match="exactly one site for the role 'voisin', got 2"):
        check_sites("voisin", [SITE_A, SITE_B])
    with pytest.raises(ValueError, match="exactly one site for the role 'voisin', got 0"):
        check_sites("voisin", [])
    assert check_voisin_code("voisin", " gri-v03 ") == "GRI-V03"
    with pytest.raises(ValueError, match="voisin_code: expected a pseudonymous code"):
        check_voisin_code("voisin", "Fatou")
    with pytest.raises(ValueError, match="only the role 'voisin' has a Voisin code"):
        check_voisin_code("manager", "V001")
    assert check_voisin_code("manager", None) is None
