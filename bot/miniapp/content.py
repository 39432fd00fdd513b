"""Mini-program content API: the 素材库 list with the caller's personal share links, a live's
reservation (recorded with its inviter; the mini-program then calls ``reserveChannelsLive`` or
shows the live plugin's subscribe component for the 开播提醒 credit)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.content import attribution, library, live, stats, tokens
from bot.content.errors import NotAllowed
from bot.db import session_scope
from bot.membership.models import Member
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.routes import api, require_session, services_of

routes = web.RouteTableDef()


def _content(request: web.Request):  # type: ignore[no-untyped-def]
    content = services_of(request).content
    if content is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "content is not configured")
    return content


@routes.get("/mp/api/content/items")
@api
async def items(request: web.Request) -> dict[str, Any]:
    session_info = require_session(request)
    services, content = services_of(request), _content(request)
    base = services.settings.public_base_url
    async with session_scope(services.sessions) as session:
        member = await session.get(Member, session_info.member_id)
        role, region = (member.role, member.region_code) if member else ("consumer", None)
        found = await library.visible(session, session_info.tenant_id, role=role, region=region, limit=20)
        out = []
        for item in found:
            share = await attribution.share_for(
                session, session_info.tenant_id, item.id, session_info.member_id
            )
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
        mine = await stats.of_forwarder(session, session_info.tenant_id, session_info.member_id)
    return {"items": out, "figures": mine}


@routes.post("/mp/api/content/lives/{live_id}/reservation")
@api
async def reserve(request: web.Request) -> dict[str, Any]:
    session_info = require_session(request)
    services, content = services_of(request), _content(request)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        raise MpError(ErrorCode.BAD_REQUEST, "body is not JSON") from None
    inviter_raw = str((body or {}).get("inviter", ""))
    inviter_body = tokens.read(content.secret, inviter_raw, "inviter") if inviter_raw else None
    async with session_scope(services.sessions) as session:
        raw = request.match_info["live_id"]
        found = await live.get(session, session_info.tenant_id, int(raw)) if raw.isdigit() else None
        if found is None:
            raise MpError(ErrorCode.BAD_REQUEST, "no such live")
        try:
            new = await live.reserve(
                session,
                found,
                session_info.member_id,
                inviter_id=int(inviter_body) if inviter_body and inviter_body.isdigit() else None,
                channel="mp",
            )
        except NotAllowed as exc:
            raise MpError(ErrorCode.BAD_REQUEST, exc.reason) from None
    return {"reserved": True, "new": new, "subscribe_template_id": content.live_template_id}
