"""One aiohttp middleware: a dependency that is down, silent or busy answers 503, never a 500.

* Redis did not answer within its deadline or cannot be reached (``redis.exceptions.TimeoutError``,
  ``ConnectionError``; every client has a deadline, see bot/redis.py and bot/redis_mux.py).
* SQLite answered "database is locked" (a write burst outlasted ``busy_timeout``) or the database
  cannot be reached (SQLAlchemy ``OperationalError``, or its pool timed out).

The request is NOT retried here: a handler may have called the core or WeChat before the failing
step, and only the whole transaction is safe to repeat. Each failing transaction was rolled back
by ``session_scope``, so the client's retry (``Retry-After``) is the bounded retry. Machines get
JSON ``{"error": "service_busy", "reason": ..., "message": <Chinese>}``; pages a Chinese sentence.
A Redis error that is not about availability (``ResponseError``: a bug) still propagates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import keys

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 2
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reason_of(exc: BaseException) -> str | None:
    """The availability reason code of ``exc``, or None when it is not about availability."""
    if isinstance(exc, RedisTimeoutError):
        return "redis_timeout"
    if isinstance(exc, RedisConnectionError):
        return "redis_unavailable"
    if isinstance(exc, OperationalError):
        text = str(exc.orig) if exc.orig is not None else ""
        return "database_busy" if "locked" in text or "busy" in text else "database_unavailable"
    if isinstance(exc, PoolTimeout):
        return "database_busy"
    return None


def busy_response(request: web.Request, reason: str) -> web.Response:
    services = request.app.get(keys.SERVICES)
    message = services.text("service_unavailable") if services is not None else ""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    wants_json = request.path.startswith(("/mp/", "/core/", "/api/")) or "json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        return web.json_response(
            {"error": "service_busy", "reason": reason, "message": message}, status=503, headers=headers
        )
    return web.Response(text=message, status=503, headers=headers, content_type="text/plain", charset="utf-8")


@web.middleware
async def dependency_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (RedisTimeoutError, RedisConnectionError, OperationalError, PoolTimeout) as exc:
        reason = reason_of(exc) or "unavailable"
        log.warning("dependency_unavailable", reason=reason, path=request.path, error=type(exc).__name__)
        return busy_response(request, reason)
