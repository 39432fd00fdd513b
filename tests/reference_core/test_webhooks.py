"""Webhooks: an outbox written with the change, signed, retried with backoff until acknowledged."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from sqlalchemy import select

from reference_core.config import WebhookConfig
from reference_core.models import WebhookEvent
from reference_core.webhooks import backoff
from tests.reference_core.helpers import Api, Db, line
from tests.reference_core.receiver import Receiver
from tests.reference_core.world import build_world

FT = "MT-FT-53-500"
FAST = WebhookConfig(enabled=True, backoff_base_seconds=0.05, backoff_max_seconds=0.2, poll_seconds=0.05)
SECRET = "whsec-test"


async def start(core_db_url, start_core, aiohttp_server, receiver, **world_kw):
    hook = await aiohttp_server(receiver.app())
    world = await build_world(
        core_db_url, webhook_url=str(hook.make_url("/hooks/core")), webhook_secret=SECRET, **world_kw
    )
    base, _app = await start_core(core_db_url, config={"webhooks": FAST})
    return world, base


def valid(received) -> bool:
    mac = hmac.new(
        SECRET.encode(), received.headers["X-Core-Timestamp"].encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(received.headers["X-Core-Signature"], "sha256=" + mac)


async def test_an_order_announces_itself_signed(core_db_url, start_core, aiohttp_server, http):
    receiver = Receiver()
    world, base = await start(core_db_url, start_core, aiohttp_server, receiver)
    _, order = await Api(http, base).post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "w"
    )
    await receiver.wait_for(1)

    got = receiver.received[0]
    event = got.event
    assert valid(got)
    assert got.headers["X-Core-Event-Type"] == event["type"] == "order.status_changed"
    assert got.headers["X-Core-Event-Id"] == event["id"] and event["id"].startswith("evt_")
    assert event["data"]["order_id"] == order["id"] and event["data"]["status"] == "created"
    assert event["data"]["previous_status"] is None and event["data"]["number"] == order["number"]


async def test_a_failing_receiver_gets_the_same_event_until_it_acknowledges(
    core_db_url, start_core, aiohttp_server, http
):
    receiver = Receiver(fail_first=3)
    world, base = await start(core_db_url, start_core, aiohttp_server, receiver)
    await Api(http, base).post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "w"
    )

    await receiver.wait_for(4)
    await asyncio.sleep(0.5)  # nothing more may arrive once acknowledged

    assert len(receiver.received) == 4
    assert len({r.headers["X-Core-Event-Id"] for r in receiver.received}) == 1
    assert all(valid(r) for r in receiver.received)
    db = Db(core_db_url)
    row = await db.scalar(select(WebhookEvent))
    assert (row.attempts, row.last_status, row.delivered_at is not None) == (4, 204, True)


async def test_a_receiver_that_is_down_gets_the_event_when_it_comes_back(
    core_db_url, start_core, aiohttp_server, http
):
    receiver = Receiver()
    hook = await aiohttp_server(receiver.app())
    url = str(hook.make_url("/hooks/core"))
    port = hook.port
    await hook.close()  # down: connection refused
    world = await build_world(core_db_url, webhook_url=url, webhook_secret=SECRET)
    base, _ = await start_core(core_db_url, config={"webhooks": FAST})
    await Api(http, base).post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "w"
    )
    await asyncio.sleep(0.5)
    db = Db(core_db_url)
    pending = await db.scalar(select(WebhookEvent))
    assert pending.delivered_at is None and pending.attempts >= 2 and "Connect" in pending.last_error

    await aiohttp_server(receiver.app(), port=port)  # back up
    await receiver.wait_for(1)
    await asyncio.sleep(0.2)
    assert (await db.scalar(select(WebhookEvent))).delivered_at is not None


async def test_a_refused_order_sends_nothing(core_db_url, start_core, aiohttp_server, http):
    receiver = Receiver()
    world, base = await start(core_db_url, start_core, aiohttp_server, receiver, stock={("WH-SH", FT): 1})
    status, _ = await Api(http, base).post(
        "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=5)]}, "w"
    )
    await asyncio.sleep(0.3)
    assert status == 422
    assert receiver.received == []
    assert await Db(core_db_url).count(WebhookEvent) == 0


async def test_two_dispatchers_share_the_outbox_without_sending_twice(
    core_db_url, start_core, aiohttp_server, http
):
    receiver = Receiver()
    world, base = await start(core_db_url, start_core, aiohttp_server, receiver)
    await start_core(core_db_url, config={"webhooks": FAST})  # a second process on the same database
    api = Api(http, base)
    await asyncio.gather(
        *(
            api.post(
                "/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, f"o{n}"
            )
            for n in range(20)
        )
    )
    await receiver.wait_for(20)
    await asyncio.sleep(0.5)
    ids = [r.headers["X-Core-Event-Id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 20


async def test_deliveries_can_be_listed(core_db_url, start_core, aiohttp_server, http):
    receiver = Receiver(fail_first=1)
    world, base = await start(core_db_url, start_core, aiohttp_server, receiver)
    api = Api(http, base)
    await api.post("/v1/orders", {"store_id": world.stores["S-SH-1"], "lines": [line(FT, bottles=1)]}, "w")
    await receiver.wait_for(2)
    await asyncio.sleep(0.2)
    status, page = await api.get("/v1/webhook-events?status=delivered")
    assert status == 200
    assert [(e["type"], e["attempts"], e["last_status"]) for e in page["items"]] == [
        ("order.status_changed", 2, 204)
    ]


def test_backoff_grows_and_is_capped():
    config = WebhookConfig(backoff_base_seconds=1.0, backoff_max_seconds=60.0)
    for attempts, ceiling in ((1, 1.0), (3, 4.0), (10, 60.0)):
        delays = [backoff(attempts, config) for _ in range(200)]
        assert min(delays) >= 0.1 and max(delays) <= ceiling
