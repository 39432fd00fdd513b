"""Idempotency-Key: same key and body -> the first outcome; another body -> 409; races -> one effect."""

from __future__ import annotations

import asyncio

from reference_core.models import IdempotencyRecord, Order
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.world import build_world

FT = "MT-FT-53-500"


async def test_the_same_key_and_body_returns_the_first_order(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    body = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2)]}

    s1, first, h1 = await api.call("POST", "/v1/orders", body, "same")
    # the same request with its keys in another order is the same request
    reordered = {"lines": [{"bottles": 2, "cases": 0, "sku": FT}], "store_id": body["store_id"]}
    s2, second, h2 = await api.call("POST", "/v1/orders", reordered, "same")

    assert (s1, s2) == (201, 201)
    assert second == first
    assert "Idempotent-Replayed" not in h1 and h2["Idempotent-Replayed"] == "true"
    assert await db.count(Order) == 1
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 2)


async def test_the_same_key_with_another_body_is_409_and_changes_nothing(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    store = world.stores["S-SH-1"]
    await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=2)]}, "k")

    status, error = await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=3)]}, "k")

    assert status == 409
    assert error["error"]["code"] == "idempotency_key_reused"
    assert await db.count(Order) == 1
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 2)


async def test_keys_are_scoped_per_operation(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api = Api(http, base)
    status, _ = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "k"
    )
    campaign = await create_campaign(api)
    claimed, _ = await api.post(
        f"/v1/coupon-campaigns/{campaign}/claims", {"holder_type": "consumer", "holder_id": "m1"}, "k"
    )
    assert (status, claimed) == (201, 201)


async def test_a_refusal_is_the_final_answer_for_its_key(core_db_url, start_core, http):
    world = await build_world(core_db_url, stock={("WH-SH", FT): 1})
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    body = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=2)]}
    s1, refused = await api.post("/v1/orders", body, "attempt-1")
    await api.call(
        "PUT", "/v1/admin/inventory", {"warehouse_id": world.warehouses["WH-SH"], "sku": FT, "on_hand": 10}
    )

    s2, replay, headers = await api.call("POST", "/v1/orders", body, "attempt-1")
    s3, _placed = await api.post("/v1/orders", body, "attempt-2")

    assert (s1, s2, s3) == (422, 422, 201)
    assert replay == refused and headers["Idempotent-Replayed"] == "true"
    assert await db.count(Order) == 1


async def test_a_key_is_required_to_place_an_order(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    status, error = await api.post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}
    )
    assert status == 400 and error["error"]["code"] == "idempotency_key_required"
    assert await db.count(Order) == 0


async def test_concurrent_retries_with_one_key_create_one_order(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    body = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}

    results = await asyncio.gather(*(api.call("POST", "/v1/orders", body, "storm") for _ in range(30)))

    assert {status for status, _, _ in results} == {201}
    assert len({order["id"] for _, order, _ in results}) == 1
    assert sum(1 for _, _, h in results if "Idempotent-Replayed" not in h) == 1
    assert await db.count(Order) == 1
    assert await db.count(IdempotencyRecord) == 1
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 1)


async def test_concurrent_same_key_different_bodies_one_wins_the_rest_conflict(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    api, db = Api(http, base), Db(core_db_url)
    store = world.stores["S-SH-1"]

    results = await asyncio.gather(
        *(
            api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=n)]}, "mixed")
            for n in range(1, 11)
        )
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 9
    winners = {body["lines"][0]["quantity"] for status, body in results if status == 201}
    assert len(winners) == 1
    assert await db.count(Order) == 1


async def create_campaign(api: Api, **overrides) -> int:
    body = {
        "name": "测试券",
        "kind": "amount_off",
        "amount_off_fen": 1000,
        "audience": "consumers",
        "claim_starts_at": "2020-01-01T00:00:00Z",
        "claim_ends_at": "2099-01-01T00:00:00Z",
        "valid_days": 30,
        "valid_until": "2099-01-01T00:00:00Z",
        "total_stock": 100,
        "per_holder_limit": 1,
    }
    body.update(overrides)
    status, campaign = await api.post("/v1/coupon-campaigns", body)
    assert status == 201, campaign
    return campaign["id"]
