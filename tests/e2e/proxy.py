"""A reverse proxy in front of the reference core that can make it slow or unreachable.

``delay`` holds the core's answer to ``POST /v1/orders`` back after the core has answered (the
order exists, the caller does not know it yet: the case that duplicates orders in naive
clients); ``down`` answers 503 to everything without asking the core. ``creates`` counts the
order requests that reached the core.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

HOP = {"host", "content-length", "transfer-encoding", "connection"}


class SlowProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = 0.0
        self.down = False
        self.creates = 0
        self.runner: web.AppRunner | None = None  # type: ignore[assignment]
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_cleanup.append(self._close)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return "http://{}:{}".format(*self.runner.addresses[0][:2])

    async def _close(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self.down:
            return web.json_response({"error": {"code": "unavailable", "message": "down"}}, status=503)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        creating = request.method == "POST" and request.path == "/v1/orders"
        if creating:
            self.creates += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=await request.read()
        ) as upstream:
            body = await upstream.read()
            status = upstream.status
            content_type = upstream.headers.get("Content-Type", "application/json")
        if creating and self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})
