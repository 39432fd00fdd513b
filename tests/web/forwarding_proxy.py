"""A reverse proxy in front of jiubot that behaves like the README's nginx recipe:
``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`` (append the TCP peer to
whatever X-Forwarded-For the client sent). It connects to jiubot from ``source`` (a loopback
address of its own, e.g. 127.0.0.2), so jiubot sees the proxy's address as the peer, while test
clients connect to the proxy from other loopback addresses (127.0.0.x) to be different people.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

HOP = {"host", "content-length", "transfer-encoding", "connection"}


class ForwardingProxy:
    def __init__(self, upstream: str, *, source: str = "127.0.0.2") -> None:
        self.upstream = upstream.rstrip("/")
        self.source = source
        self.runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> ForwardingProxy:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = "http://{}:{}".format(*self.runner.addresses[0][:2])
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.source, 0)))
        return self

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self.runner is not None:
            await self.runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP | {"x-forwarded-for"}}
        sent = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{sent}, {request.remote}" if sent else str(request.remote)
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            keep = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP | {"content-encoding"}}
            return web.Response(body=body, status=upstream.status, headers=keep)


def client_from(address: str, **kwargs: object) -> aiohttp.ClientSession:
    """A client connecting from ``address`` (127.0.0.x): one "person" on the internet."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)), **kwargs)  # type: ignore[arg-type]
