"""The promotion engine: prices a cart with the best allowed combination and says why the other
promotions did not apply. Pure: no database, no clock of its own (``now`` is an argument).

Order of application:
1. Channel lines (an order line naming a flash sale, auction or, for group orders, the group) are
   priced by that channel alone; no other promotion or coupon touches them.
2. Limited-time discounts (``discount``) apply per line; when several cover a line, the biggest wins.
3. Order-level promotions (满减 ``full_reduction``, 满赠 ``full_gift``) are measured on the amount of
   their in-scope lines after step 2. Stackable ones combine; a non-stackable one stands alone. The
   engine takes whichever is worth more: all stackable ones together, or the best non-stackable one
   (a gift is worth its base price). Ties go to fewer promotions, then lower ids.
4. Coupons (``evaluate_coupon``) come last, on what is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

CHANNEL_KINDS = frozenset({"flash_sale", "auction", "group_buy"})
LINE_KINDS = frozenset({"discount"})
ORDER_KINDS = frozenset({"full_reduction", "full_gift"})


@dataclass(frozen=True)
class Customer:
    store_id: int
    region_id: int
    tier: str


@dataclass(frozen=True)
class Item:
    line_no: int
    product_id: int
    sku: str
    category: str
    cases: int
    bottles: int
    quantity: int
    bottle_price_fen: int
    case_price_fen: int
    promotion_id: int | None = None

    @property
    def list_amount_fen(self) -> int:
        return self.cases * self.case_price_fen + self.bottles * self.bottle_price_fen


@dataclass(frozen=True)
class Rule:
    id: int
    kind: str
    name: str
    starts_at: datetime
    ends_at: datetime
    rules: Mapping
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    region_ids: frozenset[int] = frozenset()
    tiers: frozenset[str] = frozenset()
    stackable: bool = True
    stock_remaining: int | None = None
    per_store_limit: int | None = None
    store_used: int = 0
    paused: bool = False  # an operator paused it: nothing prices through it until resumed
    group_participants: int = 0

    def covers(self, item: Item) -> bool:
        if self.kind in CHANNEL_KINDS:
            return item.sku == self.rules.get("sku")
        if not self.skus and not self.categories:
            return True
        return item.sku in self.skus or item.category in self.categories

    def admits(self, customer: Customer) -> bool:
        return (not self.region_ids or customer.region_id in self.region_ids) and (
            not self.tiers or customer.tier in self.tiers
        )


@dataclass(frozen=True)
class LineResult:
    line_no: int
    discount_fen: int
    amount_fen: int
    promotion_id: int | None
    unit_price_fen: int | None = None  # the channel's bottle price, when a channel priced the line


@dataclass(frozen=True)
class Outcome:
    promotion_id: int
    name: str
    kind: str
    applied: bool
    discount_fen: int = 0
    gift: tuple[str, int] | None = None
    reason: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Problem:
    line_no: int
    promotion_id: int
    reason: str
    message: str


@dataclass(frozen=True)
class Priced:
    lines: tuple[LineResult, ...]
    outcomes: tuple[Outcome, ...]
    problems: tuple[Problem, ...]
    subtotal_fen: int
    line_discount_fen: int
    order_discount_fen: int
    gifts: tuple[tuple[int, str, int], ...] = field(default=())  # (promotion id, sku, bottles)

    @property
    def promotion_discount_fen(self) -> int:
        return self.line_discount_fen + self.order_discount_fen

    @property
    def total_fen(self) -> int:
        return self.subtotal_fen - self.promotion_discount_fen


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}元"


def auction_price(rules: Mapping, starts_at: datetime, now: datetime) -> tuple[int, int | None]:
    """(current price, seconds until the next drop or None at the floor)."""
    elapsed = max(0.0, (now - starts_at).total_seconds())
    steps = int(elapsed // rules["step_seconds"])
    price = max(rules["floor_price_fen"], rules["start_price_fen"] - steps * rules["step_fen"])
    if price == rules["floor_price_fen"]:
        return price, None
    return price, int((steps + 1) * rules["step_seconds"] - elapsed) or 1


def group_price(rules: Mapping, participants: int) -> int | None:
    reached = [t for t in rules["tiers"] if t["min_stores"] <= participants]
    return min(t["price_fen"] for t in reached) if reached else None


def _timing(rule: Rule, now: datetime) -> tuple[str, str] | None:
    if rule.paused and now < rule.ends_at:
        return "paused", "paused by the operator"
    if now < rule.starts_at:
        return "not_started", f"starts at {rule.starts_at.isoformat()}"
    if now >= rule.ends_at:
        return "ended", f"ended at {rule.ends_at.isoformat()}"
    return None


def _channel(item: Item, rule: Rule | None, customer: Customer, now: datetime, allow_group: bool):
    """(bottle price, None) for a valid channel line, or (None, (reason, message))."""
    if rule is None or rule.kind not in CHANNEL_KINDS:
        return None, ("not_found", "no flash sale, auction or group order with this id")
    if item.sku != rule.rules.get("sku"):
        return None, ("wrong_product", f"promotion {rule.id} sells {rule.rules.get('sku')}, not {item.sku}")
    if rule.kind == "group_buy" and not allow_group:
        return None, ("join_required", "join the group order; its orders are placed when the group closes")
    timing = _timing(rule, now) if rule.kind != "group_buy" else None
    if timing:
        return None, timing
    if not rule.admits(customer):
        return None, ("not_in_audience", "this store is not in the promotion's audience")
    if rule.stock_remaining is not None and rule.stock_remaining < item.quantity:
        return None, ("sold_out", f"only {rule.stock_remaining} bottles left")
    if rule.per_store_limit is not None and rule.store_used + item.quantity > rule.per_store_limit:
        left = max(0, rule.per_store_limit - rule.store_used)
        return None, ("per_store_limit_reached", f"this store may buy {left} more bottles")
    if rule.kind == "flash_sale":
        return rule.rules["price_fen"], None
    if rule.kind == "auction":
        return auction_price(rule.rules, rule.starts_at, now)[0], None
    price = group_price(rule.rules, rule.group_participants)
    if price is None:
        return None, ("threshold_not_met", "the group did not reach its first tier")
    return price, None


def price(
    items: list[Item],
    rules: list[Rule],
    customer: Customer,
    now: datetime,
    *,
    gift_stock: Mapping[str, int] | None = None,
    gift_value: Mapping[str, int] | None = None,
    allow_group: bool = False,
) -> Priced:
    gift_stock = gift_stock or {}
    gift_value = gift_value or {}
    by_id = {r.id: r for r in rules}
    outcomes: dict[int, Outcome] = {}
    problems: list[Problem] = []
    results: dict[int, LineResult] = {}

    # 1. channel lines
    for item in items:
        if item.promotion_id is None:
            continue
        rule = by_id.get(item.promotion_id)
        unit, problem = _channel(item, rule, customer, now, allow_group)
        if problem is not None:
            problems.append(Problem(item.line_no, item.promotion_id, *problem))
            results[item.line_no] = LineResult(item.line_no, 0, item.list_amount_fen, None)
            if rule is not None:
                outcomes[rule.id] = Outcome(
                    rule.id, rule.name, rule.kind, False, reason=problem[0], message=problem[1]
                )
            continue
        assert rule is not None and unit is not None
        amount = min(item.list_amount_fen, unit * item.quantity)
        results[item.line_no] = LineResult(item.line_no, item.list_amount_fen - amount, amount, rule.id, unit)
        previous = outcomes.get(rule.id)
        total = (
            (previous.discount_fen if previous and previous.applied else 0) + item.list_amount_fen - amount
        )
        outcomes[rule.id] = Outcome(rule.id, rule.name, rule.kind, True, total, message=f"{yuan(unit)}/瓶")
    regular = [i for i in items if i.line_no not in results]

    # promotions that do not apply at all, with the reason
    live: list[Rule] = []
    for rule in rules:
        if rule.id in outcomes:
            continue
        relevant = [i for i in items if rule.covers(i)]
        if not relevant:
            continue
        if rule.kind in CHANNEL_KINDS:
            if rule.kind != "group_buy" and _timing(rule, now) is None and rule.admits(customer):
                how = "order the line with promotion_id" if rule.kind != "group_buy" else "join the group"
                outcomes[rule.id] = Outcome(
                    rule.id, rule.name, rule.kind, False, reason="not_requested", message=f"available: {how}"
                )
            continue
        timing = _timing(rule, now)
        if timing:
            outcomes[rule.id] = Outcome(
                rule.id, rule.name, rule.kind, False, reason=timing[0], message=timing[1]
            )
        elif not rule.admits(customer):
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="not_in_audience",
                message="this store is not in the promotion's audience",
            )
        elif not any(rule.covers(i) for i in regular):
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="no_eligible_items",
                message="its products are all priced by a flash sale, auction or group order",
            )
        else:
            live.append(rule)

    # 2. line discounts: the biggest per line
    line_winner: dict[int, tuple[int, Rule]] = {}
    for item in regular:
        for rule in (r for r in live if r.kind in LINE_KINDS and r.covers(item)):
            off = item.list_amount_fen * int(rule.rules["percent_off"]) // 100
            best = line_winner.get(item.line_no)
            if best is None or off > best[0] or (off == best[0] and rule.id < best[1].id):
                line_winner[item.line_no] = (off, rule)
    for item in regular:
        off, rule = line_winner.get(item.line_no, (0, None))
        results[item.line_no] = LineResult(
            item.line_no, off, item.list_amount_fen - off, rule.id if rule else None
        )
    for rule in (r for r in live if r.kind in LINE_KINDS):
        won = sum(off for off, w in line_winner.values() if w.id == rule.id)
        if any(w.id == rule.id for _, w in line_winner.values()):
            outcomes[rule.id] = Outcome(
                rule.id, rule.name, rule.kind, True, won, message=f"{rule.rules['percent_off']}% off"
            )
        else:
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="better_discount",
                message="a bigger discount already applies to the same products",
            )

    # 3. order-level promotions
    order_rules = [r for r in live if r.kind in ORDER_KINDS]
    candidates: dict[int, tuple[int, int, tuple[str, int] | None]] = {}  # id -> (value, discount, gift)
    for rule in order_rules:
        base = sum(results[i.line_no].amount_fen for i in regular if rule.covers(i))
        tiers = sorted(rule.rules["tiers"], key=lambda t: t["threshold_fen"], reverse=True)
        met = [t for t in tiers if t["threshold_fen"] <= base]
        if not met:
            need = min(t["threshold_fen"] for t in tiers) - base
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="threshold_not_met",
                message=f"add {yuan(need)} of eligible products",
            )
            continue
        if rule.kind == "full_reduction":
            off = min(base, met[0]["off_fen"])
            candidates[rule.id] = (off, off, None)
            continue
        stocked = [t for t in met if gift_stock.get(t["gift_sku"], 0) >= t["gift_bottles"]]
        if not stocked:
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="gift_out_of_stock",
                message=f"the gift {met[0]['gift_sku']} is out of stock",
            )
            continue
        tier = stocked[0]
        value = gift_value.get(tier["gift_sku"], 0) * tier["gift_bottles"]
        candidates[rule.id] = (value, 0, (tier["gift_sku"], tier["gift_bottles"]))

    regular_total = sum(results[i.line_no].amount_fen for i in regular)
    chosen = _best_combination(candidates, {r.id: r for r in order_rules}, regular_total)
    order_discount = 0
    gifts: list[tuple[int, str, int]] = []
    for rule in order_rules:
        if rule.id not in candidates:
            continue
        value, off, gift = candidates[rule.id]
        if rule.id in chosen:
            off = min(off, regular_total - order_discount)
            order_discount += off
            if gift:
                gifts.append((rule.id, gift[0], gift[1]))
            message = f"满减 {yuan(off)}" if rule.kind == "full_reduction" else f"赠 {gift[0]} x{gift[1]}"  # type: ignore[index]
            outcomes[rule.id] = Outcome(rule.id, rule.name, rule.kind, True, off, gift, message=message)
        else:
            others = ", ".join(str(i) for i in sorted(chosen))
            outcomes[rule.id] = Outcome(
                rule.id,
                rule.name,
                rule.kind,
                False,
                reason="not_combinable",
                message=f"worth {yuan(value)}; it cannot combine with promotion {others}, worth more",
            )

    subtotal = sum(i.list_amount_fen for i in items)
    line_discount = sum(r.discount_fen for r in results.values())
    return Priced(
        lines=tuple(results[i.line_no] for i in items),
        outcomes=tuple(outcomes[k] for k in sorted(outcomes)),
        problems=tuple(problems),
        subtotal_fen=subtotal,
        line_discount_fen=line_discount,
        order_discount_fen=order_discount,
        gifts=tuple(gifts),
    )


def _best_combination(
    candidates: dict[int, tuple[int, int, tuple[str, int] | None]], rules: dict[int, Rule], cap: int
) -> frozenset[int]:
    def worth(ids: frozenset[int]) -> int:
        discount = min(cap, sum(candidates[i][1] for i in ids))
        gifts = sum(candidates[i][0] for i in ids if candidates[i][2] is not None)
        return discount + gifts

    options = [frozenset(i for i in candidates if rules[i].stackable)]
    options += [frozenset({i}) for i in candidates if not rules[i].stackable]
    options = [o for o in options if o]
    if not options:
        return frozenset()
    return max(options, key=lambda o: (worth(o), -len(o), [-i for i in sorted(o)]))
