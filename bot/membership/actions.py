"""Business transitions on members and identities.

Every function runs inside the caller's transaction and assumes it may run concurrently with
itself: identities are created with INSERT ... ON CONFLICT DO NOTHING, never check-then-insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import insert_ignore, is_postgres, utcnow
from bot.membership import repository
from bot.membership.errors import BadRole, MergeRefused, UnknownMember
from bot.membership.models import ROLES, Member, MemberIdentity, Store


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
        ).returning(MemberIdentity.__table__.c.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for a multi-values INSERT ... ON CONFLICT.
    if result.scalar_one_or_none() is None:
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


# --- identity linking, roles, consent (membership branch) ----------------------------------
async def lock_member(session: AsyncSession, member_id: int) -> int:
    """Follow merges to the live member and lock its row for the rest of the transaction.

    Everything that posts points or moves history for a member calls this first; a merge takes
    the same row locks, so the two never interleave (PostgreSQL ``FOR UPDATE``; SQLite
    transactions are serial anyway)."""
    for _ in range(16):
        stmt = select(Member.id, Member.merged_into_id).where(Member.id == member_id)
        if is_postgres(session):
            stmt = stmt.with_for_update()
        row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise UnknownMember(f"member {member_id} does not exist", member_id=member_id)
        if row.merged_into_id is None:
            return row.id
        member_id = row.merged_into_id
    raise UnknownMember(f"merge chain too long from member {member_id}", member_id=member_id)


@dataclass(frozen=True, slots=True)
class LockedMember:
    id: int
    status: str
    tier: str
    age_confirmed: bool


async def lock_member_row(session: AsyncSession, member_id: int) -> LockedMember:
    """``lock_member`` that also answers what a scan needs to know, in the same round trip."""
    for _ in range(16):
        stmt = select(
            Member.id, Member.merged_into_id, Member.status, Member.tier, Member.age_confirmed_at
        ).where(Member.id == member_id)
        if is_postgres(session):
            stmt = stmt.with_for_update()
        row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise UnknownMember(f"member {member_id} does not exist", member_id=member_id)
        if row.merged_into_id is None:
            return LockedMember(row.id, row.status, row.tier, row.age_confirmed_at is not None)
        member_id = row.merged_into_id
    raise UnknownMember(f"merge chain too long from member {member_id}", member_id=member_id)


async def live_member_id(session: AsyncSession, member_id: int) -> int:
    """The member a (possibly merged) member id now stands for, without locking."""
    for _ in range(16):
        merged_into = (
            await session.execute(select(Member.merged_into_id).where(Member.id == member_id))
        ).scalar_one_or_none()
        if merged_into is None:
            return member_id
        member_id = merged_into
    return member_id


async def link_unionid(
    session: AsyncSession,
    tenant_id: int,
    appid: str,
    openid: str,
    unionid: str,
    *,
    now: datetime | None = None,
) -> int:
    """Record the unionid WeChat gave for (appid, openid); if another member of the tenant
    already has it, the two are one person and are merged (the older member survives)."""
    now = now or utcnow()
    member_id = await ensure_member(session, tenant_id, appid, openid, unionid=unionid, now=now)
    member_id = await lock_member(session, member_id)
    await session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.appid == appid, MemberIdentity.openid == openid)
        .values(unionid=unionid)
    )
    return await _claim_key(session, tenant_id, member_id, Member.unionid, unionid, reason="unionid", now=now)


async def link_phone(
    session: AsyncSession, tenant_id: int, member_id: int, phone: str, *, now: datetime | None = None
) -> int:
    """A phone number WeChat (getuserphonenumber) or an SMS code verified for this member."""
    now = now or utcnow()
    phone = phone.strip()
    if not phone.lstrip("+").isdigit() or not 5 <= len(phone) <= 20:
        raise ValueError("not a phone number")
    member_id = await lock_member(session, member_id)
    survivor = await _claim_key(session, tenant_id, member_id, Member.phone, phone, reason="phone", now=now)
    await session.execute(update(Member).where(Member.id == survivor).values(phone_verified_at=now))
    return survivor


async def _claim_key(
    session: AsyncSession,
    tenant_id: int,
    member_id: int,
    column: InstrumentedAttribute[str | None],
    value: str,
    *,
    reason: str,
    now: datetime,
) -> int:
    from bot.membership.merge import merge_members  # merge imports this module's neighbours

    for _ in range(3):
        holder = (
            await session.execute(
                select(Member.id).where(
                    Member.tenant_id == tenant_id, column == value, Member.id != member_id
                )
            )
        ).scalar_one_or_none()
        if holder is not None:
            survivor, merged = sorted((holder, member_id))
            await merge_members(session, survivor, merged, reason=reason, now=now)
            return survivor
        try:
            async with session.begin_nested():
                await session.execute(
                    update(Member)
                    .where(Member.id == member_id, or_(column.is_(None), column == value))
                    .values({column.key: value})
                )
            return member_id
        except IntegrityError:
            continue  # someone took the key between our read and our write: merge with them
    raise MergeRefused(f"could not settle {column.key} for member {member_id}")


async def assign_role(
    session: AsyncSession,
    member_id: int,
    role: str,
    *,
    store_id: int | None = None,
    distributor_code: str | None = None,
    region_code: str | None = None,
) -> None:
    if role not in ROLES:
        raise BadRole(f"unknown role {role!r}; one of {', '.join(ROLES)}", role=role)
    if role in {"store_owner", "store_staff"} and store_id is None:
        raise BadRole(f"{role} needs a store", role=role)
    if role == "distributor_staff" and not distributor_code:
        raise BadRole("distributor_staff needs a distributor", role=role)
    member_id = await lock_member(session, member_id)
    await session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(role=role, store_id=store_id, distributor_code=distributor_code, region_code=region_code)
    )


async def ensure_store(
    session: AsyncSession,
    tenant_id: int,
    code: str,
    *,
    name: str = "",
    region_code: str | None = None,
    distributor_code: str | None = None,
) -> int:
    row = {
        "tenant_id": tenant_id,
        "code": code,
        "name": name,
        "region_code": region_code,
        "distributor_code": distributor_code,
        "created_at": utcnow(),
    }
    await session.execute(
        insert_ignore(session, Store.__table__, [row], index_elements=["tenant_id", "code"])
    )
    stmt = select(Store.id).where(Store.tenant_id == tenant_id, Store.code == code)
    return (await session.execute(stmt)).scalar_one()


async def confirm_age(session: AsyncSession, member_id: int, *, now: datetime | None = None) -> None:
    """The member declared being of legal drinking age (18+); consumer features need it."""
    member_id = await live_member_id(session, member_id)
    await session.execute(
        update(Member)
        .where(Member.id == member_id, Member.age_confirmed_at.is_(None))
        .values(age_confirmed_at=now or utcnow())
    )


async def set_push_opt_out(session: AsyncSession, member_id: int, opt_out: bool) -> None:
    member_id = await live_member_id(session, member_id)
    await session.execute(update(Member).where(Member.id == member_id).values(push_opt_out=opt_out))


async def set_status(session: AsyncSession, member_id: int, status: str) -> None:
    """``active`` or ``suspended`` (fraud review); merged members keep ``merged``."""
    if status not in {"active", "suspended"}:
        raise ValueError("status is active or suspended")
    member_id = await lock_member(session, member_id)
    await session.execute(update(Member).where(Member.id == member_id).values(status=status))
