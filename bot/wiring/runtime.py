"""``open_runtime(settings)``: build every runtime object once, close them all on exit.

The web application (``bot.app.create_app``), ``jiubot worker``, the CLI commands, the demo and
the benches all get their engine, Redis, HTTP sessions, WeChat and core clients from here, so
there is one way each object is made (and its timeouts are set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, TCPConnector
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.config import Settings
from bot.db import create_engine, session_factory, session_scope
from bot.flows.storage import RedisFlowStorage
from bot.ports import PushNotifier, RecordingPushNotifier
from bot.redis import Keys, multiplexer
from bot.redis import connect as connect_redis
from bot.services import Services
from bot.tenancy import repository as tenancy_repo
from bot.tenancy.actions import ensure_default_tenant
from bot.tenancy.registry import AppConfig, AppRegistry
from bot.wiring.core import core_directory
from bot.wiring.feature import Feature, Remotes, Runtime

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FLOW_TTL_SECONDS = 24 * 3600


def text_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        auto_reload=False,  # no stat() of the template file on every reply
        autoescape=False,  # noqa: S701 - chat texts are plain text; H5 pages use an autoescaping env
        keep_trailing_newline=False,
    )


def http_session(*, total: float, connect: float, limit: int = 100) -> ClientSession:
    """A client session with explicit timeouts (each request may still set a shorter one)."""
    return ClientSession(
        connector=TCPConnector(limit=limit, ttl_dns_cache=300),
        timeout=ClientTimeout(total=total, connect=connect),
        headers={"User-Agent": "jiubot"},
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    features: Sequence[Feature] = (),
    *,
    notifier: PushNotifier | None = None,
    redis_mode: str | None = None,
) -> AsyncIterator[Runtime]:
    """The runtime of ``features`` (``bot.wiring.features.FEATURES`` for all of jiubot).

    Nothing here starts background work: ``create_app`` runs the workers and the scheduler."""
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
        # every Redis call has a deadline (a silent Redis must not hang a request)
        timeout, connect = settings.redis_timeout_seconds, settings.redis_connect_timeout_seconds
        redis, stand_in = await connect_redis(
            settings.redis_url,
            mode=redis_mode or settings.redis_mode,
            socket_timeout=timeout,
            socket_connect_timeout=connect,
        )
        stack.push_async_callback(redis.aclose)
        mux = multiplexer(
            settings.redis_url,
            redis,
            stand_in,
            socket_timeout=timeout,
            socket_connect_timeout=connect,
        )
        stack.push_async_callback(mux.aclose)
        keys = Keys(settings.redis_prefix)
        # WeChat answers within seconds or not at all; the client sets per-call timeouts too.
        wechat_http = await stack.enter_async_context(
            http_session(total=settings.wechat_timeout_seconds * 2, connect=3.0)
        )
        # One session for every tenant's core (a connection pool per host inside it).
        core_http = await stack.enter_async_context(
            http_session(total=max(settings.core_timeout_seconds * 4, 10.0), connect=1.0)
        )
        default_tenant_id = await ensure_default_tenant(sessions, settings)
        cores = core_directory(sessions, settings, core_http)
        core = cores.client_for(cores.default) if cores.default is not None else None

        async def load_apps() -> list[AppConfig]:
            async with session_scope(sessions) as session:
                return await tenancy_repo.list_apps(session)

        registry = AppRegistry(load_apps)
        await registry.reload()
        services = Services(
            settings=settings,
            sessions=sessions,
            redis=redis,
            keys=keys,
            registry=registry,
            flows=RedisFlowStorage(redis, keys, ttl_seconds=FLOW_TTL_SECONDS),
            notifier=notifier or RecordingPushNotifier(),
            texts=text_environment(),
            cores=cores,
            core=core,
        )
        stack.push_async_callback(services.hooks.settled)  # before the engine closes
        runtime = Runtime(
            settings=settings,
            engine=engine,
            mux=mux,
            http=Remotes(wechat=wechat_http, core=core_http),
            services=services,
            stack=stack,
            notifier_given=notifier is not None,
            default_tenant_id=default_tenant_id,
        )
        for feature in features:
            if feature.setup is not None:
                await feature.setup(runtime)
        yield runtime
