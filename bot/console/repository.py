"""Scoped reads for console pages: members, stores and the org tree.

Every function takes the ``Actor`` and returns only rows of its tenant and subtree (the filters are
``bot.console.scope``'s, applied in SQL). A ``get_*`` of an id outside the scope, or of another
tenant, returns None exactly as for an id that does not exist: the page answers 404, never 403, so
a changed URL tells nothing. Lists are keyset-paginated (``repository_paging``) and their search
parameters are validated here (``BadQuery``). Views are frozen dataclasses; ``path`` is where the
row hangs in the org tree, for ``policy.can(actor, action, Resource(kind, tenant, view.path))``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import scope
from bot.console.org import OrgNodeView
from bot.console.org import view as org_view
from bot.console.org_models import OrgNode
from bot.console.policy import ROOT, Actor
from bot.console.repository_paging import BadQuery, Page, fetch_page
from bot.membership.models import ROLES as MEMBER_ROLES
from bot.membership.models import Member, MemberIdentity, Store
from bot.ordering.models import StoreLink

_OPENID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


# members -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MemberQuery:
    """A validated member search: ``q`` is a phone tail (4 digits), a full phone (11 digits) or an
    openid; ``role`` one of membership's roles."""

    phone_tail: str | None = None
    phone: str | None = None
    openid: str | None = None
    role: str | None = None

    @classmethod
    def parse(cls, q: str | None = None, role: str | None = None) -> MemberQuery:
        q = (q or "").strip()
        role = (role or "").strip() or None
        if role is not None and role not in MEMBER_ROLES:
            raise BadQuery("role", "unknown")
        if not q:
            return cls(role=role)
        if q.isascii() and q.isdigit() and len(q) == 4:
            return cls(phone_tail=q, role=role)
        if q.isascii() and q.isdigit() and len(q) == 11 and q.startswith("1"):
            return cls(phone=q, role=role)
        if _OPENID.match(q):
            return cls(openid=q, role=role)
        raise BadQuery("q", "format")


@dataclass(frozen=True)
class MemberView:
    id: int
    tenant_id: int
    role: str
    phone: str | None
    status: str
    tier: str
    store_id: int | None
    store_code: str | None
    distributor_code: str | None
    region_code: str | None
    created_at: datetime
    last_seen_at: datetime
    path: str  # the member's org link; for a consumer seen through scans, the actor's scope

    @property
    def masked_phone(self) -> str | None:
        """138****0007: what lists show (the full number is for the profile, by policy)."""
        if not self.phone:
            return None
        return self.phone[:3] + "*" * max(len(self.phone) - 7, 0) + self.phone[-4:]


_MEMBER_COLUMNS = (Member, Store.code.label("store_code"))


def _member_stmt(actor: Actor) -> Any:
    return (
        select(*_MEMBER_COLUMNS)
        .outerjoin(Store, and_(Store.id == Member.store_id, Store.tenant_id == Member.tenant_id))
        .where(scope.members_clause(actor))
    )


