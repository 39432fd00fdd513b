"""Whatever is typed, the parser answers, and its lines are self-consistent."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ordering.interface import Unit

# words from the domain, mixed with anything at all
WORDS = [
    "飞天",
    "普五",
    "茅台",
    "两箱",
    "3瓶",
    "半箱",
    "一打",
    "53度",
    "1L",
    "各",
    "不要",
    "不对",
    "，",
    "五粮夜",
    "mt",
    "ipa",
    "提",
    "什么价",
    "明天送",
    "1573",
    "十二",
    "俩",
    "x",
    "*",
    "。",
    "破了",
    "liang",
    "箱",
    " ",
    "\n",
]
messages = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=4)), max_size=12).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messages)
def test_any_message_parses_into_consistent_lines(parser, text):
    result = parser.parse(text)
    for line in result.lines:
        entry = parser.entry(line.sku)
        assert entry.active
        if line.quantity is None:
            assert line.bottles is None and line.needs_confirmation
            continue
        per = {Unit.CASE: entry.bottles_per_case, Unit.PACK: entry.bottles_per_pack, Unit.BOTTLE: 1}
        assert line.bottles == line.quantity * per[line.unit]
        assert isinstance(line.quantity, int) and line.quantity >= 0
    for amb in result.ambiguous:
        assert len(amb.candidates) >= 2
        assert all(parser.entry(s).active for s in amb.candidates)
