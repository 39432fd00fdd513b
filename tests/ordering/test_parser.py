"""Units, limits, ambiguity, questions and the other rules of OrderParser."""

from __future__ import annotations

import pytest

from bot.ordering.interface import Flag, ParseLimits, Unit
from bot.ordering.parser import OrderParser


def _lines(result):
    return [(li.sku, li.quantity, li.unit, li.bottles) for li in result.lines]


@pytest.mark.parametrize(
    ("text", "quantity", "unit", "bottles"),
    [
        ("飞天 2箱", 2, Unit.CASE, 24),
        ("飞天 2件", 2, Unit.CASE, 24),
        ("飞天 2提", 2, Unit.PACK, 4),
        ("飞天 2瓶", 2, Unit.BOTTLE, 2),
        ("飞天 2支", 2, Unit.BOTTLE, 2),
        ("飞天 2盒", 2, Unit.BOTTLE, 2),
        ("飞天 半箱", 6, Unit.BOTTLE, 6),
        ("飞天 一箱半", 18, Unit.BOTTLE, 18),
        ("飞天 1.5箱", 18, Unit.BOTTLE, 18),
    ],
)
def test_units_convert_with_the_products_case_and_pack_sizes(parser, text, quantity, unit, bottles):
    assert _lines(parser.parse(text)) == [("MT-FT-53-500", quantity, unit, bottles)]


def test_beer_units(parser):
    assert _lines(parser.parse("鹅岛ipa 3提 1664 一打 福佳白 10罐 拳击猫白啤 6听")) == [
        ("GI-IPA-355", 3, Unit.PACK, 18),
        ("K1664-WB-330", 12, Unit.BOTTLE, 12),
        ("HG-WB-330", 10, Unit.BOTTLE, 10),
        ("BC-WB-330", 6, Unit.BOTTLE, 6),
    ]


def test_a_bare_number_is_read_as_cases_and_flagged(parser):
    line = parser.parse("飞天 2").lines[0]
    assert (line.quantity, line.unit, line.bottles) == (2, Unit.CASE, 24)
    assert Flag.UNIT_ASSUMED in line.flags
    assert not line.needs_confirmation  # the quote shows "2箱（24瓶）" anyway


def test_a_product_without_quantity_is_never_given_one(parser):
    result = parser.parse("飞天2箱 普五")
    assert _lines(result) == [("MT-FT-53-500", 2, Unit.CASE, 24), ("WLY-PW8-52-500", None, None, None)]
    assert result.lines[1].flags == (Flag.QUANTITY_MISSING,)
    assert result.needs_confirmation


def test_a_range_is_asked_not_guessed(parser):
    line = parser.parse("飞天 两三箱").lines[0]
    assert line.quantity is None and Flag.QUANTITY_MISSING in line.flags


def test_sanity_limits_flag_and_never_cap(parser):
    fifty, fifty_one = parser.parse("普五 50箱").lines[0], parser.parse("普五 51箱").lines[0]
    assert not fifty.needs_confirmation
    assert fifty_one.quantity == 51 and Flag.OVER_LIMIT in fifty_one.flags and fifty_one.needs_confirmation
    over_bottles = parser.parse("1664 2500瓶").lines[0]
    assert over_bottles.bottles == 2500 and Flag.OVER_LIMIT in over_bottles.flags


def test_limits_are_configurable(demo_catalog):
    strict = OrderParser(demo_catalog, ParseLimits(max_cases=5, max_bottles=40))
    assert Flag.OVER_LIMIT in strict.parse("普五 6箱").lines[0].flags
    assert Flag.OVER_LIMIT in strict.parse("普五 41瓶").lines[0].flags
    assert Flag.OVER_LIMIT not in strict.parse("普五 5箱").lines[0].flags


def test_zero_is_confirmed(parser):
    line = parser.parse("飞天 0箱").lines[0]
    assert line.bottles == 0 and Flag.ZERO_QUANTITY in line.flags and line.needs_confirmation


def test_an_ambiguity_resolves_to_the_line_the_owner_meant(parser):
    result = parser.parse("红花郎 两箱")
    assert not result.lines
    (amb,) = result.ambiguous
    assert amb.candidates == ("LJ-HHL15-53-500", "LJ-HHL10-53-500")
    assert (amb.quantity, amb.unit) == (2, Unit.CASE)
    line = parser.resolve(amb, "LJ-HHL10-53-500")
    assert (line.sku, line.quantity, line.unit, line.bottles) == ("LJ-HHL10-53-500", 2, Unit.CASE, 12)


def test_resolving_keeps_half_cases_and_assumed_units(parser):
    half = parser.parse("海之蓝 一箱半").ambiguous[0]
    assert parser.resolve(half, "YH-HZL-42-520").bottles == 9
    bare = parser.parse("海之蓝 3").ambiguous[0]
    line = parser.resolve(bare, "YH-HZL-52-520")
    assert line.bottles == 18 and Flag.UNIT_ASSUMED in line.flags


