"""The core feature: chat ordering over the brand's core ordering & promotion API.

``open_runtime`` makes ``services.cores`` (``core_directory`` below: each tenant's client, its own
core or the process-wide ``JIUBOT_CORE_URL``, on the one core HTTP session) and, when some core is
configured, this feature adds ``services.ordering`` (``OrderingRuntime``:
catalog cache, carts, order placer, phone codes, SMS, binding cache), the ``/readyz`` detail
``core`` (circuit breakers: the default core's, and each own core's under ``tenants``) with the
default core's gauges, and the order-intent retry worker. Routes: ``POST /core/webhook[/{tenant}]``
and the mini-program ordering API.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import TYPE_CHECKING

import structlog

from bot.wiring.feature import Runtime

if TYPE_CHECKING:
    from aiohttp import ClientSession, web
    from prometheus_client import Gauge
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from backend_client import CoreClient
    from backend_client.areas import Orders
    from bot.config import Settings
    from bot.ordering.runtime import OrderingRuntime
    from bot.services import Services
    from bot.tenancy.cores import CoreConfig, CoreDirectory

log = structlog.get_logger(__name__)

STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


def make_client(session: ClientSession, settings: Settings, config: CoreConfig | None = None) -> CoreClient:
    """The client of ``config`` (default: the process-wide ``JIUBOT_CORE_*`` core)."""
    from backend_client import CircuitBreaker, CoreClient, RetryPolicy, Timeouts

    url, key = (config.url, config.api_key) if config else (settings.core_url, settings.core_api_key)
    # Reads and quotes are retried inside a chat turn's budget; the order itself has its own
    # budget (order_confirm_budget_seconds) and the retry worker behind it.
    return CoreClient(
        session,
        url,
        key,
        timeouts=Timeouts(connect=1.0, total=settings.core_timeout_seconds),
        retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.5, budget=2.0),
        breaker=CircuitBreaker(failure_threshold=5, reset_timeout=10.0),
    )


def default_core(settings: Settings) -> CoreConfig | None:
    from bot.tenancy.cores import CoreConfig

    if not settings.core_url:
        return None
    return CoreConfig(settings.core_url, settings.core_api_key, settings.core_webhook_secret, own=False)


def core_directory(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, session: ClientSession
) -> CoreDirectory:
    """Each tenant's core client on the one core ``session`` (see ``bot.tenancy.cores``)."""
    from bot.db import session_scope
    from bot.tenancy import repository
    from bot.tenancy.cores import CoreDirectory

    async def load(tenant_id: int) -> CoreConfig | None:
        async with session_scope(sessions) as db:
            return await repository.core_config(db, tenant_id)

    return CoreDirectory(load, default_core(settings), lambda config: make_client(session, settings, config))


def build_ordering(services: Services) -> OrderingRuntime:
    from bot.ordering.binding import PhoneCodes
    from bot.ordering.binding_cache import BindingCache
    from bot.ordering.cart import CartStore
    from bot.ordering.catalog_source import load_catalog
    from bot.ordering.core_catalog import CoreCatalogSource
    from bot.ordering.interface import ParseLimits
    from bot.ordering.placing import OrderPlacer
    from bot.ordering.runtime import OrderingRuntime
    from bot.ordering.sms import RedisSmsOutbox

    settings = services.settings
    cores = services.cores
    lexicon = load_catalog()

    def catalogs(client: CoreClient) -> CoreCatalogSource:
        return CoreCatalogSource(client.catalog, lexicon=lexicon, ttl=settings.catalog_cache_seconds)

    async def orders(tenant_id: int) -> Orders:
        return (await cores.require(tenant_id)).orders

    placer = OrderPlacer(
        services.sessions,
        orders,
        retry_base=settings.order_retry_base_seconds,
        max_age=settings.order_retry_max_age_seconds,
    )
    placer.hooks = services.hooks
    secret = hmac.digest(settings.secret_key.encode(), b"jiubot/bind-codes", hashlib.sha256)
    return OrderingRuntime(
        cores=cores,
        make_catalogs=catalogs,
        carts=CartStore(services.redis, services.keys, ttl=settings.cart_ttl_seconds),
        placer=placer,
        codes=PhoneCodes(services.redis, services.keys, ttl=settings.sms_code_ttl_seconds, secret=secret),
        sms=RedisSmsOutbox(services.redis, services.keys, ttl=max(settings.sms_code_ttl_seconds, 3600)),
        bindings=BindingCache(services.redis, services.keys, services.sessions),
        limits=ParseLimits(max_cases=settings.order_max_cases, max_bottles=settings.order_max_bottles),
        confirm_budget=settings.order_confirm_budget_seconds,
        bind_qr_days=settings.bind_qr_days,
        order_link=settings.order_url,
    )


