"""Admin endpoints for demos and tests (``CoreConfig.admin_enabled``), and the webhook outbox."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import credit, groups, logistics, org
from reference_core import cursor as cursors
from reference_core.api.registry import Call, Routes
from reference_core.api.support import read, write
from reference_core.db import insert_ignore, rowcount
from reference_core.errors import CoreError, ErrorCode, not_found
from reference_core.idempotency import Outcome
from reference_core.models import Inventory, Order, Warehouse, WebhookEvent
from reference_core.order_view import get_order
from reference_core.schemas import orders as so
from reference_core.schemas import org as s
from reference_core.schemas import promotions as sp
from reference_core.schemas import webhooks as sw

routes = Routes("admin & webhooks")
RANK = {status: n for n, status in enumerate(logistics.ORDER)}


@routes.op(
    "PUT",
    "/v1/admin/inventory",
    "setStock",
    "Set a warehouse's bottles on hand",
    body=s.StockSet,
    response=s.StockLevel,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT),
    admin=True,
)
async def set_stock(call: Call) -> Outcome:
    """Refused (409) below what is already reserved: reserved bottles belong to orders."""

    async def work(session: AsyncSession) -> s.StockLevel:
        tenant = call.tenant.id
        body = call.body
        warehouse = await session.scalar(
            select(Warehouse).where(Warehouse.tenant_id == tenant, Warehouse.id == body.warehouse_id)
        )
        if warehouse is None:
            raise not_found("warehouse", body.warehouse_id)
        product = await org.get_product(session, tenant, body.sku)
        await session.execute(
            insert_ignore(
                session,
                Inventory.__table__,
                {
                    "warehouse_id": warehouse.id,
                    "product_id": product.id,
                    "tenant_id": tenant,
                    "on_hand": 0,
                    "reserved": 0,
                },
                index_elements=["warehouse_id", "product_id"],
            )
        )
        changed = await session.execute(
            update(Inventory)
            .where(
                Inventory.warehouse_id == warehouse.id,
                Inventory.product_id == product.id,
                Inventory.reserved <= body.on_hand,
            )
            .values(on_hand=body.on_hand)
        )
        row = await session.scalar(
            select(Inventory)
            .where(Inventory.warehouse_id == warehouse.id, Inventory.product_id == product.id)
            .execution_options(populate_existing=True)
        )
        assert row is not None
        if rowcount(changed) != 1:
            raise CoreError(
                ErrorCode.CONFLICT,
                f"{row.reserved} bottles are reserved; on_hand cannot go below that",
                {"reason": "below_reserved", "reserved": row.reserved},
            )
        return s.StockLevel(
            sku=product.sku,
            warehouse_id=warehouse.id,
            on_hand=row.on_hand,
            reserved=row.reserved,
            available=row.on_hand - row.reserved,
        )

    return await write(call, work)


@routes.op(
    "POST",
    "/v1/admin/orders/{order_id}/advance",
    "advanceOrder",
    "Move an order along its logistics",
    path_params=so.OrderPath,
    body=so.AdvanceRequest,
    response=so.Order,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.CONFLICT),
    admin=True,
)
async def advance_order(call: Call) -> so.Order:
    """One step (allocated, shipped, each in-transit node, delivered), or until ``to``. Each step
    fires ``order.status_changed`` like the logistics clock does."""
    target = call.body.to
    if target == "cancelled":
        raise CoreError(ErrorCode.CONFLICT, "orders are cancelled with /cancel", {"reason": "use_cancel"})
    for taken in range(64):
        async with call.core.readers() as session:
            order = await session.scalar(
                select(Order).where(Order.tenant_id == call.tenant.id, Order.id == call.path.order_id)
            )
        if order is None:
            raise not_found("order", call.path.order_id)
        if order.status == "cancelled":
            raise CoreError(ErrorCode.CONFLICT, "the order is cancelled", {"status": order.status})
        if target is None and taken == 1:
            break
        if target is not None and RANK[order.status] >= RANK[target]:
            if taken == 0 and order.status != target:
                raise CoreError(
                    ErrorCode.CONFLICT, f"the order is already {order.status}", {"status": order.status}
                )
            break
        if order.status == "delivered":
            raise CoreError(ErrorCode.CONFLICT, "the order is already delivered", {"status": order.status})
        await logistics.advance_by_id(call.core, order.id)
    return await read(call, lambda session: get_order(session, call.tenant.id, call.path.order_id))


@routes.op(
    "POST",
    "/v1/admin/promotions/{promotion_id}/close",
    "closeGroupOrder",
    "Close a group order now",
    path_params=sp.PromotionPath,
    response=sp.Promotion,
    errors=(ErrorCode.NOT_FOUND, ErrorCode.PROMOTION_UNAVAILABLE),
    admin=True,
)
async def close_group(call: Call) -> sp.Promotion:
    """Closes as if the deadline had passed: places the participants' orders if the group is big
    enough. Closing a closed group changes nothing."""
    return await groups.close(call.core, call.tenant.id, call.path.promotion_id)


@routes.op(
    "GET",
    "/v1/webhook-events",
    "listWebhookEvents",
    "Webhook deliveries, newest first",
    query=sw.WebhookQuery,
    response=sw.WebhookDeliveryPage,
)
async def list_webhook_events(call: Call) -> sw.WebhookDeliveryPage:
    """What the core has sent (or is still retrying) to the tenant's webhook URL."""

    async def work(session: AsyncSession) -> sw.WebhookDeliveryPage:
        before = cursors.decode(call.query.cursor)
        stmt = (
            select(WebhookEvent)
            .where(WebhookEvent.tenant_id == call.tenant.id)
            .order_by(WebhookEvent.id.desc())
            .limit(call.query.limit + 1)
        )
        if before is not None:
            stmt = stmt.where(WebhookEvent.id < before)
        if call.query.status == "pending":
            stmt = stmt.where(WebhookEvent.delivered_at.is_(None))
        elif call.query.status == "delivered":
            stmt = stmt.where(WebhookEvent.delivered_at.is_not(None))
        rows = list((await session.scalars(stmt)).all())
        page, more = rows[: call.query.limit], len(rows) > call.query.limit
        return sw.WebhookDeliveryPage(
            items=[
                sw.WebhookDelivery(
                    event_id=r.event_id,
                    type=r.type,
                    created_at=r.created_at,
                    attempts=r.attempts,
                    delivered_at=r.delivered_at,
                    next_attempt_at=None if r.delivered_at else r.next_attempt_at,
                    last_status=r.last_status,
                    last_error=r.last_error,
                )
                for r in page
            ],
            next_cursor=cursors.encode(page[-1].id) if more else None,
        )

    return await read(call, work)


