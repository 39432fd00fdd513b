"""The catalog index: aliases, pinyin, typos, and no products found in chit-chat."""

from __future__ import annotations

import pytest

from bot.ordering.catalog_source import catalog_from_mapping
from bot.ordering.interface import Flag
from bot.ordering.matching import CatalogIndex, normalize
from bot.ordering.parser import OrderParser

MAOTAI_ACTIVE = {
    "MT-FT-53-500",
    "MT-FT-43-500",
    "MT-FT-53-1000",
    "MT-FT-53-375",
    "MT-1935-53-500",
    "MT-WZ-JMJD-53-500",
    "MT-WZ-JIN-53-500",
    "MT-WZ-CC1999-53-500",
    "MT-YBJ-53-500",
    "MT-HJ-51-500",
}


def test_pinyin_initials_and_full_pinyin_are_keys(parser):
    keys = parser.index.keys
    assert keys["wly"].candidates == ("WLY-PW8-52-500",)
    assert keys["wuliangye"].candidates == ("WLY-PW8-52-500",)
    assert keys["ft"].candidates == ("MT-FT-53-500",)
    assert keys["gj1573"].candidates == ("LZLJ-GJ1573-52-500",)
    assert set(keys["mt"].candidates) >= MAOTAI_ACTIVE  # a brand: every product of it, ambiguous
    assert "ml" not in keys and "ok" not in keys


def test_a_brand_alone_is_ambiguous_between_its_active_products(parser):
    result = parser.parse("mt 1箱")
    assert not result.lines
    assert set(result.ambiguous[0].candidates) == MAOTAI_ACTIVE
    assert "MT-GZDQ70-54-500" not in result.ambiguous[0].candidates  # inactive
    assert result.ambiguous[0].candidates[0] == "MT-FT-53-500"  # catalog order: flagship first


def test_an_alias_beats_the_brand_it_spells(parser):
    assert [li.sku for li in parser.parse("五粮液 2箱").lines] == ["WLY-PW8-52-500"]


@pytest.mark.parametrize(
    ("typo", "sku"),
    [
        ("五粮夜", "WLY-PW8-52-500"),
        ("剑难春", "JNC-SJJ-52-500"),
        ("飞添", "MT-FT-53-500"),
        ("天之兰", "YH-TZL-52-520"),
        ("泸州老窑特曲", "LZLJ-TQ60-52-500"),
        ("剑南村", "JNC-SJJ-52-500"),
        ("拉菲传齐", "LF-CQ-BDX-750"),
        ("feitain", "MT-FT-53-500"),
    ],
)
def test_typos_are_read_and_flagged(parser, typo, sku):
    result = parser.parse(f"{typo} 2箱")
    assert [li.sku for li in result.lines] == [sku]
    assert Flag.FUZZY in result.lines[0].flags  # the flow echoes the product name back


def test_a_typo_between_two_similar_products_is_not_guessed(parser):
    # 五粮X is as close to 五粮液 as to 五粮春 and 五粮醇: suggestions, never a silent pick
    result = parser.parse("五粮昂 2箱")
    assert not result.lines
    assert set(result.unmatched[0].suggestions) == {"WLY-PW8-52-500", "WLY-WLC-45-500", "WLY-WLCH-50-500"}


def test_similar_names_stay_distinct(parser):
    result = parser.parse("五粮春 2箱 五粮醇 3箱 五粮液 1箱")
    assert [li.sku for li in result.lines] == ["WLY-WLC-45-500", "WLY-WLCH-50-500", "WLY-PW8-52-500"]
    assert all(Flag.FUZZY not in li.flags for li in result.lines)


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "在吗",
        "谢谢老板",
        "好的",
        "收到",
        "哈哈哈",
        "ok",
        "hello",
        "今天天气不错",
        "我去喝喜酒了",
        "辛苦了",
        "老板在吗？",
        "明天几点送货",
        "发票开了吗",
        "👍",
        "[微笑]",
        "12345",
        "嗯嗯",
        "晚安",
        "好嘞",
        "没问题",
    ],
)
def test_chit_chat_is_not_an_order(parser, text):
    result = parser.parse(text)
    assert not result.is_order
    assert not result.lines and not result.ambiguous and not result.unmatched


def test_keys_never_start_or_end_inside_a_word_or_number(parser):
    assert parser.parse("smt 2箱").unmatched[0].text == "smt"  # not mt
    assert not parser.index.scan(normalize("215736"))  # not 1573


def test_spaces_inside_a_name_are_skipped(parser):
    assert [li.sku for li in parser.parse("飞 天 2 箱").lines] == ["MT-FT-53-500"]
    assert [li.sku for li in parser.parse("国窖 1573 2箱").lines] == ["LZLJ-GJ1573-52-500"]


def test_index_works_for_any_catalog():
    catalog = catalog_from_mapping(
        {
            "products": [
                {
                    "sku": "A-1",
                    "name": "测试老酒 十年",
                    "brand": "测试",
                    "series": "老酒",
                    "bottles_per_case": 6,
                    "ml": 500,
                    "aliases": ["老酒十年"],
                },
                {
                    "sku": "A-2",
                    "name": "测试老酒 五年",
                    "brand": "测试",
                    "series": "老酒",
                    "bottles_per_case": 6,
                    "ml": 500,
                    "aliases": ["老酒五年"],
                },
            ]
        }
    )
    index = CatalogIndex(catalog)
    assert set(index.keys["老酒"].candidates) == {"A-1", "A-2"}  # a series of two: ambiguous
    result = OrderParser(catalog).parse("老酒五年 3箱 老酒 1箱")
    assert [(li.sku, li.bottles) for li in result.lines] == [("A-2", 18)]
    assert set(result.ambiguous[0].candidates) == {"A-1", "A-2"}
