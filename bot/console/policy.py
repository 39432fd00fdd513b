"""The console's one access policy: who may do what to which resource, and who may grant what.

An operator acts as an ``Actor``: a tenant, a role and a scope (a node of the brand's org tree,
``bot.console.org_models.OrgNode``). Scopes and resources carry a materialised path: ``"/"`` is the
tenant itself (HQ), ``"/r12/"`` a region (营销中心) with core id 12, ``"/r12/d34/"`` a distributor,
``"/r12/d34/s56/"`` a store. "Inside X" is ``path.startswith(X.path)``.

Rules of a cell (how far from his scope an actor reaches):

* ``-``  never;
* ``S``  subtree: the resource's path lies inside the actor's scope (HQ's scope ``/`` holds all);
* ``L``  lineage: subtree, or the resource sits on the path above the scope (a distributor reads
  the campaigns of its region and of HQ, which apply to its stores, but not another region's).

Actions: ``read`` (see lists and records), ``write`` (day-to-day work on records: adjust points
with a reason, resolve an alert, bind or revoke store staff, activate or void a code range, edit
content, fulfil a redemption), ``manage`` (structure and configuration: create or delete, generate
code batches, push the menu, edit settings, create/disable operators, sync the org tree).

The matrix (read / write / manage); every cell also requires the resource's tenant to be the
actor's. A test parses this table and checks it equals ``MATRIX``:

==========  ==========  ===========  ==============  ===============  ===========  =======
resource    hq_admin    hq_operator  region_manager  region_operator  distributor  auditor
==========  ==========  ===========  ==============  ===============  ===========  =======
members     S/S/S       S/S/-        S/S/-           S/S/-            S/-/-        S/-/-
points      S/S/S       S/S/-        S/S/-           S/S/-            S/-/-        S/-/-
stores      S/S/S       S/S/-        S/S/-           S/S/-            S/S/-        S/-/-
codes       S/S/S       S/S/-        S/S/-           S/-/-            S/-/-        S/-/-
alerts      S/S/S       S/S/-        S/S/-           S/S/-            S/-/-        S/-/-
rewards     S/S/S       S/S/S        L/-/-           L/-/-            L/-/-        L/-/-
coupons     S/S/S       S/S/S        L/-/-           L/-/-            L/-/-        L/-/-
apps        S/S/S       S/S/-        -/-/-           -/-/-            -/-/-        S/-/-
settings    S/S/S       S/-/-        L/-/-           L/-/-            -/-/-        L/-/-
operators   S/S/S       -/-/-        S/S/S           -/-/-            -/-/-        S/-/-
audit       S/-/-       -/-/-        S/-/-           -/-/-            -/-/-        S/-/-
campaigns   S/S/S       S/S/S        L/S/S           L/S/-            L/-/-        L/-/-
content     S/S/S       S/S/S        L/S/S           L/S/-            L/-/-        L/-/-
journeys    S/S/S       S/S/S        L/S/S           L/S/-            -/-/-        L/-/-
reports     S/-/S       S/-/-        S/-/-           S/-/-            S/-/-        S/-/-
org         S/-/S       S/-/-        S/-/-           S/-/-            S/-/-        S/-/-
==========  ==========  ===========  ==============  ===============  ===========  =======

Notes: the audit log is append-only, so nobody writes it (the console's actions append to it).
Region managers manage their region's campaigns, content and journeys without HQ approval
(营销活动权) and the operators of their region; distributors bind and revoke their stores' staff.
``reports`` manage is scheduling exports; ``org`` manage is running a sync.

Granting (``grantable``): only actors who may manage ``operators`` grant, and only a role in
``GRANTS[their role]`` whose every cell is within their own (no wider role), at a scope of the
kind that role needs, inside their own scope, in their own tenant. Changing an existing operator
(``may_administer``) also requires the target to be inside the actor's scope, a role the actor
could grant, and not the actor himself (no self-escalation, no self-lock-out). Region managers
appoint region operators and distributors of their region; auditors are appointed by HQ admins
only (they audit the granters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Action = Literal["read", "write", "manage"]
ACTIONS: tuple[Action, ...] = ("read", "write", "manage")

ROLES = ("hq_admin", "hq_operator", "region_manager", "region_operator", "distributor", "auditor")
RESOURCES = (
    "members",
    "points",
    "stores",
    "codes",
    "alerts",
    "rewards",
    "coupons",
    "apps",
    "settings",
    "operators",
    "audit",
    "campaigns",
    "content",
    "journeys",
    "reports",
    "org",
)
SCOPE_KINDS = ("tenant", "region", "distributor", "store")
NODE_KINDS = ("region", "distributor", "store")
ROOT = "/"

# the scope kinds each role may hold
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "hq_admin": frozenset({"tenant"}),
    "hq_operator": frozenset({"tenant"}),
    "region_manager": frozenset({"region"}),
    "region_operator": frozenset({"region"}),
    "distributor": frozenset({"distributor"}),
    "auditor": frozenset({"tenant", "region", "distributor"}),
}

# which roles each role may hand out (then checked cell by cell and scope by scope)
GRANTS: dict[str, frozenset[str]] = {
    "hq_admin": frozenset(ROLES),
    "hq_operator": frozenset(),
    # auditors are HQ's to appoint: they audit the granters
    "region_manager": frozenset({"region_operator", "distributor"}),
    "region_operator": frozenset(),
    "distributor": frozenset(),
    "auditor": frozenset(),
}


class Reach(Enum):
    """How far a permission reaches from the actor's scope; ordered by width."""

    NONE = 0
    SUBTREE = 1
    LINEAGE = 2


