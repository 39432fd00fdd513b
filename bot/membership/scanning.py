"""Scanning a bottle code, exactly once.

Order of work, cheapest refusal first:
1. Redis: a locked-out member (anonymous: address) is refused; the code's MAC is checked (pure
   CPU) and a forgery is counted towards a lockout and kept in the review stream - no SQL at all.
2. Redis: the lockout and the velocity windows per member and device, never per IP, in one
   Lua call (``fraud.screen``).
3. One database transaction: lock the member row (merges and his other scans wait), then
   ``INSERT code_redemptions ... ON CONFLICT (batch, serial) DO NOTHING``. Exactly one scanner
   ever inserts; everyone else reads the first scan and is told when and roughly where it
   happened. The consumer's points are posted with source (bottle_code, batch:serial), unique
   too, as are the store's 开瓶奖励 and the referral rewards. On PostgreSQL the checks, the claim
   and the posting are one call of ``jiubot_scan_credit`` (``scan_credit``, migration 0017);
   on SQLite they are the statements below. The rare follow-ups (store reward, referral, tier
   upgrade, diversion and pattern flags in ``fraud_flags``) are shared by both.
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

from bot.db import autocommit_scope, insert_ignore, is_postgres, session_scope, utcnow
from bot.membership import batches, fraud_flags, ledger, referral, rules, scan_credit, tiers
from bot.membership.actions import ensure_store, live_member_id
from bot.membership.batches import ACTIVATED, GENERATED, VOIDED, BatchCache, BatchView, CodeState
from bot.membership.code_models import CodeRedemption, CodeRepeatScan, FraudFlag, ScanRejection
from bot.membership.codes import CodeKeys, CodeRef
from bot.membership.errors import AccountClosed, InsufficientPoints, UnknownMember
from bot.membership.fraud import FraudGuard, screen
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
from bot.membership.regions import RegionCache
from bot.membership.reward_models import Referral
from bot.membership.rules import ScanReward

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


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


# What the PostgreSQL function answers for a refusal -> the scan's refusal reason.
_REFUSALS = {"suspended", "voided", "not_activated", "flagged"}


@dataclass(frozen=True, slots=True)
class _Again:
    """The code was redeemed before (or just now, by a faster scanner)."""

    first: CodeRedemption
    member_id: int  # the scanner's live member id


@dataclass(frozen=True, slots=True)
class _Credited:
    """The claim made and the consumer's points posted; what the follow-ups need."""

    member: _Context
    redemption_id: int
    account_id: int
    balance: int | None
    state: CodeState
    place: Place | None
    seen: fraud_flags.Seen
    upgraded: str | None
    first_scan: bool


