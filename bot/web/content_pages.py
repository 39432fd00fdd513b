"""The content feature's H5 pages: a forwarder's share page ``/s/<token>`` (WeChat share card
through the JS-SDK, a reading-time beacon, the forwarder's follow QR), his poster, the 素材库 page,
media files and the livestream invitation page.

Who is reading comes from WeChat's silent snsapi_base OAuth (bot/web/h5auth.py). A page opened
outside WeChat's browser is shown the "open in WeChat" page and nothing is counted (bots and
link previews never sign in).
"""

from __future__ import annotations

import asyncio
import io
import secrets
import time
from datetime import datetime
from typing import Any

import segno
import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import attribution, library, live, poster, stats, storage, tokens, views
from bot.content.interface import Item, Live, Share
from bot.content.runtime import ContentRuntime
from bot.db import session_scope, utcnow
from bot.membership.models import Member, Store
from bot.tenancy.models import Tenant
from bot.web.h5auth import (
    H5Member,
    brand_of,
    current_member,
    form_token,
    in_wechat,
    login_redirect,
    official_account,
    services_of,
)
from bot.web.member_pages import render

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
FOLLOW_SCENE = "cs:"  # a forwarder's follow QR: cs:<share code>


def content_of(request: web.Request) -> ContentRuntime:
    runtime = services_of(request).content
    if runtime is None:
        raise web.HTTPServiceUnavailable(text="content is not configured")
    return runtime


def _gone(brand: str, status: int = 404, text: str = "这个分享链接无效或已失效。") -> web.HTTPException:
    page = render("member_message", status=status, heading="链接无效", text=text, brand=brand)
    kind = web.HTTPNotFound if status == 404 else web.HTTPGone
    return kind(text=page.text, content_type="text/html", headers={"Cache-Control": "no-store"})


async def _load(request: web.Request) -> tuple[Share, Item, str]:
    """The share, its item and the brand's name (one transaction), or the refusal page."""
    services, content = services_of(request), content_of(request)
    token = request.match_info["token"][:80]
    brand = services.settings.tenant_name
    async with session_scope(services.sessions) as session:
        share = await attribution.share_by_token(session, content.secret, token)
        item = await library.get(session, share.tenant_id, share.item_id) if share else None
        tenant = await session.get(Tenant, share.tenant_id) if share else None
    brand = tenant.name if tenant is not None and tenant.name else brand
    if share is None or item is None:
        log.info("content_share_refused", reason="bad_token")
        raise _gone(brand)
    if share.revoked:
        raise _gone(brand, 410, "转发人已撤回这个分享链接。")
    if not library.is_live(item, utcnow()):
        raise _gone(brand, 410, "这条内容已下架或尚未发布。")
    return share, item, brand


async def _display_name(session: AsyncSession, member_id: int) -> str:
    member = await session.get(Member, member_id)
    if member is not None and member.store_id is not None:
        store = await session.get(Store, member.store_id)
        if store is not None and store.name:
            return store.name
    if member is not None and member.distributor_code:
        return f"经销商 {member.distributor_code}"
    return f"会员 {member_id}"


async def _wx_config(request: web.Request, appid: str) -> dict[str, Any] | None:
    client = services_of(request).wechat
    if client is None:
        return None
    url = f"{services_of(request).settings.public_base_url}{request.path_qs}"
    try:
        return await client.jsapi.signature(
            appid, url, noncestr=secrets.token_hex(8), timestamp=int(time.time())
        )
    except Exception:
        log.warning("jsapi_signature_failed", exc_info=True)
        return None


