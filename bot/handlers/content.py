"""Chat side of content: 「素材」 lists what is new for the member's role (with his personal
links when he may forward), 「素材数据」 his figures, 「直播」 upcoming livestreams, and the
``cs:`` QR scene (a forwarder's follow QR): a follow through it is credited to him once."""

from __future__ import annotations

from bot.content import attribution, library, live, stats, tokens
from bot.content.models import ContentShare
from bot.content.runtime import ContentRuntime
from bot.db import session_scope, utcnow
from bot.dispatch import EventContext, Router
from bot.handlers.scenes import scenes
from bot.membership.models import Member
from bot.messages import Reply, TextReply
from bot.services import Services
from bot.tenancy.registry import AppConfig

router = Router("content")
FORWARDERS = ("distributor_staff", "store_owner", "store_staff", "operator")
FOLLOW_SCENE = "cs:"


def _runtime(services: Services) -> ContentRuntime:
    if services.content is None:
        raise RuntimeError("the content feature is not wired")
    return services.content


@router.text(equals=("素材", "素材库", "最新素材", "内容"))
async def on_library(services: Services, app: AppConfig, member_id: int) -> Reply:
    content, base = _runtime(services), services.settings.public_base_url
    async with session_scope(services.sessions) as session:
        member = await session.get(Member, member_id)
        role, region = (member.role, member.region_code) if member else ("consumer", None)
        items = await library.visible(session, app.tenant_id, role=role, region=region, limit=5)
        rows = []
        for item in items:
            share = await attribution.share_for(session, app.tenant_id, item.id, member_id)
            rows.append(
                {"title": item.title, "link": f"{base}/s/{attribution.share_token(content.secret, share)}"}
            )
    return TextReply(
        services.text(
            "content_list", items=rows, may_forward=role in FORWARDERS, library=f"{base}/content/library"
        )
    )


@router.text(equals=("素材数据", "我的素材数据", "转发数据", "雷达"))
async def on_figures(services: Services, app: AppConfig, member_id: int) -> Reply:
    async with session_scope(services.sessions) as session:
        figures = await stats.of_forwarder(session, app.tenant_id, member_id)
    return TextReply(services.text("content_figures", f=figures))


@router.text(equals=("直播", "直播预告", "预约直播"))
async def on_lives(services: Services, app: AppConfig, member_id: int) -> Reply:
    from zoneinfo import ZoneInfo

    content, base = _runtime(services), services.settings.public_base_url
    invite = tokens.sign(content.secret, str(member_id), "inviter")
    async with session_scope(services.sessions) as session:
        lives = await live.upcoming(session, app.tenant_id, utcnow())
    rows = [
        {
            "title": lv.title,
            "host": lv.host,
            "when": f"{lv.starts_at.astimezone(ZoneInfo('Asia/Shanghai')):%m月%d日 %H:%M}",
            "link": f"{base}/live/{lv.id}?i={invite}",
        }
        for lv in lives
    ]
    return TextReply(services.text("live_list", lives=rows))


@scenes.handler(FOLLOW_SCENE)
async def on_follow_scene(ctx: EventContext, code: str) -> Reply | None:
    """A forwarder's follow QR: the scene carries his share; a new follow is credited to him."""
    services = ctx.services
    if ctx.member_id is None or services.content is None:
        return None
    from sqlalchemy import select

    now = utcnow()
    async with session_scope(services.sessions) as session:
        row = (
            await session.execute(select(ContentShare).where(ContentShare.code == code[:24]))
        ).scalar_one_or_none()
        if row is None or row.tenant_id != ctx.app.tenant_id:
            return None
        share = attribution.to_share(row)
        if share.revoked or share.forwarder_id == ctx.member_id:
            return None
        await attribution.touch(session, share, ctx.member_id, now)
        followed = ctx.message.event == "subscribe"
        if followed:
            rewards = services.content.rewards(ctx.app.tenant_id)
            await attribution.credit(
                session,
                ctx.app.tenant_id,
                "follow",
                f"m{ctx.member_id}",
                ctx.member_id,
                now,
                rewards,
                via=share,
            )
    return TextReply(services.text("content_follow")) if followed else None
