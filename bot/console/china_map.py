"""A tile-grid map of China's 34 provincial divisions for the alerts page: one square per
province, placed by hand on an 8 x 9 grid so that neighbours stay neighbours (west to east by
longitude, north to south by latitude), shaded by its count of open diversion alerts.

A tile grid rather than real borders: the boundary data is not shipped with jiubot, and a grid
gives Beijing or Macao as much room as Xinjiang, which is what a count per province needs. The
template draws it as inline SVG on the server (no script, no download)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.membership.geo import province_name
from bot.membership.geo_data import PROVINCES

# short name -> (column, row); every key of geo_data.PROVINCES appears once (a test checks)
LAYOUT: dict[str, tuple[int, int]] = {
    "黑龙江": (7, 0),
    "内蒙古": (4, 1), "吉林": (7, 1),
    "新疆": (0, 2), "甘肃": (2, 2), "宁夏": (3, 2), "北京": (5, 2), "辽宁": (6, 2),
    "青海": (1, 3), "陕西": (3, 3), "山西": (4, 3), "河北": (5, 3), "天津": (6, 3),
    "西藏": (0, 4), "四川": (2, 4), "河南": (4, 4), "山东": (5, 4), "江苏": (6, 4),
    "重庆": (3, 5), "湖北": (4, 5), "安徽": (5, 5), "上海": (7, 5),
    "云南": (2, 6), "贵州": (3, 6), "湖南": (4, 6), "江西": (5, 6), "浙江": (6, 6),
    "广西": (3, 7), "广东": (4, 7), "福建": (5, 7), "台湾": (7, 7),
    "海南": (3, 8), "澳门": (4, 8), "香港": (5, 8),
}  # fmt: skip
COLUMNS, ROWS = 8, 9
LEVELS = 5  # shades above zero


@dataclass(frozen=True)
class Tile:
    short: str  # 广东
    name: str  # 广东省
    col: int
    row: int
    count: int
    level: int  # 0 = none, 1..LEVELS by share of the largest count


@dataclass(frozen=True)
class Band:
    level: int
    low: int
    high: int


@dataclass(frozen=True)
class ChinaMap:
    tiles: tuple[Tile, ...]
    legend: tuple[Band, ...]  # the shades actually reachable with these counts
    unplaced: int  # alerts whose province is unknown (not on the map)
    top: int
    columns: int = COLUMNS
    rows: int = ROWS


def _short(name: str) -> str | None:
    full = province_name(name)
    if full is None:
        return None
    return next(short for short, official in PROVINCES.items() if official == full)


def build(counts: Iterable[tuple[str, int]]) -> ChinaMap:
    """The map of ``(province, count)`` pairs, names short or official."""
    per: dict[str, int] = {}
    unplaced = 0
    for name, count in counts:
        short = _short(name or "")
        if short is None:
            unplaced += count
        else:
            per[short] = per.get(short, 0) + count
    top = max(per.values(), default=0)

    def level(n: int) -> int:
        return 0 if n <= 0 or top == 0 else max(1, -(-LEVELS * n // top))  # ceil, 1..LEVELS

    tiles = tuple(
        Tile(short, PROVINCES[short], col, row, per.get(short, 0), level(per.get(short, 0)))
        for short, (col, row) in LAYOUT.items()
    )
    legend = []
    for lv in range(1, LEVELS + 1):
        low, high = (top * (lv - 1)) // LEVELS + 1, (top * lv) // LEVELS
        if top and low <= high:
            legend.append(Band(lv, low, high))
    return ChinaMap(tiles, tuple(legend), unplaced, top)
