"""营销 > 内容与直播 on both databases: the library with its figures, HQ publishes an item under
review (audited; a second approval is refused), an auditor (content read-only) cannot."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.content import library
from bot.content.models import ContentItem
from bot.db import session_scope

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def _items(c) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        waiting = await library.create(session, c.tenant_id, kind="article", title="秋季品鉴会邀请")
        await library.submit(session, c.tenant_id, waiting.id)
        live_one = await library.create(session, c.tenant_id, kind="video", title="酱香工艺短片")
        await library.submit(session, c.tenant_id, live_one.id)
        await library.approve(session, c.tenant_id, live_one.id, by="hq")
    return waiting.id, live_one.id


async def _state(c, item_id: int) -> str:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        return (await session.get(ContentItem, item_id)).state


async def test_hq_reviews_and_sees_the_library(console_app):
    c = await console_app()
    waiting, published = await _items(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = await c.client.get("/console/content")
    text = await page.text()
    assert page.status == 200 and "秋季品鉴会邀请" in text and "待审核" in text and "已发布" in text
    assert "转发人排行" in text and "直播" in text
    csrf = CSRF.search(text).group(1)
    ok = await c.client.post(
        f"/console/content/{waiting}/approve", data={"_csrf": csrf}, allow_redirects=False
    )
    assert ok.status == 303 and await _state(c, waiting) == "published"
    again = await c.client.post(f"/console/content/{waiting}/reject", data={"_csrf": csrf})
    assert again.status == 409 and await _state(c, waiting) == "published"
    missing = await c.client.post("/console/content/999999/approve", data={"_csrf": csrf})
    assert missing.status == 404
    no_csrf = await c.client.post(f"/console/content/{published}/reject", data={})
    assert no_csrf.status in (400, 403) and await _state(c, published) == "published"
    async with session_scope(c.services.sessions) as session:
        actions = (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars().all()
    assert [a for a in actions if a.startswith("content.")] == ["content.approve"]


async def test_an_auditor_reads_but_cannot_review(console_app):
    c = await console_app()
    waiting, _ = await _items(c)
    await c.operator("aud", "auditor", "tenant")
    assert (await c.login("aud")).status == 303
    page = await c.client.get("/console/content")
    text = await page.text()
    assert page.status == 200 and "秋季品鉴会邀请" in text and "/approve" not in text
    csrf = CSRF.search(text).group(1)
    resp = await c.client.post(f"/console/content/{waiting}/approve", data={"_csrf": csrf})
    assert resp.status in (403, 404) and await _state(c, waiting) == "review"
    async with session_scope(c.services.sessions) as session:
        n = (
            await session.execute(select(func.count()).where(AuditEntry.action.like("content.%")))
        ).scalar_one()
    assert n == 0
