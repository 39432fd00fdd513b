"""Invitations go to the live's audience (roles or tiers) once per member, skipping members who
refused pushes; the live page records a click once and a reservation with its inviter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.app import create_app
from bot.content import jobs, live, tokens
from bot.content.models import LiveReservation
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.models import Member
from bot.ports import RecordingPushNotifier
from bot.wiring.features import CONTENT, MEMBERSHIP
from tests.web.member_app import WECHAT_UA, MemberApp


async def test_invite_audience_once_then_reserve_through_the_page(
    aiohttp_client, make_settings, tmp_path, monkeypatch
):
    monkeypatch.setenv("JIUBOT_CONTENT_DIR", str(tmp_path))
    notifier = RecordingPushNotifier()
    app = create_app(make_settings(), features=[MEMBERSHIP, CONTENT], notifier=notifier, background=False)
    m = MemberApp(await aiohttp_client(app), app)
    owners = [await m.member(f"inv-owner-{i}") for i in range(3)]
    consumers = [await m.member(f"inv-consumer-{i}") for i in range(2)]
    async with session_scope(m.services.sessions) as session:
        for i, member_id in enumerate(owners):
            store = await members.ensure_store(session, m.tenant_id, f"S-INV-{i}")
            await members.assign_role(session, member_id, "store_owner", store_id=store)
        await session.execute(update(Member).where(Member.id == owners[2]).values(push_opt_out=True))
        await session.execute(update(Member).where(Member.id == consumers[1]).values(tier="gold"))
        show = await live.schedule(
            session, m.tenant_id, title="酱香品鉴直播", starts_at=datetime.now(UTC) + timedelta(days=1),
            audience=["store_owner", "gold"],
        )  # fmt: skip

    def run():  # type: ignore[no-untyped-def]
        return jobs.invite(
            m.services.sessions, notifier, m.services.content, m.tenant_id, show.id,
            oa_appid="wxtestoa00000001", base_url="https://jb.example.cn", render=m.services.text,
        )  # fmt: skip

    counts = await asyncio.gather(run(), run())
    assert sum(c["sent"] for c in counts) == 3
    assert await run() == {"sent": 0, "unreachable": 0}
    invited = sorted(r.member_id for r, *_ in notifier.notified)
    assert invited == sorted([owners[0], owners[1], consumers[1]])  # not the opted-out, not plain consumers
    assert all(p == "marketing" and parts["template"] is None for _, p, _, parts in notifier.notified)
    assert "预约" in str(notifier.notified[0][3]["text"])

    inviter = tokens.sign(m.services.content.secret, str(owners[0]), "inviter")
    ua, cookie = {"User-Agent": WECHAT_UA}, m.cookie(consumers[0])
    page = await m.client.get(f"/live/{show.id}?i={inviter}", headers=ua, cookies=cookie)
    html = await page.text()
    assert page.status == 200 and "预约直播" in html
    token = html.split('name="token" value="')[1].split('"')[0]
    forged = await m.client.post(
        f"/live/{show.id}/reserve", data={"token": token + "0", "i": inviter}, headers=ua, cookies=cookie
    )
    assert forged.status == 403
    for _ in range(2):  # a double tap reserves once
        done = await m.client.post(
            f"/live/{show.id}/reserve", data={"token": token, "i": inviter}, headers=ua, cookies=cookie
        )
        assert done.status == 200 and "预约成功" in await done.text()
    await m.client.get(f"/live/{show.id}", headers=ua, cookies=cookie)  # a second visit is not a second click
    async with session_scope(m.services.sessions) as session:
        rows = (await session.execute(select(LiveReservation.member_id, LiveReservation.inviter_id))).all()
        figures = await live.figures(session, show)
    assert rows == [(consumers[0], owners[0])]
    assert figures["invited"] == 3 and figures["reserved"] == 1 and figures["clicked"] == 1
