"""Wiring of the core ordering API and chat ordering into the app.

Integrator (bot/app.py or the demo), with ``JIUBOT_CORE_URL`` set:

* ``extensions=[outbound_extension, core_extension, membership_extension, ...]`` -- before
  membership's, which reuses ``services.extras["core.client"]``;
* before the app starts: ``core_wiring.add_routes(app)`` (``POST /core/webhook``) and
  ``bot.miniapp.ordering.add_routes(app)`` (the mini-program ordering API: ``/mp/api/store``,
  ``/mp/api/cart``, ``/mp/api/quote``, ``/mp/api/orders`` ...);
* routers ``[notifications.router, membership.router, ordering.router, basic.router]``
  (``bot.handlers.ordering``; importing it registers the ``bind:`` QR scene).

The extension puts on ``services.extras``: ``"core.client"`` (``backend_client.CoreClient`` on
``app[keys.HTTP]``, created and closed here if no other extension made it) and ``"ordering"``
(``OrderingRuntime``); adds ``/readyz`` details ``"core"`` (circuit breaker state) and the gauge
``jiubot_core_circuit``; and runs the order-intent retry worker until shutdown.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import structlog
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from prometheus_client import Gauge

from backend_client import CircuitBreaker, CoreClient, RetryPolicy, Timeouts
from bot import keys
from bot.ordering.binding import PhoneCodes
from bot.ordering.binding_cache import BindingCache
from bot.ordering.cart import CartStore
from bot.ordering.catalog_source import load_catalog
from bot.ordering.core_catalog import CoreCatalogSource
from bot.ordering.interface import ParseLimits
from bot.ordering.placing import OrderPlacer
from bot.ordering.runtime import EXTRA, OrderingRuntime
from bot.ordering.sms import RedisSmsOutbox
from bot.services import Services
from bot.web import core_results, core_webhook

log = structlog.get_logger(__name__)

EXTRA_CORE_CLIENT = "core.client"
STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}
circuit = Gauge("jiubot_core_circuit", "The core API circuit breaker: 0 closed, 1 half-open, 2 open")
core_requests = Gauge("jiubot_core_requests", "Requests this process sent to the core API")
core_failures = Gauge("jiubot_core_failures", "Core API requests that failed (timeouts, 5xx)")


def _http(app: web.Application) -> ClientSession:
    session = app.get(keys.HTTP)
    if session is None:
        session = ClientSession(
            connector=TCPConnector(limit=100, ttl_dns_cache=300),
            timeout=ClientTimeout(total=30),
            headers={"User-Agent": "jiubot"},
        )
        app[keys.HTTP] = session

        async def close(_app: web.Application) -> None:
            await session.close()

        app.on_cleanup.append(close)
    return session


def make_client(session: ClientSession, settings) -> CoreClient:  # type: ignore[no-untyped-def]
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


def build_runtime(services: Services, client: CoreClient) -> OrderingRuntime:
    settings = services.settings
    catalogs = CoreCatalogSource(client.catalog, lexicon=load_catalog(), ttl=settings.catalog_cache_seconds)
    placer = OrderPlacer(
        services.sessions,
        client.orders,
        retry_base=settings.order_retry_base_seconds,
        max_age=settings.order_retry_max_age_seconds,
    )
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


async def core_extension(app: web.Application, services: Services) -> None:
    settings = services.settings
    if not settings.core_url:
        log.warning("core_not_configured", hint="set JIUBOT_CORE_URL to enable chat ordering")
        return
    client = services.extras.get(EXTRA_CORE_CLIENT) or make_client(_http(app), settings)
    services.extras[EXTRA_CORE_CLIENT] = client
    runtime = build_runtime(services, client)
    services.extras[EXTRA] = runtime
    runtime.placer.on_settled = core_results.pusher(services, runtime)

    breaker = client.breaker
    circuit.set_function(lambda: STATE_VALUE.get(breaker.state.value, 2))
    core_requests.set_function(lambda: client.stats.requests)
    core_failures.set_function(lambda: client.stats.failures)

    async def probe() -> dict[str, object]:
        return {
            "circuit": breaker.state.value,
            "consecutive_failures": breaker.consecutive_failures,
            "retry_after_seconds": round(breaker.retry_after(), 1),
            "requests": client.stats.requests,
            "failures": client.stats.failures,
        }

    app[keys.READINESS_PROBES]["core"] = probe

    stop = asyncio.Event()
    worker = asyncio.create_task(runtime.placer.run(stop), name="order-intent-retries")

    async def shutdown(_app: web.Application) -> None:
        stop.set()
        await runtime.placer.drain()
        # let a round in progress finish its queries (a cancelled query spoils the pool's connection)
        done, _ = await asyncio.wait({worker}, timeout=5.0)
        if not done:
            worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    app.on_shutdown.append(shutdown)


def add_routes(app: web.Application) -> None:
    """``POST /core/webhook``; call before the app starts."""
    app.router.add_routes(core_webhook.routes)