@routes.get("/s/{token}")
async def share_page(request: web.Request) -> web.StreamResponse:
    """The page; the view goes to the view stream in one Redis round trip (bot/content/views.py
    has the rules its writer applies), and the radar's notice is sent by that writer."""
    services, content = services_of(request), content_of(request)
    share, item, brand = await _load(request)
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=brand, what="content")
    member = current_member(request)
    if member is None or member.tenant_id != share.tenant_id:
        raise await login_redirect(request, request.path, share.tenant_id)
    if content.views is None:
        raise web.HTTPServiceUnavailable(text="the view stream is not configured")
    viewer, ref = member.member_id, views.new_ref()
    opening = await content.views.open(share, viewer, ref, utcnow())
    own_code = share.code if viewer == share.forwarder_id else opening.own_code
    forwarder = opening.forwarder_name
    if own_code is None or forwarder is None:  # his first open of this item, or a cold name
        async with session_scope(services.sessions) as session:
            if own_code is None:
                mine = await attribution.share_for(
                    session, share.tenant_id, share.item_id, viewer, parent=share
                )
                own_code = mine.code
            forwarder = forwarder or await _display_name(session, share.forwarder_id)
        await content.views.remember(share.item_id, viewer, own_code, (share.forwarder_id, forwarder))
    base = services.settings.public_base_url
    app = official_account(services, share.tenant_id)
    return render(
        "content_share",
        brand=brand,
        item=item,
        forwarder=forwarder,
        image_url=f"{base}/content/media/{item.image_key}" if item.image_key else "",
        share_url=f"{base}/s/{tokens.sign(content.secret, own_code)}",
        follow_url=f"/s/{request.match_info['token']}/follow.png",
        beacon_url=f"/s/{request.match_info['token']}/beacon",
        view_token=tokens.sign(content.secret, f"{ref}.{viewer}", "view"),
        wx=await _wx_config(request, app.appid) if app else None,
        jssdk_url=services_of(request).settings.content_jssdk_url or JSSDK_URL,
        paragraphs=[p for p in item.body.split("\n") if p.strip()],
    )


@routes.post("/s/{token}/beacon")
async def beacon(request: web.Request) -> web.StreamResponse:
    """``{"view": <view token>, "seconds": n}`` from the page (sendBeacon): 204, or 4xx + reason.
    Stored behind the view it names (same stream); an impossible time marks the view."""
    content = content_of(request)
    try:
        body = await request.json()
        raw, seconds = str(body["view"]), int(body["seconds"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "bad_beacon"}, status=400)
    signed = tokens.read(content.secret, raw, "view")
    member = current_member(request)
    if signed is None or member is None:
        return web.json_response({"error": "bad_view_token"}, status=403)
    ref, _, viewer = signed.rpartition(".")
    if not viewer.isdigit() or int(viewer) != member.member_id:
        return web.json_response({"error": "not_your_view"}, status=403)
    if content.views is None:
        raise web.HTTPServiceUnavailable(text="the view stream is not configured")
    seconds = max(-1, min(seconds, views.MAX_READ_SECONDS + 1))  # beyond either end: impossible
    await content.views.read(ref, member.member_id, seconds, utcnow())
    return web.Response(status=204)


@routes.get("/s/{token}/follow.png")
async def follow_qr(request: web.Request) -> web.StreamResponse:
    """The forwarder's follow QR: a parametric QR whose scene names his share (cs:<code>)."""
    services = services_of(request)
    share, _, _ = await _load(request)
    app = official_account(services, share.tenant_id)
    if services.wechat is None or app is None:
        raise web.HTTPServiceUnavailable(text="no Official Account configured")
    key = services.keys("content", "followqr", share.code)
    cached = await services.redis.get(key)
    if cached is None:
        qr = await services.wechat.qrcode.create(
            app.appid, FOLLOW_SCENE + share.code, expire_seconds=2_592_000
        )
        url = qr.url
        await services.redis.set(key, url.encode(), ex=2_500_000)
    else:
        url = cached.decode() if isinstance(cached, bytes) else cached
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=6, border=2)
    return web.Response(
        body=out.getvalue(), content_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
    )


