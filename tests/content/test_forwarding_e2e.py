"""Issue 14 end to end, over real HTTP between jiubot, the WeChat simulator and the reference
core: publish -> a distributor forwards -> three viewers open (one twice, one the forwarder
himself) -> one follows through the forwarder's QR -> scans a bottle -> orders. The forwarder is
credited exactly once per event, self-views are not counted, replays change nothing, a tampered
token is refused; the share page's wx.config signature is accepted by the simulator."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta

import aiohttp
from sqlalchemy import func, select

from bot.content import attribution, jobs
from bot.content.models import ContentCredit, ContentShare, ContentView
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership import batches
from bot.membership.codes import make
from bot.membership.ledger_models import PointsLedger
from tests.content.conftest import make_distributor, publish, stack_member, tenant_of

TOKEN = re.compile(r"/s/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def _share_data(html: str) -> dict:
    raw = html.split('<script id="share-data" type="application/json">')[1].split("</script>")[0]
    return json.loads(raw)


async def _credits(stack) -> list[tuple[str, str, int, int]]:  # type: ignore[no-untyped-def]
    async with session_scope(stack.services.sessions) as session:
        rows = await session.execute(
            select(
                ContentCredit.kind, ContentCredit.subject, ContentCredit.forwarder_id, ContentCredit.points
            ).order_by(ContentCredit.id)
        )
        return [tuple(r) for r in rows.all()]


async def _drained(stack) -> None:  # type: ignore[no-untyped-def]
    """Views and beacons reach the database through the view stream's writer."""
    await stack.services.content.views.drain(stack.services.sessions)