async def node_paths(
    session: AsyncSession, tenant_id: int, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """{(kind, code): path} of mirrored nodes (one query for a page of rows)."""
    wanted = {w for w in wanted if w[1]}
    if not wanted:
        return {}
    rows = await session.execute(
        select(OrgNode.kind, OrgNode.code, OrgNode.path).where(
            OrgNode.tenant_id == tenant_id, OrgNode.code.in_({code for _, code in wanted})
        )
    )
    return {(kind, code): path for kind, code, path in rows.all() if (kind, code) in wanted}


def _anchor(paths: dict[tuple[str, str], str], *links: tuple[str, str | None]) -> str | None:
    for kind, code in links:
        if code:
            return paths.get((kind, code))
    return None


async def _member_views(session: AsyncSession, actor: Actor, rows: list[Any]) -> tuple[MemberView, ...]:
    links = [
        (
            ("store", r.store_code),
            ("distributor", r.Member.distributor_code),
            ("region", r.Member.region_code),
        )
        for r in rows
    ]
    paths = await node_paths(session, actor.tenant_id, (link for group in links for link in group if link[1]))
    out = []
    for row, link in zip(rows, links, strict=True):
        m = row.Member
        linked = m.store_id is not None or m.distributor_code or m.region_code
        path = _anchor(paths, *link) if linked else None
        out.append(
            MemberView(
                m.id,
                m.tenant_id,
                m.role,
                m.phone,
                m.status,
                m.tier,
                m.store_id,
                row.store_code,
                m.distributor_code,
                m.region_code,
                m.created_at,
                m.last_seen_at,
                # an unmirrored link is HQ's; a consumer found in this scope belongs to it
                path if path is not None else (ROOT if linked else actor.scope.path),
            )
        )
    return tuple(out)


async def get_member(session: AsyncSession, actor: Actor, member_id: int) -> MemberView | None:
    row = (await session.execute(_member_stmt(actor).where(Member.id == member_id))).first()
    return None if row is None else (await _member_views(session, actor, [row]))[0]


async def list_members(
    session: AsyncSession, actor: Actor, query: MemberQuery, *, cursor: str | None = None, limit: int = 20
) -> Page[MemberView]:
    """Newest first (by id)."""
    await scope.custom_plans(session)
    stmt = _member_stmt(actor)
    if query.phone_tail:
        stmt = stmt.where(Member.phone_tail == query.phone_tail)  # indexed (migration 0024)
    if query.phone:
        stmt = stmt.where(Member.phone == query.phone)
    if query.openid:
        stmt = stmt.where(
            exists().where(
                MemberIdentity.member_id == Member.id,
                MemberIdentity.tenant_id == actor.tenant_id,
                MemberIdentity.openid == query.openid,
            )
        )
    if query.role:
        stmt = stmt.where(Member.role == query.role)
    page = await fetch_page(
        session,
        stmt,
        key_col=Member.id,
        id_col=Member.id,
        key_type=int,
        cursor=cursor,
        limit=limit,
        descending=True,
        convert=lambda row: row,
        key_of=lambda row: (row.Member.id, row.Member.id),
    )
    return Page(await _member_views(session, actor, list(page.items)), page.next_cursor)


# stores and the org tree -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreQuery:
    q: str | None = None  # part of the name or code
    region_id: int | None = None  # core ids
    distributor_id: int | None = None
    include_inactive: bool = False

    @classmethod
    def parse(
        cls,
        q: str | None = None,
        region_id: str | int | None = None,
        distributor_id: str | int | None = None,
        include_inactive: bool = False,
    ) -> StoreQuery:
        q = (q or "").strip() or None
        if q is not None and len(q) > 64:
            raise BadQuery("q", "too_long")
        return cls(
            q, _core_id("region_id", region_id), _core_id("distributor_id", distributor_id), include_inactive
        )


def _core_id(field: str, value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise BadQuery(field, "not_an_id")
    return int(text)


@dataclass(frozen=True)
class StoreView:
    core_id: int
    code: str
    name: str
    city: str
    status: str  # the core's: active | suspended | closed
    active: bool  # still listed by the core
    path: str
    region_id: int | None
    distributor_id: int | None
    store_id: int | None  # jiubot's stores.id once anyone bound or scanned for it
    owner_member_id: int | None  # the chat-bound owner (ordering)


def _ids_of(path: str) -> tuple[int | None, int | None]:
    region = distributor = None
    for part in path.strip("/").split("/"):
        if part.startswith("r"):
            region = int(part[1:])
        elif part.startswith("d"):
            distributor = int(part[1:])
    return region, distributor


def _store_stmt(actor: Actor) -> Any:
    return (
        select(OrgNode, Store.id.label("store_id"), StoreLink.owner_member_id)
        .outerjoin(Store, and_(Store.tenant_id == OrgNode.tenant_id, Store.code == OrgNode.code))
        .outerjoin(
            StoreLink,
            and_(StoreLink.tenant_id == OrgNode.tenant_id, StoreLink.core_store_id == OrgNode.core_id),
        )
        .where(scope.node_in_subtree(actor), OrgNode.kind == "store")
    )


def _store_view(row: Any) -> StoreView:
    n = row.OrgNode
    region, distributor = _ids_of(n.path)
    return StoreView(
        n.core_id,
        n.code,
        n.name,
        n.city,
        n.status,
        n.active,
        n.path,
        region,
        distributor,
        row.store_id,
        row.owner_member_id,
    )


async def get_store(session: AsyncSession, actor: Actor, core_store_id: int) -> StoreView | None:
    row = (await session.execute(_store_stmt(actor).where(OrgNode.core_id == core_store_id))).first()
    return None if row is None else _store_view(row)


async def list_stores(
    session: AsyncSession, actor: Actor, query: StoreQuery, *, cursor: str | None = None, limit: int = 20
) -> Page[StoreView]:
    """By code."""
    stmt = _store_stmt(actor)
    if not query.include_inactive:
        stmt = stmt.where(OrgNode.active.is_(True))
    if query.q:
        pattern = "%" + query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            (OrgNode.name.like(pattern, escape="\\")) | (OrgNode.code.like(pattern, escape="\\"))
        )
    if query.distributor_id is not None:
        stmt = stmt.where(OrgNode.path.like(f"%/d{query.distributor_id}/%"))
    if query.region_id is not None:
        stmt = stmt.where(OrgNode.path.like(f"/r{query.region_id}/%"))
    return await fetch_page(
        session,
        stmt,
        key_col=OrgNode.code,
        id_col=OrgNode.id,
        key_type=str,
        cursor=cursor,
        limit=limit,
        descending=False,
        convert=_store_view,
        key_of=lambda row: (row.OrgNode.code, row.OrgNode.id),
    )


async def get_node(session: AsyncSession, actor: Actor, kind: str, core_id: int) -> OrgNodeView | None:
    """A region, distributor or store of the actor's subtree (deactivated ones included)."""
    row = await session.scalar(
        select(OrgNode).where(scope.node_in_subtree(actor), OrgNode.kind == kind, OrgNode.core_id == core_id)
    )
    return None if row is None else org_view(row)


async def children(
    session: AsyncSession, actor: Actor, kind: str | None = None, core_id: int | None = None
) -> list[OrgNodeView]:
    """The active nodes right below a node of the actor's subtree (none given: below the actor's
    scope; HQ's children are the regions). A node outside the subtree has no children here."""
    if kind is None:
        if actor.is_hq:
            parent = select(OrgNode).where(scope.node_in_subtree(actor), OrgNode.kind == "region")
            rows = await session.scalars(parent.where(OrgNode.active.is_(True)).order_by(OrgNode.code))
            return [org_view(r) for r in rows.all()]
        kind, core_id = actor.scope.kind, actor.scope.core_id
    node = await get_node(session, actor, kind, core_id or 0)
    if node is None:
        return []
    rows = await session.scalars(
        select(OrgNode)
        .where(scope.node_in_subtree(actor), OrgNode.parent_id == node.id, OrgNode.active.is_(True))
        .order_by(OrgNode.code)
    )
    return [org_view(r) for r in rows.all()]
