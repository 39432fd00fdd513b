"""The console's policy as a full matrix: every role x every resource x every action, at positions
inside, above, beside and outside the actor's scope and in another tenant; and who may grant what,
including the escalation attempts behind RuoYi's and CRMEB's CVEs."""

from __future__ import annotations

import itertools

import pytest

from bot.console import policy
from bot.console.policy import (
    ACTIONS,
    GRANTS,
    MATRIX,
    RESOURCES,
    ROLES,
    Actor,
    Reach,
    Resource,
    Scope,
    can,
    grantable,
    may_administer,
)

T, OTHER_T = 1, 2
HQ = Scope("tenant", None, "/")
R1 = Scope("region", 1, "/r1/")
R2 = Scope("region", 2, "/r2/")
R12 = Scope("region", 12, "/r12/")  # shares the prefix "/r1" with R1: must not be inside it
D10 = Scope("distributor", 10, "/r1/d10/")
D11 = Scope("distributor", 11, "/r1/d11/")
D20 = Scope("distributor", 20, "/r2/d20/")
S100 = Scope("store", 100, "/r1/d10/s100/")

STANDARD_SCOPE = {
    "hq_admin": HQ,
    "hq_operator": HQ,
    "region_manager": R1,
    "region_operator": R1,
    "distributor": D10,
    "auditor": R1,
}
ACTORS = [(role, STANDARD_SCOPE[role]) for role in ROLES] + [("auditor", HQ), ("auditor", D10)]

# every position a resource can take, as (path, relation to each standard scope)
POSITIONS = [
    "/",
    "/r1/",
    "/r1/d10/",
    "/r1/d10/s100/",
    "/r1/d11/",
    "/r1/d11/s110/",
    "/r2/",
    "/r2/d20/s200/",
    "/r12/",
]


def _relation(scope: Scope, path: str) -> str:
    """Computed by hand-written rules (not by the policy): inside, ancestor, or outside."""
    own = [p for p in scope.path.strip("/").split("/") if p]
    theirs = [p for p in path.strip("/").split("/") if p]
    if theirs[: len(own)] == own:
        return "inside"
    if own[: len(theirs)] == theirs:
        return "ancestor"
    return "outside"


def _expected(cell: Reach, relation: str) -> bool:
    return {
        Reach.NONE: False,
        Reach.SUBTREE: relation == "inside",
        Reach.LINEAGE: relation in ("inside", "ancestor"),
    }[cell]


def test_the_docstring_table_is_the_matrix():
    doc = (policy.__doc__ or "").splitlines()
    rules = [i for i, ln in enumerate(doc) if ln.startswith("==========  ==========")]
    assert len(rules) == 3
    lines = [ln for ln in doc[rules[0] + 1 : rules[2]] if not ln.startswith("=")]
    header, rows = lines[0].split(), [ln.split() for ln in lines[1:]]
    assert header[0] == "resource" and tuple(header[1:]) == ROLES
    assert [r[0] for r in rows] == list(RESOURCES)
    symbol = {Reach.NONE: "-", Reach.SUBTREE: "S", Reach.LINEAGE: "L"}
    for row in rows:
        for role, cell in zip(ROLES, row[1:], strict=True):
            assert cell == "/".join(symbol[MATRIX[role][row[0]][a]] for a in ACTIONS), (role, row[0])


@pytest.mark.parametrize("role,scope", ACTORS, ids=[f"{r}@{s.path}" for r, s in ACTORS])
@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_role_resource_and_action_at_every_position(role, scope, resource, action):
    actor = Actor(7, T, role, scope)
    cell = MATRIX[role][resource][action]
    for path in POSITIONS:
        expected = _expected(cell, _relation(scope, path))
        assert can(actor, action, Resource(resource, T, path)) is expected, (path, cell)
        # the same position in another tenant: never
        assert can(actor, action, Resource(resource, OTHER_T, path)) is False, path