@routes.op(
    "PUT",
    "/v1/admin/stores/{store_id}/overdue",
    "setStoreOverdue",
    "Set what a store owes past its terms (逾期), as finance reports it",
    path_params=s.StorePath,
    body=s.OverdueSet,
    response=s.Store,
    errors=(ErrorCode.NOT_FOUND,),
    admin=True,
)
async def set_store_overdue(call: Call) -> Outcome:
    async def work(session: AsyncSession) -> s.Store:
        row = await org.get_store(session, call.tenant.id, call.path.store_id)
        await credit.set_overdue(session, call.tenant.id, row.id, call.body.overdue_fen)
        return org.store_out(row, call.body.overdue_fen)

    return await write(call, work)


@routes.op(
    "PUT",
    "/v1/admin/credit-rule",
    "setCreditRule",
    "The tenant's credit rule: refuse new orders while a store has anything overdue",
    body=s.CreditRuleSet,
    response=s.CreditRuleOut,
    admin=True,
)
async def set_credit_rule(call: Call) -> Outcome:
    async def work(session: AsyncSession) -> s.CreditRuleOut:
        await credit.set_rule(session, call.tenant.id, call.body.refuse_when_overdue)
        return s.CreditRuleOut(refuse_when_overdue=call.body.refuse_when_overdue)

    return await write(call, work)
