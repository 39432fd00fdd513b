"""The console as a ``Feature`` of the composition root: ``console_feature()``.

Pages come from the modules in ``CONSOLE_MODULES``: each has ``register_pages(registry)`` (see
``bot.console.registry``). A domain package adds its console pages by writing such a function and
adding its module name here (one line), without touching the layout or this package's pages."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TypedDict

from aiohttp import web

from bot.console.registry import ConsoleRegistry
from bot.console.runtime import CONSOLE, PREFIX, ConsoleRuntime
from bot.console.sessions import Clock
from bot.db import utcnow
from bot.services import Services

CONSOLE_MODULES: tuple[str, ...] = (
    "bot.console.pages_home",
    "bot.console.pages_members",
    "bot.console.pages_audit",
    "bot.console.pages_operators",
    "bot.console.pages_codes",
    "bot.console.pages_rewards",
    "bot.console.pages_account",
)


def build_registry(modules: Sequence[str] = CONSOLE_MODULES) -> ConsoleRegistry:
    registry = ConsoleRegistry()
    for name in modules:
        importlib.import_module(name).register_pages(registry)
    return registry


class FeatureParts(TypedDict):
    """The keyword arguments of ``bot.app.Feature`` the console fills (this layer may not import
    the composition root): ``Feature("console", **console_feature())``."""

    extension: Callable[[web.Application, Services], Awaitable[None]]
    routes: Callable[[web.Application], None]


def console_feature(*, clock: Clock = utcnow, modules: Sequence[str] = CONSOLE_MODULES) -> FeatureParts:
    """The console's routes under /console/ and its runtime (under ``CONSOLE``)."""
    from bot.console.lockout import AddressThrottle
    from bot.console.sessions import SessionStore
    from bot.console.webapp import build_console_app

    registry = build_registry(modules)

    def routes(app: web.Application) -> None:
        async def to_console(_request: web.Request) -> web.StreamResponse:
            raise web.HTTPMovedPermanently(PREFIX + "/")

        app.router.add_get(PREFIX, to_console)
        app.add_subapp(PREFIX, build_console_app(registry))

    async def extension(app: web.Application, services: Services) -> None:
        app[CONSOLE] = ConsoleRuntime(
            services=services,
            sessions=SessionStore(services.redis, services.keys, clock=clock),
            throttle=AddressThrottle(services.redis, services.keys, clock=clock),
            registry=registry,
            clock=clock,
        )

    return FeatureParts(extension=extension, routes=routes)
