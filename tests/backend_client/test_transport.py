"""The one _request chokepoint: timeouts, retries only where safe with jittered backoff, typed errors."""

from __future__ import annotations

import time

import aiohttp
import pytest

from backend_client import (
    BackendUnavailable,
    CoreClient,
    NotFound,
    ProtocolError,
    RetryPolicy,
    Timeouts,
)
from tests.backend_client.scripted import Scripted

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
UNAVAILABLE = (503, '{"error": {"code": "busy", "message": "busy", "details": {}}}', 0.0)
REGIONS = (200, '{"items": [{"id": 1, "code": "EAST", "name": "华东"}]}', 0.0)


@pytest.fixture
async def scripted(aiohttp_server):
    async def start(*answers, retry=FAST, timeouts=Timeouts(connect=1, total=2), **kw):
        script = Scripted(list(answers))
        server = await aiohttp_server(script.app())
        session = aiohttp.ClientSession()
        sessions.append(session)
        client = CoreClient(session, str(server.make_url("")), "key", retry=retry, timeouts=timeouts, **kw)
        return script, client

    sessions: list[aiohttp.ClientSession] = []
    yield start
    for session in sessions:
        await session.close()


async def test_a_get_is_retried_through_503s(scripted):
    script, client = await scripted(UNAVAILABLE, UNAVAILABLE, REGIONS)
    regions = await client.org.regions()
    assert [r.code for r in regions] == ["EAST"]
    assert len(script.seen) == 3 and client.stats.retries == 2
    assert script.seen[0][2]["Authorization"] == "Bearer key"


async def test_a_post_without_an_idempotency_key_is_never_retried(scripted):
    script, client = await scripted(UNAVAILABLE, REGIONS)
    with pytest.raises(BackendUnavailable):
        await client._request("POST", "/v1/things", json={})
    assert len(script.seen) == 1


async def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(scripted):
    order = '{"error": {"code": "out_of_stock", "message": "m", "details": {"lines": []}}}'
    script, client = await scripted(UNAVAILABLE, UNAVAILABLE, (422, order, 0.0))
    with pytest.raises(Exception) as refused:
        await client._request("POST", "/v1/orders", json={"x": 1}, idempotency_key="order-77")
    assert type(refused.value).__name__ == "OutOfStock"
    assert [headers["Idempotency-Key"] for _, _, headers in script.seen] == ["order-77"] * 3


async def test_a_500_is_not_retried_and_a_404_is_typed(scripted):
    script, client = await scripted(
        (500, "{}", 0.0), (404, '{"error": {"code": "not_found", "message": "x"}}', 0.0)
    )
    with pytest.raises(BackendUnavailable) as crashed:
        await client.org.regions()
    assert crashed.value.status == 500 and len(script.seen) == 1
    with pytest.raises(NotFound):
        await client.org.store(5)
    assert len(script.seen) == 2


async def test_each_attempt_has_a_total_timeout(scripted):
    script, client = await scripted((200, "{}", 1.0), timeouts=Timeouts(connect=1, total=0.2))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as slow:
        await client.org.regions()
    assert "Timeout" in str(slow.value)
    assert len(script.seen) == 3 and time.monotonic() - started < 1.5


async def test_the_retry_budget_stops_retrying_early(scripted):
    budget = RetryPolicy(attempts=10, base_delay=0.2, max_delay=0.2, budget=0.25)
    script, client = await scripted((200, "{}", 0.15), timeouts=Timeouts(connect=1, total=0.1), retry=budget)
    with pytest.raises(BackendUnavailable):
        await client.org.regions()
    assert len(script.seen) < 4


async def test_an_unreadable_answer_is_a_protocol_error(scripted):
    _, client = await scripted((200, "<html>", 0.0), (200, '{"items": [{"id": "x"}]}', 0.0))
    with pytest.raises(ProtocolError):
        await client.org.regions()
    with pytest.raises(ProtocolError) as wrong:
        await client.org.regions()
    assert "$.items[0]" in str(wrong.value)


def test_full_jitter_is_bounded():
    policy = RetryPolicy(base_delay=0.1, max_delay=0.5)
    assert all(0 <= policy.delay(n) <= min(0.5, 0.1 * 2**n) for n in range(6) for _ in range(100))
