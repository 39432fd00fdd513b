"""``create_app(settings)``: the aiohttp application over the runtime of ``bot.wiring``.

Nothing imports this module but the CLI, the gunicorn entry point and tests. The runtime
(``open_runtime``) is one cleanup context; the callback pipeline, the workers and the scheduler
are built on it; every shared object has a typed ``AppKey``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import structlog
from aiohttp import web

from bot import keys
from bot.config import Settings
from bot.dispatch import Dispatcher, Router
from bot.dispatch.middleware import DEFAULT_MIDDLEWARE
from bot.handlers import basic, notifications
from bot.ports import PushNotifier
from bot.scheduler import Scheduler
from bot.web import health
from bot.web.unavailable import dependency_unavailable
from bot.wechat.dedupe import Dedupe
from bot.wechat.deferred import DeferredReplies
from bot.wechat.inbound_log import InboundLog, prune
from bot.wechat.pipeline import Pipeline
from bot.wechat.recovery import Recovery
from bot.wechat.webhook import CallbackView
from bot.wiring.feature import Feature, Runtime
from bot.wiring.features import FEATURES
from bot.wiring.runtime import open_runtime

log = structlog.get_logger(__name__)

RUNTIME = web.AppKey("runtime", Runtime)


def default_routers() -> list[Router]:
    """The foundation's handlers: receipts, follow/unfollow, scenes, locations, help."""
    return [notifications.router, basic.router]


def chat_routers(features: Sequence[Feature], routers: Sequence[Router] | None) -> list[Router]:
    """Dispatch order: receipts first, then every feature's routers in list order, then the
    foundation's follow/scene/help handlers (a feature's own "帮助" inside its flow wins).
    ``routers`` (tests) replaces the foundation's and comes first."""
    from_features = [r for f in features if f.routers is not None for r in f.routers()]
    if routers is not None:
        return [*routers, *from_features]
    return [notifications.router, *from_features, basic.router]


@web.middleware
async def request_id(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    rid = request.headers.get("X-Request-Id") or secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(request_id=rid)
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        structlog.contextvars.unbind_contextvars("request_id")


def create_app(
    settings: Settings,
    *,
    features: Sequence[Feature] | None = None,
    routers: Sequence[Router] | None = None,
    notifier: PushNotifier | None = None,
    background: bool = True,
) -> web.Application:
    """The application with ``features`` (default: all of ``FEATURES``; with ``routers`` given
    and no features, none: tests compose only what they exercise). ``routers`` replaces the
    foundation's chat routers; ``background`` runs the inbound log writer and the scheduler."""
    if features is None:
        features = FEATURES if routers is None else ()
    dispatch_order = chat_routers(features, routers)
    app = web.Application(
        middlewares=[request_id, dependency_unavailable],
        client_max_size=max(settings.max_body_bytes * 2, 1 << 20),
    )
    app[keys.SETTINGS] = settings
    app.router.add_routes(health.routes)
    for feature in features:
        if feature.routes is not None:
            feature.routes(app)

    async def runtime_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_runtime(settings, features, notifier=notifier) as runtime:
            services = runtime.services
            app[RUNTIME] = runtime
            app[keys.SERVICES] = services
            app[keys.ENGINE] = runtime.engine
            app[keys.SESSIONS] = services.sessions
            app[keys.REDIS] = services.redis
            app[keys.REDIS_KEYS] = services.keys
            app[keys.REDIS_MUX] = runtime.mux
            app[keys.WECHAT_HTTP] = runtime.http.wechat
            app[keys.READINESS_PROBES] = runtime.probes
            dispatcher = Dispatcher(
                Router("root", children=dispatch_order), DEFAULT_MIDDLEWARE, basic.fallback
            )
            dedupe = Dedupe(
                runtime.mux,
                services.keys,
                inflight_ttl=settings.dedupe_inflight_ttl_seconds,
                done_ttl=settings.dedupe_done_ttl_seconds,
                lock_ttl=settings.member_lock_ttl_seconds,
                nonce_ttl=2 * settings.timestamp_window_seconds + 60,
            )
            await dedupe.load_scripts()
            inbound_log = InboundLog(services.redis, runtime.mux, services.keys)
            await inbound_log.ensure_group()
            deferred = DeferredReplies(services.sessions, lease_seconds=settings.deferred_lease_seconds)
            pipeline = Pipeline(
                services, dispatcher, dedupe, inbound_log, deferred, budget=settings.callback_budget_seconds
            )
            pipeline.recorders.extend(runtime.recorders)
            app[keys.PIPELINE] = pipeline
            app[keys.INBOUND_LOG] = inbound_log
            view.bind(services.registry, pipeline)
            stop = asyncio.Event()
            workers: list[asyncio.Task[None]] = [
                asyncio.create_task(run(stop), name=name) for name, run in runtime.workers
            ]
            try:
                yield
            finally:
                await pipeline.drain()  # late replies go out before the HTTP sessions close
                stop.set()
                await _stop(workers)

    async def background_ctx(app: web.Application) -> AsyncIterator[None]:
        if not background:
            yield
            return
        services = app[keys.SERVICES]
        stop = asyncio.Event()
        writer = asyncio.create_task(
            app[keys.INBOUND_LOG].run_writer(services.sessions, stop), name="inbound-log-writer"
        )
        scheduler = Scheduler(services.redis, services.keys, settings.timezone)
        scheduler.every("registry-refresh", 30, services.registry.reload, guarded=False)
        scheduler.cron(
            "inbound-log-retention",
            lambda: prune(services.sessions, settings.message_log_retention_days),
            hour=3,
            minute=17,
        )
        # deferred replies whose owner died: every background process sweeps, the rows' claims
        # pick one runner each (bot/wechat/recovery.py); done rows go with the inbound log's
        pipeline = app[keys.PIPELINE]
        scheduler.every(
            "deferred-replies", settings.deferred_sweep_seconds, Recovery(pipeline).sweep, guarded=False
        )
        scheduler.cron(
            "deferred-replies-retention",
            lambda: pipeline.deferred.prune(settings.message_log_retention_days),
            hour=3,
            minute=23,
        )
        for feature in features:
            if feature.jobs is not None:
                feature.jobs(scheduler, services)
        if settings.scheduler_heartbeat_seconds:
            scheduler.heartbeat(settings.scheduler_heartbeat_seconds)
        scheduler.start()
        yield
        stop.set()
        scheduler.shutdown()
        await _stop([writer])

    view = CallbackView(timestamp_window=settings.timestamp_window_seconds, max_body=settings.max_body_bytes)
    app.router.add_routes(view.routes())
    app.cleanup_ctx.extend([runtime_ctx, background_ctx])
    return app


async def _stop(tasks: list[asyncio.Task[None]], grace: float = 5.0) -> None:
    """Let a round in progress finish its queries (a cancelled query spoils the pool's
    connection), then cancel what is left."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def freeze_heap_after_startup(app: web.Application) -> web.Application:
    """For a serving process, call once the app is fully composed (sub-apps added): when start-up
    is over, everything it built (modules, engine, pools, templates, routers) lives as long as the
    process, so move it out of the cyclic collector's sight (``gc.freeze``). Full collections then
    walk only what requests allocate: in bench/callback.py the p99 at 50 connections went from
    ~114 ms (a full collection over the whole heap every few thousand requests) to ~15 ms."""

    async def freeze(_app: web.Application) -> None:
        gc.collect()
        gc.freeze()
        log.info("gc_heap_frozen", objects=gc.get_freeze_count())

    app.on_startup.append(freeze)
    return app
