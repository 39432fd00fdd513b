"""Parametric QR scenes: ``qrscene_<scene>`` on subscribe and ``<scene>`` on SCAN.

Feature modules register a handler for a scene prefix (``bind:`` for store binding, ``ref:`` for
referral, ...). The longest matching prefix wins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.dispatch import EventContext
from bot.messages import Reply

SceneHandler = Callable[[EventContext, str], Awaitable[Reply | None]]


class SceneRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, SceneHandler] = {}

    def handler(self, prefix: str) -> Callable[[SceneHandler], SceneHandler]:
        def decorator(fn: SceneHandler) -> SceneHandler:
            if prefix in self._handlers:
                raise ValueError(f"scene prefix {prefix!r} registered twice")
            self._handlers[prefix] = fn
            return fn

        return decorator

    def resolve(self, scene: str) -> tuple[SceneHandler, str] | None:
        for prefix in sorted(self._handlers, key=len, reverse=True):
            if scene.startswith(prefix):
                return self._handlers[prefix], scene[len(prefix) :]
        return None

    async def run(self, ctx: EventContext, scene: str) -> Reply | None:
        found = self.resolve(scene)
        if found is None:
            return None
        fn, arg = found
        return await fn(ctx, arg)


scenes = SceneRegistry()
