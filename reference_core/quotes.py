"""Pricing a cart for a store: prices, promotions, coupons, availability with proposed sourcing and a
credit check. Quotes and orders share this, so an order costs what its quote said."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import credit, engine, org
from reference_core.config import SourcingConfig
from reference_core.coupon_rules import CouponView, evaluate_coupon
from reference_core.errors import CoreError, ErrorCode
from reference_core.models import (
    CouponCampaign,
    CouponClaim,
    GroupParticipant,
    Inventory,
    Product,
    Promotion,
    PromotionUsage,
    Store,
    Warehouse,
)
from reference_core.pricing import StorePrice, base_price, prices_for
from reference_core.promotions import rule_of
from reference_core.schemas import orders as s
from reference_core.sourcing import Plan, Site, StockSnapshot, distance_km, plan_line


@dataclass
class CartLine:
    item: engine.Item
    product: Product
    price: StorePrice
    result: engine.LineResult
    plan: Plan
    available: int
    is_gift: bool = False
    promotion_remaining: int | None = None


@dataclass
class CouponEval:
    claim: CouponClaim
    campaign: CouponCampaign
    discount_fen: int
    reason: str | None
    message: str


@dataclass
class PricedCart:
    store: Store
    lines: list[CartLine]
    priced: engine.Priced
    promotions: dict[int, Promotion]
    coupon: CouponEval | None
    coupons: list[CouponEval]
    issues: list[s.Issue] = field(default_factory=list)
    terms: credit.Terms = field(default_factory=credit.Terms)

    @property
    def coupon_discount_fen(self) -> int:
        return self.coupon.discount_fen if self.coupon and self.coupon.reason is None else 0

    @property
    def total_fen(self) -> int:
        return self.priced.total_fen - self.coupon_discount_fen


async def _products(session: AsyncSession, tenant_id: int, skus: set[str]) -> dict[str, Product]:
    if not skus:
        return {}
    rows = await session.scalars(select(Product).where(Product.tenant_id == tenant_id, Product.sku.in_(skus)))
    return {p.sku: p for p in rows}


async def _promotions(
    session: AsyncSession, tenant_id: int, now: datetime, referenced: set[int]
) -> dict[int, Promotion]:
    live = select(Promotion).where(
        Promotion.tenant_id == tenant_id, Promotion.status == "active", Promotion.ends_at > now
    )
    found = {p.id: p for p in await session.scalars(live)}
    missing = referenced - set(found)
    if missing:
        extra = select(Promotion).where(Promotion.tenant_id == tenant_id, Promotion.id.in_(missing))
        found.update({p.id: p for p in await session.scalars(extra)})
    return found


async def price_cart(
    session: AsyncSession,
    tenant_id: int,
    request: s.QuoteRequest,
    now: datetime,
    sourcing: SourcingConfig,
    *,
    allow_group: bool = False,
    list_coupons: bool = True,
) -> PricedCart:
    store = await org.get_store(session, tenant_id, request.store_id)
    seen: set[tuple[str, int | None]] = set()
    for n, line in enumerate(request.lines):
        if (line.sku, line.promotion_id) in seen:
            raise CoreError(
                ErrorCode.VALIDATION_FAILED,
                "the same product appears twice; put it on one line",
                {"fields": {f"lines[{n}].sku": "duplicate line"}},
            )
        seen.add((line.sku, line.promotion_id))
    products = await _products(session, tenant_id, {line.sku for line in request.lines})
    for line in request.lines:
        product = products.get(line.sku)
        if product is None or product.status != "active":
            raise CoreError(
                ErrorCode.PRODUCT_UNAVAILABLE,
                f"{line.sku} is not sold" + (" any more" if product else ""),
                {"sku": line.sku},
            )
    referenced = {line.promotion_id for line in request.lines if line.promotion_id is not None}
    promotions = await _promotions(session, tenant_id, now, referenced)
    usage: dict[int, int] = {}
    counts: dict[int, int] = {}
    if referenced:
        rows = await session.execute(
            select(PromotionUsage.promotion_id, PromotionUsage.used).where(
                PromotionUsage.store_id == store.id, PromotionUsage.promotion_id.in_(referenced)
            )
        )
        usage = {pid: used for pid, used in rows}
        if allow_group:
            rows = await session.execute(
                select(GroupParticipant.promotion_id, func.count())
                .where(GroupParticipant.promotion_id.in_(referenced))
                .group_by(GroupParticipant.promotion_id)
            )
            counts = {pid: n for pid, n in rows}
    gift_skus = {
        t["gift_sku"] for p in promotions.values() if p.kind == "full_gift" for t in p.rules.get("tiers", [])
    }
    gift_products = await _products(session, tenant_id, gift_skus - set(products))
    gift_products.update({k: v for k, v in products.items() if k in gift_skus})
    everything = {**products, **gift_products}
    prices = await prices_for(session, store, products.values())

    snapshot, sites = await stock_snapshot(session, store, [p.id for p in everything.values()])
    items = []
    for n, line in enumerate(request.lines, start=1):
        product, price = products[line.sku], prices[products[line.sku].id]
        items.append(
            engine.Item(
                line_no=n,
                product_id=product.id,
                sku=product.sku,
                category=product.category,
                cases=line.cases,
                bottles=line.bottles,
                quantity=line.cases * product.bottles_per_case + line.bottles,
                bottle_price_fen=price.bottle_price_fen,
                case_price_fen=price.case_price_fen,
                promotion_id=line.promotion_id,
            )
        )
    rules = [rule_of(p, usage.get(p.id, 0), counts.get(p.id, 0)) for p in promotions.values()]
    priced = engine.price(
        items,
        rules,
        engine.Customer(store.id, store.region_id, store.tier),
        now,
        gift_stock={sku: snapshot.total(p.id) for sku, p in gift_products.items()},
        gift_value={sku: p.base_price_fen for sku, p in gift_products.items()},
        allow_group=allow_group,
    )
    lines = _plan_lines(items, priced, products, prices, promotions, gift_products, snapshot, sites, sourcing)
    # a quote lists the store's coupons; an order only needs the one it names
    coupons = await _store_coupons(session, store, now) if list_coupons else []
    evals = [_evaluate(claim, campaign, items, priced, now) for claim, campaign in coupons]
    chosen = None
    if request.coupon_claim_id is not None:
        chosen = next((e for e in evals if e.claim.id == request.coupon_claim_id), None)
        if chosen is None:
            chosen = await _requested_coupon(session, store, request.coupon_claim_id, items, priced, now)
    cart = PricedCart(store, lines, priced, promotions, chosen, evals)
    cart.terms = await credit.terms(session, tenant_id, store.id)
    cart.issues = _issues(cart, request.coupon_claim_id)
    return cart


async def stock_snapshot(session: AsyncSession, store: Store, product_ids: list[int]):
    """Every warehouse (with its distance to the store) and what it has of these products: one query."""
    rows = await session.execute(
        select(Warehouse, Inventory.product_id, Inventory.on_hand - Inventory.reserved)
        .outerjoin(
            Inventory,
            and_(Inventory.warehouse_id == Warehouse.id, Inventory.product_id.in_(product_ids)),
        )
        .where(Warehouse.tenant_id == store.tenant_id)
        .order_by(Warehouse.id)
    )
    sites: dict[int, Site] = {}
    available: dict[tuple[int, int], int] = {}
    for w, product_id, avail in rows:
        if w.id not in sites:
            sites[w.id] = Site(w.id, w.code, w.name, w.city, distance_km(store.lat, store.lng, w.lat, w.lng))
        if product_id is not None:
            available[(w.id, product_id)] = max(0, avail)
    return StockSnapshot(available), sites


def plan_all(
    needs: list[tuple[int, int, int | None]],
    snapshot: StockSnapshot,
    sites: dict[int, Site],
    sourcing: SourcingConfig,
) -> list[tuple[Plan, int]]:
    """Plan (product id, bottles, only this warehouse or None) needs in order, drawing the snapshot
    down as it goes; returns each plan with the bottles that were available to it."""
    out = []
    for product_id, quantity, only in needs:
        pool = [site for site in sites.values() if only is None or site.warehouse_id == only]
        available = snapshot.total(product_id, only)
        plan = plan_line(
            quantity,
            pool,
            snapshot.for_product(product_id),
            strategy=sourcing.strategy,
            max_warehouses=sourcing.max_warehouses_per_line,
        )
        snapshot.take(product_id, plan)
        out.append((plan, available))
    return out


def only_warehouse(result: engine.LineResult, promotions: dict[int, Promotion]) -> int | None:
    """An auction lot ships from its own warehouse; everything else may come from anywhere."""
    if result.unit_price_fen is None or result.promotion_id is None:
        return None
    promo = promotions[result.promotion_id]
    return promo.rules["warehouse_id"] if promo.kind == "auction" else None


def _plan_lines(items, priced, products, prices, promotions, gift_products, snapshot, sites, sourcing):
    results = {r.line_no: r for r in priced.lines}
    gifts = [
        (
            engine.Item(
                n, gift_products[sku].id, sku, gift_products[sku].category, 0, bottles, bottles, 0, 0, pid
            )
        )
        for n, (pid, sku, bottles) in enumerate(priced.gifts, start=len(items) + 1)
    ]
    needs = [(i.product_id, i.quantity, only_warehouse(results[i.line_no], promotions)) for i in items]
    needs += [(g.product_id, g.quantity, None) for g in gifts]
    plans = plan_all(needs, snapshot, sites, sourcing)
    lines: list[CartLine] = []
    for item, (plan, available) in zip(items, plans, strict=False):
        result = results[item.line_no]
        remaining = (
            promotions[result.promotion_id].stock_remaining if result.unit_price_fen is not None else None
        )
        product = products[item.sku]
        lines.append(CartLine(item, product, prices[product.id], result, plan, available, False, remaining))
    for gift, (plan, available) in zip(gifts, plans[len(items) :], strict=True):
        product = gift_products[gift.sku]
        result = engine.LineResult(gift.line_no, 0, 0, gift.promotion_id)
        lines.append(CartLine(gift, product, base_price(product), result, plan, available, True))
    return lines


async def _store_coupons(session: AsyncSession, store: Store, now: datetime):
    rows = await session.execute(
        select(CouponClaim, CouponCampaign)
        .join(CouponCampaign, CouponCampaign.id == CouponClaim.campaign_id)
        .where(
            CouponClaim.tenant_id == store.tenant_id,
            CouponClaim.holder_type == "store",
            CouponClaim.holder_id == str(store.id),
            CouponClaim.status == "available",
            CouponClaim.expires_at > now,
        )
        .order_by(CouponClaim.id)
        .limit(50)
    )
    return [tuple(r) for r in rows]


async def _requested_coupon(session, store, claim_id, items, priced, now) -> CouponEval | None:
    row = (
        await session.execute(
            select(CouponClaim, CouponCampaign)
            .join(CouponCampaign, CouponCampaign.id == CouponClaim.campaign_id)
            .where(CouponClaim.tenant_id == store.tenant_id, CouponClaim.id == claim_id)
        )
    ).first()
    if row is None:
        return None
    claim, campaign = row
    if claim.holder_type != "store" or claim.holder_id != str(store.id):
        return CouponEval(claim, campaign, 0, "not_yours", "this coupon belongs to someone else")
    return _evaluate(claim, campaign, items, priced, now)


def _evaluate(claim: CouponClaim, campaign: CouponCampaign, items, priced, now) -> CouponEval:
    view = CouponView(
        claim_id=claim.id,
        campaign_id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        amount_off_fen=campaign.amount_off_fen,
        percent_off=campaign.percent_off,
        max_discount_fen=campaign.max_discount_fen,
        threshold_fen=campaign.threshold_fen,
        skus=frozenset((campaign.scope or {}).get("skus", [])),
        categories=frozenset((campaign.scope or {}).get("categories", [])),
        status=claim.status,
        expires_at=claim.expires_at,
    )
    off, reason, message = evaluate_coupon(view, items, priced, now)
    return CouponEval(claim, campaign, off, reason, message)


def _issues(cart: PricedCart, coupon_claim_id: int | None) -> list[s.Issue]:
    issues: list[s.Issue] = []
    if cart.store.status != "active":
        issues.append(s.Issue(code="store_inactive", message=f"the store is {cart.store.status}"))
    for p in cart.priced.problems:
        sku = next(line.item.sku for line in cart.lines if line.item.line_no == p.line_no)
        issues.append(
            s.Issue(
                code="promotion_unavailable", message=f"{p.reason}: {p.message}", line_no=p.line_no, sku=sku
            )
        )
    for line in cart.lines:
        if line.plan.shortfall:
            issues.append(
                s.Issue(
                    code="out_of_stock",
                    message=f"{line.available} of {line.item.quantity} bottles available",
                    line_no=line.item.line_no,
                    sku=line.item.sku,
                )
            )
        if (
            not line.is_gift
            and line.result.unit_price_fen is None
            and line.item.quantity < line.price.min_order_bottles
        ):
            issues.append(
                s.Issue(
                    code="below_minimum_order",
                    message=f"order at least {line.price.min_order_bottles} bottles",
                    line_no=line.item.line_no,
                    sku=line.item.sku,
                )
            )
    if coupon_claim_id is not None:
        if cart.coupon is None:
            issues.append(s.Issue(code="coupon_unavailable", message="not_found: no such coupon"))
        elif cart.coupon.reason is not None:
            issues.append(
                s.Issue(code="coupon_unavailable", message=f"{cart.coupon.reason}: {cart.coupon.message}")
            )
    if cart.terms.blocked:
        issues.append(
            s.Issue(code="credit_overdue", message=f"{cart.terms.overdue_fen} fen overdue; pay it to order")
        )
    available = cart.store.credit_limit_fen - cart.store.credit_used_fen
    if cart.total_fen > available:
        issues.append(
            s.Issue(
                code="credit_limit_exceeded", message=f"needs {cart.total_fen} fen, {available} fen available"
            )
        )
    return issues
