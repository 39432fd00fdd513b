"""Coupon campaigns and claims.

A claim is three conditional writes in one transaction: the holder's counter
(``claimed < per_holder_limit``), then the campaign's stock (``remaining > 0``, last, because it is
the row every claimant contends for), then the claim row, whose unique (campaign, holder, seq) is a
second guard. Concurrent claims can therefore neither over-issue nor exceed a holder's limit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import cursor as cursors
from reference_core import webhooks
from reference_core.db import is_postgres, rowcount, take_and_commit
from reference_core.errors import coupon_unavailable, not_found
from reference_core.idempotency import Deferred
from reference_core.models import CouponCampaign, CouponClaim, CouponHolder, Store
from reference_core.promotions import check_references, status_of
from reference_core.schemas import coupons as s
from reference_core.schemas.promotions import AudienceOut, ScopeOut
from reference_core.schemas.webhooks import CouponRedeemed

TAKE_COUPON = (
    update(CouponCampaign)
    .where(CouponCampaign.id == bindparam("campaign"), CouponCampaign.remaining > 0)
    .values(remaining=CouponCampaign.remaining - 1)
)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud in a shop


def campaign_out(c: CouponCampaign, now: datetime) -> s.Campaign:
    return s.Campaign(
        id=c.id,
        name=c.name,
        kind=c.kind,  # type: ignore[arg-type]
        amount_off_fen=c.amount_off_fen,
        percent_off=c.percent_off,
        max_discount_fen=c.max_discount_fen,
        threshold_fen=c.threshold_fen,
        audience=c.audience,  # type: ignore[arg-type]
        audience_filter=AudienceOut(
            region_ids=c.audience_filter.get("region_ids", []), tiers=c.audience_filter.get("tiers", [])
        ),
        scope=ScopeOut(skus=c.scope.get("skus", []), categories=c.scope.get("categories", [])),
        claim_starts_at=c.claim_starts_at,
        claim_ends_at=c.claim_ends_at,
        valid_days=c.valid_days,
        valid_until=c.valid_until,
        total_stock=c.total_stock,
        remaining=c.remaining,
        per_holder_limit=c.per_holder_limit,
        status=status_of(c.claim_starts_at, c.claim_ends_at, now, c.status),  # type: ignore[arg-type]
    )


def claim_out(claim: CouponClaim, c: CouponCampaign, now: datetime) -> s.CouponClaim:
    status = "expired" if claim.status == "available" and claim.expires_at <= now else claim.status
    return s.CouponClaim(
        id=claim.id,
        code=claim.code,
        campaign_id=c.id,
        name=c.name,
        kind=c.kind,  # type: ignore[arg-type]
        amount_off_fen=c.amount_off_fen,
        percent_off=c.percent_off,
        max_discount_fen=c.max_discount_fen,
        threshold_fen=c.threshold_fen,
        holder_type=claim.holder_type,  # type: ignore[arg-type]
        holder_id=claim.holder_id,
        status=status,  # type: ignore[arg-type]
        claimed_at=claim.claimed_at,
        expires_at=claim.expires_at,
        redeemed_at=claim.redeemed_at,
        order_id=claim.order_id,
        redeemed_store_id=claim.redeemed_store_id,
    )


async def create_campaign(
    session: AsyncSession, tenant_id: int, body: s.CampaignCreate, now: datetime
) -> s.Campaign:
    await check_references(
        session,
        tenant_id,
        skus=set(body.scope.skus),
        region_ids=set(body.audience_filter.region_ids),
        warehouse_ids=set(),
    )
    row = CouponCampaign(
        tenant_id=tenant_id,
        name=body.name,
        kind=body.kind,
        amount_off_fen=body.amount_off_fen if body.kind == "amount_off" else 0,
        percent_off=body.percent_off if body.kind == "percent_off" else 0,
        max_discount_fen=body.max_discount_fen if body.kind == "percent_off" else None,
        threshold_fen=body.threshold_fen,
        audience=body.audience,
        audience_filter=body.audience_filter.model_dump(mode="json"),
        scope=body.scope.model_dump(mode="json"),
        claim_starts_at=body.claim_starts_at,
        claim_ends_at=body.claim_ends_at,
        valid_days=body.valid_days,
        valid_until=body.valid_until,
        total_stock=body.total_stock,
        remaining=body.total_stock,
        per_holder_limit=body.per_holder_limit,
        status="active",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return campaign_out(row, now)


async def get_campaign_row(session: AsyncSession, tenant_id: int, campaign_id: int) -> CouponCampaign:
    row = await session.scalar(
        select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id, CouponCampaign.id == campaign_id)
    )
    if row is None:
        raise not_found("coupon campaign", campaign_id)
    return row


async def list_campaigns(
    session: AsyncSession, tenant_id: int, query: s.CampaignQuery, now: datetime
) -> s.CampaignPage:
    before = cursors.decode(query.cursor)
    stmt = (
        select(CouponCampaign).where(CouponCampaign.tenant_id == tenant_id).order_by(CouponCampaign.id.desc())
    )
    if before is not None:
        stmt = stmt.where(CouponCampaign.id < before)
    if query.audience is not None:
        stmt = stmt.where(CouponCampaign.audience == query.audience)
    if query.status == "scheduled":
        stmt = stmt.where(CouponCampaign.claim_starts_at > now, CouponCampaign.status == "active")
    elif query.status == "active":
        stmt = stmt.where(
            CouponCampaign.claim_starts_at <= now,
            CouponCampaign.claim_ends_at > now,
            CouponCampaign.status == "active",
        )
    elif query.status == "ended":
        stmt = stmt.where((CouponCampaign.claim_ends_at <= now) | (CouponCampaign.status != "active"))
    rows = list((await session.scalars(stmt.limit(query.limit + 1))).all())
    page, more = rows[: query.limit], len(rows) > query.limit
    return s.CampaignPage(
        items=[campaign_out(c, now) for c in page], next_cursor=cursors.encode(page[-1].id) if more else None
    )


async def _check_holder(session: AsyncSession, campaign: CouponCampaign, body: s.ClaimRequest) -> None:
    wanted = "store" if campaign.audience == "stores" else "consumer"
    if body.holder_type != wanted:
        raise coupon_unavailable("wrong_audience", f"this campaign is for {campaign.audience}")
    if wanted != "store":
        return
    store = None
    if body.holder_id.isdigit() and len(body.holder_id) < 17:
        store = await session.scalar(
            select(Store).where(Store.tenant_id == campaign.tenant_id, Store.id == int(body.holder_id))
        )
    if store is None:
        raise not_found("store", body.holder_id)
    regions = campaign.audience_filter.get("region_ids", [])
    tiers = campaign.audience_filter.get("tiers", [])
    if (regions and store.region_id not in regions) or (tiers and store.tier not in tiers):
        raise coupon_unavailable("not_in_audience", "this store is not in the campaign's audience")


async def claim(
    session: AsyncSession, tenant_id: int, campaign_id: int, body: s.ClaimRequest, now: datetime
) -> Deferred:
    """The claim row and its response; ``finish`` takes one coupon from the campaign's stock."""
    campaign = await get_campaign_row(session, tenant_id, campaign_id)
    await _check_holder(session, campaign, body)
    state = status_of(campaign.claim_starts_at, campaign.claim_ends_at, now, campaign.status)
    if state != "active":
        reason = "not_started" if state == "scheduled" else "ended"
        raise coupon_unavailable(
            reason, f"claiming is {'not open yet' if reason == 'not_started' else 'over'}"
        )
    if campaign.remaining <= 0:  # known sold out: refuse before writing anything
        raise coupon_unavailable("sold_out", "all coupons of this campaign have been claimed")
    # the holder's counter, created or bumped in one statement, never past the limit
    table = CouponHolder.__table__
    upsert = (pg_insert if is_postgres(session) else sqlite_insert)(table).values(
        campaign_id=campaign.id, holder_type=body.holder_type, holder_id=body.holder_id, claimed=1
    )
    seq = (
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["campaign_id", "holder_type", "holder_id"],
                set_={"claimed": table.c.claimed + 1},
                where=table.c.claimed < campaign.per_holder_limit,
            ).returning(table.c.claimed)
        )
    ).scalar()
    if seq is None:
        raise coupon_unavailable(
            "limit_reached",
            f"each holder may claim {campaign.per_holder_limit}",
            limit=campaign.per_holder_limit,
        )
    row = CouponClaim(
        tenant_id=tenant_id,
        campaign_id=campaign.id,
        holder_type=body.holder_type,
        holder_id=body.holder_id,
        seq=seq,
        code="".join(secrets.choice(_CODE_ALPHABET) for _ in range(12)),
        status="available",
        claimed_at=now,
        expires_at=min(now + timedelta(days=campaign.valid_days), campaign.valid_until),
    )
    session.add(row)
    await session.flush()

    async def take_one(session: AsyncSession) -> None:
        # the row every claimant contends for: taken last, in one round trip with the COMMIT
        await take_and_commit(session, [(TAKE_COUPON, {"campaign": campaign.id})])

    return Deferred(claim_out(row, campaign, now), take_one)