def test_spot_checks_of_what_the_issue_promises():
    manager, operator = Actor(1, T, "region_manager", R1), Actor(2, T, "region_operator", R1)
    dist, auditor = Actor(3, T, "distributor", D10), Actor(4, T, "auditor", HQ)
    hq_op, admin = Actor(5, T, "hq_operator", HQ), Actor(6, T, "hq_admin", HQ)
    member_in_r1, member_in_r2 = (
        Resource("members", T, "/r1/d10/s100/"),
        Resource("members", T, "/r2/d20/s200/"),
    )
    # a region sees and works its own subtree, not the neighbour's, not one whose id shares a prefix
    assert can(manager, "write", member_in_r1) and not can(manager, "read", member_in_r2)
    assert not can(manager, "read", Resource("members", T, "/r12/"))
    # regional campaigns without HQ approval; HQ's campaigns visible but not editable below HQ
    assert can(manager, "manage", Resource("campaigns", T, "/r1/"))
    assert can(operator, "read", Resource("campaigns", T, "/")) and not can(
        operator, "write", Resource("campaigns", T, "/")
    )
    assert not can(operator, "read", Resource("campaigns", T, "/r2/"))
    # a distributor: its stores only, reads, binds staff, never adjusts points
    assert can(dist, "read", Resource("stores", T, "/r1/d10/s100/"))
    assert can(dist, "write", Resource("stores", T, "/r1/d10/s100/"))
    assert not can(dist, "read", Resource("stores", T, "/r1/d11/s110/"))
    assert not can(dist, "write", Resource("points", T, "/r1/d10/s100/"))
    # the auditor reads everything in scope, including the audit log, and changes nothing
    assert can(auditor, "read", Resource("audit", T, "/r2/"))
    assert not any(can(auditor, a, Resource(r, T, "/")) for r in RESOURCES for a in ("write", "manage"))
    # nobody writes the audit log (append-only); the HQ operator neither reads it nor manages operators
    assert not any(
        can(Actor(9, T, role, STANDARD_SCOPE[role]), "write", Resource("audit", T, "/")) for role in ROLES
    )
    assert not can(hq_op, "read", Resource("audit", T, "/")) and not can(
        hq_op, "manage", Resource("operators", T, "/")
    )
    assert can(admin, "manage", Resource("settings", T, "/")) and not can(
        admin, "manage", Resource("settings", OTHER_T, "/")
    )
    assert not can(admin, "delete", Resource("members", T, "/"))  # unknown actions are refused


def test_invariants_of_the_matrix():
    for role, resource in itertools.product(ROLES, RESOURCES):
        read, write, manage = (MATRIX[role][resource][a] for a in ACTIONS)
        # whoever may write or manage something may read it at least as far
        assert write.value <= read.value and manage.value <= read.value, (role, resource)
        # lineage (reading what is above) is for reading only
        assert Reach.LINEAGE not in (write, manage), (role, resource)
    for granter, roles in GRANTS.items():
        for role in roles:
            at_root = STANDARD_SCOPE[granter].path == "/"
            assert policy.role_within(role, granter, ceiling_at_root=at_root), (granter, role)
    # and the wider roles are not within the narrower ones
    assert not policy.role_within("hq_operator", "region_manager")
    assert not policy.role_within("region_manager", "region_operator")
    assert not policy.role_within("auditor", "region_manager")  # reads the apps' settings


@pytest.mark.parametrize(
    "path",
    ["", "r1/", "/r1", "/r1//", "/r1/../", "/x1/", "/r1/%/", "/r1/_/", "/r-1/", "/r1/d2/s3/t4/"],
)
def test_malformed_paths_are_refused(path):
    with pytest.raises(ValueError):
        Resource("members", T, path)


@pytest.mark.parametrize(
    "kind,core_id,path",
    [
        ("region", 2, "/r1/"),  # a scope naming one region with another's path
        ("region", 1, "/r1/d10/"),
        ("distributor", 10, "/r1/"),
        ("tenant", 1, "/"),
        ("tenant", None, "/r1/"),
        ("region", None, "/r1/"),
        ("galaxy", 1, "/r1/"),
    ],
)
def test_inconsistent_scopes_cannot_be_built(kind, core_id, path):
    with pytest.raises(ValueError):
        Scope(kind, core_id, path)


