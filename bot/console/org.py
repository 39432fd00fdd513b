"""The org tree mirror: syncing it from the core, and resolving operators' scopes against it.

``sync_org`` reads the whole tree from the core first (regions, every distributor, every page of
stores) and only then writes, in one transaction: a core that fails half-way changes nothing, and
a core answering with an empty tree is refused rather than allowed to deactivate every scope.
Writes are ``INSERT ... ON CONFLICT (tenant_id, kind, core_id) DO UPDATE`` of the new and changed
nodes (two syncs at once cannot duplicate a node) and a deactivation of the vanished ones; a
second run over an unchanged core writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend_client import CoreClient, Store
from bot.console.org_models import OrgNode
from bot.console.policy import ROLE_SCOPES, ROLES, TENANT_SCOPE, Actor, Scope, grantable
from bot.db import is_postgres, session_scope, utcnow

log = structlog.get_logger(__name__)

STORE_PAGE = 100  # the core's largest page
_FIELDS = ("code", "name", "path", "city", "status", "parent_id", "active")


class SyncRefused(Exception):
    """The core's answer would wipe the mirror (an empty tree while nodes are active)."""


@dataclass(frozen=True)
class NodeSpec:
    """One node as the core lists it, placed in the tree."""

    kind: str
    core_id: int
    code: str
    name: str
    path: str
    parent: tuple[str, int] | None  # (kind, core id) of the parent node
    city: str = ""
    status: str = "active"


@dataclass(frozen=True)
class SyncResult:
    regions: int
    distributors: int
    stores: int
    created: int
    updated: int
    deactivated: int
    orphans: tuple[int, ...] = field(default=())  # stores skipped: their region is unknown


@dataclass(frozen=True)
class OrgNodeView:
    id: int
    kind: str
    core_id: int
    code: str
    name: str
    path: str
    city: str
    status: str
    active: bool


def region_path(region_id: int) -> str:
    return f"/r{region_id}/"


async def fetch_tree(client: CoreClient) -> tuple[list[NodeSpec], tuple[int, ...]]:
    """Every node of the core's tree (nothing is written here), and the ids of orphan stores."""
    regions = await client.org.regions()
    distributors = await client.org.distributors()
    stores: list[Store] = []
    cursor: str | None = None
    while True:
        page = await client.org.stores(cursor=cursor, limit=STORE_PAGE)
        stores.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    specs = [NodeSpec("region", r.id, r.code, r.name, region_path(r.id), None) for r in regions]
    region_ids = {r.id for r in regions}
    dist_path: dict[int, str] = {}
    for d in distributors:
        if d.region_id not in region_ids:
            log.warning("org_sync_orphan", kind="distributor", core_id=d.id, region_id=d.region_id)
            continue
        dist_path[d.id] = f"{region_path(d.region_id)}d{d.id}/"
        specs.append(
            NodeSpec("distributor", d.id, d.code, d.name, dist_path[d.id], ("region", d.region_id), d.city)
        )
    orphans = []
    for s in stores:
        if s.distributor_id in dist_path:
            path, parent = f"{dist_path[s.distributor_id]}s{s.id}/", ("distributor", s.distributor_id)
        elif s.region_id in region_ids:  # its distributor is not listed: hang it under its region
            path, parent = f"{region_path(s.region_id)}s{s.id}/", ("region", s.region_id)
        else:
            orphans.append(s.id)
            log.warning("org_sync_orphan", kind="store", core_id=s.id, region_id=s.region_id)
            continue
        specs.append(NodeSpec("store", s.id, s.code, s.name, path, parent, s.city, s.status))
    return specs, tuple(orphans)


def _upsert(session: AsyncSession) -> Any:
    insert = (pg_insert if is_postgres(session) else sqlite_insert)(OrgNode.__table__)
    return insert.on_conflict_do_update(
        index_elements=["tenant_id", "kind", "core_id"],
        set_={name: insert.excluded[name] for name in (*_FIELDS, "synced_at", "deactivated_at")},
    )


async def _ids(session: AsyncSession, tenant_id: int, kind: str) -> dict[int, int]:
    rows = await session.execute(
        select(OrgNode.core_id, OrgNode.id).where(OrgNode.tenant_id == tenant_id, OrgNode.kind == kind)
    )
    return {core_id: node_id for core_id, node_id in rows.all()}


