"""The multiplexed hot-path connection against a real Redis: ordering under concurrency, errors
in place, NOSCRIPT recovery, and reconnecting after the server drops the connection."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.redis_mux import ClientMux, MuxRedis, Script
from tests.conftest import REDIS_URL


@pytest.fixture
async def mux():
    client = MuxRedis(REDIS_URL)
    yield client
    await client.aclose()


async def test_concurrent_commands_get_their_own_replies(mux, redis_prefix):
    async def one(i: int) -> bytes:
        await mux.execute("SET", f"{redis_prefix}k{i}", f"v{i}")
        return await mux.execute("GET", f"{redis_prefix}k{i}")

    values = await asyncio.gather(*(one(i) for i in range(500)))
    assert values == [f"v{i}".encode() for i in range(500)]


async def test_errors_come_back_in_place(mux, redis_prefix):
    key = f"{redis_prefix}list"
    await mux.execute("RPUSH", key, "a")
    results = await mux.execute_many([("GET", key), ("LLEN", key), ("INCR", key)])
    assert isinstance(results[0], ResponseError)  # WRONGTYPE
    assert results[1] == 1
    assert isinstance(results[2], ResponseError)
    with pytest.raises(ResponseError):
        await mux.execute("GET", key)


async def test_script_survives_a_flushed_script_cache(mux, redis_prefix, redis_client):
    script = Script(mux, "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script([f"{redis_prefix}n"], [2]) == 2
    await redis_client.script_flush()
    assert await script([f"{redis_prefix}n"], [3]) == 5


async def test_reconnects_after_the_server_kills_the_connection(mux, redis_prefix, redis_client):
    name = f"jiubot-mux-test-{redis_prefix.replace(':', '-')}"
    await mux.execute("CLIENT", "SETNAME", name)
    # a command in flight when the connection dies fails loudly instead of hanging
    in_flight = asyncio.ensure_future(mux.execute("BLPOP", f"{redis_prefix}never", 5))
    await asyncio.sleep(0.05)
    [ours] = [c for c in await redis_client.client_list() if c.get("name") == name]
    await redis_client.client_kill_filter(_id=ours["id"])
    with pytest.raises(RedisConnectionError):
        await asyncio.wait_for(in_flight, 2)
    # and the next command reconnects
    assert await mux.execute("SET", f"{redis_prefix}after", "1") in (b"OK", True)
    assert await mux.execute("GET", f"{redis_prefix}after") == b"1"


async def test_client_mux_speaks_the_same_interface(redis_client, redis_prefix):
    fallback = ClientMux(redis_client)
    script = Script(fallback, "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script([f"{redis_prefix}c"], [4]) == 4
    results = await fallback.execute_many([("INCR", f"{redis_prefix}c"), ("GET", f"{redis_prefix}c")])
    assert results == [5, b"5"]


def test_dedupe_keys_are_the_keys_everyone_else_builds():
    from bot.redis import Keys
    from bot.wechat.dedupe import Dedupe

    keys = Keys("p:")
    dedupe = Dedupe(ClientMux(None), keys, inflight_ttl=1, done_ttl=1, lock_ttl=1, nonce_ttl=1)
    assert dedupe.member_key("wx", "o") == keys("member", "wx", "o")
    assert dedupe.flow_key("wx", "o") == keys("flow", "wx", "o")
    assert dedupe.lock_key("wx", "o") == keys("lock", "wx", "o")
    assert dedupe.lease_key("wx", "m:1") == keys("lease", "wx", "m:1")
    assert dedupe.nonce_key("wx", "1", "2") == keys("nonce", "wx", "1", "2")
