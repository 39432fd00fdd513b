"""The console's parts of its ``Feature`` (bot/wiring/features.py): ``console_routes()``.

Pages come from the modules in ``CONSOLE_MODULES``: each has ``register_pages(registry)`` (see
``bot.console.registry``). A domain package adds its console pages by writing such a function and
adding its module name here (one line), without touching the layout or this package's pages."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

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
    "bot.console.pages_codes_new",
    "bot.console.pages_batches",
    "bot.console.pages_stores",
    "bot.console.pages_campaigns",
    "bot.console.pages_apps",
    "bot.console.pages_settings",
    "bot.console.pages_rewards",
    "bot.console.pages_regional",
    "bot.console.pages_announce",  # a regional campaign announced as an automation send
    "bot.console.pages_content",
    "bot.console.pages_content_items",
    "bot.console.pages_account",
    "bot.console.pages_reports",  # the analytics feature's weekly reports
    "bot.console.pages_journeys",
    "bot.console.pages_sends",  # the automation feature's campaign sends
)


def build_registry(modules: Sequence[str] = CONSOLE_MODULES) -> ConsoleRegistry:
    registry = ConsoleRegistry()
    for name in modules:
        importlib.import_module(name).register_pages(registry)
    return registry


def console_routes(
    *,
    clock: Clock = utcnow,
    modules: Sequence[str] = CONSOLE_MODULES,
    export_dir: Path | None = None,
) -> Callable[[web.Application], None]:
    """The console feature's ``routes`` hook: /console/ as a sub-application, and at start-up
    (after the runtime exists) its ``ConsoleRuntime`` under ``CONSOLE`` on the main app.
    ``export_dir`` holds generated print files (default: the system's temporary directory)."""
    from bot.console.codegen_jobs import CodegenJobs
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
                codegen=CodegenJobs(
                    services.redis,
                    services.keys,
                    export_dir or Path(tempfile.gettempdir()) / "jiubot-console-exports",
                ),
            )

        async def stop(app: web.Application) -> None:
            if CONSOLE in app:
                await app[CONSOLE].codegen.aclose()

        app.router.add_get(PREFIX, to_console)
        app.add_subapp(PREFIX, build_console_app(registry))
        app.on_startup.append(start)
        app.on_shutdown.append(stop)  # before the runtime (Redis) closes

    return routes
