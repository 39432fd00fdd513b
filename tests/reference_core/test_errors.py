"""Bad input: a 4xx with a stable code and message, never a 5xx, never a partial write."""

from __future__ import annotations

import aiohttp
import pytest

from reference_core.models import IdempotencyRecord, Order
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.world import OTHER_KEY, build_world

FT = "MT-FT-53-500"


@pytest.fixture
async def env(core_db_url, start_core, http):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    return world, Api(http, base), Db(core_db_url), base


async def test_auth_is_required_and_checked(env):
    _world, _api, _, base = env
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{base}/v1/regions") as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "unauthorized"
        async with anonymous.get(f"{base}/v1/regions", headers={"Authorization": "Bearer nope"}) as r:
            assert (r.status, (await r.json())["error"]["message"]) == (401, "unknown API key")
        async with anonymous.get(f"{base}/healthz") as r:
            assert r.status == 200


async def test_tenants_are_isolated(env):
    world, api, db, _base = env
    store = world.stores["S-SH-1"]
    _, order = await api.post("/v1/orders", {"store_id": store, "lines": [line(FT, bottles=1)]}, "iso")
    other = {"Authorization": f"Bearer {OTHER_KEY}"}
    assert (await api.get(f"/v1/stores/{store}", headers=other))[0] == 404
    assert (await api.get(f"/v1/orders/{order['id']}", headers=other))[0] == 404
    assert (await api.get(f"/v1/products/{FT}", headers=other))[0] == 404
    status, error = await api.post(
        "/v1/orders", {"store_id": store, "lines": [line(FT, bottles=1)]}, "iso", headers=other
    )
    assert status == 404 and error["error"]["details"] == {"resource": "store", "id": str(store)}
    assert await db.count(Order) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": [{"sku": FT, "bottles": 1}]}, "store_id"),
        ({"store_id": 1, "lines": []}, "lines"),
        ({"store_id": 1, "lines": [{"sku": FT}]}, "lines[0]"),
        ({"store_id": 1, "lines": [{"sku": FT, "bottles": -1}]}, "lines[0].bottles"),
        ({"store_id": 1, "lines": [{"sku": FT, "bottles": "2"}]}, "lines[0].bottles"),
        ({"store_id": 1, "lines": [{"sku": FT, "bottles": 1.5}]}, "lines[0].bottles"),
        ({"store_id": 2**70, "lines": [{"sku": FT, "bottles": 1}]}, "store_id"),
        ({"store_id": 1, "lines": [{"sku": "飞天\u0000", "bottles": 1}]}, "lines[0].sku"),
        ({"store_id": 1, "lines": [{"sku": FT, "bottles": 1}], "note": "a\u0000b"}, "note"),
        ({"store_id": True, "lines": [{"sku": FT, "bottles": 1}]}, "store_id"),
    ],
)
async def test_invalid_order_bodies_name_the_field(env, body, field):
    _, api, db, _ = env
    status, error = await api.post("/v1/orders", body, "bad")
    assert status == 400
    assert error["error"]["code"] == "validation_failed"
    assert field in error["error"]["details"]["fields"]
    assert await db.count(Order) == 0
    assert await db.count(IdempotencyRecord) == 0  # a malformed request reserves no key


async def test_malformed_json_and_wrong_shapes(env):
    _, api, _, base = env
    for raw in (b"{", b"\xff\xfe", b"[1,2]", b"null", b'"x"', b'{"store_id": NaN}'):
        async with api.http.post(
            f"{base}/v1/quotes", data=raw, headers={"Content-Type": "application/json"}
        ) as r:
            assert r.status == 400, raw
            assert (await r.json())["error"]["code"] in {"invalid_json", "validation_failed"}


async def test_bad_path_and_query_parameters(env):
    _, api, _, _ = env
    for path in (
        "/v1/orders/abc",
        "/v1/orders/0",
        "/v1/orders/99999999999999999999",
        "/v1/stores/-1",
        "/v1/stores?limit=0",
        "/v1/stores?limit=abc",
        "/v1/stores?cursor=@@",
        "/v1/stores?cursor=cXg",
        "/v1/products?category=啤酒",
        "/v1/products?q=%00",
        "/v1/stores?owner_phone=abc",
    ):
        status, error = await api.get(path)
        assert status == 400, path
        assert error["error"]["code"] == "validation_failed"


async def test_unknown_things(env):
    world, api, _, _ = env
    assert (await api.get("/v1/nothing-here"))[0] == 404
    assert (await api.get("/v1/orders/12345"))[1]["error"]["code"] == "not_found"
    status, error = await api.post(
        "/v1/quotes", {"store_id": world.stores["S-SH-1"], "lines": [line("NOPE", bottles=1)]}
    )
    assert status == 422 and error["error"] == {
        "code": "product_unavailable",
        "message": "NOPE is not sold",
        "details": {"sku": "NOPE"},
    }
    async with api.http.delete(api.base + "/v1/regions") as r:
        assert r.status == 405 and (await r.json())["error"]["code"] == "method_not_allowed"


async def test_a_body_too_large_is_413(env):
    _, api, _, base = env
    huge = b'{"store_id": 1, "lines": [], "note": "' + b"x" * 300_000 + b'"}'
    async with api.http.post(
        f"{base}/v1/quotes", data=huge, headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 413
        assert (await r.json())["error"]["code"] == "payload_too_large"


async def test_duplicate_lines_are_refused(env):
    world, api, db, _ = env
    body = {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1), line(FT, cases=1)]}
    status, error = await api.post("/v1/orders", body, "dup")
    assert status == 400 and error["error"]["details"]["fields"] == {"lines[1].sku": "duplicate line"}
    assert await db.count(Order) == 0


async def test_admin_can_be_switched_off(core_db_url, start_core, http):
    await build_world(core_db_url)
    base, _ = await start_core(core_db_url, config={"admin_enabled": False})
    async with http.put(f"{base}/v1/admin/inventory", json={"warehouse_id": 1, "sku": FT, "on_hand": 1}) as r:
        assert r.status == 404 and (await r.json())["error"]["message"] == "the admin API is switched off"