@pytest.mark.parametrize(
    ("text", "sku"),
    [
        ("飞天 43度 2箱", "MT-FT-43-500"),
        ("飞天 1L 2瓶", "MT-FT-53-1000"),
        ("茅台 43度 2箱", "MT-FT-43-500"),
        ("普五 1升 2瓶", "WLY-PW8-52-1000"),
        ("国窖 38度 2箱", "LZLJ-GJ1573-38-500"),
        ("二锅头 150ml 2箱", "HX-EGT-56-150"),
    ],
)
def test_strength_and_size_pick_the_sibling(parser, text, sku):
    assert [li.sku for li in parser.parse(text).lines] == [sku]


def test_a_strength_the_line_does_not_have_asks_among_the_line(parser):
    (amb,) = parser.parse("飞天 38度 2箱").ambiguous
    assert set(amb.candidates) == {"MT-FT-53-500", "MT-FT-43-500", "MT-FT-53-1000", "MT-FT-53-375"}


def test_an_inactive_product_is_unmatched_with_active_alternatives(parser):
    (u,) = parser.parse("贵州大曲 2箱").unmatched
    assert u.reason == "inactive" and u.quantity == 2
    assert u.suggestions and all(parser.entry(s).active for s in u.suggestions)


def test_an_unknown_product_gets_the_nearest_names(parser):
    (u,) = parser.parse("剑南 3箱").unmatched
    assert (u.text, u.suggestions, u.quantity, u.unit) == ("剑南", ("JNC-SJJ-52-500",), 3, Unit.CASE)
    (far,) = parser.parse("可口可乐 5箱").unmatched
    assert far.suggestions == ()


def test_questions_are_not_orders(parser):
    result = parser.parse("飞天现在什么价")
    assert result.question and not result.lines and not result.is_order
    assert result.asked == ("MT-FT-53-500",)
    assert parser.parse("普五多少钱一瓶").asked == ("WLY-PW8-52-500",)


def test_an_order_with_a_question_keeps_the_order(parser):
    result = parser.parse("飞天 3箱 顺便问下普五什么价")
    assert _lines(result) == [("MT-FT-53-500", 3, Unit.CASE, 36)]
    assert result.question and result.asked == ("WLY-PW8-52-500",)


def test_negations_and_corrections(parser):
    assert _lines(parser.parse("飞天2箱 普五不要了")) == [("MT-FT-53-500", 2, Unit.CASE, 24)]
    assert _lines(parser.parse("普五 两箱 不对 三箱")) == [("WLY-PW8-52-500", 3, Unit.CASE, 18)]


def test_delivery_words_are_kept_as_notes(parser):
    result = parser.parse("飞天 2箱 明天上午送到店里")
    assert _lines(result) == [("MT-FT-53-500", 2, Unit.CASE, 24)]
    assert result.notes == ("明天上午送到店里",)


def test_the_same_product_twice_stays_two_lines(parser):
    # the cart adds them up; the reading shows what was said
    assert _lines(parser.parse("飞天2箱 飞天3瓶")) == [
        ("MT-FT-53-500", 2, Unit.CASE, 24),
        ("MT-FT-53-500", 3, Unit.BOTTLE, 3),
    ]


def test_empty_and_huge_messages(parser):
    assert not parser.parse("").is_order
    assert not parser.parse("   \n ").is_order
    long = "飞天2箱 " + "哈" * 100_000
    assert _lines(parser.parse(long)) == [("MT-FT-53-500", 2, Unit.CASE, 24)]


def test_the_result_is_frozen(parser):
    result = parser.parse("飞天2箱")
    with pytest.raises(AttributeError):
        result.lines[0].quantity = 3  # type: ignore[misc]


def test_after_sales_and_tracking_are_not_orders(parser):
    broken = parser.parse("上次的飞天有一瓶破了")
    assert not broken.is_order and broken.topic == "after_sales"
    tracking = parser.parse("飞天到了没")
    assert not tracking.is_order and tracking.topic == "tracking"
    # an order that also asks about delivery is still an order
    assert [li.sku for li in parser.parse("飞天两箱 上次的物流到哪了").lines] == ["MT-FT-53-500"]


def test_pinyin_typed_quantities(parser):
    assert _lines(parser.parse("飞天liang箱")) == [("MT-FT-53-500", 2, Unit.CASE, 24)]
    assert _lines(parser.parse("wuliangye 3jian")) == [("WLY-PW8-52-500", 3, Unit.CASE, 18)]


def test_forms_of_address_and_packaging_generations_are_filler(parser):
    assert _lines(parser.parse("王哥，飞天两箱")) == [("MT-FT-53-500", 2, Unit.CASE, 24)]
    assert _lines(parser.parse("五粮液 普五 8代 两箱")) == [("WLY-PW8-52-500", 2, Unit.CASE, 12)]


def test_an_ambiguous_mention_narrowed_later_in_the_message(parser):
    assert _lines(parser.parse("茅台两箱 要飞天")) == [("MT-FT-53-500", 2, Unit.CASE, 24)]
    assert _lines(parser.parse("二锅头 十箱 要红星的")) == [("HX-EGT-56-500", 10, Unit.CASE, 120)]


def test_a_brand_qualifying_an_unknown_product_is_unknown(parser):
    (u,) = parser.parse("汾酒 竹叶青 2箱").unmatched
    assert (u.text, u.quantity) == ("竹叶青", 2)
    (glued,) = parser.parse("茅台镇酱酒 5箱").unmatched
    assert glued.text == "茅台镇酱酒"
