"""``/healthz`` (the process answers), ``/readyz`` (database and Redis answer) and ``/metrics``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import text

from bot.keys import ENGINE, READINESS_PROBES, REDIS

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _check(name: str, probe: Awaitable[object], limit: float = 2.0) -> str:
    """ "ok", or a reason code: the exception's text (addresses, user names, SQL) goes to the log,
    never into the answer of an endpoint a load balancer or a stranger may read."""
    try:
        await asyncio.wait_for(probe, limit)
        return "ok"
    except Exception as exc:  # any failure means "not ready"
        reason = "timeout" if isinstance(exc, TimeoutError | RedisTimeoutError) else "unavailable"
        log.warning("readiness_check_failed", check=name, reason=reason, error=type(exc).__name__)
        return reason


async def _db_ping(request: web.Request) -> None:
    async with request.app[ENGINE].connect() as conn:
        await conn.execute(text("SELECT 1"))


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = {
        "database": await _check("database", _db_ping(request)),
        "redis": await _check("redis", request.app[REDIS].ping()),
    }
    details: dict[str, object] = {}
    for name, probe in request.app[READINESS_PROBES].items():
        details[name] = await probe()
    ready = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if ready else "not_ready", "checks": checks, "details": details},
        status=200 if ready else 503,
    )


@routes.get("/metrics")
async def metrics_view(request: web.Request) -> web.Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


Probe = Callable[[], Awaitable[object]]