_CELL = {"-": Reach.NONE, "S": Reach.SUBTREE, "L": Reach.LINEAGE}
_PATH = re.compile(r"^/(?:[rds]\d+/)*$")


def _parse(table: str) -> dict[str, dict[str, dict[str, Reach]]]:
    """``{role: {resource: {action: Reach}}}`` from the docstring's table."""
    rows = [line.split() for line in table.strip().splitlines()]
    roles = rows[0][1:]
    out: dict[str, dict[str, dict[str, Reach]]] = {role: {} for role in roles}
    for row in rows[1:]:
        resource, cells = row[0], row[1:]
        for role, cell in zip(roles, cells, strict=True):
            out[role][resource] = {
                action: _CELL[c] for action, c in zip(ACTIONS, cell.split("/"), strict=True)
            }
    return out


MATRIX: dict[str, dict[str, dict[str, Reach]]] = _parse(
    """
    resource  hq_admin hq_operator region_manager region_operator distributor auditor
    members   S/S/S    S/S/-       S/S/-          S/S/-           S/-/-       S/-/-
    points    S/S/S    S/S/-       S/S/-          S/S/-           S/-/-       S/-/-
    stores    S/S/S    S/S/-       S/S/-          S/S/-           S/S/-       S/-/-
    codes     S/S/S    S/S/-       S/S/-          S/-/-           S/-/-       S/-/-
    alerts    S/S/S    S/S/-       S/S/-          S/S/-           S/-/-       S/-/-
    rewards   S/S/S    S/S/S       L/-/-          L/-/-           L/-/-       L/-/-
    coupons   S/S/S    S/S/S       L/-/-          L/-/-           L/-/-       L/-/-
    apps      S/S/S    S/S/-       -/-/-          -/-/-           -/-/-       S/-/-
    settings  S/S/S    S/-/-       L/-/-          L/-/-           -/-/-       L/-/-
    operators S/S/S    -/-/-       S/S/S          -/-/-           -/-/-       S/-/-
    audit     S/-/-    -/-/-       S/-/-          -/-/-           -/-/-       S/-/-
    campaigns S/S/S    S/S/S       L/S/S          L/S/-           L/-/-       L/-/-
    content   S/S/S    S/S/S       L/S/S          L/S/-           L/-/-       L/-/-
    journeys  S/S/S    S/S/S       L/S/S          L/S/-           -/-/-       L/-/-
    reports   S/-/S    S/-/-       S/-/-          S/-/-           S/-/-       S/-/-
    org       S/-/S    S/-/-       S/-/-          S/-/-           S/-/-       S/-/-
    """
)


def valid_path(path: str) -> bool:
    return bool(_PATH.match(path))