@functools.cache
def _core_gauges() -> tuple[Gauge, Gauge, Gauge]:
    """The core client's gauges, registered once per process (several apps may be built)."""
    from prometheus_client import Gauge

    return (
        Gauge("jiubot_core_circuit", "The core API circuit breaker: 0 closed, 1 half-open, 2 open"),
        Gauge("jiubot_core_requests", "Requests this process sent to the core API"),
        Gauge("jiubot_core_failures", "Core API requests that failed (timeouts, 5xx)"),
    )


def _gauges(client: CoreClient) -> None:
    circuit, requests, failures = _core_gauges()
    breaker = client.breaker
    circuit.set_function(lambda: STATE_VALUE.get(breaker.state.value, 2))
    requests.set_function(lambda: client.stats.requests)
    failures.set_function(lambda: client.stats.failures)


async def setup(runtime: Runtime) -> None:
    from bot.db import session_scope
    from bot.tenancy import repository
    from bot.web import core_results

    services = runtime.services
    cores = services.cores
    async with session_scope(services.sessions) as session:
        tenants = {t.id: t.slug for t in await repository.list_tenants(session)}
    for tenant_id in tenants:  # a handful of brands: learn now which have a core of their own
        await cores.config(tenant_id)
    if not cores.configured:
        log.warning(
            "core_not_configured", hint="set JIUBOT_CORE_URL or `jiubot tenant core` to enable ordering"
        )
        return
    ordering = build_ordering(services)
    ordering.placer.on_settled = core_results.pusher(services, ordering)
    services.ordering = ordering
    if services.core is not None:
        _gauges(services.core)

    async def probe() -> dict[str, object]:
        # the default core at the top (as before tenants had cores), each tenant's own below
        detail: dict[str, object] = _state(services.core) if services.core is not None else {}
        async with session_scope(services.sessions) as session:  # tenants added since start too
            now = {t.id: t.slug for t in await repository.list_tenants(session)}
        own = {slug: _state(c) for slug, c in (await _own_clients(cores, now)).items()}
        return detail | ({"tenants": own} if own else {})

    runtime.probes["core"] = probe
    runtime.workers.append(("order-intent-retries", ordering.placer.run))
    # on shutdown: in-flight tries finish briefly; the rest stay pending for the next worker
    runtime.stack.push_async_callback(ordering.placer.drain)


async def _own_clients(cores: CoreDirectory, tenants: dict[int, str]) -> dict[str, CoreClient]:
    found = {}
    for tenant_id, slug in tenants.items():
        config = await cores.config(tenant_id)
        if config is not None and config.own:
            found[slug] = cores.client_for(config)
    return found


def _state(client: CoreClient) -> dict[str, object]:
    breaker = client.breaker
    return {
        "circuit": breaker.state.value,
        "consecutive_failures": breaker.consecutive_failures,
        "retry_after_seconds": round(breaker.retry_after(), 1),
        "requests": client.stats.requests,
        "failures": client.stats.failures,
    }


def routes(app: web.Application) -> None:
    from bot.miniapp.routes import add_ordering_routes
    from bot.web import core_webhook

    app.router.add_routes(core_webhook.routes)
    add_ordering_routes(app)  # store binding, catalog, cart, quote, orders
