"""``create_app(settings)``: the one composition root. Nothing imports this module but the CLI
and tests; every resource is a cleanup context, every shared object has a typed AppKey."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot import keys
from bot.config import Settings
from bot.db import create_engine, session_factory, session_scope
from bot.dispatch import Dispatcher, Router
from bot.dispatch.middleware import DEFAULT_MIDDLEWARE
from bot.flows.storage import RedisFlowStorage
from bot.handlers import basic, notifications
from bot.ports import Notifier, RecordingPushNotifier
from bot.redis import Keys, connect, multiplexer
from bot.scheduler import Scheduler
from bot.services import Services
from bot.tenancy import repository as tenancy_repo
from bot.tenancy.actions import ensure_default_tenant
from bot.tenancy.registry import AppRegistry
from bot.web import health
from bot.wechat.dedupe import Dedupe
from bot.wechat.inbound_log import InboundLog, prune
from bot.wechat.pipeline import Pipeline
from bot.wechat.webhook import CallbackView

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).with_name("templates")

PIPELINE = keys.PIPELINE
INBOUND_LOG = keys.INBOUND_LOG

# A hook that finishes wiring once services exist (outbound client, core client, flows ...).
Extension = Callable[[web.Application, Services], Awaitable[None]]


def text_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        auto_reload=False,  # no stat() of the template file on every reply
        autoescape=False,  # noqa: S701 - chat texts are plain text; H5 pages use an autoescaping env
        keep_trailing_newline=False,
    )


def default_routers() -> list[Router]:
    """The foundation's handlers: receipts, follow/unfollow, scenes, locations, help."""
    return [notifications.router, basic.router]


@dataclass(frozen=True)
class Feature:
    """What a feature package contributes: chat routers, HTTP routes (added before start-up) and
    an extension (run once the database, Redis and services exist)."""

    name: str
    routers: tuple[Router, ...] = ()
    extension: Extension | None = None
    routes: Callable[[web.Application], None] | None = None
    jobs: Callable[[Scheduler, Services], None] | None = None  # periodic work, guarded per fire


def default_features() -> list[Feature]:
    """Everything jiubot does, in dispatch order after the foundation's handlers."""
    from bot.console.feature import console_feature
    from bot.handlers.membership import router as membership_router
    from bot.handlers.ordering import router as ordering_router  # also registers the bind: scene
    from bot.miniapp.ordering import add_routes as mp_ordering_routes
    from bot.miniapp.routes import add_routes as miniapp_routes
    from bot.web.core_wiring import add_routes as core_routes
    from bot.web.core_wiring import core_extension
    from bot.web.membership_wiring import add_routes as membership_routes
    from bot.web.membership_wiring import membership_extension
    from bot.wechat.wiring import outbound_extension

    def ordering_routes(app: web.Application) -> None:
        core_routes(app)
        mp_ordering_routes(app)

    def membership_jobs(scheduler: Scheduler, services: Services) -> None:
        from bot.membership import jobs

        scheduler.cron("points-audit", lambda: jobs.nightly_audit(services.sessions), hour=2, minute=40)
        scheduler.cron(
            "points-expiry", lambda: jobs.yearly_expiry(services.sessions), month=1, day=1, hour=3, minute=30
        )
        scheduler.cron(
            "tier-review",
            lambda: jobs.period_tier_review(services.sessions),
            month=1,
            day=1,
            hour=4,
            minute=0,
        )

    return [
        Feature("outbound", extension=outbound_extension),
        Feature("miniapp", routes=miniapp_routes),
        # the core client (reused by membership's coupons), the ordering runtime, /core/webhook
        # and the mini-program ordering API
        Feature("core", extension=core_extension, routes=ordering_routes),
        Feature("membership", (membership_router,), membership_extension, membership_routes, membership_jobs),
        # after membership: its texts (积分, 我的优惠券 ...) win over free-text ordering
        Feature("ordering", (ordering_router,)),
        Feature("console", **console_feature()),
    ]


