"""The Redis cart: versions, merging, compare-and-set, the TTL, concurrent changes (real Redis)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bot.ordering.cart import CartStore
from bot.ordering.checkout import idempotency_key
from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.ordering.views import CartLine
from bot.redis import Keys
from tests.conftest import REDIS_URL

FT = CartLine("MT-FT-53-500", "飞天", 2, 0, 12)
PW = CartLine("WLY-PW8-52-500", "普五", 3, 0, 6)


@pytest.fixture
async def carts(redis_prefix):
    client = aioredis.from_url(REDIS_URL)
    yield CartStore(client, Keys(redis_prefix), ttl=600)
    await client.aclose()


async def test_lines_add_up_and_every_change_moves_the_version(carts):
    first = await carts.add(1, 7, 100, [FT])
    second = await carts.add(1, 7, 100, [FT, PW])
    assert (first.version, second.version) == (1, 2)
    assert first.id == second.id
    assert [(li.sku, li.cases, li.total_bottles) for li in second.lines] == [
        ("MT-FT-53-500", 4, 48),
        ("WLY-PW8-52-500", 3, 18),
    ]
    assert idempotency_key(1, first) != idempotency_key(1, second)
    assert idempotency_key(1, second) == idempotency_key(1, await carts.get(1, 7))


async def test_an_emptied_cart_starts_again_with_a_new_id_and_a_higher_version(carts):
    old = await carts.add(1, 7, 100, [FT])
    await carts.clear(1, 7)
    new = await carts.add(1, 7, 100, [FT])
    assert new.id != old.id and new.version > old.version
    assert idempotency_key(1, new) != idempotency_key(1, old)


async def test_a_stale_version_is_refused_not_overwritten(carts):
    cart = await carts.add(1, 7, 100, [FT])
    await carts.add(1, 7, 100, [PW])
    with pytest.raises(ChatOrderingError) as caught:
        await carts.set_line(1, 7, 100, CartLine(FT.sku, FT.name, 9, 0, 12), expect=cart.version)
    assert caught.value.code == ChatErrorCode.CART_CHANGED
    assert (await carts.get(1, 7)).line(FT.sku).cases == 2


async def test_concurrent_adds_lose_nothing(carts):
    await asyncio.gather(*(carts.add(1, 7, 100, [CartLine(FT.sku, FT.name, 1, 0, 12)]) for _ in range(20)))
    cart = await carts.get(1, 7)
    assert cart.line(FT.sku).cases == 20 and cart.version == 20


async def test_set_zero_removes_and_bump_keeps_lines(carts):
    await carts.add(1, 7, 100, [FT, PW])
    cart = await carts.set_line(1, 7, 100, CartLine(PW.sku, PW.name, 0, 0, 6))
    assert [li.sku for li in cart.lines] == [FT.sku]
    bumped = await carts.bump(1, 7, 100)
    assert bumped.lines == cart.lines and bumped.version == cart.version + 1 and bumped.id == cart.id


async def test_the_cart_survives_for_its_ttl_only(carts):
    await carts.add(1, 7, 100, [FT])
    ttl = await carts.redis.ttl(carts._key(1, 7))
    assert 590 <= ttl <= 600


async def test_a_cart_for_another_store_is_replaced(carts):
    old = await carts.add(1, 7, 100, [FT])
    new = await carts.add(1, 7, 200, [PW])
    assert new.id != old.id and [li.sku for li in new.lines] == [PW.sku] and new.core_store_id == 200
