"""Broadcasts as one mass send (群发) by tag (bot/automation/mass.py), SQLite and PostgreSQL,
against the WeChat simulator over real HTTP. The simulator refuses with 45028 a send whose tag
holds someone past 4 mass sends this month; jiubot counts per member and month itself, so a
member past 4 is recorded unreachable ("mass_quota") and left out of the tag: the send goes to the
others. A send repeated after a crash is answered 45065 (same clientmsgid): nobody twice."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.automation import campaigns, mass
from bot.automation.models import CampaignRecipient, MassJob, MassQuotaUse
from bot.db import session_scope
from bot.membership.models import Member
from tests.automation.sim_campaign import sim_campaign
from tests.wechat.test_outbound_sim import OA


def now() -> datetime:
    return datetime.now(UTC)


async def _broadcast(world, name: str) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(world.runtime.services.sessions) as session:
        cid = await campaigns.create(session, world.tenant_id, name, f"{name}：品鉴会邀请")
        await campaigns.materialise(session, world.tenant_id, cid, OA, holdout_share=0)
        await mass.make_broadcast(session, world.tenant_id, cid, OA)
    return cid


async def _statuses(world, cid: int) -> dict[int, tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with session_scope(world.runtime.services.sessions) as session:
        rows = await session.execute(select(CampaignRecipient).where(CampaignRecipient.campaign_id == cid))
        return {r.member_id: (r.status, r.reason) for r in rows.scalars()}


async def test_members_past_four_mass_sends_a_month_are_unreachable_not_forced(
    aiohttp_server, db_url, redis_prefix
):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 4, wrote=0) as world:  # no kf window at all
        sessions = world.runtime.services.sessions
        early, late = world.members[:3], world.members[3]
        async with session_scope(sessions) as session:  # the late one is not a follower yet
            await session.execute(update(Member).where(Member.id == late).values(status="pending"))
        reports = [
            await mass.send(
                world.deps(cap=10),
                world.channel,
                world.tenant_id,
                await _broadcast(world, f"月度{k}"),
                now=now,
            )
            for k in range(4)
        ]
        assert [(r.state, r.sent) for r in reports] == [("sent", 3)] * 4
        assert [world.sim.mass_count(OA, world.openids[i]) for i in range(4)] == [4, 4, 4, 0]
        async with session_scope(sessions) as session:
            await session.execute(update(Member).where(Member.id == late).values(status="active"))
        fifth = await _broadcast(world, "第五次")
        report = await mass.send(world.deps(cap=10), world.channel, world.tenant_id, fifth, now=now)
        assert (report.state, report.sent, report.mass_quota) == ("sent", 1, 3)
        statuses = await _statuses(world, fifth)
        assert {statuses[m] for m in early} == {("unreachable", "mass_quota")}
        assert statuses[late][0] == "sent"
        assert [world.sim.mass_count(OA, world.openids[i]) for i in range(4)] == [4, 4, 4, 1]
        assert not world.sim.outbound(OA, None, "template") and not world.received("kf")  # never forced
        assert all(o.errcode == 0 for o in world.sim.outbound(OA, None, "mass"))  # WeChat never refused
        async with session_scope(sessions) as session:
            month = mass.month_of(now())
            uses = (
                await session.execute(select(MassQuotaUse).where(MassQuotaUse.member_id == late))
            ).scalars()
            assert [u.month for u in uses] == [month]
        # the tag is gone once sent; a second run sends nothing
        assert not [
            t for t in await world.runtime.services.wechat.tags.list(OA) if t["name"].startswith("jiubot")
        ]
        again = await mass.send(world.deps(cap=10), world.channel, world.tenant_id, fifth, now=now)
        assert again.state == "sent" and world.sim.mass_count(OA, world.openids[3]) == 1


async def test_the_simulator_refuses_a_tag_holding_someone_past_the_limit(
    aiohttp_server, db_url, redis_prefix
):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 2, wrote=0) as world:
        channel = world.channel
        tag = await channel.ensure_tag(OA, "全体")
        assert await channel.ensure_tag(OA, "全体") == tag  # found by name the second time
        await channel.tag(OA, tag, world.openids[:1])
        for k in range(4):
            assert (await channel.send_to_tag(OA, tag, "x", f"c{k}")).status == "sent"
        await channel.tag(OA, tag, world.openids)
        refused = await channel.send_to_tag(OA, tag, "x", "c5")
        assert (refused.status, refused.reason) == ("refused", "mass_quota")
        assert world.sim.mass_count(OA, world.openids[1]) == 0  # nobody received the refused send
        assert (await channel.send_to_tag(OA, tag, "x", "c0")).status == "already_sent"  # 45065


async def test_a_broadcast_interrupted_after_wechat_accepted_it_is_not_sent_twice(
    aiohttp_server, db_url, redis_prefix
):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 3, wrote=0) as world:
        sessions = world.runtime.services.sessions
        cid = await _broadcast(world, "中秋")
        deps = world.deps(cap=10)

        class Dies(Exception):
            pass

        class DiesAfterSending:  # the worker dies between WeChat's answer and the commit
            def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
                self.inner = inner

            def __getattr__(self, name):  # type: ignore[no-untyped-def]
                return getattr(self.inner, name)

            async def send_to_tag(self, *args):  # type: ignore[no-untyped-def]
                await self.inner.send_to_tag(*args)
                raise Dies

        with contextlib.suppress(Dies):
            await mass.send(deps, DiesAfterSending(world.channel), world.tenant_id, cid, now=now)
        assert {s for s, _ in (await _statuses(world, cid)).values()} == {"sending"}
        report = await mass.send(deps, world.channel, world.tenant_id, cid, now=now)
        assert (report.state, report.sent) == ("sent", 3)
        assert [world.sim.mass_count(OA, o) for o in world.openids] == [1, 1, 1]
        async with session_scope(sessions) as session:
            job = (await session.execute(select(MassJob))).scalar_one()
        assert (job.state, job.reason) == ("sent", "already_sent")