@routes.get("/s/{token}/poster.png")
async def poster_png(request: web.Request) -> web.StreamResponse:
    services, content = services_of(request), content_of(request)
    share, item, brand = await _load(request)
    link = f"{services.settings.public_base_url}/s/{request.match_info['token'][:80]}"
    async with session_scope(services.sessions) as session:
        name = await _display_name(session, share.forwarder_id)
    key = poster.cache_key(item.image_key, item.title, name, link)
    data = await content.storage.get(key)
    if data is None:
        image = await content.storage.get(item.image_key) if item.image_key else None
        data = await asyncio.to_thread(poster.compose, image, item.title, name, link, brand)
        await content.storage.put(key, data)
    return web.Response(
        body=data, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


@routes.get("/content/media/{key:[a-z0-9/_-]+\\.(?:jpg|png|webp|mp4)}")
async def media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    data = await content_of(request).storage.get(key)
    if data is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=data,
        content_type=storage.media_type(key),
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


@routes.get("/content/library")
async def library_page(request: web.Request) -> web.StreamResponse:
    """素材库: what this member may forward, each with his personal link and poster."""
    services, content = services_of(request), content_of(request)
    app = official_account(services)
    if app is None:
        raise web.HTTPServiceUnavailable(text="no Official Account configured")
    brand = await brand_of(request, app.tenant_id)
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=brand, what="content")
    member = current_member(request)
    if member is None:
        raise await login_redirect(request, request.path, app.tenant_id)
    async with session_scope(services.sessions) as session:
        row = await session.get(Member, member.member_id)
        role, region = (row.role, row.region_code) if row else ("consumer", None)
        items = await library.visible(session, member.tenant_id, role=role, region=region, limit=20)
        entries = []
        for item in items:
            share = await attribution.share_for(session, member.tenant_id, item.id, member.member_id)
            token = attribution.share_token(content.secret, share)
            entries.append({"item": item, "link": f"/s/{token}", "poster": f"/s/{token}/poster.png"})
        mine = await stats.of_forwarder(session, member.tenant_id, member.member_id)
    return render("content_library", brand=brand, entries=entries, mine=mine, may_forward=role != "consumer")


async def _live_for(request: web.Request) -> tuple[Live, str, int, H5Member] | web.StreamResponse:
    """The live, the brand, the tenant and the signed-in member; else the page to answer."""
    services = services_of(request)
    app = official_account(services)
    if app is None:
        raise web.HTTPServiceUnavailable(text="no Official Account configured")
    async with session_scope(services.sessions) as session:
        found = await live.get(session, app.tenant_id, int(request.match_info["live_id"]))
    brand = await brand_of(request, app.tenant_id)
    if found is None:
        return render(
            "member_message", status=404, heading="直播不存在", text="这场直播不存在或已取消。", brand=brand
        )
    if not in_wechat(request):
        return render("scan_open_in_wechat", brand=brand, what="content")
    member = current_member(request)
    if member is None or member.tenant_id != app.tenant_id:
        raise await login_redirect(request, request.path_qs, app.tenant_id)
    return found, brand, app.tenant_id, member


@routes.get("/live/{live_id:\\d+}")
async def live_page(request: web.Request) -> web.StreamResponse:
    """The invitation page: opening it is a click (once per member); the button reserves."""
    services = services_of(request)
    found = await _live_for(request)
    if isinstance(found, web.StreamResponse):
        return found
    show, brand, _, member = found
    async with session_scope(services.sessions) as session:
        await live.mark(session, show, member.member_id, "click")
    return render(
        "content_live", brand=brand, live=show, reserved=False, starts=_local(show.starts_at),
        token=form_token(services, member, f"live.{show.id}"), inviter=request.query.get("i", "")[:120],
    )  # fmt: skip


@routes.post("/live/{live_id:\\d+}/reserve")
async def live_reserve(request: web.Request) -> web.StreamResponse:
    """The reservation (form token of this member and live; the inviter from the link)."""
    import hmac

    services = services_of(request)
    found = await _live_for(request)
    if isinstance(found, web.StreamResponse):
        return found
    show, brand, _, member = found
    form = await request.post()
    if not hmac.compare_digest(str(form.get("token", "")), form_token(services, member, f"live.{show.id}")):
        log.info("live_reserve_refused", reason="bad_form_token")
        return render(
            "member_message",
            status=403,
            heading="请重新打开",
            text="页面已过期，请重新打开邀请链接。",
            brand=brand,
        )
    inviter = _inviter(str(form.get("i", ""))[:120], content_of(request).secret)
    reserved = False
    if show.state == "scheduled":
        async with session_scope(services.sessions) as session:
            await live.reserve(session, show, member.member_id, inviter_id=inviter)
        reserved = True
    return render(
        "content_live",
        brand=brand,
        live=show,
        reserved=reserved,
        starts=_local(show.starts_at),
        token="",
        inviter="",
    )


def _inviter(raw: str, secret: bytes) -> int | None:
    body = tokens.read(secret, raw, "inviter") if raw else None
    return int(body) if body and body.isdigit() else None


def _local(at: datetime) -> str:
    from bot.web.member_pages import when

    return when(at)
