"""The circuit breaker: opens after consecutive failures, fails fast while open, lets one trial
through after the timeout, closes on its success."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from backend_client import BackendUnavailable, BreakerState, CircuitBreaker, CoreClient, RetryPolicy, Timeouts
from reference_core.app import create_core_app
from tests.reference_core.helpers import core_config
from tests.reference_core.world import API_KEY, build_world


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_states_with_a_manual_clock():
    clock = Clock()
    changes = []
    breaker = CircuitBreaker(
        failure_threshold=3,
        reset_timeout=10,
        clock=clock,
        on_change=lambda old, new: changes.append((old.value, new.value)),
    )
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_after() == 10
    clock.now = 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # the trial failed: open again, for a full timeout
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.consecutive_failures == 0
    assert changes == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]


def test_a_success_resets_the_count():
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


async def test_the_breaker_opens_while_the_core_is_down_and_closes_when_it_is_back(
    core_sqlite_url, aiohttp_server
):
    world = await build_world(core_sqlite_url)
    server = await aiohttp_server(create_core_app(core_config(core_sqlite_url)))
    port = server.port
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=0.5)
    async with aiohttp.ClientSession() as session:
        client = CoreClient(
            session,
            str(server.make_url("")),
            API_KEY,
            breaker=breaker,
            retry=RetryPolicy(attempts=1),
            timeouts=Timeouts(connect=0.5, total=1),
        )
        assert (await client.org.store(world.stores["S-SH-1"])).code == "S-SH-1"

        await server.close()  # the core goes down
        for _ in range(3):
            with pytest.raises(BackendUnavailable):
                await client.org.regions()
        assert breaker.state is BreakerState.OPEN
        sent = client.stats.requests
        with pytest.raises(BackendUnavailable) as fast:
            await client.org.regions()
        assert "circuit open" in str(fast.value)
        assert client.stats.requests == sent and client.stats.rejected_by_breaker == 1  # nothing went out

        await aiohttp_server(create_core_app(core_config(core_sqlite_url)), port=port)  # back, same port
        await asyncio.sleep(0.6)
        assert breaker.state is BreakerState.HALF_OPEN
        assert [r.code for r in await client.org.regions()] == ["EAST", "SOUTH"]
        assert breaker.state is BreakerState.CLOSED
