"""``create_core_app(config)``: the reference core as an aiohttp application.

It runs standalone (``jiubot core``) or mounted under a prefix (``app.add_subapp("/core", ...)`` in
``jiubot demo``): routes are relative, resources live in cleanup contexts, state in typed AppKeys.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
import orjson
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_core import groups, logistics, models  # noqa: F401  (models registers the tables)
from reference_core.api.http import build_handler, errors, json_response
from reference_core.clock import Clock, SystemClock
from reference_core.config import CoreConfig
from reference_core.db import Base, create_engines, reader_factory, run_transaction, session_factory
from reference_core.openapi import document, operations
from reference_core.runtime import CORE, Core, TenantKeys
from reference_core.tenants import apply_config
from reference_core.webhooks import Dispatcher

log = logging.getLogger(__name__)

CONFIG = web.AppKey("reference_core_config", CoreConfig)
DISPATCHER = web.AppKey("reference_core_dispatcher", Dispatcher)


async def create_tables(engine: AsyncEngine) -> None:
    """``metadata.create_all`` (only missing core_* tables); on PostgreSQL under an advisory lock so
    several processes starting together do not race on CREATE TABLE."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(7342001)"))
        await conn.run_sync(Base.metadata.create_all)


def create_core_app(config: CoreConfig, *, clock: Clock | None = None) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=config.max_body_bytes + 1024)
    app[CONFIG] = config
    app.router.add_get("/healthz", _health)
    app.router.add_get("/openapi.json", _openapi)
    for op in operations():
        app.router.add_route(op.method, op.path, build_handler(op))
    app.cleanup_ctx.append(_database(config, clock or SystemClock()))
    app.cleanup_ctx.append(_background)
    return app


def _database(config: CoreConfig, clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database(app: web.Application) -> AsyncIterator[None]:
        engine, reader = create_engines(config.database_url, pool_size=config.pool_size)
        if config.create_tables:
            await create_tables(engine)
        sessions = session_factory(engine)
        for tenant in config.tenants:
            await run_transaction(sessions, functools.partial(apply_config, tenant_config=tenant))
        readers = reader_factory(reader)
        app[CORE] = Core(config, engine, sessions, readers, clock, TenantKeys(readers))
        yield
        await engine.dispose()
        if reader is not engine:
            await reader.dispose()

    return database


async def _background(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    http = aiohttp.ClientSession()
    dispatcher = Dispatcher(core, http)
    app[DISPATCHER] = dispatcher
    tasks = []
    if core.config.webhooks.enabled:
        tasks.append(asyncio.create_task(dispatcher.run(), name="core-webhooks"))
    if core.config.logistics.tick_seconds > 0:
        tasks.append(asyncio.create_task(_clock(core), name="core-logistics-clock"))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await http.close()


async def _clock(core: Core) -> None:
    while True:
        try:
            await logistics.tick(core)
            await groups.close_due(core)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("logistics clock tick failed")
        await asyncio.sleep(core.config.logistics.tick_seconds)


async def _health(request: web.Request) -> web.Response:
    return json_response(200, b'{"status":"ok"}')


async def _openapi(request: web.Request) -> web.Response:
    base = request.path.removesuffix("/openapi.json") or "/"
    return json_response(200, orjson.dumps(document(server_url=base)))
