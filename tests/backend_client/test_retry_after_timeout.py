"""Idempotent order creation end to end: the core places the order but its answer is lost (the client
times out), the client retries with the same Idempotency-Key, and there is still one order."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from backend_client import CoreClient, LineRequest, RetryPolicy, Timeouts
from reference_core.models import Order
from tests.reference_core.helpers import Db
from tests.reference_core.world import API_KEY, build_world

FT = "MT-FT-53-500"


class SlowFirstAnswer:
    """A proxy in front of the core that holds back its first answer to POST /v1/orders."""

    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.orders_posted: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        return app

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, self.upstream + request.path_qs, data=body, headers=headers
            ) as upstream,
        ):
            status, payload = upstream.status, await upstream.read()
            reply_headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in ("content-type", "idempotent-replayed")
            }
        if request.method == "POST" and request.path == "/v1/orders":
            self.orders_posted.append(request.headers.get("Idempotency-Key", ""))
            if len(self.orders_posted) == 1:
                await asyncio.sleep(self.delay)  # the order exists; the client stops waiting
        return web.Response(status=status, body=payload, headers=reply_headers)


async def test_a_retry_after_a_timeout_creates_one_order(core_db_url, start_core, aiohttp_server):
    world = await build_world(core_db_url)
    base, _ = await start_core(core_db_url)
    proxy = SlowFirstAnswer(base, delay=1.5)
    front = await aiohttp_server(proxy.app())
    async with aiohttp.ClientSession() as session:
        client = CoreClient(
            session,
            str(front.make_url("")),
            API_KEY,
            timeouts=Timeouts(connect=1, total=0.7),
            retry=RetryPolicy(attempts=3, base_delay=0.01),
        )
        order = await client.orders.create(
            world.stores["S-SH-1"], [LineRequest(FT, bottles=2)], idempotency_key="chat-flow-42:cart-3"
        )

    db = Db(core_db_url)
    assert proxy.orders_posted == ["chat-flow-42:cart-3"] * 2
    assert client.stats.retries == 1
    assert await db.count(Order) == 1
    assert await db.scalar(Order.__table__.select().with_only_columns(Order.id)) == order.id
    assert await db.stock(world.warehouses["WH-SH"], world.products[FT]) == (100, 2)
