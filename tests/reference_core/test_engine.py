"""The promotion engine and coupon evaluation, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reference_core import engine
from reference_core.coupon_rules import CouponView, evaluate_coupon
from reference_core.engine import Customer, Item, Rule

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DAY = timedelta(days=1)
STORE = Customer(store_id=1, region_id=10, tier="core")


def item(
    line_no=1, sku="A", category="白酒", bottles=1, price=10_000, promotion_id=None, cases=0, case_price=0
):
    return Item(
        line_no, line_no, sku, category, cases, bottles, cases * 6 + bottles, price, case_price, promotion_id
    )


def rule(id_, kind, rules, **kw):
    return Rule(
        id=id_,
        kind=kind,
        name=f"p{id_}",
        starts_at=kw.pop("starts_at", NOW - DAY),
        ends_at=kw.pop("ends_at", NOW + DAY),
        rules=rules,
        **kw,
    )


def outcome(priced, id_):
    return next(o for o in priced.outcomes if o.promotion_id == id_)


def test_full_reduction_takes_the_highest_tier_met():
    r = rule(
        1,
        "full_reduction",
        {
            "tiers": [
                {"threshold_fen": 50_000, "off_fen": 2_000},
                {"threshold_fen": 100_000, "off_fen": 5_000},
            ]
        },
    )
    priced = engine.price([item(bottles=12)], [r], STORE, NOW)  # 120,000
    assert priced.order_discount_fen == 5_000
    assert priced.total_fen == 115_000
    assert outcome(priced, 1).applied


def test_threshold_not_met_says_how_much_is_missing():
    r = rule(1, "full_reduction", {"tiers": [{"threshold_fen": 50_000, "off_fen": 2_000}]})
    priced = engine.price([item(bottles=3)], [r], STORE, NOW)
    result = outcome(priced, 1)
    assert (result.applied, result.reason) == (False, "threshold_not_met")
    assert "200.00元" in result.message  # 50,000 - 30,000 fen
    assert priced.total_fen == 30_000


def test_stackable_promotions_combine():
    a = rule(1, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 1_000}]})
    b = rule(2, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 500}]})
    priced = engine.price([item(bottles=2)], [a, b], STORE, NOW)
    assert priced.order_discount_fen == 1_500
    assert outcome(priced, 1).applied and outcome(priced, 2).applied


def test_a_better_non_stackable_promotion_beats_the_combination_and_the_others_say_why():
    a = rule(1, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 1_000}]})
    b = rule(2, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 500}]})
    solo = rule(
        3, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 2_000}]}, stackable=False
    )
    priced = engine.price([item(bottles=2)], [a, b, solo], STORE, NOW)
    assert priced.order_discount_fen == 2_000
    assert outcome(priced, 3).applied
    assert [outcome(priced, i).reason for i in (1, 2)] == ["not_combinable", "not_combinable"]


def test_the_combination_beats_a_weaker_non_stackable_promotion():
    a = rule(1, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 1_000}]})
    b = rule(2, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 500}]})
    solo = rule(
        3, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 1_200}]}, stackable=False
    )
    priced = engine.price([item(bottles=2)], [a, b, solo], STORE, NOW)
    assert priced.order_discount_fen == 1_500
    assert outcome(priced, 3).reason == "not_combinable"


def test_line_discounts_do_not_stack_the_biggest_wins():
    small = rule(1, "discount", {"percent_off": 5})
    big = rule(2, "discount", {"percent_off": 12}, categories=frozenset({"红酒"}))
    priced = engine.price([item(sku="W", category="红酒", bottles=1, price=10_000)], [small, big], STORE, NOW)
    assert priced.lines[0].discount_fen == 1_200
    assert outcome(priced, 2).applied and outcome(priced, 1).reason == "better_discount"


def test_full_reduction_is_measured_after_line_discounts():
    disc = rule(1, "discount", {"percent_off": 10})
    red = rule(2, "full_reduction", {"tiers": [{"threshold_fen": 10_000, "off_fen": 1_000}]})
    priced = engine.price([item(bottles=1, price=10_500)], [disc, red], STORE, NOW)  # 10,500 -> 9,450
    assert outcome(priced, 2).reason == "threshold_not_met"
    assert priced.total_fen == 9_450


def test_gift_needs_stock_and_falls_back_to_a_lower_tier_with_stock():
    gift = rule(
        1,
        "full_gift",
        {
            "tiers": [
                {"threshold_fen": 10_000, "gift_sku": "G1", "gift_bottles": 1},
                {"threshold_fen": 20_000, "gift_sku": "G2", "gift_bottles": 1},
            ]
        },
    )
    priced = engine.price(
        [item(bottles=3)],
        [gift],
        STORE,
        NOW,
        gift_stock={"G1": 5, "G2": 0},
        gift_value={"G1": 100, "G2": 500},
    )
    assert priced.gifts == ((1, "G1", 1),)
    none = engine.price([item(bottles=3)], [gift], STORE, NOW, gift_stock={}, gift_value={})
    assert outcome(none, 1).reason == "gift_out_of_stock" and none.gifts == ()


def test_audience_and_time_window_are_reasons():
    later = rule(
        1,
        "full_reduction",
        {"tiers": [{"threshold_fen": 1, "off_fen": 1}]},
        starts_at=NOW + DAY,
        ends_at=NOW + 2 * DAY,
    )
    south = rule(
        2, "full_reduction", {"tiers": [{"threshold_fen": 1, "off_fen": 1}]}, region_ids=frozenset({99})
    )
    priced = engine.price([item()], [later, south], STORE, NOW)
    assert outcome(priced, 1).reason == "not_started"
    assert outcome(priced, 2).reason == "not_in_audience"
    assert priced.promotion_discount_fen == 0


def test_flash_sale_line_is_priced_by_the_sale_alone():
    flash = rule(1, "flash_sale", {"sku": "A", "price_fen": 8_000}, stock_remaining=10, per_store_limit=4)
    red = rule(2, "full_reduction", {"tiers": [{"threshold_fen": 1, "off_fen": 100}]})
    priced = engine.price([item(bottles=2, promotion_id=1)], [flash, red], STORE, NOW)
    assert priced.lines[0].amount_fen == 16_000
    assert priced.lines[0].unit_price_fen == 8_000
    assert outcome(priced, 2).reason == "no_eligible_items"


def test_flash_sale_problems_are_reported_per_line():
    cases = {
        "sold_out": {"stock_remaining": 1},
        "per_store_limit_reached": {"per_store_limit": 3, "store_used": 2},
        "not_started": {"starts_at": NOW + DAY, "ends_at": NOW + 2 * DAY},
    }
    for reason, extra in cases.items():
        flash = rule(1, "flash_sale", {"sku": "A", "price_fen": 8_000}, **extra)
        priced = engine.price([item(bottles=2, promotion_id=1)], [flash], STORE, NOW)
        assert [p.reason for p in priced.problems] == [reason]
        assert priced.lines[0].amount_fen == 20_000  # regular price; the order would be refused


def test_a_flash_sale_the_cart_did_not_ask_for_is_pointed_out():
    flash = rule(1, "flash_sale", {"sku": "A", "price_fen": 8_000}, stock_remaining=10)
    priced = engine.price([item(bottles=1)], [flash], STORE, NOW)
    assert outcome(priced, 1).reason == "not_requested"


def test_auction_price_descends_in_steps_to_the_floor():
    rules = {"start_price_fen": 1_000, "floor_price_fen": 600, "step_fen": 100, "step_seconds": 60}
    assert engine.auction_price(rules, NOW, NOW) == (1_000, 60)
    assert engine.auction_price(rules, NOW, NOW + timedelta(seconds=130)) == (800, 50)
    assert engine.auction_price(rules, NOW, NOW + timedelta(hours=1)) == (600, None)


def coupon(**kw):
    values = dict(
        claim_id=1,
        campaign_id=1,
        name="c",
        kind="amount_off",
        amount_off_fen=1_000,
        percent_off=0,
        max_discount_fen=None,
        threshold_fen=0,
        skus=frozenset(),
        categories=frozenset(),
        status="available",
        expires_at=NOW + DAY,
    )
    values.update(kw)
    return CouponView(**values)


def test_coupons_threshold_cap_scope_and_expiry():
    items = [item(bottles=2, price=10_000)]
    priced = engine.price(items, [], STORE, NOW)
    assert evaluate_coupon(coupon(), items, priced, NOW)[:2] == (1_000, None)
    assert evaluate_coupon(coupon(threshold_fen=30_000), items, priced, NOW)[1] == "threshold_not_met"
    pct = coupon(kind="percent_off", percent_off=10, max_discount_fen=1_500)
    assert evaluate_coupon(pct, items, priced, NOW)[0] == 1_500
    assert (
        evaluate_coupon(coupon(categories=frozenset({"红酒"})), items, priced, NOW)[1] == "no_eligible_items"
    )
    assert evaluate_coupon(coupon(expires_at=NOW), items, priced, NOW)[1] == "expired"
    assert evaluate_coupon(coupon(status="redeemed"), items, priced, NOW)[1] == "redeemed"


tiers = st.lists(
    st.tuples(st.integers(0, 200_000), st.integers(0, 200_000)).map(
        lambda t: {"threshold_fen": max(t), "off_fen": min(t)}
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(
    quantities=st.lists(st.integers(1, 20), min_size=1, max_size=4),
    reductions=st.lists(st.tuples(tiers, st.booleans()), max_size=4),
    percent=st.integers(0, 99),
    coupon_off=st.integers(0, 500_000),
)
def test_totals_are_never_negative_and_never_above_the_subtotal(quantities, reductions, percent, coupon_off):
    items = [
        item(line_no=n, sku=f"S{n}", bottles=q, price=1_000 * n) for n, q in enumerate(quantities, start=1)
    ]
    rules = [
        rule(n, "full_reduction", {"tiers": t}, stackable=s) for n, (t, s) in enumerate(reductions, start=1)
    ]
    if percent:
        rules.append(rule(99, "discount", {"percent_off": percent}))
    priced = engine.price(items, rules, STORE, NOW)
    assert 0 <= priced.total_fen <= priced.subtotal_fen
    best_single = max(
        [engine.price(items, [r], STORE, NOW).order_discount_fen for r in rules if r.kind == "full_reduction"]
        or [0]
    )
    if percent == 0:
        assert priced.order_discount_fen >= best_single  # the chosen combination is at least the best single
    off, _reason, _ = evaluate_coupon(coupon(amount_off_fen=coupon_off), items, priced, NOW)
    assert 0 <= off <= priced.total_fen
