"""The scan's claim statement by statement, and what both claims answer.

SQLite runs ``lock_context`` then ``claim``: the member row, the first-scan check, the code's
range state, the caps, the insert of the redemption and the posting, each its own statement.
PostgreSQL does the same checks and writes in one call (``scan_credit``) and answers with the
same ``Credited`` / ``Again``; ``Rejected`` is a refusal kept in ``scan_rejections``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import insert_ignore, is_postgres
from bot.membership import batches, fraud_flags, ledger, tiers
from bot.membership.batches import GENERATED, VOIDED, BatchView, CodeState
from bot.membership.code_models import CodeRedemption, FraudFlag
from bot.membership.codes import CodeRef
from bot.membership.errors import UnknownMember
from bot.membership.geo import Place
from bot.membership.interface import AGE_REQUIRED, ScanRequest, ScanResult
from bot.membership.ledger import EARN, Posting
from bot.membership.ledger_models import CONSUMPTION, PointsAccount
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.models import Member, MemberIdentity
from bot.membership.reward_models import Referral
from bot.membership.rules import ScanReward

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Context:
    id: int
    status: str
    tier: str
    age_confirmed: bool
    latitude: float | None
    longitude: float | None
    pending_referral: bool
    account_id: int | None = None  # the consumption account, if the member has one yet


def recent_location(
    member_id: int | InstrumentedAttribute[int], since: datetime
) -> Select[float | None, float | None]:
    """The member's latest OA location since ``since`` (``member_id`` may be the outer query's column)."""
    latest = (
        select(MemberIdentity.latitude, MemberIdentity.longitude)
        .where(
            MemberIdentity.member_id == member_id,
            MemberIdentity.location_at >= since,
            MemberIdentity.latitude.is_not(None),
        )
        .order_by(MemberIdentity.location_at.desc())
        .limit(1)
    )
    return latest


async def lock_context(session: AsyncSession, tenant_id: int, member_id: int, since: datetime) -> Context:
    """Lock the live member row (follows merges) and read, in the same round trip, what the scan
    needs: status, tier, age, the latest recent OA location and whether a referral is pending.
    ``UnknownMember`` when there is no such member in ``tenant_id``."""
    for _ in range(16):
        latest = recent_location(Member.id, since).correlate(Member)
        account = (
            select(PointsAccount.id)
            .where(PointsAccount.member_id == Member.id, PointsAccount.kind == CONSUMPTION)
            .scalar_subquery()
        )
        pending = (
            select(Referral.id).where(Referral.invitee_id == Member.id, Referral.status == "pending").exists()
        )
        stmt = select(
            Member.id,
            Member.merged_into_id,
            Member.status,
            Member.tier,
            Member.age_confirmed_at,
            latest.with_only_columns(MemberIdentity.latitude).scalar_subquery(),
            latest.with_only_columns(MemberIdentity.longitude).scalar_subquery(),
            pending,
            account,
        ).where(Member.id == member_id, Member.tenant_id == tenant_id)
        if is_postgres(session):
            stmt = stmt.with_for_update(of=Member)
        row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise UnknownMember(f"member {member_id} does not exist", member_id=member_id)
        if row[1] is None:
            return Context(row[0], row[2], row[3], row[4] is not None, row[5], row[6], bool(row[7]), row[8])
        member_id = row[1]
    raise UnknownMember(f"merge chain too long from member {member_id}", member_id=member_id)


async def location_only(session: AsyncSession, member_id: int, now: datetime) -> Context:
    row = (await session.execute(recent_location(member_id, now - timedelta(hours=24)))).first()
    return Context(member_id, "", "", True, row[0] if row else None, row[1] if row else None, False)


class Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Again:
    """The code was redeemed before (or just now, by a faster scanner)."""

    first: CodeRedemption
    member_id: int  # the scanner's live member id


@dataclass(frozen=True, slots=True)
class Credited:
    """The claim made and the consumer's points posted; what the follow-ups need."""

    member: Context
    redemption_id: int
    account_id: int
    balance: int | None
    state: CodeState
    place: Place | None
    seen: fraud_flags.Seen
    upgraded: str | None
    first_scan: bool


def windows(now: datetime, config: LoyaltyConfig) -> tuple[datetime, datetime, datetime]:
    """The cap windows (today and this month, Beijing time) and the pattern window's start."""
    day = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1), now - timedelta(hours=config.pattern_window_hours)


async def first_scan(session: AsyncSession, ref: CodeRef) -> CodeRedemption | None:
    stmt = select(CodeRedemption).where(
        CodeRedemption.batch_id == ref.batch_id, CodeRedemption.serial == ref.serial
    )
    return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()