@pytest.mark.parametrize(
    "role,scope", [("hq_admin", R1), ("region_manager", HQ), ("distributor", R1), ("region_operator", D10)]
)
def test_roles_hold_only_their_kind_of_scope(role, scope):
    with pytest.raises(ValueError):
        Actor(1, T, role, scope)


# granting ------------------------------------------------------------------------------------------
CANDIDATE_SCOPES = {
    "tenant": HQ,
    "r1": R1,
    "r2": R2,
    "r12": R12,
    "d10": D10,
    "d11": D11,
    "d20": D20,
    "s100": S100,
}

# what each standard actor may grant, written out by hand: (role, scope name)
MAY_GRANT = {
    "hq_admin": {
        ("hq_admin", "tenant"),
        ("hq_operator", "tenant"),
        *((r, s) for r in ("region_manager", "region_operator") for s in ("r1", "r2", "r12")),
        *(("distributor", s) for s in ("d10", "d11", "d20")),
        *(("auditor", s) for s in ("tenant", "r1", "r2", "r12", "d10", "d11", "d20")),
    },
    "hq_operator": set(),
    "region_manager": {("region_operator", "r1"), ("distributor", "d10"), ("distributor", "d11")},
    "region_operator": set(),
    "distributor": set(),
    "auditor": set(),
}


@pytest.mark.parametrize("granter", ROLES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scope_name", list(CANDIDATE_SCOPES))
def test_grantable_matrix(granter, role, scope_name):
    actor = Actor(1, T, granter, STANDARD_SCOPE[granter])
    expected = (role, scope_name) in MAY_GRANT[granter]
    assert grantable(actor, role, CANDIDATE_SCOPES[scope_name]) is expected


def test_escalation_attempts_fail():
    manager = Actor(1, T, "region_manager", R1)
    # RuoYi 2026: a data scope outside the operator's own subtree
    assert not grantable(manager, "region_operator", R2)
    assert not grantable(manager, "distributor", D20)
    assert not grantable(manager, "region_operator", R12)  # prefix look-alike of /r1/
    # a wider role than his own, at his own scope or HQ's
    assert not grantable(manager, "hq_admin", HQ) and not grantable(manager, "hq_operator", HQ)
    assert not grantable(manager, "region_manager", R1)  # a peer is not his to make
    assert not grantable(manager, "auditor", R1)  # auditors are HQ's (they audit the granters)
    # a role with a scope of the wrong kind (a region operator confined to one store)
    assert not grantable(Actor(1, T, "hq_admin", HQ), "region_operator", D10)
    assert not grantable(Actor(1, T, "hq_admin", HQ), "no_such_role", HQ)
    # CRMEB: a sub-admin check that returned true either way -> roles without the grant never grant
    for role in ("hq_operator", "region_operator", "distributor", "auditor"):
        actor = Actor(1, T, role, STANDARD_SCOPE[role])
        assert not any(grantable(actor, r, s) for r in ROLES for s in CANDIDATE_SCOPES.values()), role


def test_administering_existing_operators():
    admin, manager = Actor(1, T, "hq_admin", HQ), Actor(2, T, "region_manager", R1)
    # self-escalation and self-lock-out: nobody edits his own account's role, scope or status
    assert not may_administer(admin, 1, T, "hq_admin", HQ)
    assert not may_administer(manager, 2, T, "region_operator", R1)
    # a region manager administers his region's operators and distributors only
    assert may_administer(manager, 3, T, "region_operator", R1)
    assert may_administer(manager, 4, T, "distributor", D11)
    assert not may_administer(manager, 5, T, "region_operator", R2)
    assert not may_administer(manager, 6, T, "hq_admin", HQ)
    assert not may_administer(manager, 7, T, "region_manager", R1)
    # an operator of another tenant is nobody's here, even HQ admin's
    assert not may_administer(admin, 8, OTHER_T, "region_operator", R1)
    assert may_administer(admin, 9, T, "hq_admin", HQ)