@dataclass
class Scanner:
    sessions: async_sessionmaker[AsyncSession]
    keys: CodeKeys
    guard: FraudGuard
    configs: ConfigCache
    locator: Locator = field(default_factory=IpLocator)
    batches: BatchCache | None = None
    rules: rules.RulesCache | None = None
    regions: RegionCache | None = None

    def __post_init__(self) -> None:
        self.batches = self.batches or BatchCache()
        self.rules = self.rules or rules.RulesCache(self.configs.ttl)
        self.regions = self.regions or RegionCache(self.configs.ttl)

    @property
    def _postgres(self) -> bool:
        bind = self.sessions.kw.get("bind")
        return bind is not None and bind.dialect.name == "postgresql"

    def forget(self, tenant_id: int | None = None) -> None:
        """Drop cached knobs, rules and regions (after an operator changed them)."""
        self.configs.forget(tenant_id)
        assert self.rules is not None and self.regions is not None
        self.rules.forget(tenant_id)
        self.regions.forget(tenant_id)

    async def scan(self, req: ScanRequest) -> ScanResult:
        now = req.scanned_at or utcnow()
        config = await self.configs.get(req.tenant_id)
        ref = await screen(self.guard, self.keys, req, config)
        if isinstance(ref, ScanResult):
            return ref
        for attempt in range(4):
            try:
                return await self._in_database(req, ref, config, now)
            except DBAPIError as exc:  # a deadlock victim (e.g. racing a merge): run it again
                if attempt == 3 or "deadlock" not in str(exc).lower():
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _in_database(
        self, req: ScanRequest, ref: CodeRef, config: LoyaltyConfig, now: datetime
    ) -> ScanResult:
        try:
            if self._postgres:  # first the one-statement claim, its own transaction
                async with autocommit_scope(self.sessions) as session:
                    fast = await self._redeem(session, req, ref, config, now, fast=True)
                if fast is not None:
                    return fast
            async with session_scope(self.sessions) as session:
                done = await self._redeem(session, req, ref, config, now)
                assert done is not None
                return done
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
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        config: LoyaltyConfig,
        now: datetime,
        *,
        fast: bool = False,
    ) -> ScanResult | None:
        """The scan's answer; with ``fast`` (PostgreSQL, autocommit) None when the scan needs
        a transaction (a repeat, or writes besides the credit), having written nothing."""
        assert req.member_id is not None and self.batches is not None and self.rules is not None
        postgres = is_postgres(session)
        if not postgres:  # SQLite: the member lock first, as every SQLite transaction is serial anyway
            member = await _lock_context(
                session, req.member_id, now - timedelta(hours=config.location_max_age_hours)
            )
        try:
            batch = await self.batches.get(session, ref.batch_id)
        except Exception:
            return ScanResult(INVALID, "unknown_batch")
        if batch.tenant_id != req.tenant_id or ref.serial > batch.size:
            return ScanResult(INVALID, "unknown_code")
        product = Product(batch.brand, batch.product_name, batch.sku)
        reward = await self.rules.reward(session, req.tenant_id, batch.sku, batch.region_code, config, now)
        if fast and await self._diverted(
            session, batch, self._place_asked(req) or self.locator.locate(req.ip), config
        ):
            return None  # an alert to write with the credit
        if postgres:
            done = await self._claim_in_one_trip(session, req, ref, batch, reward, config, now, fast)
            if done is None:
                return None
        else:
            done = await self._claim(session, req, ref, batch, member, reward, config, now)
        if isinstance(done, _Again):
            if fast:
                return None  # a repeat scan is written down: in a transaction
            return await self._repeat(session, req, ref, done.first, done.member_id, product, now)
        if isinstance(done, ScanResult):
            return replace(done, product=product)
        return await self._follow_up(session, req, ref, batch, reward, done, config, now, product, fast)

    # --- the claim: one function call on PostgreSQL, statement by statement on SQLite ---------
    async def _claim_in_one_trip(
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        batch: BatchView,
        reward: ScanReward,
        config: LoyaltyConfig,
        now: datetime,
        fast: bool,
    ) -> _Credited | _Again | ScanResult | None:
        assert req.member_id is not None
        day, month, since = _windows(now, config)
        ordered = sorted(config.tiers, key=lambda t: t.threshold)
        asked = self._place_asked(req)
        top = len(config.tiers) - 1
        answer = await scan_credit.claim(
            session,
            scan_credit.Claim(
                member_id=req.member_id,
                tenant_id=req.tenant_id,
                ref=ref,
                region_code=batch.region_code,
                location_since=now - timedelta(hours=config.location_max_age_hours),
                require_age=config.require_age_confirmation,
                require_activation=config.require_activation,
                day=day,
                month=month,
                pattern_since=since,
                daily_cap=config.daily_scan_cap,
                monthly_cap=config.monthly_scan_cap,
                check_flags=config.flags_block_scans,
                points=reward.points,
                store_reward=reward.store_reward,
                channel=req.channel,
                now=now,
                place=asked or self.locator.locate(req.ip),
                latitude=req.latitude,
                longitude=req.longitude,
                ip=req.ip,
                note=f"扫码 {batch.product_name}",
                year_since=now - tiers.YEAR,
                count_scans=bool(config.first_scan_coupon_campaign),
                fast=fast,
                place_fixed=asked is not None,
                tier_codes=[t.code for t in ordered],
                tier_thresholds=[t.threshold for t in ordered],
                max_batches=config.pattern_max_batches,
                max_regions=config.pattern_max_regions,
            ),
        )
        outcome = answer.outcome
        if outcome == "needs_transaction":
            return None
        if outcome == "unknown_member":
            raise UnknownMember(f"member {req.member_id} does not exist", member_id=req.member_id)
        if outcome in ("repeat", "lost_race"):
            first = await self._first_scan(session, ref)
            assert first is not None
            return _Again(first, answer.member_id)
        if outcome == "age":
            return ScanResult(AGE_REQUIRED, code=ref.text)
        if outcome in _REFUSALS:
            raise _Rejected(outcome)
        if outcome == "daily_cap":
            raise _Rejected("daily_cap", f"{answer.cap_count} today")
        if outcome == "monthly_cap":
            raise _Rejected("monthly_cap", f"{answer.cap_count} this month")
        if outcome == "account_closed":
            raise AccountClosed(f"account {answer.account_id} is closed", account_id=answer.account_id)
        if outcome == "insufficient":
            raise InsufficientPoints(answer.account_id or 0, -reward.points)
        if outcome != CREDITED:
            raise RuntimeError(f"jiubot_scan_credit answered {outcome!r}")
        assert answer.redemption_id is not None and answer.account_id is not None and answer.tier
        member = _Context(
            answer.member_id,
            "active",
            answer.tier,
            True,
            answer.latitude,
            answer.longitude,
            answer.pending_referral,
            answer.account_id,
        )
        place = asked or self._locate(req, member)
        if asked is None and place is not None and place.source == "gps":  # the OA's location wins
            await session.execute(
                update(CodeRedemption)
                .where(CodeRedemption.id == answer.redemption_id)
                .values(province=place.province, city=place.city, place_source=place.source)
            )
        upgraded = None
        if answer.earned_year is not None and config.tier_rank(answer.tier) < top:
            upgraded = await tiers.raise_to_earned(
                session, answer.member_id, config, answer.earned_year, current=answer.tier, now=now
            )
        return _Credited(
            member,
            answer.redemption_id,
            answer.account_id,
            answer.balance,
            CodeState(ACTIVATED, answer.store_code, answer.distributor_code),
            place,
            fraud_flags.seen(
                answer.n_batches or 0,
                answer.n_regions or 0,
                answer.has_batch,
                answer.has_region,
                batch.region_code,
            ),
            upgraded,
            answer.scans_total == 1,
        )

    async def _claim(
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        batch: BatchView,
        member: _Context,
        reward: ScanReward,
        config: LoyaltyConfig,
        now: datetime,
    ) -> _Credited | _Again | ScanResult:
        first = await self._first_scan(session, ref)
        if first is not None:
            return _Again(first, member.id)
        if member.status == "suspended":
            raise _Rejected("suspended")
        if config.require_age_confirmation and not member.age_confirmed:
            return ScanResult(AGE_REQUIRED, code=ref.text)
        state = await batches.code_state(session, ref.batch_id, ref.serial)
        if state.state == VOIDED:
            raise _Rejected("voided")
        if state.state == GENERATED and config.require_activation:
            raise _Rejected("not_activated")
        seen = await self._history(session, member.id, batch, config, now)
        if config.flags_block_scans and await self._flagged(session, member.id):
            raise _Rejected("flagged")
        place = self._locate(req, member)
        redemption_id = await self._insert(
            session, req, ref, member.id, place, state, reward, now, batch.region_code
        )
        if redemption_id is None:  # lost the race to another scanner
            first = await self._first_scan(session, ref)
            assert first is not None
            return _Again(first, member.id)
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
        first_scan = False
        if config.first_scan_coupon_campaign:
            mine = select(func.count()).where(CodeRedemption.member_id == member.id)
            first_scan = (await session.execute(mine)).scalar_one() == 1
        return _Credited(member, redemption_id, account, balance, state, place, seen, upgraded, first_scan)

    async def _follow_up(
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        batch: BatchView,
        reward: ScanReward,
        done: _Credited,
        config: LoyaltyConfig,
        now: datetime,
        product: Product,
        fast: bool,
    ) -> ScanResult:
        """What a credit may bring besides the consumer's points, each only when it applies
        (after a fast claim none does: the function and ``_diverted`` made sure of it)."""
        member, state = done.member, done.state
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
            bonus = await referral.reward_on_first_scan(session, req.tenant_id, member.id, config, now=now)
        assert self.regions is not None
        diverted = not fast and await fraud_flags.diversion(
            session, batch, ref, done.redemption_id, done.place, state, config, now, self.regions
        )
        await fraud_flags.patterns(session, req.tenant_id, member.id, done.seen, config, now)
        tier = done.upgraded or member.tier
        return ScanResult(
            CREDITED,
            code=ref.text,
            product=product,
            points=reward.points,
            balance=done.balance if bonus is None else await ledger.balance(session, done.account_id),
            tier=tier,
            tier_name=config.tier_name(tier),
            tier_upgraded=done.upgraded is not None,
            first_scanned_at=now,
            first_place=done.place.label() if done.place else None,
            diverted=diverted,
            store_reward=store_reward,
            referral_points=bonus.invitee_points if bonus else 0,
            campaign=reward.campaign,
            first_scan=done.first_scan,
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
    ) -> fraud_flags.Seen:
        """One query over the member's redemptions: today's and this month's count (caps) and the
        batches and regions of the pattern window (flags)."""
        day, month, since = _windows(now, config)
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
        return fraud_flags.seen(int(row[2]), int(row[3]), bool(row[4]), bool(row[5]), batch.region_code)

    async def _flagged(self, session: AsyncSession, member_id: int) -> bool:
        stmt = (
            select(FraudFlag.id).where(FraudFlag.member_id == member_id, FraudFlag.status == "open").limit(1)
        )
        return (await session.execute(stmt)).first() is not None

    async def _diverted(
        self, session: AsyncSession, batch: BatchView, place: Place | None, config: LoyaltyConfig
    ) -> bool:
        """Whether a scan at ``place`` (known before the claim) raises a diversion alert."""
        if not config.diversion_enabled or batch.region_code is None or place is None:
            return False
        assert self.regions is not None
        region = await self.regions.get(session, batch.tenant_id, batch.region_code)
        return region is not None and not region.contains(place.province, place.city)

    @staticmethod
    def _place_asked(req: ScanRequest) -> Place | None:
        """The mini-program's location, when the consumer granted it (it wins over the rest)."""
        if req.latitude is not None and req.longitude is not None:
            return reverse_geocode(req.latitude, req.longitude, source="mp")
        return None

    def _locate(self, req: ScanRequest, member: _Context) -> Place | None:
        """Mini-program location if granted, else the OA's LOCATION if recent, else the IP."""
        place = self._place_asked(req)
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


def _windows(now: datetime, config: LoyaltyConfig) -> tuple[datetime, datetime, datetime]:
    """The cap windows (today and this month, Beijing time) and the pattern window's start."""
    day = now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1), now - timedelta(hours=config.pattern_window_hours)


def with_member(req: ScanRequest, member_id: int) -> ScanRequest:
    return replace(req, member_id=member_id)


__all__ = ["ACTIVATED", "Scanner", "with_member"]
