"""Follow, unfollow, QR scans, menu clicks, locations, help and the fallback."""

from __future__ import annotations

import asyncio

import structlog

from bot.db import session_scope, utcnow
from bot.dispatch import EventContext, Router
from bot.handlers.scenes import scenes
from bot.hooks import Happened
from bot.membership import actions as member_actions
from bot.messages import Inbound, NoReply, Replies, Reply, TextReply
from bot.observability import hash_openid
from bot.services import Services

router = Router("basic")
log = structlog.get_logger(__name__)


@router.event("subscribe")
async def on_subscribe(message: Inbound, services: Services, ctx: EventContext) -> Reply:
    async with session_scope(services.sessions) as session:
        await member_actions.mark_followed(session, message.appid, message.openid, scene=message.scene)
    await _link_unionid(ctx)
    welcome = TextReply(services.text("welcome", is_store=False))
    scene_reply: Reply | None = None
    if message.scene:  # first: a scene that names who brought him (a forwarder's QR) decides
        scene_reply = await scenes.run(ctx, message.scene)
        if scene_reply is None:
            log.info("unknown_scene", scene=message.scene[:64], user=hash_openid(message.openid))
    if ctx.member_id is not None:
        followed = Happened(ctx.app.tenant_id, "follow", utcnow(), member_id=ctx.member_id)
        await services.hooks.emit(followed)
    if scene_reply is not None and not isinstance(scene_reply, NoReply):
        return Replies((welcome, scene_reply))
    return welcome


async def _link_unionid(ctx: EventContext) -> None:
    """The OA's user/info gives the unionid when the account is bound to an open platform: the
    person who already uses the mini-program becomes one member (WECHAT_PROTOCOL.md 12). Best
    effort within a short time; the welcome never waits long for it."""
    services, message = ctx.services, ctx.message
    client = services.wechat
    if client is None:
        return
    try:
        info = await asyncio.wait_for(client.user.info(message.appid, message.openid), 1.5)
    except Exception as exc:  # WeChat busy, quota, not bound: the member stays as he is
        log.info("user_info_unavailable", user=hash_openid(message.openid), error=type(exc).__name__)
        return
    if not info.unionid:
        return
    async with session_scope(services.sessions) as session:
        member_id = await member_actions.link_unionid(
            session, ctx.app.tenant_id, message.appid, message.openid, info.unionid
        )
    if member_id != ctx.member_id:
        ctx.member_id = member_id  # merged into the member the mini-program already knew
        await services.redis.set(
            services.keys("member", message.appid, message.openid), member_id, ex=7 * 86400
        )


@router.event("unsubscribe")
async def on_unsubscribe(message: Inbound, services: Services, ctx: EventContext) -> Reply:
    async with session_scope(services.sessions) as session:
        await member_actions.mark_unfollowed(session, message.appid, message.openid)
    await services.flows.clear(ctx.flow_key)
    return NoReply()


@router.event("scan")
async def on_scan(message: Inbound, services: Services, ctx: EventContext) -> Reply:
    scene = message.scene or ""
    reply = await scenes.run(ctx, scene) if scene else None
    if reply is None:
        log.info("unknown_scene", scene=scene[:64], user=hash_openid(message.openid))
        return TextReply(services.text("scene_unknown"))
    return reply


@router.event("location")
async def on_location(message: Inbound, services: Services) -> Reply:
    try:
        lat = float(message.fields.get("Latitude", ""))
        lng = float(message.fields.get("Longitude", ""))
        precision = float(message.fields.get("Precision") or 0) or None
    except (TypeError, ValueError):
        log.info("bad_location", user=hash_openid(message.openid))
        return NoReply()
    async with session_scope(services.sessions) as session:
        await member_actions.record_location(
            session, message.appid, message.openid, latitude=lat, longitude=lng, precision=precision
        )
    return NoReply()


@router.event("view", "view_miniprogram")
async def on_view(message: Inbound) -> Reply:
    # The interaction itself is recorded by the pipeline; a VIEW cannot be answered.
    return NoReply()


@router.text(equals=("帮助", "help", "?", "？", "菜单"))
async def on_help(services: Services) -> Reply:
    return TextReply(services.text("help"))


async def fallback(ctx: EventContext) -> Reply:
    """Nothing matched: texts get the help text, menu clicks a hint, other pushes an ack."""
    msg = ctx.message
    services = ctx.services
    if msg.msg_type == "text":
        return TextReply(services.text("fallback"))
    if msg.msg_type == "event" and msg.event in {"click", "scancode_push", "scancode_waitmsg"}:
        log.info("unknown_menu_key", key=(msg.event_key or "")[:64])
        return TextReply(services.text("menu_unknown"))
    if msg.msg_type in {"image", "voice", "video", "shortvideo", "link", "file"}:
        return TextReply(services.text("unsupported_message"))
    return NoReply()
