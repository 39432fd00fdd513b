"""Seed: a realistic tenant from the catalog file, idempotent, usable at once through the API."""

from __future__ import annotations

from sqlalchemy import select

from bot.cli import main as jiubot
from reference_core.models import (
    CouponCampaign,
    Inventory,
    Order,
    OrderEvent,
    Product,
    Promotion,
    Store,
    Warehouse,
)
from reference_core.seed import seed_core
from reference_core.seed_data import KNOWN_PHONES, load_catalog
from tests.reference_core.helpers import Api, Db, line


async def counts(db: Db) -> dict[str, int]:
    return {
        model.__name__: await db.count(model)
        for model in (Product, Warehouse, Store, Inventory, Promotion, CouponCampaign, Order, OrderEvent)
    }


async def test_seed_twice_keeps_data_and_duplicates_nothing(core_db_url):
    first = await seed_core(core_db_url, stores=30, orders_per_store=2)
    db = Db(core_db_url)
    before = await counts(db)
    second = await seed_core(core_db_url, stores=30, orders_per_store=2)

    assert await counts(db) == before
    assert second.api_keys == first.api_keys and first.api_keys[0].startswith("core_")
    assert (first.orders_created, second.orders_created) == (60, 0)
    assert before["Product"] == len(load_catalog()) and before["Warehouse"] == 6 and before["Store"] == 30
    assert before["Promotion"] == 6 and before["CouponCampaign"] == 2
    kinds = set(await db.all(select(Promotion.kind)))
    assert kinds == {"full_reduction", "full_gift", "discount", "flash_sale", "group_buy", "auction"}


async def test_seed_tops_up_more_stores_and_keeps_a_given_key(core_db_url):
    await seed_core(core_db_url, stores=10, orders_per_store=1, api_key="given-key-0123456789")
    result = await seed_core(core_db_url, stores=15, orders_per_store=1, api_key="given-key-0123456789")
    assert result.api_keys == ("given-key-0123456789",)
    assert result.store_count == 15 and result.orders_created == 5  # history for the five new stores only


async def test_known_owner_phones_bind_and_a_seeded_store_can_reorder(core_db_url, start_core, http):
    result = await seed_core(core_db_url, stores=12, orders_per_store=2, api_key="test-key-0123456789")
    assert [s.owner_phone for s in result.stores] == KNOWN_PHONES
    base, _ = await start_core(core_db_url)
    api = Api(http, base)

    _, bound = await api.get("/v1/stores?owner_phone=13800000006")
    assert [s["code"] for s in bound["items"]] == ["S0006", "S0007"]  # one owner, two stores

    store = result.stores[0].id
    _, history = await api.get(f"/v1/stores/{store}/orders?limit=1")
    last = history["items"][0]
    assert last["status"] == "delivered" and last["source"] == "seed"
    assert [e["status"] for e in last["timeline"]][:3] == ["created", "allocated", "shipped"]
    reorder = [line(item["sku"], bottles=item["bottles"], cases=item["cases"]) for item in last["lines"]]
    status, quote = await api.post("/v1/quotes", {"store_id": store, "lines": reorder})
    assert status == 200
    assert {p["kind"] for p in quote["promotions"]} >= {"full_gift"}  # every cart is measured against 满赠
    _, found = await api.get("/v1/products?q=feitian&limit=1")
    assert found["items"][0]["sku"] == "MT-FT-53-500"


def test_jiubot_core_seed_from_the_command_line(core_sqlite_url, capsys):
    assert jiubot(["core", "seed", "--db", core_sqlite_url, "--stores", "8", "--orders-per-store", "1"]) == 0
    out = capsys.readouterr().out
    assert "8 stores, 8 history orders added" in out
    assert "api key: core_" in out and "13800000001" in out


def test_jiubot_core_openapi_prints_the_contract(capsys):
    assert jiubot(["core", "openapi"]) == 0
    assert capsys.readouterr().out.startswith("openapi: 3.1.0")
