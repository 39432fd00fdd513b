"""Livestream reminders with a controllable clock: 1,000 reservants are reminded at T-15 exactly
once each (two workers racing, and the job fired again), through the simulator's real API:
a subscribe message against the member's 开播提醒 credit, or customer service inside his
window; a member with neither is recorded unreachable and never gets a template message."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.content import jobs, live
from bot.content.models import LiveDelivery
from bot.db import session_scope, utcnow
from bot.membership import actions as members
from tests.content.conftest import tenant_of

N = 1000


async def test_a_thousand_reservants_are_reminded_once_each_at_t_minus_15(stack_factory):
    stack = await stack_factory()
    services, sim = stack.services, stack.sim
    oa = services.settings.oa_appid
    template = sim.add_template(oa, "开播提醒", "{{thing1.DATA}}\n{{time2.DATA}}", kind="subscribe")
    services.content.live_template_id = template
    tenant = await tenant_of(stack)
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    async with session_scope(services.sessions) as session:
        show = await live.schedule(
            session,
            tenant,
            title="酱香品鉴直播",
            starts_at=start,
            host="品酒师老周",
            products=["MT-FT-53-500"],
        )

    people = [sim.add_person(f"观众{i}").id for i in range(N)]
    chatty, silent = people[-3:-1], people[-1]  # two in their window without a credit, one with nothing
    member_ids: dict[str, int] = {}
    async with session_scope(services.sessions) as session:
        for person in people:
            openid = sim.member(person, oa).openid
            member_ids[person] = await members.ensure_member(session, tenant, oa, openid)
    for person in people[:-3]:  # they accepted the 开播提醒 popup (the credit as WeChat and jiubot know it)
        sim.member(person, oa).credits[template] = 1
        await services.reach.add_credit(oa, sim.member(person, oa).openid, template)
    for person in chatty:  # they wrote to the account: customer service is open for 48 hours
        await sim.follow(person, oa)
        await stack.say(person, "你好")
    async with session_scope(services.sessions) as session:
        for person in people:
            await live.reserve(session, show, member_ids[person])
        assert not await live.reserve(session, show, member_ids[people[0]])  # once per member

    def run(now):  # type: ignore[no-untyped-def]
        return jobs.remind(
            services.sessions, services.notifier, services.content, oa_appid=oa,
            base_url=services.settings.public_base_url, render=services.text, now=now,
        )  # fmt: skip

    assert await run(start - timedelta(minutes=16)) == {"sent": 0, "unreachable": 0}  # not yet
    before = len(sim.outbound(oa))
    first, second = await asyncio.gather(
        run(start - timedelta(minutes=15)), run(start - timedelta(minutes=15))
    )
    assert first["sent"] + second["sent"] == N - 1
    assert first["unreachable"] + second["unreachable"] == 1
    assert await run(start - timedelta(minutes=10)) == {"sent": 0, "unreachable": 0}  # fired again: nothing

    sent = sim.outbound(oa)[before:]
    per_person: dict[str, int] = {}
    for out in sent:
        if out.errcode == 0:
            per_person[out.person_id] = per_person.get(out.person_id, 0) + 1
    assert len(per_person) == N - 1 and set(per_person.values()) == {1}
    assert silent not in per_person
    assert not [o for o in sent if o.channel == "template"]  # never a template message
    kf = {o.person_id for o in sent if o.channel == "kf" and o.errcode == 0}
    assert kf == set(chatty)
    async with session_scope(services.sessions) as session:
        rows = (await session.execute(select(LiveDelivery.member_id, LiveDelivery.state, LiveDelivery.reason)
                                      .where(LiveDelivery.kind == "reminder"))).all()  # fmt: skip
        figures = await live.figures(session, show)
    assert len(rows) == N and len({r[0] for r in rows}) == N
    unreachable = [r for r in rows if r[1] == "unreachable"]
    assert [r[0] for r in unreachable] == [member_ids[silent]]
    assert figures["reserved"] == N and figures["reminded"] == N - 1 and figures["unreachable"] == 1

    # the replay: the credits were spent by the reminders, so only the two inside their window
    # hear of it; everyone else is recorded unreachable (never a template message)
    before = len(sim.outbound(oa))
    counts = await asyncio.gather(
        *(
            jobs.replay(services.sessions, services.notifier, services.content, tenant, show.id,
                        "https://channels.weixin.qq.com/replay/1", oa_appid=oa, render=services.text)
            for _ in range(2)
        )
    )  # fmt: skip
    assert sum(c["sent"] for c in counts) == 2 and sum(c["unreachable"] for c in counts) == N - 2
    replayed = [o for o in sim.outbound(oa)[before:] if o.errcode == 0]
    assert sorted(o.person_id for o in replayed) == sorted(chatty)
    assert all(o.channel == "kf" for o in replayed)
    assert not [o for o in sim.outbound(oa)[before:] if o.channel == "template"]
