"""``POST /mp/api/events``: a batch of the mini-program's behaviour events.

The batch is checked against the schema in ``bot/analytics/schema.py`` and refused whole when
it breaks it (400 naming the field: ``{"error": "bad_request", "message": ..., "field":
"events[2].dwell_ms"}``); accepted events are stamped with the caller's member and go to the
analytics stream (written behind this request). A client id seen before is stored once.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from aiohttp import web

from bot.analytics.actions import accept_mp_batch
from bot.analytics.errors import BadEvents
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.routes import api, require_session, services_of
from bot.miniapp.texts import message

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

MAX_BODY = 256 * 1024


@routes.post("/mp/api/events")
@api
async def events(request: web.Request) -> Any:
    services = services_of(request)
    session = require_session(request)
    runtime = services.analytics
    if runtime is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "analytics is not wired")
    if (request.content_length or 0) > MAX_BODY:
        raise MpError(ErrorCode.BAD_REQUEST, "body too large")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise MpError(ErrorCode.BAD_REQUEST, "body is not JSON") from None
    try:
        accepted = await accept_mp_batch(
            runtime, body, tenant_id=session.tenant_id, member_id=session.member_id
        )
    except BadEvents as exc:
        log.info("mp_events_refused", member_id=session.member_id, field=exc.field, reason=exc.reason)
        return web.json_response(
            {
                "error": ErrorCode.BAD_REQUEST.value,
                "message": message(ErrorCode.BAD_REQUEST),
                "field": exc.field,
                "reason": exc.reason,
            },
            status=400,
        )
    return {"accepted": accepted.accepted}


def add_routes(app: web.Application) -> None:
    app.router.add_routes(routes)