async def test_forward_view_follow_scan_order_credited_once_each(stack_factory, phones):
    stack = await stack_factory()
    item_id = await publish(stack)
    wang = stack.sim.add_person("王经理", "distributor").id
    forwarder = await make_distributor(stack, wang)

    # the distributor asks for 素材 in chat and gets his personal link
    seen = await stack.say(wang, "素材", wait_for="/s/")
    link = next(t for t in seen if "/s/" in t)
    token = TOKEN.search(link).group(1)
    assert "一键转发" in link and "十二道工序" in link

    a, b, c = (stack.sim.add_person(n).id for n in ("读者甲", "读者乙", "读者丙"))
    pa, pb, pw = phones(stack, a), phones(stack, b), phones(stack, wang)
    since = stack.seq(wang)
    started = time.monotonic()
    first = await pa.open(f"/s/{token}")
    assert (
        first.status == 200 and "十二道工序" in first.text and "王经理" not in first.text
    )  # no nickname leak
    # the radar: the forwarder hears it in chat within 5 seconds (his window is open)
    await stack.seen(wang, since, wait_for="刚刚有人打开", seconds=5)
    radar = [t for t in await stack.seen(wang, since) if "刚刚有人打开" in t]
    assert radar and time.monotonic() - started < 5
    again = await pa.open(f"/s/{token}")
    assert again.status == 200
    assert (await pb.open(f"/s/{token}")).status == 200
    own = await pw.open(f"/s/{token}")  # the forwarder opens his own link
    assert own.status == 200

    await _drained(stack)
    async with session_scope(stack.services.sessions) as session:
        views = (await session.execute(select(ContentView.counted, ContentView.reason))).all()
    assert sorted(views) == [(False, "self"), (True, ""), (True, ""), (True, "")]
    await asyncio.sleep(0.5)
    radars = [t for t in await stack.seen(wang, since) if "刚刚有人打开" in t]
    assert len(radars) == 1  # one live notice a minute per link; never for his own open
    # the two views the live notice skipped reach him as one digest (his window is open)
    sent = await jobs.digest(
        stack.services.sessions, stack.services.notifier, oa_appid=stack.services.settings.oa_appid,
        render=stack.services.text, settle=timedelta(0),
    )  # fmt: skip
    assert sent == 1
    digest = [t for t in await stack.seen(wang, since, wait_for="又有 2 次阅读") if "又有" in t]
    assert len(digest) == 1 and digest[0].count("《酱香型白酒的十二道工序》") == 2
    assert await jobs.digest(stack.services.sessions, stack.services.notifier,
                             oa_appid=stack.services.settings.oa_appid, render=stack.services.text,
                             settle=timedelta(0)) == 0  # fmt: skip

    # the share card: wx.config's signature is accepted by the simulator for this page's URL
    data = _share_data(first.text)
    wx = data["wx"]
    sim_url = stack.services.settings.wechat_api_base
    async with aiohttp.ClientSession() as http:
        verify = {**wx, "url": first.url}
        async with http.post(f"{sim_url}/_sim/api/jsapi/verify", json=verify) as resp:
            assert (await resp.json())["ok"] is True
        async with http.post(
            f"{sim_url}/_sim/api/jsapi/verify", json={**verify, "url": first.url + "x"}
        ) as resp:
            assert (await resp.json())["ok"] is False
    # the card's link is the viewer's own share, whose parent is the distributor's
    child = TOKEN.search(data["link"]).group(1)
    assert child != token

    # reading time: a plausible beacon is kept, its replay changes nothing, an impossible one is flagged
    await asyncio.sleep(1.1)
    assert await pa.post_json(data["beacon"], {"view": data["view"], "seconds": 1}) == 204
    assert await pa.post_json(data["beacon"], {"view": data["view"], "seconds": 1}) == 204
    assert await pb.post_json(data["beacon"], {"view": data["view"], "seconds": 1}) == 403  # not B's view
    assert await pa.post_json(data["beacon"], {"view": data["view"] + "x", "seconds": 1}) == 403
    await _drained(stack)
    async with session_scope(stack.services.sessions) as session:
        read = (
            await session.execute(
                select(ContentView.read_seconds, ContentView.read_valid).where(ContentView.read_seconds > 0)
            )
        ).all()
    assert read == [(1, True)]
    assert await pa.post_json(data["beacon"], {"view": data["view"], "seconds": 4000}) == 204
    await _drained(stack)
    async with session_scope(stack.services.sessions) as session:
        assert (
            await session.execute(select(func.count()).where(ContentView.read_valid.is_(False)))
        ).scalar_one() == 1

    # a crawler or link preview outside WeChat's browser sees "open in WeChat" and counts nothing
    async with aiohttp.ClientSession() as http:
        bot_ua = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}
        async with http.get(f"{stack.url}/s/{token}", headers=bot_ua, allow_redirects=False) as resp:
            assert resp.status == 200 and "分享的内容" in await resp.text()
    # a tampered token is refused, and counts nothing
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await pa.open(f"/s/{forged}")).status == 404
    await _drained(stack)
    async with session_scope(stack.services.sessions) as session:
        assert (await session.execute(select(func.count()).select_from(ContentView))).scalar_one() == 4

    # C opens A's share: the chain distributor -> A -> C is kept
    pc = phones(stack, c)
    assert (await pc.open(f"/s/{child}")).status == 200
    member_c = await stack_member(stack, c)
    async with session_scope(stack.services.sessions) as session:
        c_share = (
            await session.execute(select(ContentShare).where(ContentShare.forwarder_id == member_c))
        ).scalar_one()
        chain = await attribution.chain(session, c_share.id)
    assert [s.forwarder_id for s in chain][-1] == forwarder and len(chain) == 3 and chain[0].depth == 3

    # B follows through the forwarder's follow QR (scene cs:<code>): credited once
    qr_image = await pb.open(f"/s/{token}/follow.png")
    assert qr_image.status == 200 and qr_image.text.startswith("\ufffdPNG")
    code = token.split(".")[0]
    qr_url = (await stack.services.redis.get(stack.services.keys("content", "followqr", code))).decode()
    before = stack.seq(b)
    await stack.sim.scan(b, qr_url)
    await stack.seen(b, before, wait_for="欢迎关注")
    await stack.sim.scan(b, qr_url)  # scanned again while following: no second follow
    member_b = await stack_member(stack, b)
    assert await _credits(stack) == [("follow", f"m{member_b}", forwarder, 20)]

    # B scans a genuine bottle (H5 page, signed in through the simulator)
    tenant = await tenant_of(stack)
    async with session_scope(stack.services.sessions) as session:
        batch = await batches.create_batch(
            session, tenant, brand="黔酒", sku="QJ-53-500", product_name="黔酒·酱香典藏 53度 500ml", size=10
        )
        await batches.mark_range(session, tenant, batch.id, 1, 10, "activate")
        await members.confirm_age(session, member_b)
    bottle = make(stack.services.membership.keys, tenant, batch.id, 3)
    scanned = await pb.open(f"/c/{bottle}")
    assert scanned.status == 200 and "正品验证通过" in scanned.text
    # credited at the scan itself (the scan's hook), no sweep has run
    await stack.services.hooks.settled()  # the scan's listener runs off its answer
    assert [k for k, *_ in await _credits(stack)] == ["follow", "scan"]

    # B becomes a store owner and orders through chat
    await stack.bind_owner(b)
    await stack.say(b, "飞天 2箱", wait_for="回复「确认」下单")
    await stack.say(b, "确认", wait_for="下单成功")
    # credited when the order was placed (the placer's hook), no sweep has run
    assert [k for k, *_ in await _credits(stack)] == ["follow", "scan", "order"]

    # the sweep (the safety net) finds nothing left to credit, run again or concurrently
    content = stack.services.content
    await asyncio.gather(
        jobs.sweep_all(stack.services.sessions, content), jobs.sweep_all(stack.services.sessions, content)
    )
    await jobs.sweep_all(stack.services.sessions, content)
    credits = await _credits(stack)
    kinds = sorted(k for k, *_ in credits)
    assert kinds == ["follow", "order", "scan"], credits
    assert all(f == forwarder for _, _, f, _ in credits)
    async with session_scope(stack.services.sessions) as session:
        ledger = (
            await session.execute(
                select(PointsLedger.source_kind, PointsLedger.delta).where(
                    PointsLedger.source_kind.like("content_%")
                )
            )
        ).all()
    assert sorted(ledger) == [("content_follow", 20), ("content_order", 50), ("content_scan", 10)]

    # the forwarder sees his figures in chat
    seen = await stack.say(wang, "素材数据", wait_for="您的转发数据")
    figures = next(t for t in seen if "您的转发数据" in t)
    assert "阅读 3 次" in figures and "关注 1" in figures and "订货 1" in figures and "订货积分 80" in figures

    # `jiubot content stats --json`
    import argparse
    import contextlib
    import io

    from bot.commands.content import _stats

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = await _stats(
            stack.services.settings,
            stack.services.sessions,
            argparse.Namespace(tenant=stack.services.settings.tenant_slug, json=True),
        )
    report = json.loads(out.getvalue())
    assert code == 0
    item_row = next(r for r in report["items"] if r["item_id"] == item_id)
    assert (item_row["views"], item_row["follows"], item_row["scans"], item_row["orders"]) == (4, 1, 1, 1)
    row = next(r for r in report["forwarders"] if r["forwarder_id"] == forwarder)
    assert (row["views"], row["unique_viewers"], row["rewards"]) == (3, 2, 80)
