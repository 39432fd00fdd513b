"""Order intents against the real core: one order per key under concurrency, refusals, a core
that is down, the retry worker, and the push of a late result."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.db import session_scope
from bot.ordering.models import OrderIntent
from bot.ordering.placing import Submission
from reference_core.app import CONFIG
from tests.ordering_flows.conftest import STORE, start_core


def _sub(key: str, tenant: int, *, bottles: int = 6, member: int | None = None) -> Submission:
    body = {
        "store_id": STORE["id"],
        "lines": [{"sku": "WLY-PW8-52-500", "cases": 0, "bottles": bottles}],
        "note": "",
    }
    return Submission(tenant, member, "", "", "chat", key, body)


async def _intents(bot) -> int:
    async with session_scope(bot.services.sessions) as session:
        return await session.scalar(select(func.count()).select_from(OrderIntent))


async def test_the_same_key_placed_concurrently_creates_one_intent_and_one_order(bot_factory):
    bot = await bot_factory()
    tenant = await bot.tenant_id()
    before = len(await bot.core_orders())
    results = await asyncio.gather(
        *(bot.runtime.placer.place(_sub("jb-same", tenant), budget=5) for _ in range(6))
    )
    placed = [r for r in results if r.status == "placed"]
    assert {r.order_id for r in placed} == {placed[0].order_id} and placed
    assert all(r.status in ("placed", "pending") for r in results)
    assert await _intents(bot) == 1
    await asyncio.sleep(0.5)
    assert len(await bot.core_orders()) == before + 1
    again = await bot.runtime.placer.place(_sub("jb-same", tenant), budget=5)
    assert (again.status, again.order_id, again.replayed) == ("placed", placed[0].order_id, True)


async def test_a_refusal_is_final_and_carries_the_cores_reason(bot_factory):
    bot = await bot_factory()
    tenant = await bot.tenant_id()
    result = await bot.runtime.placer.place(_sub("jb-huge", tenant, bottles=99_000), budget=5)
    assert result.status == "refused"
    assert result.error_code in ("out_of_stock", "credit_limit_exceeded")
    assert result.details
    again = await bot.runtime.placer.place(_sub("jb-huge", tenant, bottles=99_000), budget=5)
    assert again.status == "refused" and again.replayed


async def test_with_the_core_down_the_intent_waits_and_the_worker_places_it_later(
    bot_factory, unused_tcp_port
):
    bot = await bot_factory(core_url=f"http://127.0.0.1:{unused_tcp_port}")
    tenant = await bot.tenant_id()
    pushed: list = []

    async def on_settled(intent, result):
        pushed.append((intent.id, result.status, result.number))

    bot.runtime.placer.on_settled = on_settled
    first = await bot.runtime.placer.place(_sub("jb-later", tenant, member=None), budget=1)
    assert first.status == "pending"
    assert await bot.runtime.placer.retry_due() == 0  # not due yet (backoff)
    # the core comes up on the address jiubot knows
    core = await start_core(bot.core.app[CONFIG].database_url, port=unused_tcp_port)
    try:
        for _ in range(100):
            await bot.runtime.placer.retry_due()
            if pushed:
                break
            await asyncio.sleep(0.1)
        assert [p[1] for p in pushed] == ["placed"]
        status = await bot.runtime.placer.status(tenant, "jb-later", core_store_id=None)
        assert status.status == "placed" and status.number == pushed[0][2]
        assert await bot.runtime.placer.retry_due() == 0  # settled: never tried again
    finally:
        await core.runner.cleanup()