async def list_claims(
    session: AsyncSession, tenant_id: int, query: s.ClaimQuery, now: datetime
) -> s.ClaimPage:
    before = cursors.decode(query.cursor)
    stmt = (
        select(CouponClaim, CouponCampaign)
        .join(CouponCampaign, CouponCampaign.id == CouponClaim.campaign_id)
        .where(
            CouponClaim.tenant_id == tenant_id,
            CouponClaim.holder_type == query.holder_type,
            CouponClaim.holder_id == query.holder_id,
        )
        .order_by(CouponClaim.id.desc())
        .limit(query.limit + 1)
    )
    if before is not None:
        stmt = stmt.where(CouponClaim.id < before)
    if query.status == "available":
        stmt = stmt.where(CouponClaim.status == "available", CouponClaim.expires_at > now)
    elif query.status == "expired":
        stmt = stmt.where(CouponClaim.status == "available", CouponClaim.expires_at <= now)
    elif query.status == "redeemed":
        stmt = stmt.where(CouponClaim.status == "redeemed")
    rows = list(await session.execute(stmt))
    page, more = rows[: query.limit], len(rows) > query.limit
    return s.ClaimPage(
        items=[claim_out(c, k, now) for c, k in page],
        next_cursor=cursors.encode(page[-1][0].id) if more else None,
    )


