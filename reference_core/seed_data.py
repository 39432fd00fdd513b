"""Demo data for ``jiubot core seed``: the catalog file, cities, names, and search text."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml
from pypinyin import Style, lazy_pinyin

CATALOG = Path(__file__).with_name("data") / "catalog.yaml"

REGIONS = [("EAST", "华东营销中心"), ("SOUTH", "华南营销中心")]

# city, region, centre (lat, lng), districts
CITIES = [
    ("上海", "EAST", (31.23, 121.47), ["静安", "徐汇", "浦东", "杨浦", "闵行", "长宁"]),
    ("杭州", "EAST", (30.27, 120.15), ["西湖", "上城", "拱墅", "滨江"]),
    ("南京", "EAST", (32.06, 118.80), ["鼓楼", "玄武", "建邺", "秦淮"]),
    ("苏州", "EAST", (31.30, 120.62), ["姑苏", "工业园区", "吴中"]),
    ("广州", "SOUTH", (23.13, 113.26), ["天河", "越秀", "海珠", "番禺"]),
    ("深圳", "SOUTH", (22.54, 114.06), ["福田", "南山", "罗湖", "宝安"]),
    ("佛山", "SOUTH", (23.02, 113.12), ["禅城", "南海", "顺德"]),
    ("东莞", "SOUTH", (23.02, 113.75), ["南城", "东城", "长安"]),
]

WAREHOUSES = [
    ("WH-SH", "上海嘉定仓", "上海", 31.38, 121.25),
    ("WH-HZ", "杭州萧山仓", "杭州", 30.18, 120.26),
    ("WH-NJ", "南京江宁仓", "南京", 31.95, 118.84),
    ("WH-GZ", "广州白云仓", "广州", 23.28, 113.27),
    ("WH-SZ", "深圳龙岗仓", "深圳", 22.72, 114.25),
    ("WH-CD", "成都双流仓", "成都", 30.58, 103.92),
]

DISTRIBUTORS = [
    ("D-SH-01", "上海百川酒业有限公司", "EAST", "上海"),
    ("D-HZ-01", "杭州钱塘名酒贸易有限公司", "EAST", "杭州"),
    ("D-NJ-01", "南京金陵酒业商贸有限公司", "EAST", "南京"),
    ("D-GZ-01", "广州粤海酒业有限公司", "SOUTH", "广州"),
    ("D-SZ-01", "深圳鹏城名酒供应链有限公司", "SOUTH", "深圳"),
    ("D-FS-01", "佛山禅意酒业有限公司", "SOUTH", "佛山"),
]

STORE_KINDS = [
    ("tobacco_liquor", ["名烟名酒", "烟酒行", "烟酒商行"]),
    ("liquor_shop", ["酒行", "名酒坊", "酒业"]),
    ("restaurant", ["酒家", "私房菜", "大排档"]),
    ("supermarket", ["超市", "便利店"]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
SHOP_WORDS = "福禄寿喜鑫隆盛兴旺和顺德聚源丰泰"

# Owners whose phones are known, so chat binding can be shown: the first five stores have one each,
# and the sixth phone owns two stores (a chain owner picks which store to bind).
KNOWN_PHONES = [
    "13800000001",
    "13800000002",
    "13800000003",
    "13800000004",
    "13800000005",
    "13800000006",
    "13800000006",
]

TIERS = [("strategic", 0.1, 200_000_000), ("core", 0.3, 50_000_000), ("potential", 0.6, 10_000_000)]


def load_catalog(path: Path | None = None) -> list[dict[str, Any]]:
    with (path or CATALOG).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    products = document["products"] if isinstance(document, dict) else document
    return [p for p in products if isinstance(p, dict) and p.get("sku")]


def search_text(product: dict[str, Any]) -> str:
    """Lower-cased words a search may hit, with pinyin (full and initials) of the Chinese ones:
    "<name, SKU, aliases and their pinyin> | <brand, series and their pinyin>". Search ranks a hit
    in the first part above one in the second (``飞天`` is an alias of one SKU, the series of many)."""

    def with_pinyin(words: list[str]) -> list[str]:
        out = list(words)
        for word in words:
            if any("\u4e00" <= ch <= "\u9fff" for ch in word):
                out.append("".join(lazy_pinyin(word)).replace(" ", ""))
                out.append("".join(lazy_pinyin(word, style=Style.FIRST_LETTER)).replace(" ", ""))
        return out

    own = with_pinyin(
        [str(product["sku"]), str(product["name"]), *[str(a) for a in product.get("aliases") or []]]
    )
    shared = with_pinyin([str(product.get("brand") or ""), str(product.get("series") or "")])
    return (" ".join(own) + " | " + " ".join(w for w in shared if w)).lower()[:2000]


def store_name(rng: random.Random, city: str, district: str) -> tuple[str, str]:
    kind, suffixes = rng.choice(STORE_KINDS)
    word = rng.choice(SHOP_WORDS) + rng.choice(SHOP_WORDS)
    return kind, f"{city}{district}{word}{rng.choice(suffixes)}"


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def phone(rng: random.Random) -> str:
    return rng.choice(["139", "138", "137", "136", "135", "150", "151", "158", "186", "188"]) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


def tier(rng: random.Random) -> tuple[str, int]:
    roll = rng.random()
    for name, share, credit in TIERS:
        if roll < share:
            return name, credit
        roll -= share
    return TIERS[-1][0], TIERS[-1][2]
