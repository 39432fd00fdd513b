"""Mini-program content API: the 素材库 list with the caller's personal share links, a live's
reservation (recorded with its inviter; the mini-program then calls ``reserveChannelsLive`` or
shows the live plugin's subscribe component for the 开播提醒 credit).

* ``GET /mp/api/content/items``; ``POST /mp/api/content/lives/{live_id}/reservation``
  ``{"inviter": "<token from the invitation link>"}`` (optional).
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import StringConstraints

from bot.content import attribution, library, live, stats, tokens
from bot.content.errors import NotAllowed
from bot.content.runtime import ContentRuntime
from bot.db import session_scope
from bot.membership.models import Member
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import Body
from bot.miniapp.session import MpSession
from bot.services import Services

routes = web.RouteTableDef()


class ReserveBody(Body):
    inviter: Annotated[str, StringConstraints(max_length=120)] = ""


def _content(services: Services) -> ContentRuntime:
    if services.content is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "content is not configured")
    return services.content


@routes.get("/mp/api/content/items")
@api(member=True)
async def items(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
    content, base = _content(services), services.settings.public_base_url
    async with session_scope(services.sessions) as db:
        member = await db.get(Member, session.member_id)
        role, region = (member.role, member.region_code) if member else ("consumer", None)
        found = await library.visible(db, session.tenant_id, role=role, region=region, limit=20)
        out = []
        for item in found:
            share = await attribution.share_for(db, session.tenant_id, item.id, session.member_id)
            token = attribution.share_token(content.secret, share)
            out.append(
                {
                    "id": item.id,
                    "kind": item.kind,
                    "title": item.title,
                    "summary": item.summary,
                    "tags": list(item.tags),
                    "image": f"{base}/content/media/{item.image_key}" if item.image_key else "",
                    "share_url": f"{base}/s/{token}",
                    "poster_url": f"{base}/s/{token}/poster.png",
                }
            )
        mine = await stats.of_forwarder(db, session.tenant_id, session.member_id)
    return {"items": out, "figures": mine}


@routes.post("/mp/api/content/lives/{live_id}/reservation")
@api(member=True, body=ReserveBody)
async def reserve(
    request: web.Request, services: Services, *, session: MpSession, body: ReserveBody
) -> dict[str, Any]:
    content = _content(services)
    inviter_body = tokens.read(content.secret, body.inviter, "inviter") if body.inviter else None
    raw = request.match_info["live_id"]
    async with session_scope(services.sessions) as db:
        found = await live.get(db, session.tenant_id, int(raw)) if raw.isdigit() and len(raw) < 19 else None
        if found is None:
            raise MpError(ErrorCode.NOT_FOUND, "no_live")
        try:
            new = await live.reserve(
                db,
                found,
                session.member_id,
                inviter_id=int(inviter_body) if inviter_body and inviter_body.isdigit() else None,
                channel="mp",
            )
        except NotAllowed as exc:
            raise MpError(ErrorCode.BAD_REQUEST, exc.reason, field="live_id") from None
    return {"reserved": True, "new": new, "subscribe_template_id": content.live_template_id}
