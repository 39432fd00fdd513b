"""Queries of the automation domain: journeys, enrolments, step runs, claims, caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import definitions
from bot.automation.definitions import Journey
from bot.automation.errors import AutomationError
from bot.automation.models import Enrolment, JourneyVersion, MarketingSend, StepRun
from bot.db import insert_ignore, is_postgres, rowcount, utcnow
from bot.membership.models import Member, MemberIdentity


# journeys -------------------------------------------------------------------------------------
async def save_journey(session: AsyncSession, tenant_id: int, journey: Journey) -> int:
    """Store a new version unless the newest one has the same text; returns the version."""
    newest = (
        await session.execute(
            select(JourneyVersion)
            .where(JourneyVersion.tenant_id == tenant_id, JourneyVersion.name == journey.name)
            .order_by(JourneyVersion.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if newest is not None and newest.definition == journey.source:
        return newest.version
    version = (newest.version if newest else 0) + 1
    await session.execute(
        insert_ignore(
            session,
            JourneyVersion.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "name": journey.name,
                    "version": version,
                    "definition": journey.source,
                    "active": True,
                    "created_at": utcnow(),
                }
            ],
            index_elements=["tenant_id", "name", "version"],
        )
    )
    return version


class StaleVersion(AutomationError):
    """Someone saved another version since the one this edit started from."""

    def __init__(self, newest: int) -> None:
        super().__init__(f"the newest version is {newest}")
        self.newest = newest


@dataclass(frozen=True)
class VersionInfo:
    version: int
    active: bool
    created_at: datetime
    definition: str


async def versions(session: AsyncSession, tenant_id: int, name: str) -> list[VersionInfo]:
    """Every version of a journey, newest first."""
    rows = await session.execute(
        select(JourneyVersion)
        .where(JourneyVersion.tenant_id == tenant_id, JourneyVersion.name == name)
        .order_by(JourneyVersion.version.desc())
    )
    return [VersionInfo(r.version, r.active, r.created_at, r.definition) for r in rows.scalars()]


async def save_version(session: AsyncSession, tenant_id: int, journey: Journey, *, base: int) -> int | None:
    """A new version of ``journey.name`` on top of version ``base`` (0: a new journey); versions
    are never overwritten. None when the text is the newest version's (nothing to save);
    ``StaleVersion`` when another version was saved since ``base`` (checked, then enforced by
    the unique (tenant, name, version): two editors of the same base cannot both win)."""
    newest = (await versions(session, tenant_id, journey.name))[:1]
    current = newest[0].version if newest else 0
    if current != base:
        raise StaleVersion(current)
    if newest and newest[0].definition == journey.source:
        return None
    row = {
        "tenant_id": tenant_id,
        "name": journey.name,
        "version": base + 1,
        "definition": journey.source,
        "active": newest[0].active if newest else True,  # a paused journey stays paused
        "created_at": utcnow(),
    }
    won = await session.execute(
        insert_ignore(
            session, JourneyVersion.__table__, [row], index_elements=["tenant_id", "name", "version"]
        ).returning(JourneyVersion.__table__.c.version)
    )
    if won.scalar_one_or_none() is None:
        raise StaleVersion(base + 1)
    return base + 1


async def journeys(session: AsyncSession, tenant_id: int, *, active_only: bool = True) -> list[Journey]:
    """The newest version of every journey (active ones unless asked otherwise)."""
    rows = (
        await session.execute(
            select(JourneyVersion)
            .where(JourneyVersion.tenant_id == tenant_id)
            .order_by(JourneyVersion.name, JourneyVersion.version.desc())
        )
    ).scalars()
    out: dict[str, Journey] = {}
    for row in rows:
        if row.name in out or (active_only and not row.active):
            out.setdefault(row.name, None)  # type: ignore[arg-type]
            continue
        parsed = definitions.parse(row.definition)
        out[row.name] = Journey(**{**parsed.__dict__, "version": row.version})
    return [j for j in out.values() if j is not None]


async def set_active(session: AsyncSession, tenant_id: int, name: str, active: bool) -> int:
    result = await session.execute(
        update(JourneyVersion)
        .where(JourneyVersion.tenant_id == tenant_id, JourneyVersion.name == name)
        .values(active=active)
    )
    return rowcount(result)


# claims ----------------------------------------------------------------------------------------
async def claim_due(
    session: AsyncSession,
    tenant_id: int,
    now: datetime,
    *,
    limit: int,
    lease_seconds: int,
    journeys: list[str] | None = None,
) -> list[int]:
    """Lease up to ``limit`` due enrolments to this worker. PostgreSQL: ``FOR UPDATE SKIP
    LOCKED`` so concurrent workers take disjoint rows; SQLite: the transaction is ``BEGIN
    IMMEDIATE`` (bot.db), so claims are serialised. A crashed worker's lease runs out (real time,
    not the journey clock) and another worker takes the rows."""
    real = utcnow()
    due = (
        select(Enrolment.id)
        .where(
            Enrolment.tenant_id == tenant_id,
            Enrolment.state == "active",
            Enrolment.due_at <= now,
            or_(Enrolment.lease_until.is_(None), Enrolment.lease_until < real),
            Enrolment.journey.in_(journeys) if journeys is not None else true(),
        )
        .order_by(Enrolment.due_at, Enrolment.id)
        .limit(limit)
    )
    if is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    rows = await session.execute(
        update(Enrolment)
        .where(Enrolment.id.in_(due.scalar_subquery()))
        .values(lease_until=real + timedelta(seconds=lease_seconds))
        .returning(Enrolment.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(r[0] for r in rows)


async def release(session: AsyncSession, enrolment_id: int) -> None:
    await session.execute(update(Enrolment).where(Enrolment.id == enrolment_id).values(lease_until=None))


# step runs -------------------------------------------------------------------------------------
async def start_step(
    session: AsyncSession, enrolment_id: int, step: str, kind: str, now: datetime, variant: str = ""
) -> StepRun:
    """Insert-first: the (enrolment, step) row exists before any side effect; a second caller
    (a retry after a crash) gets the same row back."""
    await session.execute(
        insert_ignore(
            session,
            StepRun.__table__,
            [
                {
                    "enrolment_id": enrolment_id,
                    "step": step,
                    "kind": kind,
                    "status": "started",
                    "variant": variant,
                    "reason": "",
                    "detail": "{}",
                    "started_at": now,
                }
            ],
            index_elements=["enrolment_id", "step"],
        )
    )
    return (
        await session.execute(
            select(StepRun).where(StepRun.enrolment_id == enrolment_id, StepRun.step == step)
        )
    ).scalar_one()


async def runs_of(session: AsyncSession, enrolment_id: int) -> dict[str, StepRun]:
    rows = await session.execute(select(StepRun).where(StepRun.enrolment_id == enrolment_id))
    return {r.step: r for r in rows.scalars()}


# people ----------------------------------------------------------------------------------------
async def member_state(
    session: AsyncSession, member_id: int, *, lock: bool = False
) -> tuple[bool, str] | None:
    """(opted out, status) of a member; ``lock`` holds its row (PostgreSQL) so that cap checks
    of concurrent journeys for the same person are serialised."""
    stmt = select(Member.push_opt_out, Member.status).where(Member.id == member_id)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).first()
    return (bool(row[0]), row[1]) if row else None


async def oa_identity(session: AsyncSession, member_id: int, appids: list[str]) -> tuple[str, str] | None:
    if not appids:
        return None
    row = (
        await session.execute(
            select(MemberIdentity.appid, MemberIdentity.openid)
            .where(
                MemberIdentity.member_id == member_id,
                MemberIdentity.appid.in_(appids),
                MemberIdentity.following.is_(True),
            )
            .order_by(MemberIdentity.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else None


# the frequency cap -------------------------------------------------------------------------------
async def take_cap(
    session: AsyncSession,
    tenant_id: int,
    member_id: int,
    key: str,
    source: str,
    now: datetime,
    *,
    cap: int,
    days: int,
) -> bool:
    """Count one marketing message for the member unless ``cap`` were sent in the last ``days``.
    The member's row is locked first (PostgreSQL; SQLite transactions are serial), so two
    journeys cannot both take the last place. A key already counted (a retry) is allowed."""
    await member_state(session, member_id, lock=True)
    known = (
        await session.execute(
            select(MarketingSend.id).where(MarketingSend.tenant_id == tenant_id, MarketingSend.key == key)
        )
    ).first()
    if known is not None:
        return True
    used = (
        await session.execute(
            select(func.count()).where(
                MarketingSend.tenant_id == tenant_id,
                MarketingSend.member_id == member_id,
                MarketingSend.sent_at > now - timedelta(days=days),
                MarketingSend.sent_at <= now,
            )
        )
    ).scalar_one()
    if used >= cap:
        return False
    await session.execute(
        insert_ignore(
            session,
            MarketingSend.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "member_id": member_id,
                    "key": key,
                    "source": source[:80],
                    "sent_at": now,
                }
            ],
            index_elements=["tenant_id", "key"],
        )
    )
    return True


async def give_back_cap(session: AsyncSession, tenant_id: int, key: str) -> None:
    """A message that did not reach the person does not count against the cap."""
    await session.execute(
        delete(MarketingSend).where(MarketingSend.tenant_id == tenant_id, MarketingSend.key == key)
    )
