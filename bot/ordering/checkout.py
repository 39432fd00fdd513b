"""From a cart to what the store owner confirms: the core's quote read for chat, and the order
request with its Idempotency-Key.

The key is derived from the cart, never random: ``(tenant, store, cart id, cart version)``. WeChat
re-sending the confirm, a second "确认", a timeout and its retry, and the mini-program placing the
same cart all produce the same key, so the core creates one order. A new cart gets a new id, any
change a new version, and a refusal bumps the version (``CartStore.bump``), so a key is never
reused for a different request.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from backend_client import LineRequest, Quote
from bot.ordering.views import Cart, PricedLine, PricePart, PromotionNote, QuoteView, Shortage, yuan


def idempotency_key(tenant_id: int, cart: Cart) -> str:
    raw = f"{tenant_id}:{cart.core_store_id}:{cart.id}:{cart.version}"
    return "jb-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def line_requests(cart: Cart) -> list[LineRequest]:
    return [LineRequest(sku=li.sku, cases=li.cases, bottles=li.bottles) for li in cart.lines]


def order_body(cart: Cart, quote: QuoteView | None, note: str = "") -> dict[str, Any]:
    """The order request exactly as it is stored with the intent and sent on every try."""
    body: dict[str, Any] = {
        "store_id": cart.core_store_id,
        "lines": [r.to_json() for r in line_requests(cart)],
        "note": note[:200],
    }
    if quote is not None:
        body["expected_total_fen"] = quote.total_fen
        if quote.coupon_claim_id is not None:
            body["coupon_claim_id"] = quote.coupon_claim_id
    return body


_NEED = re.compile(r"add ([\d,]+\.\d{2})")


def _gift(promo: Any, names: dict[str, str]) -> str:
    gift = promo.gift
    if gift is None:
        return ""
    return f"{names.get(gift.sku, gift.sku)} x{gift.quantity}"


def _need(promo: Any) -> str:
    match = _NEED.search(promo.message or "") if promo.reason == "threshold_not_met" else None
    return match.group(1) if match else ""


def price_parts(line: Any) -> tuple[PricePart, ...]:
    """The unit prices a quote line's list amount is made of: the case price times the cases
    and the bottle price times the loose bottles. The core prices loose bottles at the store's
    bottle price; for a line a channel priced (flash sale, auction, group) the quote's
    ``bottle_price_fen`` is the channel's, so the regular one is what the list amount leaves."""
    parts = []
    rest = line.list_amount_fen
    if line.cases:
        parts.append(PricePart("case", yuan(line.case_price_fen), line.cases))
        rest -= line.cases * line.case_price_fen
    if line.bottles:
        bottle = rest // line.bottles if rest % line.bottles == 0 else line.bottle_price_fen
        parts.append(PricePart("bottle", yuan(bottle), line.bottles))
    return tuple(parts)


CHANNEL_KINDS = frozenset({"flash_sale", "auction", "group_buy"})  # they set a line's own price


def _per_bottle(line: Any) -> tuple[str, bool]:
    if not line.cases or line.bottles_per_case <= 1 or not line.quantity:
        return "", True
    exact = line.list_amount_fen % line.quantity == 0
    return yuan(round(line.list_amount_fen / line.quantity)), exact


def quote_view(quote: Quote, cart: Cart | None = None) -> QuoteView:
    names = {li.sku: li.name for li in quote.lines}
    kinds = {p.promotion_id: p.kind for p in quote.promotions if p.applied}
    lines = []
    shortages = []
    for li in quote.lines:
        av = li.availability
        short = not av.fulfillable
        per_bottle, exact = _per_bottle(li) if not li.is_gift else ("", True)
        channel = li.promotion_id is not None and kinds.get(li.promotion_id) in CHANNEL_KINDS
        lines.append(
            PricedLine(
                sku=li.sku,
                name=li.name,
                cases=li.cases,
                bottles=li.bottles,
                per_case=li.bottles_per_case,
                unit_price=yuan(li.bottle_price_fen),
                amount=yuan(li.amount_fen),
                discount=yuan(li.discount_fen) if li.discount_fen else "",
                is_gift=li.is_gift,
                requested=av.requested,
                available=av.available,
                short=short,
                parts=price_parts(li) if not li.is_gift else (),
                subtotal=yuan(li.list_amount_fen),
                per_bottle=per_bottle,
                per_bottle_exact=exact,
                channel_price=yuan(li.bottle_price_fen) if channel and not li.is_gift else "",
            )
        )
        if short and not li.is_gift:
            shortages.append(Shortage(li.sku, li.name, av.requested, av.available))
    promotions = tuple(
        PromotionNote(
            name=p.name,
            kind=p.kind,
            applied=p.applied,
            discount=yuan(p.discount_fen) if p.discount_fen else "",
            gift=_gift(p, names),
            reason=p.reason or "",
            need=_need(p),
        )
        for p in quote.promotions
        if p.applied or p.reason not in ("not_in_audience", "not_started", "ended", "no_eligible_items")
    )
    coupon = ""
    claim_id = None
    if quote.coupon is not None and quote.coupon.applied:
        coupon = f"{quote.coupon.name} -{yuan(quote.coupon.discount_fen)}"
        claim_id = quote.coupon.claim_id
    below = tuple(
        f"{names.get(i.sku or '', i.sku or '')}：{i.message}"
        for i in quote.issues
        if i.code == "below_minimum_order"
    )
    known = {"out_of_stock", "below_minimum_order", "credit_limit_exceeded", "credit_overdue"}
    overdue = any(i.code == "credit_overdue" for i in quote.issues)
    return QuoteView(
        lines=tuple(lines),
        promotions=promotions,
        coupon=coupon,
        subtotal=yuan(quote.subtotal_fen),
        promotion_discount=yuan(quote.promotion_discount_fen),
        coupon_discount=yuan(quote.coupon_discount_fen),
        total=yuan(quote.total_fen),
        total_fen=quote.total_fen,
        coupon_claim_id=claim_id,
        credit_ok=quote.credit.ok,
        credit_available=yuan(quote.credit.available_fen),
        credit_required=yuan(quote.credit.required_fen),
        shortages=tuple(shortages),
        below_minimum=below,
        other_issues=tuple(dict.fromkeys(i.code for i in quote.issues if i.code not in known)),
        orderable=quote.orderable,
        credit_overdue=yuan(quote.credit.overdue_fen) if overdue else "",
    )


def best_coupon(quote: Quote) -> int | None:
    """The available coupon that takes the most off (the core quotes without one unless asked)."""
    usable = [c for c in quote.available_coupons if c.discount_fen > 0 and not c.reason]
    return max(usable, key=lambda c: c.discount_fen).claim_id if usable else None


def available_only(cart: Cart, view: QuoteView) -> list[tuple[str, int]]:
    """For "order what is available": (sku, bottles) of each short line, cut to what is there."""
    short = {s.sku: s.available for s in view.shortages}
    return [(li.sku, short[li.sku]) for li in cart.lines if li.sku in short]
