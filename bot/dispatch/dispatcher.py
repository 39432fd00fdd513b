"""Runs a push through the middleware chain to the first matching handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.dispatch.context import EventContext
from bot.dispatch.router import Router, SkipHandler
from bot.messages import NoReply, Reply

Next = Callable[[EventContext], Awaitable[Reply]]
Middleware = Callable[[Next, EventContext], Awaitable[Reply]]


class Dispatcher:
    def __init__(
        self, root: Router, middlewares: Sequence[Middleware] = (), fallback: Next | None = None
    ) -> None:
        self.root = root
        self.middlewares = list(middlewares)
        self.fallback = fallback
        self._entries = list(root.walk())
        chain: Next = self._route
        for middleware in reversed(self.middlewares):
            chain = _bind(middleware, chain)
        self._chain = chain

    def refresh(self) -> None:
        """Re-read the routers (after a router was included late, in tests)."""
        self._entries = list(self.root.walk())

    async def feed(self, ctx: EventContext) -> Reply:
        return await self._chain(ctx)

    async def _route(self, ctx: EventContext) -> Reply:
        for entry in self._entries:
            extra = await entry.check(ctx)
            if extra is None:
                continue
            ctx.data["handler"] = entry.name
            try:
                reply = await entry.call(ctx, extra)
            except SkipHandler:
                continue
            return reply if reply is not None else NoReply()
        ctx.data["handler"] = "fallback"
        if self.fallback is not None:
            return await self.fallback(ctx)
        return NoReply()


def _bind(middleware: Middleware, nxt: Next) -> Next:
    async def call(ctx: EventContext) -> Reply:
        return await middleware(nxt, ctx)

    return call