async def apply_tree(
    session: AsyncSession,
    tenant_id: int,
    specs: Iterable[NodeSpec],
    *,
    now: datetime,
    allow_empty: bool = False,
) -> tuple[int, int, int]:
    """Make the tenant's mirror equal ``specs``; returns (created, updated, deactivated)."""
    specs = list(specs)
    existing = {
        (row.kind, row.core_id): row
        for row in (await session.scalars(select(OrgNode).where(OrgNode.tenant_id == tenant_id))).all()
    }
    if not specs and not allow_empty and any(row.active for row in existing.values()):
        raise SyncRefused("the core lists no org nodes; refusing to deactivate the whole tree")
    created = updated = 0
    parent_ids: dict[str, dict[int, int]] = {}
    statement = _upsert(session)
    for kind in ("region", "distributor", "store"):  # parents first: children need their ids
        rows = []
        for spec in (s for s in specs if s.kind == kind):
            parent_id = parent_ids[spec.parent[0]].get(spec.parent[1]) if spec.parent else None
            values = {
                "code": spec.code,
                "name": spec.name,
                "path": spec.path,
                "city": spec.city,
                "status": spec.status,
                "parent_id": parent_id,
                "active": True,
            }
            old = existing.get((kind, spec.core_id))
            if old is not None and all(getattr(old, k) == v for k, v in values.items()):
                continue
            created, updated = (created + 1, updated) if old is None else (created, updated + 1)
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "kind": kind,
                    "core_id": spec.core_id,
                    "synced_at": now,
                    "deactivated_at": None,
                    **values,
                }
            )
        if rows:
            await session.execute(statement, rows)
        parent_ids[kind] = await _ids(session, tenant_id, kind)
    seen = {(s.kind, s.core_id) for s in specs}
    gone = [row.id for key, row in existing.items() if row.active and key not in seen]
    for start in range(0, len(gone), 500):
        await session.execute(
            update(OrgNode)
            .where(OrgNode.id.in_(gone[start : start + 500]), OrgNode.active.is_(True))
            .values(active=False, deactivated_at=now, synced_at=now)
        )
    return created, updated, len(gone)


async def sync_org(
    sessions: async_sessionmaker[AsyncSession],
    client: CoreClient,
    tenant_id: int,
    *,
    now: datetime | None = None,
    allow_empty: bool = False,
) -> SyncResult:
    """Mirror the core's org tree for ``tenant_id`` (idempotent; see the module docstring)."""
    specs, orphans = await fetch_tree(client)
    async with session_scope(sessions) as session:
        created, updated, deactivated = await apply_tree(
            session, tenant_id, specs, now=now or utcnow(), allow_empty=allow_empty
        )
    counts = {kind: sum(1 for s in specs if s.kind == kind) for kind in ("region", "distributor", "store")}
    result = SyncResult(
        counts["region"], counts["distributor"], counts["store"], created, updated, deactivated, orphans
    )
    log.info(
        "org_synced", tenant_id=tenant_id, **{k: v for k, v in result.__dict__.items() if k != "orphans"}
    )
    return result


# scopes ------------------------------------------------------------------------------------------
async def node(session: AsyncSession, tenant_id: int, kind: str, core_id: int) -> OrgNodeView | None:
    row = await session.scalar(
        select(OrgNode).where(
            OrgNode.tenant_id == tenant_id, OrgNode.kind == kind, OrgNode.core_id == core_id
        )
    )
    return None if row is None else view(row)


def view(row: OrgNode) -> OrgNodeView:
    return OrgNodeView(
        row.id, row.kind, row.core_id, row.code, row.name, row.path, row.city, row.status, row.active
    )


async def resolve_scope(
    session: AsyncSession, tenant_id: int, kind: str, core_id: int | None
) -> Scope | None:
    """The scope an operator record names, if its node exists and is active in this tenant (an id of
    another tenant, an unknown or a deactivated node resolve to None)."""
    if kind == "tenant":
        return TENANT_SCOPE if core_id is None else None
    if kind not in ("region", "distributor", "store") or core_id is None:
        return None
    found = await node(session, tenant_id, kind, core_id)
    if found is None or not found.active:
        return None
    return Scope(kind, core_id, found.path)


async def actor_for(
    session: AsyncSession,
    *,
    operator_id: int,
    tenant_id: int,
    role: str,
    scope_kind: str,
    scope_core_id: int | None,
) -> Actor | None:
    """The Actor of a signed-in operator, resolved against the mirror at every request (a moved
    distributor takes its operators along); None when the role or scope is no longer valid."""
    if role not in ROLES or scope_kind not in ROLE_SCOPES[role]:
        return None
    scope = await resolve_scope(session, tenant_id, scope_kind, scope_core_id)
    return None if scope is None else Actor(operator_id, tenant_id, role, scope)


async def can_grant(
    session: AsyncSession, actor: Actor, role: str, scope_kind: str, scope_core_id: int | None
) -> bool:
    """``policy.grantable`` for a (kind, core id) a form submitted, resolved in the actor's tenant."""
    scope = await resolve_scope(session, actor.tenant_id, scope_kind, scope_core_id)
    return scope is not None and grantable(actor, role, scope)
