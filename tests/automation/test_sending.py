"""Campaign sends in batches (bot/automation/sending.py), SQLite and PostgreSQL, against the WeChat
simulator over real HTTP: concurrent workers share a campaign without a duplicate; opt-out, the
frequency cap and closed windows are recorded with their reasons; a dead worker's rows are
settled by the in-flight ledger (never started: sent by the next worker; started: ``unknown``,
never resent; an outcome: recorded); a slow worker whose rows were taken over cannot send them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.automation import campaigns, send_batch, sending
from bot.automation.models import Campaign, CampaignRecipient, MarketingSend
from bot.db import session_scope
from bot.membership.models import Member
from tests.automation.sim_campaign import sim_campaign
from tests.wechat.test_outbound_sim import OA


def now() -> datetime:
    return datetime.now(UTC)


async def _create(world, name: str = "双旦") -> Campaign:  # type: ignore[no-untyped-def]
    async with session_scope(world.runtime.services.sessions) as session:
        cid = await campaigns.create(session, world.tenant_id, name, "双旦订货会：满10箱送2瓶")
        await campaigns.materialise(session, world.tenant_id, cid, OA, holdout_share=0)
        return (await session.execute(select(Campaign).where(Campaign.id == cid))).scalar_one()


async def _rows(world) -> dict[int, CampaignRecipient]:  # type: ignore[no-untyped-def]
    async with session_scope(world.runtime.services.sessions) as session:
        return {r.member_id: r for r in (await session.execute(select(CampaignRecipient))).scalars()}


async def test_two_workers_share_a_campaign_and_record_every_reason(aiohttp_server, db_url, redis_prefix):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 120, wrote=117) as world:
        sessions = world.runtime.services.sessions
        campaign = await _create(world)
        closed = world.members[117:]  # followers who never wrote: no lawful channel
        opted, capped = world.members[0], world.members[1]
        async with session_scope(sessions) as session:
            await session.execute(update(Member).where(Member.id == opted).values(push_opt_out=True))
            session.add_all(
                [
                    MarketingSend(
                        tenant_id=world.tenant_id, member_id=capped, key=f"j:{k}", source="j", sent_at=now()
                    )
                    for k in range(2)
                ]
            )
        progressed: list[int] = []
        finished = await asyncio.gather(
            *(
                sending.run_worker(
                    world.deps(cap=2),
                    world.channel,
                    world.tenant_id,
                    campaign.id,
                    now=now,
                    batch=10,
                    concurrency=4,
                    on_progress=progressed.append,
                )
                for _ in range(2)
            )
        )
        rows = await _rows(world)
        got = world.received()
        assert sum(finished) == sum(progressed) == 120
        if db_url.startswith("postgresql"):
            # both workers took part (SKIP LOCKED claims side by side); SQLite serialises writers,
            # so under load one worker can take every batch before the other's first claim
            assert all(finished), finished
        assert max(got.values()) == 1 and len(got) == 120 - 2 - len(closed)
        assert (rows[opted].status, rows[opted].reason) == ("suppressed", "opted_out")
        assert (rows[capped].status, rows[capped].reason) == ("suppressed", "frequency_cap")
        assert {(rows[m].status, rows[m].reason) for m in closed} == {("unreachable", "no_interaction")}
        sent = [m for m, r in rows.items() if r.status == "sent"]
        assert len(sent) == len(got) and {world.openids[world.members.index(m)] for m in sent} == set(got)
        async with session_scope(sessions) as session:
            counted = set((await session.execute(select(MarketingSend.member_id))).scalars())
            p = await campaigns.progress(session, campaign.id)
        assert counted == set(sent) | {capped}  # the unreachable gave their cap place back
        assert (p.sent, p.suppressed, p.unreachable, p.pending, p.claimed) == (len(sent), 2, 3, 0, 0)
        # a second run finds nothing left and sends nothing
        again = await sending.run_worker(world.deps(), world.channel, world.tenant_id, campaign.id, now=now)
        assert again == 0 and world.received() == got


async def test_a_dead_workers_rows_are_settled_by_the_ledger(aiohttp_server, db_url, redis_prefix):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 12) as world:
        sessions = world.runtime.services.sessions
        campaign = await _create(world)
        channel = world.channel
        await channel.open(campaign.id, fresh=True)
        async with session_scope(sessions) as session:  # the dead worker's batch, lease already over
            dead = await send_batch.claim(
                session,
                channel,
                world.tenant_id,
                campaign,
                "dead",
                now(),
                limit=8,
                lease_seconds=-1,
                cap=5,
                cap_days=7,
            )
        r = dead.rows
        assert len(r) == 8
        # it sent r[0] and r[1] (r[0]'s outcome rode along with r[1]'s start), then died: r[1] was
        # in flight; r[2:] never started
        first = await channel.send(campaign.id, "dead", r[0].member_id, OA, r[0].openid, campaign.text, None)
        assert first.status == "sent"
        done = (r[0].member_id, first.encode())
        assert (
            await channel.send(campaign.id, "dead", r[1].member_id, OA, r[1].openid, "x", done)
        ).status == "sent"
        finished = await sending.run_worker(
            world.deps(), channel, world.tenant_id, campaign.id, now=now, batch=5
        )
        rows = await _rows(world)
        got = world.received()
        assert finished == 12 and max(got.values()) == 1 and len(got) == 12  # nobody twice, nobody skipped
        assert rows[r[0].member_id].status == "sent"
        assert (rows[r[1].member_id].status, rows[r[1].member_id].reason) == ("unknown", "in_flight_at_crash")
        assert all(rows[m].status == "sent" for m in world.members if m != r[1].member_id)


async def test_a_slow_worker_cannot_send_rows_taken_over(aiohttp_server, db_url, redis_prefix):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 6) as world:
        sessions = world.runtime.services.sessions
        campaign = await _create(world)
        channel = world.channel
        await channel.open(campaign.id, fresh=True)
        async with session_scope(sessions) as session:
            slow = await send_batch.claim(
                session,
                channel,
                world.tenant_id,
                campaign,
                "slow",
                now(),
                limit=6,
                lease_seconds=-1,
                cap=5,
                cap_days=7,
            )
        async with session_scope(sessions) as session:  # its lease ran out: another worker takes over
            fresh = await send_batch.claim(
                session,
                channel,
                world.tenant_id,
                campaign,
                "new",
                now(),
                limit=6,
                lease_seconds=60,
                cap=5,
                cap_days=7,
            )
        assert [x.id for x in fresh.rows] == [x.id for x in slow.rows]
        late = [
            await channel.send(campaign.id, "slow", x.member_id, OA, x.openid, "x", None) for x in slow.rows
        ]
        assert {o.status for o in late} == {"fenced"} and not world.received()
        outcomes = {
            x.id: await channel.send(campaign.id, "new", x.member_id, OA, x.openid, "x", None)
            for x in fresh.rows
        }
        async with session_scope(sessions) as session:
            assert (
                await send_batch.record(
                    session,
                    world.tenant_id,
                    campaign,
                    slow,
                    dict.fromkeys(outcomes, outcomes[fresh.rows[0].id]),
                )
                == 6
            )
        assert {r.status for r in (await _rows(world)).values()} == {
            "sending"
        }  # the slow one's lease is not current
        async with session_scope(sessions) as session:
            await send_batch.record(session, world.tenant_id, campaign, fresh, outcomes)
        assert {r.status for r in (await _rows(world)).values()} == {"sent"}
        assert sum(world.received().values()) == 6


async def test_a_lost_ledger_makes_expired_rows_unknown_never_resent(aiohttp_server, db_url, redis_prefix):
    async with sim_campaign(aiohttp_server, db_url, redis_prefix, 4) as world:
        sessions = world.runtime.services.sessions
        campaign = await _create(world)
        channel = world.channel
        await channel.open(campaign.id, fresh=True)
        async with session_scope(sessions) as session:
            await send_batch.claim(
                session,
                channel,
                world.tenant_id,
                campaign,
                "dead",
                now(),
                limit=2,
                lease_seconds=-1,
                cap=5,
                cap_days=7,
            )
        await world.runtime.services.redis.delete(world.runtime.services.keys("camp", campaign.id, "m"))
        await sending.run_worker(world.deps(), channel, world.tenant_id, campaign.id, now=now)
        rows = sorted((await _rows(world)).values(), key=lambda r: r.id)
        assert [(r.status, r.reason) for r in rows[:2]] == [("unknown", "ledger_lost")] * 2
        assert [r.status for r in rows[2:]] == ["sent", "sent"] and sum(world.received().values()) == 2
        assert timedelta(0) <= now() - rows[0].finished_at < timedelta(minutes=5)
