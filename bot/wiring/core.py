"""The core feature: chat ordering over the brand's core ordering & promotion API.

With ``JIUBOT_CORE_URL`` set, ``open_runtime`` makes ``services.core`` (``make_client`` below, on
the core's own HTTP session) and this feature adds ``services.ordering`` (``OrderingRuntime``:
catalog cache, carts, order placer, phone codes, SMS, binding cache), the ``/readyz`` detail
``core`` (circuit breaker) with its gauges, and the order-intent retry worker. Routes:
``POST /core/webhook`` and the mini-program ordering API.
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

    from backend_client import CoreClient
    from bot.config import Settings
    from bot.ordering.runtime import OrderingRuntime
    from bot.services import Services

log = structlog.get_logger(__name__)

STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


def make_client(session: ClientSession, settings: Settings) -> CoreClient:
    from backend_client import CircuitBreaker, CoreClient, RetryPolicy, Timeouts

    # Reads and quotes are retried inside a chat turn's budget; the order itself has its own
    # budget (order_confirm_budget_seconds) and the retry worker behind it.
    return CoreClient(
        session,
        settings.core_url,
        settings.core_api_key,
        timeouts=Timeouts(connect=1.0, total=settings.core_timeout_seconds),
        retry=RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.5, budget=2.0),
        breaker=CircuitBreaker(failure_threshold=5, reset_timeout=10.0),
    )


def build_ordering(services: Services, client: CoreClient) -> OrderingRuntime:
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
    catalogs = CoreCatalogSource(client.catalog, lexicon=load_catalog(), ttl=settings.catalog_cache_seconds)
    placer = OrderPlacer(
        services.sessions,
        client.orders,
        retry_base=settings.order_retry_base_seconds,
        max_age=settings.order_retry_max_age_seconds,
    )
    placer.hooks = services.hooks
    secret = hmac.digest(settings.secret_key.encode(), b"jiubot/bind-codes", hashlib.sha256)
    return OrderingRuntime(
        core=client,
        catalogs=catalogs,
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
    from bot.web import core_results

    services = runtime.services
    client = services.core  # made by open_runtime with the core's HTTP session
    if client is None:
        log.warning("core_not_configured", hint="set JIUBOT_CORE_URL to enable chat ordering")
        return
    ordering = build_ordering(services, client)
    ordering.placer.on_settled = core_results.pusher(services, ordering)
    services.ordering = ordering
    _gauges(client)
    breaker = client.breaker

    async def probe() -> dict[str, object]:
        return {
            "circuit": breaker.state.value,
            "consecutive_failures": breaker.consecutive_failures,
            "retry_after_seconds": round(breaker.retry_after(), 1),
            "requests": client.stats.requests,
            "failures": client.stats.failures,
        }

    runtime.probes["core"] = probe
    runtime.workers.append(("order-intent-retries", ordering.placer.run))
    # on shutdown: in-flight tries finish briefly; the rest stay pending for the next worker
    runtime.stack.push_async_callback(ordering.placer.drain)


def routes(app: web.Application) -> None:
    from bot.miniapp.routes import add_ordering_routes
    from bot.web import core_webhook

    app.router.add_routes(core_webhook.routes)
    add_ordering_routes(app)  # store binding, catalog, cart, quote, orders
