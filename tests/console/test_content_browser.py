"""Content authoring in headless Chromium: HQ writes a draft with a cover image, submits it,
publishes it and opens its leaderboard; a regional operator is shown 404 for another region's
item. Screenshots in tests/console/artifacts/console_content_*.png."""

from __future__ import annotations

import asyncio

import pytest

from bot.console import org
from bot.content import attribution, library, views
from bot.content.models import ContentItem
from bot.db import session_scope
from bot.membership.models import Member
from bot.wiring.features import CONTENT
from tests.console.test_browser import ARTIFACTS, _browser, _shot, _sign_in
from tests.console.test_content_authoring import png

pytestmark = pytest.mark.browser


async def test_author_submit_publish_and_rank_in_chromium(console_app, tmp_path):
    from playwright.async_api import async_playwright

    c = await console_app(extra_features=[CONTENT], content_dir=str(tmp_path / "media"))
    specs = [
        org.NodeSpec("region", 1, "EAST", "华东营销中心", "/r1/", None),
        org.NodeSpec("region", 2, "SOUTH", "华南营销中心", "/r2/", None),
    ]
    async with session_scope(c.services.sessions) as session:
        await org.apply_tree(session, c.tenant_id, specs, now=c.clock())
        south = await library.create(
            session, c.tenant_id, kind="video", title="华南短片", region_code="SOUTH"
        )
    await c.operator("boss")
    await c.operator("east", "region_operator", "region", 1)
    cover = tmp_path / "cover.png"
    await asyncio.to_thread(cover.write_bytes, png())
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            page = await context.new_page()
            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")
            await page.goto(base + "/console/content")
            await page.click("[data-testid=new-item]")
            await page.wait_for_url(base + "/console/content/items/new")
            await page.select_option("[data-testid=f-kind]", "article")
            await page.fill("[data-testid=f-title]", "酱香型白酒的十二道工序")
            await page.fill("[data-testid=f-summary]", "一分钟读懂端午制曲、重阳下沙")
            await page.fill("[data-testid=f-body]", "端午制曲，重阳下沙。\n九次蒸煮、八次发酵、七次取酒。")
            await page.fill("[data-testid=f-tag-aroma]", "酱香")
            await page.fill("[data-testid=f-publish]", "2026-12-10T20:00")
            await page.check("[data-testid=f-regions] input[value=EAST]")
            await page.set_input_files("[data-testid=f-image]", str(cover))
            await _shot(page, "content_new")
            await page.click("[data-testid=save]")
            await page.wait_for_url("**done=created")
            assert await page.is_visible("[data-testid=cover]")
            item_id = int(page.url.split("/items/")[1].split("?")[0])
            await page.click("[data-testid=submit-review]")
            await page.wait_for_url("**done=submitted")
            assert await page.inner_text("[data-testid=item-state]") == "待审核"
            await _shot(page, "content_item")
            await page.click("[data-testid=publish]")
            await page.wait_for_url("**/console/content?done=approve")
            async with session_scope(c.services.sessions) as session:
                row = await session.get(ContentItem, item_id)
                assert (row.state, row.regions, row.region_code) == ("published", "EAST", None)
                forwarder = Member(tenant_id=c.tenant_id, role="distributor_staff", region_code="EAST")
                reader = Member(tenant_id=c.tenant_id, role="consumer")
                session.add_all([forwarder, reader])
                await session.flush()
                share = await attribution.share_for(session, c.tenant_id, item_id, forwarder.id)
                await views.record_view(session, share, reader.id)
            await page.goto(f"{base}/console/content/items/{item_id}/board")
            assert f"#{forwarder.id}" in await page.inner_text("[data-testid=item-board]")
            await _shot(page, "content_board")

            other = await (await browser.new_context(locale="zh-CN")).new_page()
            await _sign_in(other, base, "east")
            await other.wait_for_url(base + "/console/")
            answer = await other.goto(f"{base}/console/content/items/{south.id}")
            assert answer is not None and answer.status == 404
            await _shot(other, "content_other_region_404")
        finally:
            await browser.close()
