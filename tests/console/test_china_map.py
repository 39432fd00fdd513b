"""The alerts page's tile map: every provincial division has exactly one cell of its own, shades
follow the counts, the legend covers every count shown, unknown places are counted apart; and the
page draws it for the actor's scope only."""

from __future__ import annotations

import re

from bot.console import china_map
from bot.membership.geo_data import PROVINCES
from tests.console.test_alerts_pages import _alerts
from tests.console.test_web import _tree


def test_every_province_has_one_cell_of_its_own():
    assert set(china_map.LAYOUT) == set(PROVINCES) and len(PROVINCES) == 34
    cells = list(china_map.LAYOUT.values())
    assert len(set(cells)) == len(cells)
    assert all(0 <= col < china_map.COLUMNS and 0 <= row < china_map.ROWS for col, row in cells)
    # a few neighbourhoods a reader checks first
    assert china_map.LAYOUT["北京"][1] < china_map.LAYOUT["广东"][1]  # north above south
    assert china_map.LAYOUT["新疆"][0] < china_map.LAYOUT["上海"][0]  # west left of east
    assert china_map.LAYOUT["澳门"][0] < china_map.LAYOUT["香港"][0]


def test_shades_legend_and_unknown_places():
    board = china_map.build([("广东", 10), ("广东省", 5), ("浙江", 3), ("上海市", 1), ("", 2), ("火星", 4)])
    by = {t.short: t for t in board.tiles}
    assert (by["广东"].count, by["广东"].level, by["广东"].name) == (15, 5, "广东省")
    assert (by["浙江"].count, by["浙江"].level) == (3, 1)  # ceil(5 * 3 / 15)
    assert (by["上海"].count, by["上海"].level) == (1, 1)
    assert (by["西藏"].count, by["西藏"].level) == (0, 0)
    assert board.unplaced == 6 and board.top == 15
    assert [(b.level, b.low, b.high) for b in board.legend] == [
        (1, 1, 3),
        (2, 4, 6),
        (3, 7, 9),
        (4, 10, 12),
        (5, 13, 15),
    ]
    for t in board.tiles:  # every shaded count falls in its legend band
        if t.count:
            band = next(b for b in board.legend if b.level == t.level)
            assert band.low <= t.count <= band.high
    small = china_map.build([("四川", 2), ("云南", 1)])
    assert [(b.low, b.high) for b in small.legend] == [(1, 1), (2, 2)]  # no empty bands
    assert {t.short: t.level for t in small.tiles if t.count} == {"四川": 5, "云南": 3}
    empty = china_map.build([])
    assert empty.legend == () and all(t.level == 0 for t in empty.tiles)


async def test_the_alerts_page_draws_the_map_for_the_actors_scope(console_app):
    c = await console_app()
    await _tree(c)
    await _alerts(c)  # an open alert found in 广东 (region SW) and one in 浙江 (region EC)
    await c.operator("boss")
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("boss")).status == 303
    page = await (await c.client.get("/console/alerts")).text()
    counts = dict(re.findall(r'data-province="([^"]+)" data-count="(\d+)"', page))
    assert len(counts) == 34 and counts["广东"] == "1" and counts["浙江"] == "1" and counts["北京"] == "0"
    assert "<title>广东省：1 条待处理窜货</title>" in page and 'data-testid="alert-map-legend"' in page
    assert 'data-testid="alert-map"' not in await (await c.client.get("/console/alerts?kind=fraud")).text()
    c.client.session.cookie_jar.clear()
    assert (await c.login("sw")).status == 303
    page = await (await c.client.get("/console/alerts")).text()
    counts = dict(re.findall(r'data-province="([^"]+)" data-count="(\d+)"', page))
    assert counts["广东"] == "1" and counts["浙江"] == "0"  # EC's alert is not his
