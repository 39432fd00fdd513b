"""The console's parts of its ``Feature`` (bot/wiring/features.py): ``console_routes()``.

Pages come from the modules in ``CONSOLE_MODULES``: each has ``register_pages(registry)`` (see
``bot.console.registry``). A domain package adds its console pages by writing such a function and
adding its module name here (one line), without touching the layout or this package's pages."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from aiohttp import web

from bot import keys
from bot.console.registry import ConsoleRegistry
from bot.console.runtime import CONSOLE, PREFIX, ConsoleRuntime
from bot.console.sessions import Clock
from bot.db import utcnow

CONSOLE_MODULES: tuple[str, ...] = (
    "bot.console.pages_home",
    "bot.console.pages_members",
    "bot.console.pages_audit",
    "bot.console.pages_operators",
    "bot.console.pages_codes",
    "bot.console.pages_rewards",
    "bot.console.pages_regional",
    "bot.console.pages_account",
)


def build_registry(modules: Sequence[str] = CONSOLE_MODULES) -> ConsoleRegistry:
    registry = ConsoleRegistry()
    for name in modules:
        importlib.import_module(name).register_pages(registry)
    return registry


def console_routes(
    *, clock: Clock = utcnow, modules: Sequence[str] = CONSOLE_MODULES
) -> Callable[[web.Application], None]:
    """The console feature's ``routes`` hook: /console/ as a sub-application, and at start-up
    (after the runtime exists) its ``ConsoleRuntime`` under ``CONSOLE`` on the main app."""
    from bot.console.lockout import AddressThrottle
    from bot.console.sessions import SessionStore
    from bot.console.webapp import build_console_app

    registry = build_registry(modules)

    def routes(app: web.Application) -> None:
        async def to_console(_request: web.Request) -> web.StreamResponse:
            raise web.HTTPMovedPermanently(PREFIX + "/")

        async def start(app: web.Application) -> None:
            # on_startup hooks run after the cleanup contexts that build the runtime
            services = app[keys.SERVICES]
            app[CONSOLE] = ConsoleRuntime(
                services=services,
                sessions=SessionStore(services.redis, services.keys, clock=clock),
                throttle=AddressThrottle(services.redis, services.keys, clock=clock),
                registry=registry,
                clock=clock,
            )

        app.router.add_get(PREFIX, to_console)
        app.add_subapp(PREFIX, build_console_app(registry))
        app.on_startup.append(start)

    return routes
