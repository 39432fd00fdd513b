"""The credited scan in one PostgreSQL round trip: a call of ``jiubot_scan_credit`` (migration
0017), which locks the member, checks the code, claims it and posts the points in the caller's
transaction. A fast call (autocommit: the statement is its own transaction, no BEGIN/COMMIT)
claims only when nothing else is to be written with the credit and otherwise answers
``needs_transaction`` having written nothing. SQLite has no such function; ``scanning`` keeps
the statement-by-statement path there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.membership.codes import CodeRef
from bot.membership.geo import Place

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
