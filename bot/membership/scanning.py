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
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import autocommit_scope, is_postgres, session_scope, utcnow
from bot.hooks import Happened, Hooks
from bot.membership import fraud_flags, ledger, referral, rules, scan_claim, scan_credit
from bot.membership.actions import ensure_store, live_member_id
from bot.membership.batches import ACTIVATED, BatchCache, BatchView
from bot.membership.code_models import CodeRedemption, CodeRepeatScan, ScanRejection
from bot.membership.codes import CodeKeys, CodeRef
from bot.membership.fraud import FraudGuard, screen
from bot.membership.geo import IpLocator, Locator, Place, reverse_geocode
from bot.membership.interface import (
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
from bot.membership.ledger_models import CONSUMPTION, ORDERING
from bot.membership.loyalty_config import ConfigCache, LoyaltyConfig
from bot.membership.regions import RegionCache
from bot.membership.rules import ScanReward
from bot.membership.scan_claim import Again, Context, Credited, Rejected, location_only, lock_context

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


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
                result = await self._in_database(req, ref, config, now)
                if result.outcome == CREDITED and self.hooks is not None:
                    # off the answer: a listener's transaction must not slow every credited scan
                    self.hooks.soon(Happened(req.tenant_id, "scan", now, member_id=req.member_id))
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
            if self._postgres:  # first the one-statement claim, its own transaction
                async with autocommit_scope(self.sessions) as session:
                    fast = await self._redeem(session, req, ref, config, now, fast=True)
                if fast is not None:
                    return fast
            async with session_scope(self.sessions) as session:
                done = await self._redeem(session, req, ref, config, now)
                assert done is not None
                return done
        except Rejected as rejected:
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
            member = await lock_context(
                session, req.tenant_id, req.member_id, now - timedelta(hours=config.location_max_age_hours)
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
            asked = self._place_asked(req)
            done = await scan_credit.claim_in_one_trip(
                session,
                req,
                ref,
                batch,
                reward,
                config,
                now,
                fast,
                asked,
                None if asked else self.locator.locate(req.ip),
                lambda member: self._locate(req, member),
            )
            if done is None:
                return None
        else:
            done = await scan_claim.claim(
                session, req, ref, batch, member, reward, config, now, lambda m: self._locate(req, m)
            )
        if isinstance(done, Again):
            if fast:
                return None  # a repeat scan is written down: in a transaction
            return await self._repeat(session, req, ref, done.first, done.member_id, product, now)
        if isinstance(done, ScanResult):
            return replace(done, product=product)
        return await self._follow_up(session, req, ref, batch, reward, done, config, now, product, fast)

    async def _follow_up(
        self,
        session: AsyncSession,
        req: ScanRequest,
        ref: CodeRef,
        batch: BatchView,
        reward: ScanReward,
        done: Credited,
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
        where = self._locate(req, await location_only(session, member_id, now))
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

    def _locate(self, req: ScanRequest, member: Context) -> Place | None:
        """Mini-program location if granted, else the OA's LOCATION if recent, else the IP."""
        place = self._place_asked(req)
        if place:
            return place
        if member.latitude is not None and member.longitude is not None:
            place = reverse_geocode(member.latitude, member.longitude, source="gps")
            if place:
                return place
        return self.locator.locate(req.ip)


def with_member(req: ScanRequest, member_id: int) -> ScanRequest:
    return replace(req, member_id=member_id)


__all__ = ["ACTIVATED", "Scanner", "with_member"]
