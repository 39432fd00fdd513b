"""The credited scan in one PostgreSQL round trip: a call of ``jiubot_scan_credit`` (migration
0017), which locks the member, checks the code, claims it and posts the points in the caller's
transaction. A fast call (autocommit: the statement is its own transaction, no BEGIN/COMMIT)
claims only when nothing else is to be written with the credit and otherwise answers
``needs_transaction`` having written nothing. SQLite has no such function; ``scanning`` keeps
the statement-by-statement path there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.membership import fraud_flags, tiers
from bot.membership.batches import ACTIVATED, BatchView, CodeState
from bot.membership.code_models import CodeRedemption
from bot.membership.codes import CodeRef
from bot.membership.errors import AccountClosed, InsufficientPoints, UnknownMember
from bot.membership.geo import Place
from bot.membership.interface import AGE_REQUIRED, CREDITED, ScanRequest, ScanResult
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.rules import ScanReward
from bot.membership.scan_claim import Again, Context, Credited, Rejected, first_scan, windows

_CALL = text(
    "SELECT * FROM jiubot_scan_credit("
    "CAST(:member AS bigint), CAST(:tenant AS bigint), CAST(:batch AS bigint), CAST(:serial AS integer),"
    " CAST(:region AS text), CAST(:location_since AS timestamptz),"
    " CAST(:require_age AS boolean), CAST(:require_activation AS boolean),"
    " CAST(:day AS timestamptz), CAST(:month AS timestamptz), CAST(:pattern_since AS timestamptz),"
    " CAST(:daily_cap AS integer), CAST(:monthly_cap AS integer), CAST(:check_flags AS boolean),"
    " CAST(:points AS bigint), CAST(:store_reward AS integer), CAST(:channel AS text),"
    " CAST(:now AS timestamptz), CAST(:province AS text), CAST(:city AS text),"
    " CAST(:place_source AS text), CAST(:latitude AS double precision),"
    " CAST(:longitude AS double precision), CAST(:ip AS text), CAST(:source_id AS text),"
    " CAST(:note AS text), CAST(:year_since AS timestamptz), CAST(:count_scans AS boolean),"
    " CAST(:fast AS boolean), CAST(:place_fixed AS boolean), CAST(:tier_codes AS text[]),"
    " CAST(:tier_thresholds AS bigint[]), CAST(:max_batches AS integer), CAST(:max_regions AS integer))"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """What one scan asks the function to do (the Python checks already passed)."""

    member_id: int
    tenant_id: int
    ref: CodeRef
    region_code: str | None
    location_since: datetime
    require_age: bool
    require_activation: bool
    day: datetime
    month: datetime
    pattern_since: datetime
    daily_cap: int
    monthly_cap: int
    check_flags: bool
    points: int
    store_reward: int
    channel: str
    now: datetime
    place: Place | None
    latitude: float | None
    longitude: float | None
    ip: str | None
    note: str
    year_since: datetime | None  # None: the member is at the top tier, no earnings needed
    count_scans: bool
    # fast: claim only if nothing else is to be written with the credit (run in autocommit)
    fast: bool
    place_fixed: bool  # the mini-program's location: the OA's does not matter
    tier_codes: list[str]  # ordered by threshold
    tier_thresholds: list[int]
    max_batches: int
    max_regions: int


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: str  # credited | repeat | lost_race | unknown_member | suspended | age | voided |
    # not_activated | daily_cap | monthly_cap | flagged | account_closed | insufficient |
    # needs_transaction (fast calls only: nothing written)
    member_id: int
    tier: str | None
    latitude: float | None  # the member's recent OA location
    longitude: float | None
    pending_referral: bool
    store_code: str | None
    distributor_code: str | None
    cap_count: int | None
    n_batches: int | None
    n_regions: int | None
    has_batch: bool
    has_region: bool
    redemption_id: int | None
    account_id: int | None
    balance: int | None
    earned_year: int | None
    scans_total: int | None


async def claim(session: AsyncSession, c: Claim) -> Answer:
    place = c.place
    row = (
        await session.execute(
            _CALL,
            {
                "member": c.member_id,
                "tenant": c.tenant_id,
                "batch": c.ref.batch_id,
                "serial": c.ref.serial,
                "region": c.region_code,
                "location_since": c.location_since,
                "require_age": c.require_age,
                "require_activation": c.require_activation,
                "day": c.day,
                "month": c.month,
                "pattern_since": c.pattern_since,
                "daily_cap": c.daily_cap,
                "monthly_cap": c.monthly_cap,
                "check_flags": c.check_flags,
                "points": c.points,
                "store_reward": c.store_reward,
                "channel": c.channel,
                "now": c.now,
                "province": place.province if place else None,
                "city": place.city if place else None,
                "place_source": place.source if place else None,
                "latitude": c.latitude,
                "longitude": c.longitude,
                "ip": c.ip,
                "source_id": c.ref.code_id,
                "note": c.note,
                "year_since": c.year_since,
                "count_scans": c.count_scans,
                "fast": c.fast,
                "place_fixed": c.place_fixed,
                "tier_codes": c.tier_codes,
                "tier_thresholds": c.tier_thresholds,
                "max_batches": c.max_batches,
                "max_regions": c.max_regions,
            },
        )
    ).one()
    return Answer(
        row.outcome,
        row.member_id,
        row.tier,
        row.latitude,
        row.longitude,
        bool(row.pending_referral),
        row.store_code,
        row.distributor_code,
        row.cap_count,
        row.n_batches,
        row.n_regions,
        bool(row.has_batch),
        bool(row.has_region),
        row.redemption_id,
        row.account_id,
        row.balance,
        row.earned_year,
        row.scans_total,
    )


# What the function answers for a refusal kept in scan_rejections (its reason, as is).
REFUSALS = {"suspended", "voided", "not_activated", "flagged"}


async def claim_in_one_trip(
    session: AsyncSession,
    req: ScanRequest,
    ref: CodeRef,
    batch: BatchView,
    reward: ScanReward,
    config: LoyaltyConfig,
    now: datetime,
    fast: bool,
    asked: Place | None,
    by_ip: Place | None,
    locate: Callable[[Context], Place | None],
) -> Credited | Again | ScanResult | None:
    """The claim as one call; with ``fast`` None when a transaction is needed (nothing written).
    ``asked``: the mini-program's place; ``by_ip``: the address's; ``locate``: the place once
    the member's OA location is known."""
    assert req.member_id is not None
    day, month, since = windows(now, config)
    ordered = sorted(config.tiers, key=lambda t: t.threshold)
    top = len(config.tiers) - 1
    answer = await claim(
        session,
        Claim(
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
            place=asked or by_ip,
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
        first = await first_scan(session, ref)
        assert first is not None
        return Again(first, answer.member_id)
    if outcome == "age":
        return ScanResult(AGE_REQUIRED, code=ref.text)
    if outcome in REFUSALS:
        raise Rejected(outcome)
    if outcome == "daily_cap":
        raise Rejected("daily_cap", f"{answer.cap_count} today")
    if outcome == "monthly_cap":
        raise Rejected("monthly_cap", f"{answer.cap_count} this month")
    if outcome == "account_closed":
        raise AccountClosed(f"account {answer.account_id} is closed", account_id=answer.account_id)
    if outcome == "insufficient":
        raise InsufficientPoints(answer.account_id or 0, -reward.points)
    if outcome != CREDITED:
        raise RuntimeError(f"jiubot_scan_credit answered {outcome!r}")
    assert answer.redemption_id is not None and answer.account_id is not None and answer.tier
    member = Context(
        answer.member_id,
        "active",
        answer.tier,
        True,
        answer.latitude,
        answer.longitude,
        answer.pending_referral,
        answer.account_id,
    )
    place = asked or locate(member)
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
    return Credited(
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
