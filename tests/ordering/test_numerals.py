"""Numbers as store owners type them, and product names never read as numbers."""

from __future__ import annotations

import cn2an
import pytest

from bot.ordering.interface import Unit
from bot.ordering.numerals import parse_number


def test_every_chinese_numeral_up_to_9999_reads_like_cn2an_writes_it():
    for n in range(1, 10000):
        assert parse_number(cn2an.an2cn(n)) == n


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("两", 2),
        ("俩", 2),
        ("二", 2),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十五", 25),
        ("一百五", 150),
        ("两百", 200),
        ("两百二", 220),
        ("一百零五", 105),
        ("两千", 2000),
        ("贰", 2),
        ("叁拾", 30),
        ("08", 8),
        ("1573", 1573),
    ],
)
def test_number_tokens(token, value):
    assert parse_number(token) == value
    assert isinstance(parse_number(token), int)  # cn2an returns floats: never leak one


@pytest.mark.parametrize("token", ["两三", "三五", "", "箱", "五粮液", "abc", "1.5"])
def test_ranges_and_words_are_not_numbers(token):
    assert parse_number(token) is None


@pytest.mark.parametrize(
    ("text", "sku", "quantity"),
    [
        ("五粮液5箱", "WLY-PW8-52-500", 5),
        ("五箱五粮液", "WLY-PW8-52-500", 5),
        ("二曲 二箱", "LZLJ-ERQ-52-500", 2),
        ("三箱三花酒", "GLSH-52-480", 3),
        ("一品景芝 一箱", "JZ-YP-52-500", 1),
        ("六年口子窖 六箱", "KZJ-6N-46-450", 6),
        ("十年口子窖十箱", "KZJ-10N-41-500", 10),
        ("二两红星 两箱", "HX-EGT-56-150", 2),
        ("五粮春 五箱", "WLY-WLC-45-500", 5),
    ],
)
def test_product_names_are_masked_before_numbers_are_read(parser, text, sku, quantity):
    result = parser.parse(text)
    assert [(li.sku, li.quantity, li.unit) for li in result.lines] == [(sku, quantity, Unit.CASE)]
    assert not result.unmatched and not result.ambiguous


def test_a_bare_numeral_glued_to_an_unknown_word_is_part_of_the_word(parser):
    result = parser.parse("金六福 两箱")
    assert [u.text for u in result.unmatched] == ["金六福"]
    assert result.unmatched[0].quantity == 2
