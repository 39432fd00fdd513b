"""A real HTTP server that answers from a script (503, 503, 200 ...), for the client's transport tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Scripted:
    """``answers``: (status, body, delay) per request in turn; the last one repeats."""

    answers: list[tuple[int, str, float]] = field(default_factory=lambda: [(200, '{"items": []}', 0.0)])
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.method, request.path, dict(request.headers)))
        status, body, delay = self.answers[min(len(self.seen), len(self.answers)) - 1]
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, text=body, content_type="application/json")
