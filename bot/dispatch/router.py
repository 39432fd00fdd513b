"""A small aiogram-style router for WeChat pushes.

Handlers register on a module-level ``Router`` with decorators; routers are composed only in the
composition root. The first handler whose filters all pass wins. Handlers declare what they need
as named parameters (``message``, ``member``, ``services``, ``flow``, ``match``, ...), injected
from the event context.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.dispatch.context import EventContext
from bot.messages import Reply

# A filter passes (True), fails (False) or passes handing values on to the handler by parameter name
# (Any: each value's type is the one the handler declares; handlers take any such parameters).
Filter = Callable[[EventContext], "bool | dict[str, Any] | Awaitable[bool | dict[str, Any]]"]
Handler = Callable[..., Awaitable[Reply | None]]
# The rest of the call: the handler with the named values gathered so far (plus any added).
CallNext = Callable[[dict[str, Any]], Awaitable[Reply | None]]
# Runs after a handler's filters passed, before the handler (aiogram's inner middleware): may add
# named values for the handler, or answer instead of it.
InnerMiddleware = Callable[[CallNext, EventContext, dict[str, Any]], Awaitable[Reply | None]]


class SkipHandler(Exception):
    """Raised by a handler (or an inner middleware) to let the next matching handler answer."""


@dataclass(slots=True)
class HandlerEntry:
    callback: Handler
    filters: tuple[Filter, ...]
    params: frozenset[str]
    accepts_any: bool
    name: str
    middlewares: list[InnerMiddleware] = field(default_factory=list)  # the router's, shared

    async def check(self, ctx: EventContext) -> dict[str, Any] | None:
        extra: dict[str, Any] = {}
        for flt in self.filters:
            result = flt(ctx)
            if inspect.isawaitable(result):
                result = await result
            if not result:
                return None
            if isinstance(result, dict):
                extra.update(result)
        return extra

    async def call(self, ctx: EventContext, extra: dict[str, Any]) -> Reply | None:
        call: CallNext = self._invoke
        for middleware in reversed(self.middlewares):
            call = _inner(middleware, call, ctx)
        return await call(ctx.injectables() | extra)

    async def _invoke(self, available: dict[str, Any]) -> Reply | None:
        kwargs = available if self.accepts_any else {k: v for k, v in available.items() if k in self.params}
        missing = self.params - kwargs.keys()
        if missing and not self.accepts_any:
            raise TypeError(f"handler {self.name} wants {sorted(missing)}, not in the context")
        return await self.callback(**kwargs)


def _inner(middleware: InnerMiddleware, nxt: CallNext, ctx: EventContext) -> CallNext:
    async def call(data: dict[str, Any]) -> Reply | None:
        return await middleware(nxt, ctx, data)

    return call


@dataclass
class Router:
    name: str
    entries: list[HandlerEntry] = field(default_factory=list)
    children: list[Router] = field(default_factory=list)
    middlewares: list[InnerMiddleware] = field(default_factory=list)

    # registration -------------------------------------------------------------------------
    def inner_middleware(self, middleware: InnerMiddleware) -> InnerMiddleware:
        """Run ``middleware`` around every handler of this router (not of its children) once
        the handler's filters passed: what all of them need is injected in one place."""
        self.middlewares.append(middleware)
        return middleware

    def register(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def decorator(callback: Handler) -> Handler:
            sig = inspect.signature(callback)
            params = frozenset(
                p.name for p in sig.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            )
            accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
            self.entries.append(
                HandlerEntry(
                    callback,
                    tuple(filters),
                    params,
                    accepts_any,
                    f"{self.name}.{callback.__name__}",
                    self.middlewares,
                )
            )
            return callback

        return decorator

    def text(
        self,
        *filters: Filter,
        equals: str | Iterable[str] | None = None,
        keywords: Iterable[str] | None = None,
        regex: str | re.Pattern[str] | None = None,
    ) -> Callable[[Handler], Handler]:
        chain: list[Filter] = [is_text]
        if equals is not None:
            chain.append(text_equals(equals))
        if keywords is not None:
            chain.append(text_contains(keywords))
        if regex is not None:
            chain.append(text_regex(regex))
        return self.register(*chain, *filters)

    def event(self, *names: str, filters: Iterable[Filter] = ()) -> Callable[[Handler], Handler]:
        return self.register(is_event(*names), *filters)

    def click(self, key: str | None = None, *, prefix: str | None = None) -> Callable[[Handler], Handler]:
        return self.register(menu_key(key, prefix=prefix))

    def scan(self, prefix: str, *filters: Filter) -> Callable[[Handler], Handler]:
        """A parametric QR scene: first-time followers (subscribe + qrscene_) and followers (SCAN)."""
        return self.register(scene_prefix(prefix), *filters)

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self.register(*filters)

    def include(self, router: Router) -> Router:
        self.children.append(router)
        return router

    def walk(self) -> Iterator[HandlerEntry]:
        yield from self.entries
        for child in self.children:
            yield from child.walk()


# filters ----------------------------------------------------------------------------------
def is_text(ctx: EventContext) -> bool:
    return ctx.message.msg_type == "text" and ctx.message.content is not None


def _norm(text: str) -> str:
    return text.strip().lower()


def text_equals(values: str | Iterable[str]) -> Filter:
    wanted = frozenset(_norm(v) for v in ([values] if isinstance(values, str) else values))
    return lambda ctx: _norm(ctx.message.content or "") in wanted


def text_contains(words: Iterable[str]) -> Filter:
    wanted = tuple(_norm(w) for w in words)
    return lambda ctx: any(w in _norm(ctx.message.content or "") for w in wanted)


def text_regex(pattern: str | re.Pattern[str]) -> Filter:
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def check(ctx: EventContext) -> dict[str, Any] | bool:
        match = compiled.search((ctx.message.content or "").strip())
        return {"match": match} if match else False

    return check


def is_event(*names: str) -> Filter:
    wanted = frozenset(n.lower() for n in names)
    return lambda ctx: ctx.message.msg_type == "event" and (ctx.message.event or "") in wanted


def menu_key(key: str | None = None, *, prefix: str | None = None) -> Filter:
    def check(ctx: EventContext) -> bool:
        msg = ctx.message
        if msg.msg_type != "event" or msg.event not in {"click", "scancode_push", "scancode_waitmsg"}:
            return False
        event_key = msg.event_key or ""
        if key is not None:
            return event_key == key
        return prefix is None or event_key.startswith(prefix)

    return check


def scene_prefix(prefix: str) -> Filter:
    def check(ctx: EventContext) -> dict[str, Any] | bool:
        scene = ctx.message.scene
        if scene is None or not scene.startswith(prefix):
            return False
        return {"scene": scene, "scene_arg": scene[len(prefix) :]}

    return check


def in_flow(name: str) -> Filter:
    """The member is in flow ``name`` (``"Reorder"``) or in one of its states (``"Reorder:confirm"``)."""

    async def check(ctx: EventContext) -> bool:
        state = await ctx.flow_state()
        if state is None:
            return False
        return state == name or state.startswith(name + ":")

    return check


def state_is(*states: str) -> Filter:
    """The member's flow state is one of ``states`` (``"Order:choose"``); the record is injected
    as ``record``. ``state_is("*")`` is any flow state at all."""
    wanted = frozenset(states)

    async def check(ctx: EventContext) -> dict[str, Any] | bool:
        record = await ctx.flow()
        if record is None or not ("*" in wanted or record.state in wanted):
            return False
        return {"record": record}

    return check


def text_word(values: Iterable[str]) -> Filter:
    """The text is one of ``values`` as a short answer: case, spaces and a trailing "。!~" do
    not count ("确认。", "OK")."""
    wanted = frozenset(_word(v) for v in values)
    return lambda ctx: is_text(ctx) and _word(ctx.message.content or "") in wanted


def _word(text: str) -> str:
    return text.strip().lower().rstrip("。.!！~")


def not_in_any_flow(ctx: EventContext) -> Awaitable[bool]:
    async def check() -> bool:
        return await ctx.flow_state() is None

    return check()
