"""``POST /core/webhook``: signatures, duplicates dropped, the store owner told, points recorded."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import orjson
from sqlalchemy import select, update

from backend_client import CoreError, signature
from bot.db import session_scope
from bot.membership.ledger_models import OrderPoints
from bot.ordering.models import CoreEvent
from bot.web import core_webhook
from tests.ordering_flows.conftest import HOOK_SECRET, STORE

OWNER = "o_hookowner_00000000000000001"


def _event(event_id: str, order, status: str, **extra) -> bytes:
    data = {
        "order_id": order.id,
        "number": order.number,
        "store_id": STORE["id"],
        "status": status,
        "previous_status": "allocated",
        "at": datetime.now(UTC).isoformat(),
        "location": "上海分拨中心",
        "carrier": "顺丰速运",
        "waybill": "SF1234567890",
        "eta": None,
        **extra,
    }
    created = datetime.now(UTC).isoformat()
    return orjson.dumps({"id": event_id, "type": "order.status_changed", "created_at": created, "data": data})


async def _post(bot, body: bytes, *, secret: str = HOOK_SECRET, ts: int | None = None):
    ts = ts or int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Core-Event-Id": "x",
        "X-Core-Event-Type": "order.status_changed",
        "X-Core-Timestamp": str(ts),
        "X-Core-Signature": signature(secret, ts, body),
    }
    resp = await bot.client.post("/core/webhook", data=body, headers=headers)
    return resp.status, await resp.json()


async def test_a_shipped_event_tells_the_owner_once_and_redeliveries_are_dropped(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    body = _event("evt_ship_1", order, "shipped")
    assert await _post(bot, body) == (200, {"status": "ok"})
    assert await _post(bot, body) == (200, {"status": "duplicate"})
    sent = [n for n in bot.notifier.notified if n[2].startswith("core-event:evt_ship_1")]
    assert len(sent) == 1
    recipient, purpose, _key, content = sent[0]
    assert recipient.openid == OWNER and purpose == "service"
    assert order.number in content["text"] and "顺丰速运 SF1234567890" in content["text"]
    async with session_scope(bot.services.sessions) as session:
        rows = (await session.execute(select(CoreEvent.event_id))).scalars().all()
    assert rows == ["evt_ship_1"]


async def test_statuses_store_owners_do_not_need_are_recorded_not_pushed(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    assert (await _post(bot, _event("evt_alloc", order, "allocated")))[0] == 200
    assert (await _post(bot, _event("evt_transit", order, "in_transit")))[0] == 200
    assert bot.notifier.notified == []


async def test_every_status_reaches_membership_ordering_points_once(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    await _post(bot, _event("evt_d1", order, "delivered"))
    await _post(bot, _event("evt_d1", order, "delivered"))
    async with session_scope(bot.services.sessions) as session:
        rows = (await session.execute(select(OrderPoints))).scalars().all()
    assert [(r.order_id, r.last_status) for r in rows] == [(str(order.id), "delivered")]


async def test_bad_signatures_stale_and_malformed_events_are_refused_and_change_nothing(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    body = _event("evt_bad", order, "shipped")
    assert (await _post(bot, body, secret="another-secret-0123456789"))[0] == 401
    assert (await _post(bot, body, ts=int(time.time()) - 3600))[0] == 401
    assert (await _post(bot, b"{not json"))[0] == 400
    resp = await bot.client.post("/core/webhook", data=body)
    assert resp.status == 401
    assert bot.notifier.notified == []
    async with session_scope(bot.services.sessions) as session:
        assert (await session.execute(select(CoreEvent))).first() is None


async def test_five_concurrent_identical_deliveries_are_processed_exactly_once(bot_factory):
    """Insert-first: the five race on the event's row; one processes, the others are told
    duplicate (200) or in progress (409, the core retries); one push, one points row."""
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    body = _event("evt_race", order, "delivered")
    answers = await asyncio.gather(*(_post(bot, body) for _ in range(5)))
    assert sorted(a[0] for a in answers).count(200) >= 1
    assert [a for a in answers if a[1] == {"status": "ok"}] == [(200, {"status": "ok"})]
    assert all(
        a in ((200, {"status": "duplicate"}), (409, {"error": "in_progress"}))
        for a in answers
        if a[1] != {"status": "ok"}
    )
    assert len([n for n in bot.notifier.notified if n[2].startswith("core-event:evt_race")]) == 1
    async with session_scope(bot.services.sessions) as session:
        events = (await session.execute(select(CoreEvent.event_id, CoreEvent.state))).all()
        points = (await session.execute(select(OrderPoints))).scalars().all()
    assert [tuple(e) for e in events] == [("evt_race", "done")]
    assert [(r.order_id, r.last_status) for r in points] == [(str(order.id), "delivered")]
    assert await _post(bot, body) == (200, {"status": "duplicate"})


async def test_a_failed_processing_releases_the_claim_and_the_redelivery_runs_it(bot_factory, monkeypatch):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    body = _event("evt_fail", order, "shipped")
    calls = {"n": 0}
    real = core_webhook.notices.facts

    async def failing_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise CoreError("down")
        return await real(*args, **kwargs)

    monkeypatch.setattr(core_webhook.notices, "facts", failing_once)
    assert await _post(bot, body) == (503, {"error": "core_unavailable"})
    assert [n for n in bot.notifier.notified if n[2].startswith("core-event:evt_fail")] == []
    async with session_scope(bot.services.sessions) as session:
        assert (await session.execute(select(CoreEvent))).first() is None  # not marked handled
    assert await _post(bot, body) == (200, {"status": "ok"})
    assert len([n for n in bot.notifier.notified if n[2].startswith("core-event:evt_fail")]) == 1


async def test_a_claim_abandoned_by_a_crashed_process_is_taken_over(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    body = _event("evt_crash", order, "shipped")
    async with session_scope(bot.services.sessions) as session:
        session.add(
            CoreEvent(
                tenant_id=await bot.tenant_id(),
                event_id="evt_crash",
                type="order.status_changed",
                state="p:crashed",
                received_at=datetime.now(UTC) - core_webhook.CLAIM_LEASE / 2,
            )
        )
    status, answer = await _post(bot, body)
    assert (status, answer) == (409, {"error": "in_progress"})  # still within its lease
    async with session_scope(bot.services.sessions) as session:
        await session.execute(
            update(CoreEvent).values(received_at=datetime.now(UTC) - core_webhook.CLAIM_LEASE * 2)
        )
    assert await _post(bot, body) == (200, {"status": "ok"})
    assert len([n for n in bot.notifier.notified if n[2].startswith("core-event:evt_crash")]) == 1
