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


# deadlines: a Redis that stops answering, drops the connection or is down -------------------
@pytest.fixture
async def relay():
    from tests.redis_relay import RedisRelay

    relay = await RedisRelay(REDIS_URL).start()
    yield relay
    await relay.close()


async def test_a_silent_redis_fails_every_waiting_command_in_time_and_the_next_reconnects(
    relay, redis_prefix
):
    from redis.exceptions import TimeoutError as RedisTimeoutError

    mux = MuxRedis(relay.url, command_timeout=0.3, connect_timeout=0.3)
    try:
        assert await mux.execute("SET", f"{redis_prefix}a", "1") in (b"OK", True)
        relay.silent = True
        loop = asyncio.get_running_loop()
        began = loop.time()
        waiting = [mux.execute("INCR", f"{redis_prefix}n") for _ in range(20)]
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, RedisTimeoutError) for r in results), results
        assert loop.time() - began < 1.0
        many = await mux.execute_many([("GET", f"{redis_prefix}a"), ("GET", f"{redis_prefix}a")])
        assert all(isinstance(r, RedisTimeoutError) for r in many)  # still silent: in place, in time
        relay.silent = False
        # the dead connection was given up: the next command opens a new one and works
        assert await mux.execute("GET", f"{redis_prefix}a") == b"1"
    finally:
        await mux.aclose()


async def test_a_dropped_or_refused_redis_fails_fast_and_comes_back(relay, redis_prefix):
    mux = MuxRedis(relay.url, command_timeout=0.5, connect_timeout=0.5)
    try:
        assert await mux.execute("SET", f"{redis_prefix}b", "2") in (b"OK", True)
        await relay.refuse()
        with pytest.raises(RedisConnectionError):
            await mux.execute("GET", f"{redis_prefix}b")
        with pytest.raises(RedisConnectionError):  # connection refused: no hang either
            await mux.execute("GET", f"{redis_prefix}b")
        await relay.accept()
        assert await mux.execute("GET", f"{redis_prefix}b") == b"2"
    finally:
        await mux.aclose()


async def test_redis_py_clients_get_the_deadlines_from_settings(relay, redis_prefix):
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from bot.redis import connect

    client, stand_in = await connect(relay.url, socket_timeout=0.3, socket_connect_timeout=0.3)
    try:
        assert not stand_in
        kwargs = client.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.3, 0.3)
        relay.silent = True
        began = asyncio.get_running_loop().time()
        with pytest.raises(RedisTimeoutError):
            await client.get(f"{redis_prefix}x")
        assert asyncio.get_running_loop().time() - began < 1.0
        relay.silent = False
        await client.set(f"{redis_prefix}x", "3")
        assert await client.get(f"{redis_prefix}x") == b"3"
    finally:
        await client.aclose()