@dataclass(frozen=True)
class Scope:
    """A node of the org tree an operator is confined to; ``tenant`` is the whole tenant (HQ)."""

    kind: str
    core_id: int | None
    path: str

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"unknown scope kind {self.kind!r}")
        if not valid_path(self.path):
            raise ValueError(f"malformed org path {self.path!r}")
        if (self.kind == "tenant") != (self.path == ROOT) or (self.kind == "tenant") != (
            self.core_id is None
        ):
            raise ValueError("the tenant scope (and only it) has path '/' and no core id")
        if self.kind != "tenant" and not self.path.endswith(f"/{self.kind[0]}{self.core_id}/"):
            raise ValueError(f"path {self.path!r} does not end at {self.kind} {self.core_id}")

    def contains(self, path: str) -> bool:
        """Is ``path`` this node or below it?"""
        return path.startswith(self.path)


TENANT_SCOPE = Scope("tenant", None, ROOT)


@dataclass(frozen=True)
class Actor:
    """A signed-in operator as the policy and the scoped repository see him."""

    operator_id: int
    tenant_id: int
    role: str
    scope: Scope

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.scope.kind not in ROLE_SCOPES[self.role]:
            raise ValueError(f"role {self.role} cannot hold a {self.scope.kind} scope")

    @property
    def is_hq(self) -> bool:
        """Sees the whole tenant (no subtree filter)."""
        return self.scope.path == ROOT


@dataclass(frozen=True)
class Resource:
    """What an action touches: its kind, its tenant, and where it hangs in the org tree ("/" for
    tenant-wide things such as settings, the rewards catalog or an HQ campaign)."""

    kind: str
    tenant_id: int
    path: str = ROOT

    def __post_init__(self) -> None:
        if self.kind not in RESOURCES:
            raise ValueError(f"unknown resource {self.kind!r}")
        if not valid_path(self.path):
            raise ValueError(f"malformed org path {self.path!r}")


def reach(role: str, action: str, resource_kind: str) -> Reach:
    return MATRIX[role][resource_kind][action]


def can(actor: Actor, action: str, resource: Resource) -> bool:
    """May ``actor`` do ``action`` (read / write / manage) to ``resource``?"""
    if action not in ACTIONS or resource.tenant_id != actor.tenant_id:
        return False
    how = reach(actor.role, action, resource.kind)
    if how is Reach.NONE:
        return False
    if actor.scope.contains(resource.path):
        return True
    # lineage: the resource is one of the scope's ancestors (HQ's or the region's own rows)
    return how is Reach.LINEAGE and actor.scope.path.startswith(resource.path)


def may_read_any(actor: Actor, resource_kind: str) -> bool:
    """Does the role read this kind of resource at all (menu entries, page guards)?"""
    return reach(actor.role, "read", resource_kind) is not Reach.NONE


def _cell_within(cell: Reach, ceiling: Reach, ceiling_at_root: bool) -> bool:
    if cell is Reach.NONE or cell is ceiling:
        return True
    if cell is Reach.SUBTREE:
        return ceiling is Reach.LINEAGE
    # lineage reaches above the granted scope: within a subtree reach only from the root (HQ)
    return ceiling is Reach.SUBTREE and ceiling_at_root


def role_within(role: str, ceiling: str, *, ceiling_at_root: bool = False) -> bool:
    """Does every permission of ``role``, held at a scope inside the granter's, reach no further
    than the same permission of ``ceiling`` held at the granter's scope (HQ's when
    ``ceiling_at_root``)?"""
    return all(
        _cell_within(MATRIX[role][resource][action], MATRIX[ceiling][resource][action], ceiling_at_root)
        for resource in RESOURCES
        for action in ACTIONS
    )


def grantable(actor: Actor, role: str, scope: Scope) -> bool:
    """May ``actor`` create an operator with ``role`` over ``scope``? ``scope`` must come from
    ``org.resolve_scope`` for the actor's tenant (an id of another tenant resolves to nothing)."""
    if role not in ROLES or scope.kind not in ROLE_SCOPES[role]:
        return False
    if not can(actor, "manage", Resource("operators", actor.tenant_id, scope.path)):
        return False
    return (
        role in GRANTS[actor.role]
        and role_within(role, actor.role, ceiling_at_root=actor.is_hq)
        and actor.scope.contains(scope.path)
    )


def may_administer(
    actor: Actor, target_operator_id: int, target_tenant_id: int, target_role: str, target_scope: Scope
) -> bool:
    """May ``actor`` change, disable or reset an existing operator (as he is now)? Changing his
    role or scope additionally needs ``grantable`` for the new pair."""
    if target_operator_id == actor.operator_id or target_tenant_id != actor.tenant_id:
        return False
    return grantable(actor, target_role, target_scope)
