"""Business transitions on members and identities.

Every function runs inside the caller's transaction and assumes it may run concurrently with
itself: identities are created with INSERT ... ON CONFLICT DO NOTHING, never check-then-insert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, utcnow
from bot.membership import repository
from bot.membership.models import Member, MemberIdentity


async def ensure_member(
    session: AsyncSession,
    tenant_id: int,
    appid: str,
    openid: str,
    *,
    unionid: str | None = None,
    now: datetime | None = None,
) -> int:
    """The member behind (appid, openid), created on first contact; returns the member id.

    With a unionid, an existing member of the tenant with that unionid is reused, so the same
    person reaching us through the OA and the mini-program is one member.
    """
    existing = await repository.member_id_for(session, appid, openid)
    if existing is not None:
        return existing
    now = now or utcnow()
    member = await repository.member_by_unionid(session, tenant_id, unionid) if unionid else None
    created = False
    if member is None:
        member = Member(tenant_id=tenant_id, unionid=unionid, created_at=now, last_seen_at=now)
        session.add(member)
        await session.flush()
        created = True
    result = await session.execute(
        insert_ignore(
            session,
            MemberIdentity.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "member_id": member.id,
                    "appid": appid,
                    "openid": openid,
                    "unionid": unionid,
                    "following": False,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
            ],
            index_elements=["appid", "openid"],
        )
    )
    if result.rowcount == 0:
        # Another transaction created the identity first: drop our orphan and use theirs.
        if created:
            await session.execute(delete(Member).where(Member.id == member.id))
        winner = await repository.member_id_for(session, appid, openid)
        assert winner is not None
        return winner
    return member.id


async def mark_followed(
    session: AsyncSession, appid: str, openid: str, *, scene: str | None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    await session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.appid == appid, MemberIdentity.openid == openid)
        .values(following=True, subscribed_at=now, subscribe_scene=scene, last_seen_at=now)
    )


async def mark_unfollowed(
    session: AsyncSession, appid: str, openid: str, *, now: datetime | None = None
) -> None:
    """Unfollow: keep the member, its identity, ledgers and orders (accounting and anti-fraud need
    them); forget the location and the subscribe scene. Chat logs and flow state are removed by
    the caller (see docs/privacy.md)."""
    now = now or utcnow()
    await session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.appid == appid, MemberIdentity.openid == openid)
        .values(
            following=False,
            unsubscribed_at=now,
            subscribe_scene=None,
            latitude=None,
            longitude=None,
            location_precision=None,
            location_at=None,
        )
    )


async def record_location(
    session: AsyncSession,
    appid: str,
    openid: str,
    *,
    latitude: float,
    longitude: float,
    precision: float | None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    await session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.appid == appid, MemberIdentity.openid == openid)
        .values(latitude=latitude, longitude=longitude, location_precision=precision, location_at=now)
    )


async def touch(session: AsyncSession, member_ids: list[int], when: datetime) -> None:
    if member_ids:
        await session.execute(update(Member).where(Member.id.in_(member_ids)).values(last_seen_at=when))


async def members_of(session: AsyncSession, tenant_id: int) -> list[int]:
    return list((await session.execute(select(Member.id).where(Member.tenant_id == tenant_id))).scalars())
