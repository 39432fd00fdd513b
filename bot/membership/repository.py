"""Queries on members and identities; each takes an AsyncSession."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.membership.interface import IdentityView, MemberRef
from bot.membership.models import Member, MemberIdentity


async def identity(session: AsyncSession, appid: str, openid: str) -> MemberIdentity | None:
    stmt = select(MemberIdentity).where(MemberIdentity.appid == appid, MemberIdentity.openid == openid)
    return (await session.execute(stmt)).scalar_one_or_none()


async def member_id_for(session: AsyncSession, appid: str, openid: str) -> int | None:
    stmt = select(MemberIdentity.member_id).where(
        MemberIdentity.appid == appid, MemberIdentity.openid == openid
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def member_by_unionid(session: AsyncSession, tenant_id: int, unionid: str) -> Member | None:
    stmt = select(Member).where(Member.tenant_id == tenant_id, Member.unionid == unionid)
    return (await session.execute(stmt)).scalar_one_or_none()


async def member_ref(session: AsyncSession, member_id: int) -> MemberRef | None:
    stmt = select(Member.id, Member.tenant_id, Member.role).where(Member.id == member_id)
    row = (await session.execute(stmt)).first()
    return MemberRef(row[0], row[1], row[2]) if row else None


async def identity_view(session: AsyncSession, appid: str, openid: str) -> IdentityView | None:
    row = await identity(session, appid, openid)
    if row is None:
        return None
    return IdentityView(
        member_id=row.member_id,
        appid=row.appid,
        openid=row.openid,
        unionid=row.unionid,
        following=row.following,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        latitude=row.latitude,
        longitude=row.longitude,
    )


async def distributor_of(session: AsyncSession, member_id: int) -> str | None:
    """The distributor code of a distributor's staff member (经销商), else None."""
    row = await session.get(Member, member_id)
    if row is None or row.role != "distributor_staff":
        return None
    return row.distributor_code
