"""Chat side of membership: the menu's scan button (scancode_waitmsg), 积分, 我的优惠券, age
confirmation, push opt-out, referral QR scenes and coupon menu clicks. Thin: every rule lives
in ``bot.membership``; texts come from templates.

The router's inner middleware injects ``membership`` (the MembershipRuntime) into every handler;
the router is composed only with the membership feature, which builds that runtime."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import session_scope
from bot.dispatch import EventContext, Router
from bot.dispatch.router import CallNext
from bot.flows.storage import FlowKey
from bot.handlers.scenes import scenes
from bot.membership import actions as members
from bot.membership import coupons, points, referral
from bot.membership import repository as member_repo
from bot.membership.codes import extract
from bot.membership.errors import CouponFailed, ReferralRefused
from bot.membership.interface import AGE_REQUIRED, ScanRequest, ScanResult
from bot.membership.runtime import MembershipRuntime
from bot.messages import Inbound, Reply, TextReply
from bot.services import Services
from bot.tenancy.registry import AppConfig

router = Router("membership")
PENDING_SCAN, PENDING_TTL = "member:pending-scan", 600  # a conversation memo (FlowStorage)
SCAN_MENU_KEYS = ("scan_bottle", "scan")
CHINA = ZoneInfo("Asia/Shanghai")


@router.inner_middleware
async def _membership(call: CallNext, ctx: EventContext, data: dict[str, Any]) -> Reply | None:
    if ctx.services.membership is None:  # a composition error, not a member's: fail loudly
        raise RuntimeError("the membership router is composed without the membership feature")
    return await call(data | {"membership": ctx.services.membership})


def _conversation(message: Inbound) -> FlowKey:
    return FlowKey(message.appid, message.openid)


def _when(value: Any) -> str:
    if not isinstance(value, datetime):
        return ""
    local = value.astimezone(CHINA)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def scan_text(services: Services, result: ScanResult) -> str:
    return services.text(
        "scan_result",
        r=result,
        when=_when(result.first_scanned_at),
        reason_text=services.text("scan_reason", reason=result.reason or ""),
    )


def _scanned(ctx: EventContext) -> dict[str, Any] | bool:
    msg = ctx.message
    if msg.msg_type != "event" or msg.event not in {"scancode_waitmsg", "scancode_push"}:
        return False
    info = msg.fields.get("ScanCodeInfo")
    result = info.get("ScanResult") if isinstance(info, dict) else None
    if not isinstance(result, str):
        return False
    ours = (msg.event_key or "") in SCAN_MENU_KEYS or extract(result)
    membership = ctx.services.membership  # a filter runs before the router's middleware
    if not ours and (
        membership is None or coupons.read_store_claim(membership.referral_secret, result) is None
    ):
        return False  # some other scan button, not ours
    return {"scanned": result}


async def _claim_at_store(
    membership: MembershipRuntime,
    services: Services,
    app: AppConfig,
    member_id: int,
    campaign: str,
    store: str,
) -> Reply:
    """A store's coupon QR read with the menu's scanner: claim it here, as its page would."""
    gateway = membership.coupons
    if gateway is None:
        return TextReply(services.text("coupon_claimed", ok=False, reason="busy"))
    try:
        coupon = await coupons.claim(
            services.sessions,
            gateway,
            app.tenant_id,
            member_id,
            campaign,
            source="store_qr",
            store_code=store,
            hooks=services.hooks,
        )
    except CouponFailed as exc:
        return TextReply(services.text("coupon_claimed", ok=False, reason=exc.reason))
    return TextReply(services.text("coupon_claimed", ok=True, coupon_name=coupon.name))


async def _scan(
    membership: MembershipRuntime,
    services: Services,
    app: AppConfig,
    message: Inbound,
    member_id: int,
    text: str,
) -> Reply:
    store_claim = coupons.read_store_claim(membership.referral_secret, text)
    if store_claim is not None and store_claim[0] == app.tenant_id:
        return await _claim_at_store(membership, services, app, member_id, store_claim[1], store_claim[2])
    result = await membership.scanner.scan(ScanRequest(app.tenant_id, member_id, text, "oa"))
    coupon = await membership.after_scan(app.tenant_id, member_id, result)
    if result.outcome == AGE_REQUIRED:  # scanned again once the member confirms the age
        await services.flows.remember(_conversation(message), PENDING_SCAN, text[:2048], ttl=PENDING_TTL)
    text_reply = scan_text(services, result)
    if coupon is not None:
        text_reply += "\n" + services.text("coupon_claimed", ok=True, coupon_name=coupon.name)
    return TextReply(text_reply)


@router.register(_scanned)
async def on_menu_scan(
    membership: MembershipRuntime,
    message: Inbound,
    services: Services,
    app: AppConfig,
    member_id: int,
    scanned: str,
) -> Reply:
    return await _scan(membership, services, app, message, member_id, scanned)


@router.text(equals=("我已满18岁", "我已满18周岁", "已满18岁"))
async def on_age(
    membership: MembershipRuntime, message: Inbound, services: Services, app: AppConfig, member_id: int
) -> Reply:
    async with session_scope(services.sessions) as session:
        await members.confirm_age(session, member_id)
    pending = await services.flows.take(_conversation(message), PENDING_SCAN)
    confirmed = services.text("member_age_confirmed", pending=pending is not None)
    if pending is None:
        return TextReply(confirmed)
    scanned = await _scan(membership, services, app, message, member_id, pending)
    assert isinstance(scanned, TextReply)
    return TextReply(f"{confirmed}\n\n{scanned.content}")


@router.text(equals=("积分", "我的积分", "查积分", "积分查询"))
async def on_points(
    membership: MembershipRuntime, services: Services, app: AppConfig, member_id: int
) -> Reply:
    config = await membership.configs.get(app.tenant_id)
    async with session_scope(services.sessions) as session:
        summary = await points.summary(session, member_id)
        lines = await points.consumption_history(session, summary.member_id, limit=5)
        member = await member_repo.member_ref(session, summary.member_id)
    return TextReply(
        services.text(
            "points_summary",
            s=summary,
            tier_name=config.tier_name(summary.tier),
            is_store=bool(member and member.role in {"store_owner", "store_staff"}),
            lines=[{"when": _when(x.created_at), "delta": x.delta, "note": x.note} for x in lines],
        )
    )


STATUS_TEXT = {"available": "可使用", "redeemed": "已使用", "expired": "已过期"}


@router.text(equals=("我的优惠券", "优惠券", "我的券"))
async def on_coupons(
    membership: MembershipRuntime, services: Services, app: AppConfig, member_id: int
) -> Reply:
    gateway = membership.coupons
    if gateway is None:
        return TextReply(services.text("coupon_list", coupons=[]))
    async with session_scope(services.sessions) as session:
        live = await members.live_member_id(session, member_id)
    listed = await gateway.coupons_of(app.tenant_id, live)
    rows = [
        {
            "name": c.name,
            "threshold_fen": c.threshold_fen,
            "status_text": STATUS_TEXT.get(c.status, c.status),
            "expires": _when(c.expires_at) if c.status == "available" else "",
        }
        for c in listed
    ]
    return TextReply(services.text("coupon_list", coupons=rows))


@router.click(prefix="coupon:")
async def on_coupon_click(
    membership: MembershipRuntime, message: Inbound, services: Services, app: AppConfig, member_id: int
) -> Reply:
    campaign = (message.event_key or "")[len("coupon:") :]
    gateway = membership.coupons
    if not campaign or gateway is None:
        return TextReply(services.text("coupon_claimed", ok=False, reason="unavailable"))
    try:
        coupon = await coupons.claim(
            services.sessions,
            gateway,
            app.tenant_id,
            member_id,
            campaign,
            source="menu",
            hooks=services.hooks,
        )
    except CouponFailed as exc:
        return TextReply(services.text("coupon_claimed", ok=False, reason=exc.reason))
    return TextReply(services.text("coupon_claimed", ok=True, coupon_name=coupon.name))


@router.text(equals=("退订", "TD", "td", "取消推送", "关闭推送"))
async def on_opt_out(services: Services, member_id: int) -> Reply:
    async with session_scope(services.sessions) as session:
        await members.set_push_opt_out(session, member_id, True)
    return TextReply(services.text("member_push", opt_out=True))


@router.text(equals=("恢复推送", "开启推送"))
async def on_opt_in(services: Services, member_id: int) -> Reply:
    async with session_scope(services.sessions) as session:
        await members.set_push_opt_out(session, member_id, False)
    return TextReply(services.text("member_push", opt_out=False))


@scenes.handler("ref:")
async def on_referral_scene(ctx: EventContext, token: str) -> Reply | None:
    services = ctx.services
    if services.membership is None:  # scenes are shared by every feature: not ours to answer
        return None
    found = referral.read_token(services.membership.referral_secret, token)
    if found is None or found[0] != ctx.app.tenant_id or ctx.member_id is None:
        return None
    reason = ""
    try:
        async with session_scope(services.sessions) as session:
            await referral.bind(session, found[0], found[1], ctx.member_id)
    except ReferralRefused as exc:
        reason = exc.reason
    return TextReply(services.text("referral_bound", ok=not reason, reason=reason))
