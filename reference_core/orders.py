"""Order actions: create (reserve stock, promotion stock, coupon and credit atomically) and cancel.

Every limited resource is taken with a conditional UPDATE in one transaction, in a fixed lock order
(inventory rows by (warehouse, product), promotions by id, the store's credit, then the coupon), so
concurrent orders neither oversell nor deadlock each other. Any refusal rolls everything back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import logistics, quotes, webhooks
from reference_core.db import Take, insert_ignore, rowcount, take_and_commit
from reference_core.errors import (
    CoreError,
    ErrorCode,
    coupon_unavailable,
    out_of_stock,
    promotion_unavailable,
)
from reference_core.idempotency import Deferred
from reference_core.models import (
    Allocation,
    CouponClaim,
    Inventory,
    Order,
    OrderEvent,
    OrderLine,
    Promotion,
    PromotionUsage,
    Shipment,
    Store,
)
from reference_core.order_view import order_out
from reference_core.runtime import Core
from reference_core.schemas import orders as s
from reference_core.schemas.webhooks import CouponRedeemed
from reference_core.sourcing import Plan, Site

REFUSAL_ORDER = ("store_inactive", "promotion_unavailable", "coupon_unavailable", "below_minimum_order")


def _refuse(cart: quotes.PricedCart, request: s.OrderCreate) -> None:
    issues = {code: [i for i in cart.issues if i.code == code] for code in REFUSAL_ORDER}
    if issues["store_inactive"]:
        raise CoreError(
            ErrorCode.STORE_INACTIVE, issues["store_inactive"][0].message, {"store_id": cart.store.id}
        )
    for problem in cart.priced.problems:
        raise promotion_unavailable(problem.promotion_id, problem.reason, problem.message)
    if request.coupon_claim_id is not None:
        chosen = cart.coupon
        if chosen is None:
            raise coupon_unavailable("not_found", "no such coupon", claim_id=request.coupon_claim_id)
        if chosen.reason is not None:
            raise coupon_unavailable(chosen.reason, chosen.message, claim_id=request.coupon_claim_id)
    if issues["below_minimum_order"]:
        lines = [
            {"line_no": i.line_no, "sku": i.sku, "message": i.message} for i in issues["below_minimum_order"]
        ]
        raise CoreError(
            ErrorCode.BELOW_MINIMUM_ORDER, "a line is below its minimum order quantity", {"lines": lines}
        )
    if request.expected_total_fen is not None and request.expected_total_fen != cart.total_fen:
        raise CoreError(
            ErrorCode.CONFLICT,
            "the total is not what the buyer saw; quote again",
            {
                "reason": "price_changed",
                "expected_total_fen": request.expected_total_fen,
                "total_fen": cart.total_fen,
            },
        )


def _shortages(cart: quotes.PricedCart) -> list[dict]:
    return [
        {
            "line_no": line.item.line_no,
            "sku": line.item.sku,
            "requested": line.item.quantity,
            "available": line.available,
            "is_gift": line.is_gift,
        }
        for line in cart.lines
        if line.plan.shortfall
    ]


RESERVE = (
    update(Inventory)
    .where(
        Inventory.warehouse_id == bindparam("warehouse"),
        Inventory.product_id == bindparam("product"),
        Inventory.on_hand - Inventory.reserved >= bindparam("qty"),
    )
    .values(reserved=Inventory.reserved + bindparam("qty"))
)
TAKE_PROMOTION_STOCK = (
    update(Promotion)
    .where(Promotion.id == bindparam("promotion"), Promotion.stock_remaining >= bindparam("qty"))
    .values(stock_remaining=Promotion.stock_remaining - bindparam("qty"))
)
USE_ALLOWANCE = (
    update(PromotionUsage)
    .where(
        PromotionUsage.promotion_id == bindparam("promotion"),
        PromotionUsage.store_id == bindparam("store"),
        PromotionUsage.used + bindparam("qty") <= bindparam("limit"),
    )
    .values(used=PromotionUsage.used + bindparam("qty"))
)


def _inventory_takes(cart: quotes.PricedCart) -> list[Take]:
    """Reserve the planned bottles, rows in a fixed order. A row that no longer has them means a
    concurrent order won it since the snapshot: the transaction re-runs on fresh stock."""
    needs: dict[tuple[int, int], int] = defaultdict(int)
    for line in cart.lines:
        for pick in line.plan.picks:
            needs[(pick.site.warehouse_id, line.item.product_id)] += pick.quantity
    return [(RESERVE, {"warehouse": w, "product": p, "qty": q}) for (w, p), q in sorted(needs.items())]


async def _promotion_takes(session: AsyncSession, cart: quotes.PricedCart) -> list[Take]:
    """Flash-sale/auction stock and the store's per-promotion allowance. The engine already refused
    what the snapshot could not satisfy; these conditions catch what changed since."""
    taken: dict[int, int] = defaultdict(int)
    for line in cart.lines:
        if line.result.unit_price_fen is not None and line.result.promotion_id is not None:
            taken[line.result.promotion_id] += line.item.quantity
    stock: list[Take] = []
    allowance: list[Take] = []
    for pid, qty in sorted(taken.items()):
        promo = cart.promotions[pid]
        if promo.stock_remaining is not None:
            stock.append((TAKE_PROMOTION_STOCK, {"promotion": pid, "qty": qty}))
        if promo.per_store_limit is not None:
            await session.execute(
                insert_ignore(
                    session,
                    PromotionUsage.__table__,
                    {"promotion_id": pid, "store_id": cart.store.id, "used": 0},
                    index_elements=["promotion_id", "store_id"],
                )
            )
            params = {"promotion": pid, "store": cart.store.id, "qty": qty, "limit": promo.per_store_limit}
            allowance.append((USE_ALLOWANCE, params))
    return stock + allowance


async def _charge_credit(session: AsyncSession, cart: quotes.PricedCart) -> None:
    total = cart.total_fen
    if cart.terms.blocked:
        owner = cart.store
        raise CoreError(
            ErrorCode.CREDIT_LIMIT_EXCEEDED,
            "the store has an overdue amount and the tenant refuses orders until it is paid",
            {
                "reason": "overdue",
                "overdue_fen": cart.terms.overdue_fen,
                "limit_fen": owner.credit_limit_fen,
                "used_fen": owner.credit_used_fen,
                "available_fen": max(0, owner.credit_limit_fen - owner.credit_used_fen),
                "required_fen": total,
            },
        )
    if total == 0:
        return
    result = await session.execute(
        update(Store)
        .where(
            Store.id == cart.store.id,
            Store.status == "active",
            Store.credit_used_fen + total <= Store.credit_limit_fen,
        )
        .values(credit_used_fen=Store.credit_used_fen + total)
    )
    if rowcount(result) != 1:
        store = await session.scalar(
            select(Store).where(Store.id == cart.store.id).execution_options(populate_existing=True)
        )
        assert store is not None
        raise CoreError(
            ErrorCode.CREDIT_LIMIT_EXCEEDED,
            "the order exceeds the store's available credit",
            {
                "limit_fen": store.credit_limit_fen,
                "used_fen": store.credit_used_fen,
                "available_fen": max(0, store.credit_limit_fen - store.credit_used_fen),
                "required_fen": total,
                "reason": "limit",
                "overdue_fen": cart.terms.overdue_fen,
            },
        )


async def create(
    session: AsyncSession,
    core: Core,
    tenant_id: int,
    request: s.OrderCreate,
    now: datetime,
    *,
    source: str = "api",
    allow_group: bool = False,
) -> Created:
    cart = await quotes.price_cart(
        session, tenant_id, request, now, core.config.sourcing, allow_group=allow_group, list_coupons=False
    )
    _refuse(cart, request)
    if short := _shortages(cart):
        raise out_of_stock(short)
    plans = [line.plan for line in cart.lines]
    await _charge_credit(session, cart)

    sites = {pick.site.warehouse_id: pick.site for plan in plans for pick in plan.picks}
    plan = logistics.make_plan(cart.store, [(site.city, site.distance_km) for site in sites.values()])
    scale = core.config.logistics.time_scale
    applied = [o for o in cart.priced.outcomes if o.applied]
    coupon = cart.coupon if cart.coupon_discount_fen else None
    order = Order(
        tenant_id=tenant_id,
        store_id=cart.store.id,
        status="created",
        transit_step=0,
        source=source,
        subtotal_fen=cart.priced.subtotal_fen,
        discount_fen=cart.priced.promotion_discount_fen,
        coupon_discount_fen=cart.coupon_discount_fen,
        total_fen=cart.total_fen,
        coupon_claim_id=coupon.claim.id if coupon else None,
        pricing={
            "promotions": [
                {
                    "promotion_id": o.promotion_id,
                    "name": o.name,
                    "kind": o.kind,
                    "discount_fen": o.discount_fen,
                    "gift": {"sku": o.gift[0], "quantity": o.gift[1]} if o.gift else None,
                }
                for o in applied
            ],
            "coupon": {
                "claim_id": coupon.claim.id,
                "campaign_id": coupon.campaign.id,
                "name": coupon.campaign.name,
                "discount_fen": coupon.discount_fen,
            }
            if coupon
            else None,
        },
        plan=plan,
        note=request.note,
        eta=logistics.eta(now, plan, scale),
        next_transition_at=logistics.due_at(now, plan["steps"][0]["after"], scale),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    lines, allocations, shipments = _write_lines(session, order, cart, plans)
    event = OrderEvent(
        order_id=order.id, status="created", at=now, location="", carrier="", waybill="", note="订单已创建"
    )
    session.add(event)
    if coupon:
        await _redeem_coupon(session, order, coupon, now)
    await logistics.status_changed(session, order, None, "created", now, cart.store.city)
    await session.flush()
    # the response is built from what was just written: no read-back on the hot path
    view = order_out(
        order,
        lines,
        [(a, _wh(sites[a.warehouse_id])) for a in allocations],
        [(sh, _wh(sites[sh.warehouse_id])) for sh in shipments],
        [event],
    )

    async def finish(session: AsyncSession) -> None:
        # The contended rows last, in a fixed order (promotions by id, then inventory by warehouse
        # and product; cancel takes them in the same order), in one round trip with the COMMIT.
        takes = await _promotion_takes(session, cart) + _inventory_takes(cart)
        await take_and_commit(session, takes)

    return Created(view, finish, order)


@dataclass(frozen=True)
class Created(Deferred):
    """The order, its response, and ``finish`` (the reservations) which the caller runs last."""

    row: Order


def _wh(site: Site) -> SimpleNamespace:
    return SimpleNamespace(id=site.warehouse_id, name=site.name, city=site.city)


def _write_lines(
    session: AsyncSession, order: Order, cart: quotes.PricedCart, plans: list[Plan]
) -> tuple[list, list, list]:
    warehouses: set[int] = set()
    lines: list[OrderLine] = []
    allocations: list[Allocation] = []
    for line, plan in zip(cart.lines, plans, strict=True):
        item, result = line.item, line.result
        unit = result.unit_price_fen
        lines.append(
            OrderLine(
                order_id=order.id,
                line_no=item.line_no,
                product_id=item.product_id,
                sku=item.sku,
                name=line.product.name,
                cases=item.cases,
                bottles=item.bottles,
                quantity=item.quantity,
                bottle_price_fen=unit
                if unit is not None
                else (0 if line.is_gift else line.price.bottle_price_fen),
                case_price_fen=0 if line.is_gift else line.price.case_price_fen,
                list_amount_fen=item.list_amount_fen,
                discount_fen=result.discount_fen,
                amount_fen=result.amount_fen,
                promotion_id=item.promotion_id if line.is_gift else result.promotion_id,
                is_gift=line.is_gift,
            )
        )
        for pick in plan.picks:
            warehouses.add(pick.site.warehouse_id)
            allocations.append(
                Allocation(
                    order_id=order.id,
                    line_no=item.line_no,
                    product_id=item.product_id,
                    warehouse_id=pick.site.warehouse_id,
                    quantity=pick.quantity,
                    distance_km=pick.site.distance_km,
                )
            )
    shipments = [
        Shipment(order_id=order.id, warehouse_id=wid, carrier="", waybill="") for wid in sorted(warehouses)
    ]
    session.add_all([*lines, *allocations, *shipments])
    return lines, allocations, shipments


async def _redeem_coupon(
    session: AsyncSession, order: Order, coupon: quotes.CouponEval, now: datetime
) -> None:
    result = await session.execute(
        update(CouponClaim)
        .where(
            CouponClaim.id == coupon.claim.id,
            CouponClaim.status == "available",
            CouponClaim.expires_at > now,
            CouponClaim.holder_type == "store",
            CouponClaim.holder_id == str(order.store_id),
        )
        .values(status="redeemed", redeemed_at=now, order_id=order.id, redeemed_store_id=order.store_id)
    )
    if rowcount(result) != 1:
        raise coupon_unavailable("redeemed", "this coupon was just used", claim_id=coupon.claim.id)
    event = CouponRedeemed(
        claim_id=coupon.claim.id,
        campaign_id=coupon.campaign.id,
        code=coupon.claim.code,
        holder_type="store",
        holder_id=coupon.claim.holder_id,
        order_id=order.id,
        store_id=order.store_id,
        discount_fen=coupon.discount_fen,
        at=now,
    )
    await webhooks.enqueue(session, order.tenant_id, "coupon.redeemed", event, now)