async def get_claim(session: AsyncSession, tenant_id: int, claim_id: int, now: datetime) -> s.CouponClaim:
    row = (
        await session.execute(
            select(CouponClaim, CouponCampaign)
            .join(CouponCampaign, CouponCampaign.id == CouponClaim.campaign_id)
            .where(CouponClaim.tenant_id == tenant_id, CouponClaim.id == claim_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise not_found("coupon claim", claim_id)
    return claim_out(row[0], row[1], now)


async def redeem(
    session: AsyncSession, tenant_id: int, claim_id: int, body: s.RedeemRequest, now: datetime
) -> s.CouponClaim:
    """A consumer uses a coupon in a store (store coupons are redeemed by placing an order)."""
    current = await get_claim(session, tenant_id, claim_id, now)
    if current.holder_type != "consumer":
        raise coupon_unavailable(
            "use_in_order", "store coupons are used by passing coupon_claim_id to an order"
        )
    store = await session.scalar(select(Store).where(Store.tenant_id == tenant_id, Store.id == body.store_id))
    if store is None:
        raise not_found("store", body.store_id)
    result = await session.execute(
        update(CouponClaim)
        .where(CouponClaim.id == claim_id, CouponClaim.status == "available", CouponClaim.expires_at > now)
        .values(status="redeemed", redeemed_at=now, redeemed_store_id=store.id)
    )
    if rowcount(result) != 1:
        reason = "redeemed" if current.status == "redeemed" else "expired"
        raise coupon_unavailable(reason, f"this coupon is {current.status}")
    event = CouponRedeemed(
        claim_id=claim_id,
        campaign_id=current.campaign_id,
        code=current.code,
        holder_type="consumer",
        holder_id=current.holder_id,
        order_id=None,
        store_id=store.id,
        discount_fen=None,
        at=now,
    )
    await webhooks.enqueue(session, tenant_id, "coupon.redeemed", event, now)
    return await get_claim(session, tenant_id, claim_id, now)
