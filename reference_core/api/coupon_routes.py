"""Coupon campaigns and claims."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import coupons
from reference_core.api.registry import Call, Routes
from reference_core.api.support import read, write
from reference_core.errors import ErrorCode as E
from reference_core.idempotency import Deferred, Outcome
from reference_core.schemas import coupons as s

routes = Routes("coupons")


@routes.op(
    "POST",
    "/v1/coupon-campaigns",
    "createCouponCampaign",
    "Create a coupon campaign",
    body=s.CampaignCreate,
    response=s.Campaign,
    status=201,
    errors=(E.IDEMPOTENCY_KEY_REUSED,),
    idempotency="optional",
)
async def create_campaign(call: Call) -> Outcome:
    async def work(session: AsyncSession) -> s.Campaign:
        return await coupons.create_campaign(session, call.tenant.id, call.body, call.core.clock.now())

    return await write(call, work, status=201)


@routes.op(
    "GET",
    "/v1/coupon-campaigns",
    "listCouponCampaigns",
    "Coupon campaigns, newest first",
    query=s.CampaignQuery,
    response=s.CampaignPage,
)
async def list_campaigns(call: Call) -> s.CampaignPage:
    return await read(
        call,
        lambda session: coupons.list_campaigns(session, call.tenant.id, call.query, call.core.clock.now()),
    )


@routes.op(
    "GET",
    "/v1/coupon-campaigns/{campaign_id}",
    "getCouponCampaign",
    "One coupon campaign",
    path_params=s.CampaignPath,
    response=s.Campaign,
    errors=(E.NOT_FOUND,),
)
async def get_campaign(call: Call) -> s.Campaign:
    async def work(session: AsyncSession) -> s.Campaign:
        row = await coupons.get_campaign_row(session, call.tenant.id, call.path.campaign_id)
        return coupons.campaign_out(row, call.core.clock.now())

    return await read(call, work)


@routes.op(
    "POST",
    "/v1/coupon-campaigns/{campaign_id}/claims",
    "claimCoupon",
    "Claim a coupon",
    path_params=s.CampaignPath,
    body=s.ClaimRequest,
    response=s.CouponClaim,
    status=201,
    errors=(E.NOT_FOUND, E.COUPON_UNAVAILABLE, E.IDEMPOTENCY_KEY_REUSED),
    idempotency="required",
)
async def claim_coupon(call: Call) -> Outcome:
    """Never issues more than ``total_stock`` nor more than ``per_holder_limit`` per holder, however
    many claims arrive at once. Refusals: coupon_unavailable with ``details.reason`` one of
    sold_out, limit_reached, not_started, ended, not_in_audience, wrong_audience."""

    async def work(session: AsyncSession) -> Deferred:
        return await coupons.claim(
            session, call.tenant.id, call.path.campaign_id, call.body, call.core.clock.now()
        )

    return await write(call, work, status=201)


@routes.op(
    "GET",
    "/v1/coupon-claims",
    "listCouponClaims",
    "A holder's coupons, newest first",
    query=s.ClaimQuery,
    response=s.ClaimPage,
)
async def list_claims(call: Call) -> s.ClaimPage:
    return await read(
        call, lambda session: coupons.list_claims(session, call.tenant.id, call.query, call.core.clock.now())
    )


@routes.op(
    "GET",
    "/v1/coupon-claims/{claim_id}",
    "getCouponClaim",
    "One claimed coupon",
    path_params=s.ClaimPath,
    response=s.CouponClaim,
    errors=(E.NOT_FOUND,),
)
async def get_claim(call: Call) -> s.CouponClaim:
    return await read(
        call,
        lambda session: coupons.get_claim(session, call.tenant.id, call.path.claim_id, call.core.clock.now()),
    )


@routes.op(
    "POST",
    "/v1/coupon-claims/{claim_id}/redeem",
    "redeemCoupon",
    "Redeem a consumer coupon in a store",
    path_params=s.ClaimPath,
    body=s.RedeemRequest,
    response=s.CouponClaim,
    errors=(E.NOT_FOUND, E.COUPON_UNAVAILABLE, E.IDEMPOTENCY_KEY_REUSED),
    idempotency="required",
)
async def redeem_coupon(call: Call) -> Outcome:
    """For consumer coupons used at a store counter; store coupons are redeemed by an order
    (``coupon_claim_id``). Fires ``coupon.redeemed``."""

    async def work(session: AsyncSession) -> s.CouponClaim:
        return await coupons.redeem(
            session, call.tenant.id, call.path.claim_id, call.body, call.core.clock.now()
        )

    return await write(call, work)
