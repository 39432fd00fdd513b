"""A priced cart as the API shows it (``POST /v1/quotes``)."""

from __future__ import annotations

from datetime import datetime

from reference_core.quotes import CouponEval, PricedCart
from reference_core.schemas import orders as s


def _coupon_out(e: CouponEval) -> s.CouponResult:
    return s.CouponResult(
        claim_id=e.claim.id,
        campaign_id=e.campaign.id,
        name=e.campaign.name,
        applied=False,
        discount_fen=e.discount_fen,
        reason=e.reason,
        message=e.message,
    )


def quote_out(cart: PricedCart, now: datetime) -> s.Quote:
    chosen = None
    if cart.coupon is not None:
        applied = cart.coupon.reason is None
        chosen = _coupon_out(cart.coupon).model_copy(
            update={"applied": applied, "discount_fen": cart.coupon.discount_fen if applied else 0}
        )
    available = cart.store.credit_limit_fen - cart.store.credit_used_fen
    return s.Quote(
        store_id=cart.store.id,
        lines=[
            s.QuoteLine(
                line_no=line.item.line_no,
                sku=line.item.sku,
                name=line.product.name,
                cases=line.item.cases,
                bottles=line.item.bottles,
                quantity=line.item.quantity,
                bottles_per_case=line.product.bottles_per_case,
                bottle_price_fen=0
                if line.is_gift
                else (line.result.unit_price_fen or line.price.bottle_price_fen),
                case_price_fen=0 if line.is_gift else line.price.case_price_fen,
                min_order_bottles=line.price.min_order_bottles,
                list_amount_fen=line.item.list_amount_fen,
                discount_fen=line.result.discount_fen,
                amount_fen=line.result.amount_fen,
                promotion_id=line.item.promotion_id if line.is_gift else line.result.promotion_id,
                is_gift=line.is_gift,
                availability=s.Availability(
                    requested=line.item.quantity,
                    available=line.available,
                    fulfillable=line.plan.shortfall == 0,
                    shortfall=line.plan.shortfall,
                    sourcing=[
                        s.Sourcing(
                            warehouse_id=p.site.warehouse_id,
                            warehouse_code=p.site.code,
                            warehouse_name=p.site.name,
                            city=p.site.city,
                            distance_km=p.site.distance_km,
                            quantity=p.quantity,
                        )
                        for p in line.plan.picks
                    ],
                    promotion_remaining=line.promotion_remaining,
                ),
            )
            for line in cart.lines
        ],
        promotions=[
            s.PromotionResult(
                promotion_id=o.promotion_id,
                name=o.name,
                kind=o.kind,
                applied=o.applied,
                discount_fen=o.discount_fen,
                gift=s.Gift(sku=o.gift[0], quantity=o.gift[1]) if o.gift else None,
                reason=o.reason,
                message=o.message,
            )
            for o in cart.priced.outcomes
        ],
        coupon=chosen,
        available_coupons=[_coupon_out(e) for e in cart.coupons],
        subtotal_fen=cart.priced.subtotal_fen,
        promotion_discount_fen=cart.priced.promotion_discount_fen,
        coupon_discount_fen=cart.coupon_discount_fen,
        total_fen=cart.total_fen,
        credit=s.CreditCheck(
            limit_fen=cart.store.credit_limit_fen,
            used_fen=cart.store.credit_used_fen,
            available_fen=max(0, available),
            required_fen=cart.total_fen,
            overdue_fen=cart.terms.overdue_fen,
            ok=cart.total_fen <= available and not cart.terms.blocked,
        ),
        orderable=not cart.issues,
        issues=cart.issues,
        priced_at=now,
    )
