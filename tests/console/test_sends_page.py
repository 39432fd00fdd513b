"""营销 > 群发进度: each automation campaign's progress (sent, unreachable, suppressed, unknown,
still to send) on the console, over HTTP and in headless Chromium (screenshot in
tests/console/artifacts/)."""

from __future__ import annotations

import asyncio

import pytest

from bot.automation import campaigns, mass
from bot.automation.models import CampaignRecipient
from bot.db import session_scope
from tests.console.test_browser import ARTIFACTS, _browser, _shot, _sign_in

STATES = ["sent"] * 6 + ["unreachable", "suppressed", "unknown"] + ["pending"] * 3


async def _seed(c) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        kf = await campaigns.create(session, c.tenant_id, "双旦订货会", "双旦订货会：满10箱送2瓶")
        broadcast = await campaigns.create(session, c.tenant_id, "中秋品鉴会", "中秋品鉴会邀请")
        await mass.make_broadcast(session, c.tenant_id, broadcast, "wxtestoa")
        for i, status in enumerate(STATES):
            reason = {"unreachable": "no_interaction", "suppressed": "opted_out"}.get(status, "")
            session.add(
                CampaignRecipient(
                    campaign_id=kf,
                    member_id=i + 1,
                    appid="wxtestoa",
                    openid=f"o{i}",
                    status=status,
                    reason=reason,
                )
            )
        session.add(
            CampaignRecipient(
                campaign_id=broadcast, member_id=1, appid="wxtestoa", openid="o0", status="sent"
            )
        )
    return kf, broadcast


async def test_campaign_progress_on_the_console(console_app):
    c = await console_app()
    kf, broadcast = await _seed(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = await c.client.get("/console/campaign-sends")
    text = await page.text()
    assert page.status == 200
    row = text[text.index(f'data-testid="send-{kf}"') :].split("</tr>")[0]
    assert "客服消息" in row and 'value="75"' in row and "9/12" in row  # 9 of 12 finished
    assert [cell in row for cell in ("<td>6</td>", "<td>1</td>", "<td>3</td>")] == [True, True, True]
    mass_row = text[text.index(f'data-testid="send-{broadcast}"') :].split("</tr>")[0]
    assert "群发（按标签）" in mass_row and 'value="100"' in mass_row
    assert 'data-testid="running"' in text  # one campaign still has rows to send
    home = await (await c.client.get("/console/")).text()
    assert 'href="/console/campaign-sends"' in home


@pytest.mark.browser
async def test_campaign_progress_in_chromium(console_app):
    from playwright.async_api import async_playwright

    c = await console_app()
    await _seed(c)
    await c.operator("boss")
    base = str(c.client.make_url("")).rstrip("/")
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            page = await (
                await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
            ).new_page()
            await _sign_in(page, base, "boss")
            await page.wait_for_url(base + "/console/")
            await page.click("text=群发进度")
            await page.wait_for_url(base + "/console/campaign-sends")
            assert await page.locator("[data-testid=send-progress]").count() == 2
            assert await page.locator("[data-testid=send-progress]").first.get_attribute("value") == "100"
            await _shot(page, "campaign_sends")
        finally:
            await browser.close()
