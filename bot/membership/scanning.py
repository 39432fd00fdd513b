"""Scanning a bottle code, exactly once.

Order of work, cheapest refusal first:
1. Redis: a locked-out member (anonymous: address) is refused; the code's MAC is checked (pure
   CPU) and a forgery is counted towards a lockout and kept in the review stream - no SQL at all.
2. Redis: velocity windows per member and device, never per IP (one Lua call; fraud.py).
3. One database transaction: lock the member row (merges and his other scans wait), then
   ``INSERT code_redemptions ... ON CONFLICT (batch, serial) DO NOTHING``. Exactly one scanner
   ever inserts; everyone else reads the first scan and is told when and roughly where it
   happened. The consumer's points are posted with source (bottle_code, batch:serial), unique
   too, as are the store's 开瓶奖励 and the referral rewards.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Select, and_, case, distinct, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import insert_ignore, is_postgres, session_scope, utcnow
from bot.hooks import Happened, Hooks
from bot.membership import batches, ledger, referral, rules, tiers
from bot.membership.actions import ensure_store, live_member_id
from bot.membership.batches import ACTIVATED, GENERATED, VOIDED, BatchCache, BatchView, CodeState
from bot.membership.code_models import (
    CodeRedemption,
    CodeRepeatScan,
    DiversionAlert,
    FraudFlag,
    ScanRejection,
)
from bot.membership.codes import CodeKeys, CodeRef, InvalidCode, extract, parse
from bot.membership.errors import UnknownMember
from bot.membership.fraud import FraudGuard, Subjects
from bot.membership.geo import IpLocator, Locator, Place, reverse_geocode
from bot.membership.interface import (
    AGE_REQUIRED,
    CREDITED,
    INVALID,
    MINE,
    REJECTED,
    REPEAT,
    Product,
    ScanRequest,
    ScanResult,
)
from bot.membership.ledger import EARN, Posting
from bot.membership.ledger_models import CONSUMPTION, ORDERING, PointsAccount
from bot.membership.loyalty_config import ConfigCache, LoyaltyConfig
from bot.membership.models import Member, MemberIdentity
from bot.membership.regions import get_region
from bot.membership.reward_models import Referral
from bot.membership.rules import ScanReward

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class _Seen:
    batches: int  # distinct batches in the pattern window, this scan included
    regions: int


@dataclass(frozen=True, slots=True)
class _Context:
    id: int
    status: str
    tier: str
    age_confirmed: bool
    latitude: float | None
    longitude: float | None
    pending_referral: bool
    account_id: int | None = None  # the consumption account, if the member has one yet


def _recent_location(
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


async def _lock_context(session: AsyncSession, member_id: int, since: datetime) -> _Context:
    """Lock the live member row (follows merges) and read, in the same round trip, what the scan
    needs: status, tier, age, the latest recent OA location and whether a referral is pending."""
    for _ in range(16):
        latest = _recent_location(Member.id, since).correlate(Member)
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
        ).where(Member.id == member_id)
        if is_postgres(session):
            stmt = stmt.with_for_update(of=Member)
        row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise UnknownMember(f"member {member_id} does not exist", member_id=member_id)
        if row[1] is None:
            return _Context(row[0], row[2], row[3], row[4] is not None, row[5], row[6], bool(row[7]), row[8])
        member_id = row[1]
    raise UnknownMember(f"merge chain too long from member {member_id}", member_id=member_id)


async def _location_only(session: AsyncSession, member_id: int, now: datetime) -> _Context:
    row = (await session.execute(_recent_location(member_id, now - timedelta(hours=24)))).first()
    return _Context(member_id, "", "", True, row[0] if row else None, row[1] if row else None, False)


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Scanner:
    sessions: async_sessionmaker[AsyncSession]
    keys: CodeKeys
    guard: FraudGuard
    configs: ConfigCache
    locator: Locator = field(default_factory=IpLocator)
    batches: BatchCache | None = None
    rules: rules.RulesCache | None = None
    hooks: Hooks | None = None  # told of each credited scan, after its transaction

    def __post_init__(self) -> None:
        self.batches = self.batches or BatchCache()
        self.rules = self.rules or rules.RulesCache(self.configs.ttl)

    def forget(self, tenant_id: int | None = None) -> None:
        """Drop cached knobs and rules (after an operator changed them)."""
        self.configs.forget(tenant_id)
        assert self.rules is not None
        self.rules.forget(tenant_id)

    async def scan(self, req: ScanRequest) -> ScanResult:
        now = req.scanned_at or utcnow()
        config = await self.configs.get(req.tenant_id)
        subjects = Subjects(req.tenant_id, req.member_id, req.ip, req.device)
        if await self.guard.locked(subjects):
            await self.guard.review(subjects, "locked", req.text, req.channel)
            return ScanResult(REJECTED, "locked")
        try:
            ref = parse(self.keys, extract(req.text), tenant_id=req.tenant_id)
        except InvalidCode as exc:
            await self.guard.review(subjects, f"invalid_{exc.reason}", req.text, req.channel)
            locked = await self.guard.invalid_code(
                subjects,
                window=config.invalid_window_seconds,
                threshold=config.invalid_lockout_count,
                lockout=config.lockout_seconds,
            )
            return ScanResult(INVALID, "locked_now" if locked else exc.reason)
        if req.member_id is None:
            raise ValueError("a genuine code is redeemed by a member: log in first")
        full = await self.guard.admit(subjects, config.member_velocity, config.source_velocity)
        if full is not None:
            await self.guard.review(subjects, f"velocity_{full}", ref.text, req.channel)
            return ScanResult(REJECTED, "velocity", code=ref.text)
        for attempt in range(4):
            try:
                result = await self._in_database(req, ref, config, now)
                if result.outcome == CREDITED and self.hooks is not None:
                    await self.hooks.emit(Happened(req.tenant_id, "scan", now, member_id=req.member_id))
                return result
            except DBAPIError as exc:  # a deadlock victim (e.g. racing a merge): run it again
                if attempt == 3 or "deadlock" not in str(exc).lower():
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _in_database(
        self, req: ScanRequest, ref: CodeRef, config: LoyaltyConfig, now: datetime
    ) -> ScanResult:
        try:
            async with session_scope(self.sessions) as session:
                return await self._redeem(session, req, ref, config, now)
        except _Rejected as rejected:
            async with session_scope(self.sessions) as session:
                session.add(
                    ScanRejection(
                        tenant_id=req.tenant_id,
                        member_id=req.member_id,
                        batch_id=ref.batch_id,
                        serial=ref.serial,
                        reason=rejected.reason,
                        channel=req.channel,
                        ip=req.ip,
                        device=(req.device or "")[:64] or None,
                        detail=rejected.detail[:300],
                        created_at=now,
                    )
                )
            return ScanResult(REJECTED, rejected.reason, code=ref.text)

    async def _redeem(
        self, session: AsyncSession, req: ScanRequest, ref: CodeRef, config: LoyaltyConfig, now: datetime
    ) -> ScanResult:
        assert req.member_id is not None
        member = await _lock_context(
            session, req.member_id, now - timedelta(hours=config.location_max_age_hours)
        )
        member_id = member.id
        assert self.batches is not None
        try:
            batch = await self.batches.get(session, ref.batch_id)
        except Exception:
            return ScanResult(INVALID, "unknown_batch")
        if batch.tenant_id != req.tenant_id or ref.serial > batch.size:
            return ScanResult(INVALID, "unknown_code")
        product = Product(batch.brand, batch.product_name, batch.sku)
        first = await self._first_scan(session, ref)
        if first is not None:
            return await self._repeat(session, req, ref, first, member_id, product, now)
        if member.status == "suspended":
            raise _Rejected("suspended")
        if config.require_age_confirmation and not member.age_confirmed:
            return ScanResult(AGE_REQUIRED, code=ref.text, product=product)
        state = await batches.code_state(session, ref.batch_id, ref.serial)
        if state.state == VOIDED:
            raise _Rejected("voided")
        if state.state == GENERATED and config.require_activation:
            raise _Rejected("not_activated")
        seen = await self._history(session, member_id, batch, config, now)
        if config.flags_block_scans and await self._flagged(session, member_id):
            raise _Rejected("flagged")
        place = self._locate(req, member)
        assert self.rules is not None
        reward = await self.rules.reward(session, req.tenant_id, batch.sku, batch.region_code, config, now)
        redemption_id = await self._insert(
            session, req, ref, member_id, place, state, reward, now, batch.region_code
        )
        if redemption_id is None:  # lost the race to another scanner
            first = await self._first_scan(session, ref)
            assert first is not None
            return await self._repeat(session, req, ref, first, member_id, product, now)
        account = member.account_id or await ledger.account_for(
            session, req.tenant_id, CONSUMPTION, member_id=member_id, now=now
        )
        note = f"扫码 {batch.product_name}"
        balance = await ledger.post_balance(
            session,
            req.tenant_id,
            Posting(account, reward.points, EARN, "bottle_code", ref.code_id, note),
            now=now,
        )
        store_reward = 0
        if state.store_code and reward.store_reward > 0:
            store_id = await ensure_store(session, req.tenant_id, state.store_code)
            store_account = await ledger.account_for(
                session, req.tenant_id, ORDERING, store_id=store_id, now=now
            )
            await ledger.post(
                session,
                req.tenant_id,
                Posting(
                    store_account,
                    reward.store_reward,
                    EARN,
                    "open_reward",
                    ref.code_id,
                    f"开瓶奖励 {batch.sku}",
                ),
                now=now,
            )
            store_reward = reward.store_reward
        bonus = None
        if member.pending_referral:
            bonus = await referral.reward_on_first_scan(session, req.tenant_id, member_id, config, now=now)
        upgraded = None
        if config.tier_rank(member.tier) < len(config.tiers) - 1:  # nothing above the top tier
            upgraded = await tiers.upgrade_if_due(session, member_id, config, now=now, current=member.tier)
        diverted = await self._diversion(session, batch, ref, redemption_id, place, state, config, now)
        await self._patterns(session, req.tenant_id, member_id, seen, config, now)
        tier = upgraded or member.tier
        first_scan = False
        if config.first_scan_coupon_campaign:
            mine = select(func.count()).where(CodeRedemption.member_id == member_id)
            first_scan = (await session.execute(mine)).scalar_one() == 1
        return ScanResult(
            CREDITED,
            code=ref.text,
            product=product,
            points=reward.points,
            balance=balance if bonus is None else await ledger.balance(session, account),
            tier=tier,
            tier_name=config.tier_name(tier),
            tier_upgraded=upgraded is not None,
            first_scanned_at=now,
            first_place=place.label() if place else None,
            diverted=diverted,
            store_reward=store_reward,
            referral_points=bonus.invitee_points if bonus else 0,
            campaign=reward.campaign,
            first_scan=first_scan,
        )

    # --- pieces -----------------------------------------------------------------------------
    async def _first_scan(self, session: AsyncSession, ref: CodeRef) -> CodeRedemption | None:
        stmt = select(CodeRedemption).where(
            CodeRedemption.batch_id == ref.batch_id, CodeRedemption.serial == ref.serial
        )
        return (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()

    async def _repeat(
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        first: CodeRedemption,
        member_id: int,
        product: Product,
        now: datetime,
    ) -> ScanResult:
        place = (first.city and f"{first.province or ''}{first.city}") or first.province
        if await live_member_id(session, first.member_id) == member_id:
            account = await ledger.account_for(session, req.tenant_id, CONSUMPTION, member_id=member_id)
            return ScanResult(
                MINE,
                code=ref.text,
                product=product,
                points=first.points,
                balance=await ledger.balance(session, account),
                first_scanned_at=first.scanned_at,
                first_place=place,
                repeat_count=first.repeat_count,
            )
        where = self._locate(req, await _location_only(session, member_id, now))
        session.add(
            CodeRepeatScan(
                tenant_id=req.tenant_id,
                batch_id=ref.batch_id,
                serial=ref.serial,
                member_id=member_id,
                channel=req.channel,
                province=where.province if where else None,
                city=where.city if where else None,
                ip=req.ip,
                scanned_at=now,
            )
        )
        await session.execute(
            update(CodeRedemption)
            .where(CodeRedemption.id == first.id)
            .values(repeat_count=CodeRedemption.repeat_count + 1)
            .execution_options(synchronize_session=False)
        )
        return ScanResult(
            REPEAT,
            code=ref.text,
            product=product,
            first_scanned_at=first.scanned_at,
            first_place=place,
            repeat_count=first.repeat_count + 1,
        )

    async def _history(
        self, session: AsyncSession, member_id: int, batch: BatchView, config: LoyaltyConfig, now: datetime
    ) -> _Seen:
        """One query over the member's redemptions: today's and this month's count (caps) and the
        batches and regions of the pattern window (flags)."""
        day = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        month = day.replace(day=1)
        since = now - timedelta(hours=config.pattern_window_hours)
        recent = CodeRedemption.scanned_at >= since
        row = (
            await session.execute(
                select(
                    func.count().filter(CodeRedemption.scanned_at >= day),
                    func.count().filter(CodeRedemption.scanned_at >= month),
                    func.count(distinct(CodeRedemption.batch_id)).filter(recent),
                    func.count(distinct(CodeRedemption.region_code)).filter(recent),
                    func.max(case((and_(recent, CodeRedemption.batch_id == batch.id), 1), else_=0)),
                    func.max(
                        case((and_(recent, CodeRedemption.region_code == batch.region_code), 1), else_=0)
                    ),
                ).where(CodeRedemption.member_id == member_id, CodeRedemption.scanned_at >= min(month, since))
            )
        ).one()
        if row[0] >= config.daily_scan_cap:
            raise _Rejected("daily_cap", f"{row[0]} today")
        if row[1] >= config.monthly_scan_cap:
            raise _Rejected("monthly_cap", f"{row[1]} this month")
        new_region = batch.region_code is not None and not row[5]
        return _Seen(int(row[2]) + (0 if row[4] else 1), int(row[3]) + (1 if new_region else 0))

    async def _flagged(self, session: AsyncSession, member_id: int) -> bool:
        stmt = (
            select(FraudFlag.id).where(FraudFlag.member_id == member_id, FraudFlag.status == "open").limit(1)
        )
        return (await session.execute(stmt)).first() is not None

    def _locate(self, req: ScanRequest, member: _Context) -> Place | None:
        """Mini-program location if granted, else the OA's LOCATION if recent, else the IP."""
        if req.latitude is not None and req.longitude is not None:
            place = reverse_geocode(req.latitude, req.longitude, source="mp")
            if place:
                return place
        if member.latitude is not None and member.longitude is not None:
            place = reverse_geocode(member.latitude, member.longitude, source="gps")
            if place:
                return place
        return self.locator.locate(req.ip)

    async def _insert(
        self,
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

    async def _diversion(
        self,
        session: AsyncSession,
        batch: BatchView,
        ref: CodeRef,
        redemption_id: int,
        place: Place | None,
        state: CodeState,
        config: LoyaltyConfig,
        now: datetime,
    ) -> bool:
        if not config.diversion_enabled or not batch.region_code or place is None:
            return False
        region = await get_region(session, batch.tenant_id, batch.region_code)
        if region is None or region.contains(place.province, place.city):
            return False
        await session.execute(
            insert_ignore(
                session,
                DiversionAlert.__table__,
                [
                    {
                        "tenant_id": batch.tenant_id,
                        "redemption_id": redemption_id,
                        "batch_id": batch.id,
                        "serial": ref.serial,
                        "region_code": batch.region_code,
                        "distributor_code": state.distributor_code or batch.distributor_code,
                        "store_code": state.store_code,
                        "found_province": place.province,
                        "found_city": place.city,
                        "place_source": place.source,
                        "latitude": None,
                        "longitude": None,
                        "status": "open",
                        "created_at": now,
                    }
                ],
                index_elements=["redemption_id"],
            )
        )
        await session.execute(
            update(CodeRedemption).where(CodeRedemption.id == redemption_id).values(diverted=True)
        )
        log.warning(
            "diversion_alert",
            batch=batch.id,
            serial=ref.serial,
            region=batch.region_code,
            found=place.label(),
        )
        return True

    async def _patterns(
        self,
        session: AsyncSession,
        tenant_id: int,
        member_id: int,
        seen: _Seen,
        config: LoyaltyConfig,
        now: datetime,
    ) -> None:
        """Flag one member redeeming caps from many batches or regions in a short time."""
        window_key = now.astimezone(TZ).strftime("%Y-%m-%d")
        for kind, count, limit in (
            ("many_batches", seen.batches, config.pattern_max_batches),
            ("many_regions", seen.regions, config.pattern_max_regions),
        ):
            if count > limit:
                await session.execute(
                    insert_ignore(
                        session,
                        FraudFlag.__table__,
                        [
                            {
                                "tenant_id": tenant_id,
                                "member_id": member_id,
                                "kind": kind,
                                "window_key": window_key,
                                "status": "open",
                                "created_at": now,
                                "detail": f"{count} in {config.pattern_window_hours} h (limit {limit})",
                            }
                        ],
                        index_elements=["tenant_id", "member_id", "kind", "window_key"],
                    )
                )


def with_member(req: ScanRequest, member_id: int) -> ScanRequest:
    return replace(req, member_id=member_id)


__all__ = ["ACTIVATED", "Scanner", "with_member"]
