"""Group orders (拼单): stores join before the deadline; at the deadline the group closes and, if it
reached its minimum size, an order is placed for every participant at the tier price reached.

Joining and closing both take the promotion row with a conditional UPDATE on ``outcome = ''``, so a
join either lands before the close (and is counted) or is refused as ended; never half-counted.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import orders
from reference_core.db import insert_ignore, rowcount, run_transaction
from reference_core.errors import CoreError, ErrorCode, not_found, promotion_unavailable
from reference_core.models import GroupParticipant, Promotion, Store
from reference_core.promotions import get as get_promotion
from reference_core.promotions import group_state, status_of
from reference_core.runtime import Core
from reference_core.schemas import orders as os_
from reference_core.schemas import promotions as s

log = logging.getLogger(__name__)


async def _group(session: AsyncSession, tenant_id: int, promotion_id: int) -> Promotion:
    row = await session.scalar(
        select(Promotion)
        .where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise not_found("promotion", promotion_id)
    if row.kind != "group_buy":
        raise promotion_unavailable(promotion_id, "not_a_group", "this promotion is not a group order")
    return row


async def _state(session: AsyncSession, promo: Promotion) -> s.GroupState:
    n, bottles = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(GroupParticipant.bottles), 0)).where(
                GroupParticipant.promotion_id == promo.id
            )
        )
    ).one()
    return group_state(promo, n, int(bottles))


def _out(row: GroupParticipant, state: s.GroupState) -> s.GroupParticipation:
    return s.GroupParticipation(
        promotion_id=row.promotion_id,
        store_id=row.store_id,
        bottles=row.bottles,
        status=row.status,  # type: ignore[arg-type]
        order_id=row.order_id,
        note=row.note,
        group=state,
    )


async def join(
    session: AsyncSession, tenant_id: int, promotion_id: int, body: s.JoinGroup, now: datetime
) -> s.GroupParticipation:
    promo = await _group(session, tenant_id, promotion_id)
    store = await session.scalar(select(Store).where(Store.tenant_id == tenant_id, Store.id == body.store_id))
    if store is None:
        raise not_found("store", body.store_id)
    state = status_of(promo.starts_at, promo.ends_at, now, promo.status)
    if state != "active" or promo.outcome:
        reason = {"scheduled": "not_started", "paused": "paused"}.get(state, "ended")
        raise promotion_unavailable(promo.id, reason, "the group is not open for joining")
    regions, tiers = promo.audience.get("region_ids", []), promo.audience.get("tiers", [])
    if (regions and store.region_id not in regions) or (tiers and store.tier not in tiers):
        raise promotion_unavailable(promo.id, "not_in_audience", "this store is not in the group's audience")
    if body.bottles > promo.rules.get("max_bottles_per_store", body.bottles):
        raise promotion_unavailable(
            promo.id,
            "per_store_limit_reached",
            f"at most {promo.rules['max_bottles_per_store']} bottles per store",
        )
    # lock the group open for the rest of this transaction (a close waits, then sees this join)
    still_open = await session.execute(
        update(Promotion).where(Promotion.id == promo.id, Promotion.outcome == "").values(outcome="")
    )
    if rowcount(still_open) != 1:
        raise promotion_unavailable(promo.id, "ended", "the group has closed")
    await session.execute(
        insert_ignore(
            session,
            GroupParticipant.__table__,
            {
                "promotion_id": promo.id,
                "store_id": store.id,
                "bottles": body.bottles,
                "status": "joined",
                "note": "",
                "joined_at": now,
            },
            index_elements=["promotion_id", "store_id"],
        )
    )
    row = await session.scalar(
        select(GroupParticipant).where(
            GroupParticipant.promotion_id == promo.id, GroupParticipant.store_id == store.id
        )
    )
    assert row is not None
    if row.bottles != body.bottles:
        raise CoreError(
            ErrorCode.CONFLICT,
            f"this store already joined with {row.bottles} bottles",
            {"reason": "already_joined", "bottles": row.bottles},
        )
    return _out(row, await _state(session, promo))


async def close(core: Core, tenant_id: int, promotion_id: int) -> s.Promotion:
    """Close the group now: decide the outcome once, then place each participant's order (placing
    is resumable: a participant still 'joined' in a succeeded group is placed by the next close)."""

    async def decide(session: AsyncSession) -> str:
        promo = await _group(session, tenant_id, promotion_id)
        claimed = await session.execute(
            update(Promotion)
            .where(Promotion.id == promo.id, Promotion.outcome == "")
            .values(outcome="closing")
        )
        if rowcount(claimed) != 1:
            return promo.outcome
        count = await session.scalar(select(func.count()).where(GroupParticipant.promotion_id == promo.id))
        outcome = "succeeded" if (count or 0) >= promo.rules["min_group_size"] else "failed"
        await session.execute(update(Promotion).where(Promotion.id == promo.id).values(outcome=outcome))
        if outcome == "failed":
            await session.execute(
                update(GroupParticipant)
                .where(GroupParticipant.promotion_id == promo.id, GroupParticipant.status == "joined")
                .values(status="failed", note="group_too_small")
            )
        return outcome

    outcome = await run_transaction(core.sessions, decide)
    if outcome == "succeeded":  # also when decided earlier: places whoever is still waiting
        await _place_orders(core, tenant_id, promotion_id)
    async with core.sessions() as session:
        return await get_promotion(session, tenant_id, promotion_id, core.clock.now())


async def _place_orders(core: Core, tenant_id: int, promotion_id: int) -> None:
    async with core.sessions() as session:
        promo = await _group(session, tenant_id, promotion_id)
        waiting = list(
            (
                await session.scalars(
                    select(GroupParticipant).where(
                        GroupParticipant.promotion_id == promotion_id, GroupParticipant.status == "joined"
                    )
                )
            ).all()
        )
    sku = promo.rules["sku"]
    for participant in waiting:
        request = os_.OrderCreate(
            store_id=participant.store_id,
            lines=[os_.LineIn(sku=sku, bottles=participant.bottles, promotion_id=promotion_id)],
            note=f"拼单 {promo.name}",
        )

        async def place(session: AsyncSession, participant=participant, request=request) -> None:
            claimed = await session.execute(
                update(GroupParticipant)
                .where(GroupParticipant.id == participant.id, GroupParticipant.status == "joined")
                .values(status="ordered")
            )
            if rowcount(claimed) != 1:
                return  # another closer placed it
            created = await orders.create(
                session, core, tenant_id, request, core.clock.now(), source="group_buy", allow_group=True
            )
            await session.execute(
                update(GroupParticipant)
                .where(GroupParticipant.id == participant.id)
                .values(order_id=created.row.id)
            )
            await created.finish(session)

        try:
            await run_transaction(core.sessions, place)
        except CoreError as exc:

            async def failed(session: AsyncSession, participant=participant, exc=exc) -> None:
                await session.execute(
                    update(GroupParticipant)
                    .where(GroupParticipant.id == participant.id, GroupParticipant.status == "joined")
                    .values(status="failed", note=exc.code.value)
                )

            await run_transaction(core.sessions, failed)
    core.webhook_wakeup.set()


async def close_due(core: Core) -> int:
    now = core.clock.now()
    unplaced = (
        select(GroupParticipant.id)
        .where(GroupParticipant.promotion_id == Promotion.id, GroupParticipant.status == "joined")
        .exists()
    )
    async with core.sessions() as session:
        due = (
            await session.execute(
                select(Promotion.id, Promotion.tenant_id).where(
                    Promotion.kind == "group_buy",
                    Promotion.ends_at <= now,
                    (Promotion.outcome == "") | ((Promotion.outcome == "succeeded") & unplaced),
                )
            )
        ).all()
    for promotion_id, tenant_id in due:
        await close(core, tenant_id, promotion_id)
    return len(due)
