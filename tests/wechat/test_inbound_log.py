"""The inbound log written behind the hot path: rows, interactions, last-seen, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import keys
from bot.db import session_scope
from bot.membership.models import MemberIdentity
from bot.wechat.inbound_log import prune
from bot.wechat.models import InboundMessage, Interaction
from tests.wechat_client import event_xml, text_xml


async def _drain(app) -> int:
    total = 0
    while True:
        n = await app[keys.INBOUND_LOG].write_batch(app[keys.SESSIONS], "test-writer", block_ms=50)
        if not n:
            return total
        total += n


async def test_callbacks_land_in_the_log_once_with_interactions(bot_client, probe):
    client, poster = await bot_client("plain")
    app = client.app
    xml = text_xml("o-log", "echo 一")
    for _ in range(3):  # WeChat retrying: one log row, one interaction
        await poster.post(xml)
    await poster.post(event_xml("o-log", "subscribe"))
    await poster.post(event_xml("o-log", "VIEW", key="https://x/"))
    assert await _drain(app) == 3
    async with session_scope(app[keys.SESSIONS]) as session:
        rows = list((await session.execute(select(InboundMessage).order_by(InboundMessage.id))).scalars())
        interactions = list(
            (await session.execute(select(Interaction.trigger).order_by(Interaction.id))).scalars()
        )
        identity = (
            await session.execute(select(MemberIdentity).where(MemberIdentity.openid == "o-log"))
        ).scalar_one()
    assert [(r.msg_type, r.event, r.outcome) for r in rows] == [
        ("text", None, "replied"),
        ("event", "subscribe", "replied"),
        ("event", "view", "acked"),
    ]
    assert rows[0].summary == "echo 一"
    assert interactions == ["message", "follow"]  # a VIEW does not open the window
    assert identity.last_seen_at >= rows[0].received_at - timedelta(seconds=1)


async def test_entries_written_twice_are_stored_once(bot_client):
    client, poster = await bot_client("plain")
    app = client.app
    await poster.post(text_xml("o-twice", "帮助"))
    log = app[keys.INBOUND_LOG]
    raw = await app[keys.REDIS].xrange(log.stream)
    # replay the stream entry, as a crashed writer's reclaimed batch would
    await app[keys.REDIS].xadd(log.stream, raw[0][1])
    assert await _drain(app) == 2
    async with session_scope(app[keys.SESSIONS]) as session:
        count = (await session.execute(select(func.count()).select_from(InboundMessage))).scalar()
    assert count == 1


async def test_failed_attempt_and_successful_retry_are_both_kept(bot_client, probe):
    client, poster = await bot_client("plain")
    probe.fail_next = 1
    xml = text_xml("o-fail", "boom")
    await poster.post(xml)
    await poster.post(xml)
    await _drain(client.app)
    async with session_scope(client.app[keys.SESSIONS]) as session:
        outcomes = sorted((await session.execute(select(InboundMessage.outcome))).scalars())
        triggers = list((await session.execute(select(Interaction.trigger))).scalars())
    assert outcomes == ["failed", "replied"]
    assert triggers == ["message"]


async def test_retention_prunes_old_rows_only(bot_client):
    client, poster = await bot_client("plain")
    await poster.post(text_xml("o-old", "帮助"))
    await _drain(client.app)
    sessions = client.app[keys.SESSIONS]
    now = datetime.now(UTC)
    assert await prune(sessions, 30, now=now) == 0
    assert await prune(sessions, 30, now=now + timedelta(days=31)) == 1
    async with session_scope(sessions) as session:
        assert (await session.execute(select(func.count()).select_from(InboundMessage))).scalar() == 0


async def test_an_entry_naming_a_member_the_database_lacks_does_not_block_the_log(bot_client):
    """A member id cached in Redis that outlived its database (a restore, a demo reset) must not
    stop the writer: the entry is stored without the member, the others as they are."""
    import time as _time

    from bot.wechat.inbound_log import LogEntry

    client, poster = await bot_client("plain")
    app = client.app
    await poster.post(text_xml("o-good", "帮助"))
    stale = LogEntry(
        tenant_id=1,
        appid="wxtestoa00000001",
        openid="o-ghost",
        member_id=987654,
        dedupe_key="m:ghost",
        msg_type="text",
        event=None,
        event_key=None,
        summary="x",
        trigger="message",
        outcome="replied",
        latency_ms=1,
        received_at=int(_time.time()),
    )
    await app[keys.INBOUND_LOG].append(stale)
    assert await _drain(app) == 2
    async with session_scope(app[keys.SESSIONS]) as session:
        rows = sorted((await session.execute(select(InboundMessage.openid))).scalars())
        ghost = (
            await session.execute(select(Interaction).where(Interaction.openid == "o-ghost"))
        ).scalar_one()
    assert rows == ["o-ghost", "o-good"]
    assert ghost.member_id is None
    assert await app[keys.REDIS].xlen(app[keys.INBOUND_LOG].stream) == 0