@web.middleware
async def request_id(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
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
    notifier: Notifier | None = None,
    routers: Sequence[Router] | None = None,
    extensions: Sequence[Extension] = (),
    features: Sequence[Feature] | None = None,
    background: bool = True,
) -> web.Application:
    """The application. Without ``routers`` and ``features`` it has every feature
    (``default_features``); tests pass only what they exercise."""
    if features is None:
        features = default_features() if routers is None else []
    chat_routers = list(routers) if routers is not None else default_routers()
    for feature in features:
        chat_routers.extend(feature.routers)
    all_extensions = [f.extension for f in features if f.extension is not None] + list(extensions)
    feature_jobs = [f.jobs for f in features if f.jobs is not None]
    app = web.Application(middlewares=[request_id], client_max_size=max(settings.max_body_bytes * 2, 1 << 20))
    app[keys.SETTINGS] = settings
    app[keys.READINESS_PROBES] = {}
    view = CallbackView(
        registry=None,  # type: ignore[arg-type]  # bound in _services once the database is up
        pipeline=None,  # type: ignore[arg-type]
        timestamp_window=settings.timestamp_window_seconds,
        max_body=settings.max_body_bytes,
    )
    app.router.add_routes(view.routes())
    app.router.add_routes(health.routes)
    for feature in features:
        if feature.routes is not None:
            feature.routes(app)

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app[keys.ENGINE] = engine
        app[keys.SESSIONS] = session_factory(engine)
        yield
        await engine.dispose()

    async def redis(app: web.Application) -> AsyncIterator[None]:
        client, stand_in = await connect(settings.redis_url, mode=settings.redis_mode)
        app[keys.REDIS] = client
        app[keys.REDIS_MUX] = mux = multiplexer(settings.redis_url, client, stand_in)
        app[keys.REDIS_KEYS] = Keys(settings.redis_prefix)
        yield
        await mux.aclose()
        await client.aclose()

    async def services(app: web.Application) -> AsyncIterator[None]:
        sessions = app[keys.SESSIONS]
        await ensure_default_tenant(sessions, settings)

        async def load_apps():
            async with session_scope(sessions) as session:
                return await tenancy_repo.list_apps(session)

        registry = AppRegistry(load_apps)
        await registry.reload()
        svc = Services(
            settings=settings,
            sessions=sessions,
            redis=app[keys.REDIS],
            keys=app[keys.REDIS_KEYS],
            registry=registry,
            flows=RedisFlowStorage(app[keys.REDIS], app[keys.REDIS_KEYS], ttl_seconds=24 * 3600),
            notifier=notifier or RecordingPushNotifier(),  # type: ignore[arg-type]
            texts=text_environment(),
        )
        app[keys.SERVICES] = svc
        root = Router("root", children=chat_routers)
        dispatcher = Dispatcher(root, DEFAULT_MIDDLEWARE, fallback=basic.fallback)
        dedupe = Dedupe(
            app[keys.REDIS_MUX],
            svc.keys,
            inflight_ttl=settings.dedupe_inflight_ttl_seconds,
            done_ttl=settings.dedupe_done_ttl_seconds,
            lock_ttl=settings.member_lock_ttl_seconds,
            nonce_ttl=2 * settings.timestamp_window_seconds + 60,
        )
        await dedupe.load_scripts()
        inbound_log = InboundLog(svc.redis, app[keys.REDIS_MUX], svc.keys)
        await inbound_log.ensure_group()
        pipeline = Pipeline(svc, dispatcher, dedupe, inbound_log, budget=settings.callback_budget_seconds)
        app[PIPELINE] = pipeline
        app[INBOUND_LOG] = inbound_log
        view.registry = registry
        view.pipeline = pipeline
        for extension in all_extensions:
            await extension(app, svc)
        dispatcher.refresh()
        yield
        await pipeline.drain()

    async def workers(app: web.Application) -> AsyncIterator[None]:
        if not background:
            yield
            return
        svc = app[keys.SERVICES]
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(app[INBOUND_LOG].run_writer(svc.sessions, stop), name="inbound-log-writer")
        ]
        scheduler = Scheduler(svc.redis, svc.keys, settings.timezone)
        scheduler.every("registry-refresh", 30, svc.registry.reload, guarded=False)
        scheduler.cron(
            "inbound-log-retention",
            lambda: prune(svc.sessions, settings.message_log_retention_days),
            hour=3,
            minute=17,
        )
        for register in feature_jobs:
            register(scheduler, svc)
        scheduler.start()
        yield
        stop.set()
        scheduler.shutdown()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.extend([database, redis, services, workers])
    return app


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
