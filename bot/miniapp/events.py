"""``POST /mp/api/events``: a batch of the mini-program's behaviour events.

The batch is checked against the JSON schema in ``bot/analytics/schema.py`` (also in
``openapi.yaml``) and refused whole when it breaks it: 400 ``bad_request`` with ``field`` naming
the first place at fault (``events[2].dwell_ms``). Accepted events are stamped with the caller's
member and go to the analytics stream (written behind this request); a client id seen before is
stored once.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from bot.analytics.actions import accept_mp_batch
from bot.analytics.errors import BadEvents
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.session import MpSession
from bot.services import Services

routes = web.RouteTableDef()

MAX_BODY = 256 * 1024


@routes.post("/mp/api/events")
@api()
async def events(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
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
        raise MpError(ErrorCode.BAD_REQUEST, exc.reason, field=exc.field) from None
    return {"accepted": accepted.accepted}
