"""Quantities as store owners type them: ``2``, ``两``, ``俩``, ``十二``, ``二十五``, ``一百五``.

Only a token already isolated as a number is converted here (product names are masked before):
cn2an on a whole message turns 五粮液 into 5粮液 (STACK.md). The common shapes are handled by hand,
which is ~20x faster than cn2an; anything else with 千/万 falls back to cn2an, whose float result
is cast to int.
"""

from __future__ import annotations

import re

import cn2an

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}  # fmt: skip
# the anti-fraud capitals of invoices and receipts (贰箱) read like the plain ones
CAPITALS = str.maketrans("壹贰叁肆伍陆柒捌玖拾佰仟", "一二三四五六七八九十百千")
CN_NUMERAL_CHARS = "".join(DIGITS) + "十百千万壹贰叁肆伍陆柒捌玖拾佰仟"
NUMBER_PATTERN = rf"\d+|[{CN_NUMERAL_CHARS}]+"
_NUMBER_RE = re.compile(rf"(?:{NUMBER_PATTERN})\Z")


def parse_number(token: str) -> int | None:
    """The integer a number token means, or None if it is not one."""
    token = token.strip().translate(CAPITALS)
    if not token or not _NUMBER_RE.match(token):
        return None
    if token.isdigit():
        return int(token)
    if "千" not in token and "万" not in token:
        return _simple(token)
    try:
        return int(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _simple(token: str) -> int | None:
    """Hundreds and below, plus the spoken short forms 一百五 (150) and 两百二 (220)."""
    if len(token) == 1 and token in DIGITS:
        return DIGITS[token]
    total = 0
    rest = token
    if "百" in rest:
        head, _, rest = rest.partition("百")
        if head not in DIGITS or not DIGITS[head]:
            return None
        total += DIGITS[head] * 100
        if len(rest) == 1 and rest in DIGITS:  # 一百五 = 150: the tens are implied
            return total + DIGITS[rest] * 10
        rest = rest.removeprefix("零")
    if "十" in rest:
        head, _, tail = rest.partition("十")
        if head and (head not in DIGITS or not DIGITS[head]):
            return None
        tens = DIGITS[head] if head else 1
        if tail and (tail not in DIGITS or "十" in tail):
            return None
        return total + tens * 10 + (DIGITS[tail] if tail else 0)
    if not rest:
        return total
    if len(rest) == 1 and rest in DIGITS:
        return total + DIGITS[rest]
    # 两三 / 三五: "two or three", a range the store owner has to settle, not a number
    return None
