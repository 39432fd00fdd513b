"""What ``jiubot demo`` shows of content: one published article and a livestream tomorrow at
20:00 (China time), created once (a second run finds them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import library, live
from bot.content.models import ContentItem, Livestream
from bot.db import session_scope

TITLE = "酱香型白酒的十二道工序"


async def seed_demo_content(
    sessions: async_sessionmaker[AsyncSession], tenant_id: int, sku: str = ""
) -> None:
    async with session_scope(sessions) as session:
        found = await session.execute(
            select(ContentItem.id).where(ContentItem.tenant_id == tenant_id, ContentItem.title == TITLE)
        )
        if found.first() is None:
            item = await library.create(
                session,
                tenant_id,
                kind="article",
                title=TITLE,
                summary="端午制曲、重阳下沙：一分钟读懂酱香酒",
                body="端午制曲，重阳下沙。\n九次蒸煮、八次发酵、七次取酒，一年一个生产周期。\n出酒后陈放三年以上，再勾调装瓶。",
                tags=["aroma:酱香", "campaign:秋季品鉴"],
                created_by="demo",
            )
            await library.submit(session, tenant_id, item.id)
            await library.approve(session, tenant_id, item.id, by="demo-hq")
        shows = await session.execute(select(Livestream.id).where(Livestream.tenant_id == tenant_id))
        if shows.first() is None:
            tz = ZoneInfo("Asia/Shanghai")
            tomorrow = (datetime.now(tz) + timedelta(days=1)).replace(
                hour=20, minute=0, second=0, microsecond=0
            )
            await live.schedule(
                session, tenant_id, title="酱香品鉴直播", starts_at=tomorrow, host="品酒师老周",
                products=[sku] if sku else [],
            )  # fmt: skip
