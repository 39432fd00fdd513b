"""Promotions and group orders."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import groups, promotions
from reference_core.api.registry import Call, Routes
from reference_core.api.support import read, write
from reference_core.errors import ErrorCode as E
from reference_core.idempotency import Outcome
from reference_core.schemas import promotions as s

routes = Routes("promotions")


@routes.op(
    "POST",
    "/v1/promotions",
    "createPromotion",
    "Create a promotion",
    body=s.PromotionCreate,
    response=s.Promotion,
    status=201,
    errors=(E.IDEMPOTENCY_KEY_REUSED,),
    idempotency="optional",
)
async def create_promotion(call: Call) -> Outcome:
    """``kind`` selects the ``rules`` shape: full_reduction (满减 tiers), full_gift (满赠 tiers),
    discount (percent off), flash_sale (秒杀: SKU, price, ``stock``, ``per_store_limit``), group_buy
    (拼单: SKU, minimum group size, price tiers; the deadline is ``ends_at``), auction (descending
    price for a near-expiry lot: start, floor, step and interval, ``stock``)."""

    async def work(session: AsyncSession) -> s.Promotion:
        return await promotions.create(session, call.tenant.id, call.body, call.core.clock.now())

    return await write(call, work, status=201)


@routes.op(
    "GET",
    "/v1/promotions",
    "listPromotions",
    "Promotions, newest first",
    query=s.PromotionQuery,
    response=s.PromotionPage,
)
async def list_promotions(call: Call) -> s.PromotionPage:
    return await read(
        call, lambda session: promotions.listing(session, call.tenant.id, call.query, call.core.clock.now())
    )


@routes.op(
    "GET",
    "/v1/promotions/{promotion_id}",
    "getPromotion",
    "One promotion with its live state",
    path_params=s.PromotionPath,
    response=s.Promotion,
    errors=(E.NOT_FOUND,),
)
async def get_promotion(call: Call) -> s.Promotion:
    """Flash sales and auctions show ``stock_remaining``; auctions their current price and next
    drop; group orders their participants, the tier reached and the outcome."""
    return await read(
        call,
        lambda session: promotions.get(
            session, call.tenant.id, call.path.promotion_id, call.core.clock.now()
        ),
    )


@routes.op(
    "POST",
    "/v1/promotions/{promotion_id}/participants",
    "joinGroupOrder",
    "Join a group order",
    path_params=s.PromotionPath,
    body=s.JoinGroup,
    response=s.GroupParticipation,
    status=201,
    errors=(E.NOT_FOUND, E.PROMOTION_UNAVAILABLE, E.CONFLICT, E.IDEMPOTENCY_KEY_REUSED),
    idempotency="required",
)
async def join_group(call: Call) -> Outcome:
    """One participation per store. When the group closes at its deadline with at least
    ``min_group_size`` stores, an order is placed for each participant at the tier price reached
    (``order.status_changed`` webhooks follow); otherwise every participation fails."""

    async def work(session: AsyncSession) -> s.GroupParticipation:
        return await groups.join(
            session, call.tenant.id, call.path.promotion_id, call.body, call.core.clock.now()
        )

    return await write(call, work, status=201)


@routes.op(
    "POST",
    "/v1/promotions/{promotion_id}/stop",
    "stopPromotion",
    "Stop a promotion now",
    path_params=s.PromotionPath,
    response=s.Promotion,
    errors=(E.NOT_FOUND,),
)
async def stop_promotion(call: Call) -> Outcome:
    """The promotion ends at once (an operator stops a campaign early): its end moves to now, so
    it prices nothing more and a group buy closes now as it would have at its deadline (orders
    at the tier reached if the group formed). Stopping twice is harmless."""

    async def work(session: AsyncSession) -> s.Promotion:
        return await promotions.stop(session, call.tenant.id, call.path.promotion_id, call.core.clock.now())

    return await write(call, work)


@routes.op(
    "POST",
    "/v1/promotions/{promotion_id}/pause",
    "pausePromotion",
    "Pause a promotion (resume it later)",
    path_params=s.PromotionPath,
    response=s.Promotion,
    errors=(E.NOT_FOUND, E.CONFLICT),
)
async def pause_promotion(call: Call) -> Outcome:
    """Nothing prices through a paused promotion (buying is refused with reason ``paused``) and
    it applies to no cart; its stock and end stay as they are. Pausing twice is harmless; an
    ended promotion cannot be paused (409)."""

    async def work(session: AsyncSession) -> s.Promotion:
        now = call.core.clock.now()
        return await promotions.set_paused(session, call.tenant.id, call.path.promotion_id, True, now)

    return await write(call, work)


@routes.op(
    "POST",
    "/v1/promotions/{promotion_id}/resume",
    "resumePromotion",
    "Resume a paused promotion",
    path_params=s.PromotionPath,
    response=s.Promotion,
    errors=(E.NOT_FOUND, E.CONFLICT),
)
async def resume_promotion(call: Call) -> Outcome:
    """The promotion prices again until its end. Resuming twice is harmless; an ended one: 409."""

    async def work(session: AsyncSession) -> s.Promotion:
        now = call.core.clock.now()
        return await promotions.set_paused(session, call.tenant.id, call.path.promotion_id, False, now)

    return await write(call, work)
