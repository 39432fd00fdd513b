"""The demo catalog file and the YAML catalog source."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.ordering.catalog_source import (
    DEMO_CATALOG_PATH,
    YamlCatalogSource,
    catalog_from_mapping,
    load_catalog,
)
from bot.ordering.errors import CatalogInvalid

REQUIRED = {
    "sku",
    "name",
    "brand",
    "series",
    "category",
    "aroma",
    "abv",
    "ml",
    "bottles_per_case",
    "bottles_per_pack",
    "aliases",
    "status",
    "base_price_fen",
    "image",
}


def test_the_demo_catalog_is_a_realistic_distributor_catalog():
    raw = yaml.safe_load(DEMO_CATALOG_PATH.read_text(encoding="utf-8"))
    products = raw["products"]
    assert 60 <= len(products) <= 90
    for p in products:
        assert set(p) >= REQUIRED, p["sku"]
        assert re.fullmatch(r"[A-Z0-9][A-Z0-9-]+", p["sku"]), p["sku"]
        assert p["category"] in {"白酒", "红酒", "精酿"}
        assert (p["aroma"] is None) == (p["category"] != "白酒"), p["sku"]
        assert isinstance(p["base_price_fen"], int) and p["base_price_fen"] > 0
        assert p["bottles_per_case"] >= 1 and p["bottles_per_pack"] >= 1
        assert p["status"] in {"active", "inactive"}
    assert len({p["sku"] for p in products}) == len(products)
    aliases = [a for p in products for a in p["aliases"]]
    assert len(set(aliases)) == len(aliases), "an alias must name one product"
    assert {p["category"] for p in products} == {"白酒", "红酒", "精酿"}
    assert any(p["status"] == "inactive" for p in products)


def test_loading_gives_frozen_entries_in_file_order():
    catalog = load_catalog()
    assert catalog.entries[0].sku == "MT-FT-53-500"
    feitian = catalog.entries[0]
    assert (feitian.bottles_per_case, feitian.bottles_per_pack, feitian.ml, feitian.abv) == (12, 2, 500, 53.0)
    assert "飞天" in feitian.aliases
    assert load_catalog() is catalog  # cached per file and modification time
    assert any(b.name == "茅台" and "贵州茅台" in b.aliases for b in catalog.brands)


@pytest.mark.parametrize(("category", "pack"), [("白酒", 2), ("红酒", 2), ("精酿", 6), ("黄酒", 2)])
def test_a_missing_pack_size_defaults_by_category(category, pack):
    catalog = catalog_from_mapping(
        {"products": [{"sku": "X-1", "name": "某酒", "category": category, "bottles_per_case": 6, "ml": 500}]}
    )
    assert catalog.entries[0].bottles_per_pack == pack


def test_a_broken_catalog_names_every_problem():
    with pytest.raises(CatalogInvalid) as caught:
        catalog_from_mapping(
            {
                "products": [
                    {"sku": "A", "name": "甲", "bottles_per_case": 6, "ml": 500},
                    {"sku": "A", "name": "乙", "bottles_per_case": 6, "ml": 500},
                    {"name": "丙", "bottles_per_case": 6, "ml": 500},
                    {"sku": "D", "name": "丁", "bottles_per_case": 0, "ml": 500},
                ]
            },
            "test.yaml",
        )
    assert caught.value.code == "catalog_invalid"
    assert len(caught.value.problems) == 3
    with pytest.raises(CatalogInvalid):
        catalog_from_mapping(["not", "a", "mapping"])


def test_a_missing_or_malformed_file_is_a_catalog_error(tmp_path):
    with pytest.raises(CatalogInvalid):
        load_catalog(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("products: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogInvalid):
        load_catalog(bad)


async def test_the_yaml_source_loads_for_any_store():
    catalog = await YamlCatalogSource().load("S-001")
    assert catalog is load_catalog(DEMO_CATALOG_PATH)