async def claim(
    session: AsyncSession,
    req: ScanRequest,
    ref: CodeRef,
    batch: BatchView,
    member: Context,
    reward: ScanReward,
    config: LoyaltyConfig,
    now: datetime,
    locate: Callable[[Context], Place | None],
) -> Credited | Again | ScanResult:
    """The claim statement by statement (SQLite: the transaction is serial, the member already
    locked by ``lock_context``)."""
    first = await first_scan(session, ref)
    if first is not None:
        return Again(first, member.id)
    if member.status == "suspended":
        raise Rejected("suspended")
    if config.require_age_confirmation and not member.age_confirmed:
        return ScanResult(AGE_REQUIRED, code=ref.text)
    state = await batches.code_state(session, ref.batch_id, ref.serial)
    if state.state == VOIDED:
        raise Rejected("voided")
    if state.state == GENERATED and config.require_activation:
        raise Rejected("not_activated")
    seen = await history(session, member.id, batch, config, now)
    if config.flags_block_scans and await flagged(session, member.id):
        raise Rejected("flagged")
    place = locate(member)
    redemption_id = await insert(session, req, ref, member.id, place, state, reward, now, batch.region_code)
    if redemption_id is None:  # lost the race to another scanner
        first = await first_scan(session, ref)
        assert first is not None
        return Again(first, member.id)
    account = member.account_id or await ledger.account_for(
        session, req.tenant_id, CONSUMPTION, member_id=member.id, now=now
    )
    balance = await ledger.post_balance(
        session,
        req.tenant_id,
        Posting(account, reward.points, EARN, "bottle_code", ref.code_id, f"扫码 {batch.product_name}"),
        now=now,
    )
    upgraded = None
    if config.tier_rank(member.tier) < len(config.tiers) - 1:  # nothing above the top tier
        upgraded = await tiers.upgrade_if_due(session, member.id, config, now=now, current=member.tier)
    counted_first = False
    if config.first_scan_coupon_campaign:
        mine = select(func.count()).where(CodeRedemption.member_id == member.id)
        counted_first = (await session.execute(mine)).scalar_one() == 1
    return Credited(member, redemption_id, account, balance, state, place, seen, upgraded, counted_first)


async def history(
    session: AsyncSession, member_id: int, batch: BatchView, config: LoyaltyConfig, now: datetime
) -> fraud_flags.Seen:
    """One query over the member's redemptions: today's and this month's count (caps) and the
    batches and regions of the pattern window (flags)."""
    day, month, since = windows(now, config)
    recent = CodeRedemption.scanned_at >= since
    row = (
        await session.execute(
            select(
                func.count().filter(CodeRedemption.scanned_at >= day),
                func.count().filter(CodeRedemption.scanned_at >= month),
                func.count(distinct(CodeRedemption.batch_id)).filter(recent),
                func.count(distinct(CodeRedemption.region_code)).filter(recent),
                func.max(case((and_(recent, CodeRedemption.batch_id == batch.id), 1), else_=0)),
                func.max(case((and_(recent, CodeRedemption.region_code == batch.region_code), 1), else_=0)),
            ).where(CodeRedemption.member_id == member_id, CodeRedemption.scanned_at >= min(month, since))
        )
    ).one()
    if row[0] >= config.daily_scan_cap:
        raise Rejected("daily_cap", f"{row[0]} today")
    if row[1] >= config.monthly_scan_cap:
        raise Rejected("monthly_cap", f"{row[1]} this month")
    return fraud_flags.seen(int(row[2]), int(row[3]), bool(row[4]), bool(row[5]), batch.region_code)


async def flagged(session: AsyncSession, member_id: int) -> bool:
    stmt = select(FraudFlag.id).where(FraudFlag.member_id == member_id, FraudFlag.status == "open").limit(1)
    return (await session.execute(stmt)).first() is not None


async def insert(
    session: AsyncSession,
    req: ScanRequest,
    ref: CodeRef,
    member_id: int,
    place: Place | None,
    state: CodeState,
    reward: ScanReward,
    now: datetime,
    region_code: str | None,
) -> int | None:
    table = CodeRedemption.__table__
    stmt = insert_ignore(
        session,
        table,
        [
            {
                "tenant_id": req.tenant_id,
                "batch_id": ref.batch_id,
                "serial": ref.serial,
                "member_id": member_id,
                "channel": req.channel,
                "scanned_at": now,
                "points": reward.points,
                "store_code": state.store_code,
                "store_reward": reward.store_reward if state.store_code else 0,
                "region_code": region_code,
                "province": place.province if place else None,
                "city": place.city if place else None,
                "place_source": place.source if place else None,
                "latitude": req.latitude,
                "longitude": req.longitude,
                "ip": req.ip,
                "diverted": False,
                "repeat_count": 0,
            }
        ],
        index_elements=["batch_id", "serial"],
    ).returning(table.c.id)
    return (await session.execute(stmt)).scalar_one_or_none()
