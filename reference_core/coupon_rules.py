"""Coupon evaluation against a priced cart: the last step of pricing (see engine.py). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reference_core.engine import Item, Priced, yuan


@dataclass(frozen=True)
class CouponView:
    claim_id: int
    campaign_id: int
    name: str
    kind: str
    amount_off_fen: int
    percent_off: int
    max_discount_fen: int | None
    threshold_fen: int
    skus: frozenset[str]
    categories: frozenset[str]
    status: str
    expires_at: datetime

    def covers(self, item: Item) -> bool:
        return (
            (not self.skus and not self.categories)
            or item.sku in self.skus
            or item.category in self.categories
        )


def evaluate_coupon(
    coupon: CouponView, items: list[Item], priced: Priced, now: datetime
) -> tuple[int, str | None, str]:
    """(discount, reason it does not apply or None, message). Channel-priced lines are not eligible;
    the threshold is measured on in-scope lines after line discounts and their share of 满减."""
    if coupon.status != "available":
        return 0, "redeemed", "this coupon was already used"
    if coupon.expires_at <= now:
        return 0, "expired", f"expired at {coupon.expires_at.isoformat()}"
    by_line = {r.line_no: r for r in priced.lines}
    regular = [i for i in items if by_line[i.line_no].unit_price_fen is None]
    regular_total = sum(by_line[i.line_no].amount_fen for i in regular)
    in_scope = sum(by_line[i.line_no].amount_fen for i in regular if coupon.covers(i))
    if in_scope == 0:
        return 0, "no_eligible_items", "none of the cart's products can use this coupon"
    share = priced.order_discount_fen * in_scope // regular_total if regular_total else 0
    eligible = in_scope - share
    if eligible < coupon.threshold_fen:
        return 0, "threshold_not_met", f"add {yuan(coupon.threshold_fen - eligible)} of eligible products"
    if coupon.kind == "amount_off":
        off = coupon.amount_off_fen
    else:
        off = eligible * coupon.percent_off // 100
        if coupon.max_discount_fen is not None:
            off = min(off, coupon.max_discount_fen)
    off = min(off, eligible, priced.total_fen)
    return off, None, f"减 {yuan(off)}"
