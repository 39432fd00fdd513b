"""A webhook receiver for tests: a real HTTP endpoint that records what arrives and can be told to
fail the first N attempts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    fail_first: int = 0
    status_when_failing: int = 500
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hooks/core", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        self.arrived.set()
        if len(self.received) <= self.fail_first:
            return web.Response(status=self.status_when_failing, text="not now")
        return web.Response(status=204)

    def acknowledged(self) -> list[Received]:
        return self.received[self.fail_first :]

    async def wait_for(self, count: int, within: float = 15.0) -> None:
        async def loop() -> None:
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(loop(), within)
