"""Queries of chat ordering (each takes an AsyncSession; the caller owns the transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, utcnow
from bot.membership.actions import live_member_id
from bot.membership.models import Member, MemberIdentity
from bot.ordering.models import StoreLink
from bot.ordering.views import STORE_ROLES, Binding, StoreRef


def _ref(link: StoreLink) -> StoreRef:
    return StoreRef(link.store_id, link.core_store_id, link.code, link.name)


async def binding_of(session: AsyncSession, member_id: int) -> Binding | None:
    """The member's role and store (following merges); None for an unknown member."""
    member_id = await live_member_id(session, member_id)
    row = (
        await session.execute(
            select(Member.tenant_id, Member.role, Member.store_id).where(Member.id == member_id)
        )
    ).first()
    if row is None:
        return None
    store = None
    if row.role in STORE_ROLES and row.store_id is not None:
        link = (
            await session.execute(
                select(StoreLink).where(
                    StoreLink.tenant_id == row.tenant_id, StoreLink.store_id == row.store_id
                )
            )
        ).scalar_one_or_none()
        store = _ref(link) if link is not None else None
    return Binding(member_id, row.tenant_id, row.role, store)


async def link_by_core_id(session: AsyncSession, tenant_id: int, core_store_id: int) -> StoreLink | None:
    return (
        await session.execute(
            select(StoreLink).where(
                StoreLink.tenant_id == tenant_id, StoreLink.core_store_id == core_store_id
            )
        )
    ).scalar_one_or_none()


async def upsert_link(
    session: AsyncSession, tenant_id: int, store_id: int, core_store_id: int, code: str, name: str
) -> StoreLink:
    now = utcnow()
    row = {
        "tenant_id": tenant_id,
        "store_id": store_id,
        "core_store_id": core_store_id,
        "code": code,
        "name": name,
        "updated_at": now,
    }
    await session.execute(
        insert_ignore(session, StoreLink.__table__, [row], index_elements=["tenant_id", "core_store_id"])
    )
    await session.execute(
        update(StoreLink)
        .where(StoreLink.tenant_id == tenant_id, StoreLink.core_store_id == core_store_id)
        .values(name=name, code=code, updated_at=now)
    )
    link = await link_by_core_id(session, tenant_id, core_store_id)
    assert link is not None
    return link


async def store_members(
    session: AsyncSession, tenant_id: int, store_id: int, roles: Iterable[str] = STORE_ROLES
) -> list[tuple[int, str]]:
    """(member id, role) of the store's owner and staff, owner first."""
    rows = await session.execute(
        select(Member.id, Member.role)
        .where(
            Member.tenant_id == tenant_id,
            Member.store_id == store_id,
            Member.role.in_(list(roles)),
            Member.merged_into_id.is_(None),
        )
        .order_by(Member.role, Member.id)
    )
    return [(r.id, r.role) for r in rows]


async def people_of_core_stores(
    session: AsyncSession, tenant_id: int, core_store_ids: Sequence[int]
) -> list[int]:
    """Member ids of the owners and staff bound to these core stores (one query)."""
    if not core_store_ids:
        return []
    rows = await session.execute(
        select(Member.id)
        .join(StoreLink, (StoreLink.store_id == Member.store_id) & (StoreLink.tenant_id == tenant_id))
        .where(
            Member.tenant_id == tenant_id,
            StoreLink.core_store_id.in_(list(core_store_ids)),
            Member.role.in_(list(STORE_ROLES)),
            Member.merged_into_id.is_(None),
        )
        .order_by(Member.id)
    )
    return list(rows.scalars())


async def following_identities(
    session: AsyncSession, member_ids: Sequence[int], appids: Iterable[str]
) -> list[tuple[int, str, str]]:
    """(member id, appid, openid) of these members in these apps, for pushes."""
    if not member_ids:
        return []
    rows = await session.execute(
        select(MemberIdentity.member_id, MemberIdentity.appid, MemberIdentity.openid)
        .where(
            MemberIdentity.member_id.in_(list(member_ids)),
            MemberIdentity.appid.in_(list(appids)),
            MemberIdentity.following.is_(True),
        )
        .order_by(MemberIdentity.member_id, MemberIdentity.id)
    )
    return [(r.member_id, r.appid, r.openid) for r in rows]
