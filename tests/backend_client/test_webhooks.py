"""verify_webhook: signature over timestamp + raw body, constant-time, freshness; end to end with the
live core's real deliveries."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from aiohttp import web

from backend_client import (
    CoreClient,
    CouponRedeemed,
    InvalidWebhook,
    LineRequest,
    OrderStatusChanged,
    signature,
    verify_webhook,
)
from reference_core.config import WebhookConfig
from tests.reference_core.world import API_KEY, build_world

SECRET = "whsec-contract"
BODY = orjson.dumps(
    {
        "id": "evt_1",
        "type": "coupon.redeemed",
        "created_at": "2026-11-22T08:00:00Z",
        "data": {
            "claim_id": 3,
            "campaign_id": 1,
            "code": "ABCD",
            "holder_type": "consumer",
            "holder_id": "m1",
            "order_id": None,
            "store_id": 9,
            "discount_fen": None,
            "at": "2026-11-22T08:00:00Z",
        },
    }
)


def headers(timestamp: int, body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"X-Core-Timestamp": str(timestamp), "X-Core-Signature": signature(secret, timestamp, body)}


def test_a_valid_webhook_is_typed():
    now = int(time.time())
    event = verify_webhook(SECRET, headers(now), BODY)
    assert (event.id, event.type) == ("evt_1", "coupon.redeemed")
    assert isinstance(event.data, CouponRedeemed) and event.data.store_id == 9


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, b: ({**h, "X-Core-Signature": "sha256=" + "0" * 64}, b), "bad_signature"),
        (lambda h, b: (h, b.replace(b"ABCD", b"ABCE")), "bad_signature"),
        (lambda h, b: (headers(int(time.time()), b, "other-secret"), b), "bad_signature"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "X-Core-Signature"}, b), "missing_header"),
        (lambda h, b: (headers(int(time.time()) - 3600, b), b), "stale"),
        (lambda h, b: (headers(int(time.time()), b"[]"), b"[]"), "malformed"),
    ],
)
def test_tampered_stale_or_malformed_webhooks_are_refused(mutate, reason):
    sent_headers, sent_body = mutate(headers(int(time.time())), BODY)
    with pytest.raises(InvalidWebhook) as refused:
        verify_webhook(SECRET, sent_headers, sent_body)
    assert refused.value.reason == reason


def test_header_names_are_case_insensitive_and_unknown_types_pass_through_raw():
    body = orjson.dumps(
        {"id": "evt_2", "type": "stock.low", "created_at": "2026-11-22T08:00:00Z", "data": {"x": 1}}
    )
    now = int(time.time())
    lowered = {k.lower(): v for k, v in headers(now, body).items()}
    event = verify_webhook(SECRET, lowered, body)
    assert event.data == {"x": 1}


async def test_the_core_delivers_webhooks_this_client_verifies(core_db_url, start_core, aiohttp_server):
    events = []

    async def receive(request: web.Request) -> web.Response:
        events.append(verify_webhook(SECRET, request.headers, await request.read()))
        return web.Response(status=204)

    hook_app = web.Application()
    hook_app.router.add_post("/core-events", receive)
    hook = await aiohttp_server(hook_app)
    world = await build_world(
        core_db_url, webhook_url=str(hook.make_url("/core-events")), webhook_secret=SECRET
    )
    fast = WebhookConfig(enabled=True, poll_seconds=0.05, backoff_base_seconds=0.05)
    base, _ = await start_core(core_db_url, config={"webhooks": fast})
    async with aiohttp.ClientSession() as session:
        client = CoreClient(session, base, API_KEY)
        order = await client.orders.create(
            world.stores["S-SH-1"], [LineRequest("MT-FT-53-500", bottles=1)], idempotency_key="w"
        )
        await client.orders.cancel(order.id)
    for _ in range(100):
        if len(events) >= 2:
            break
        await asyncio.sleep(0.05)
    changes = sorted((e.data for e in events), key=lambda d: d.at)
    assert all(isinstance(d, OrderStatusChanged) for d in changes)
    assert [(d.order_id, d.previous_status, d.status) for d in changes] == [
        (order.id, None, "created"),
        (order.id, "created", "cancelled"),
    ]
