"""Server-side events: scans and orders from their tables (emitted once however often the job
runs), chat turns added to the callback's finishing round trip, and storage upkeep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot import keys
from bot.analytics import sources
from bot.analytics.interface import Event
from bot.analytics.jobs import maintain_storage
from bot.db import session_scope
from bot.messages import Inbound
from bot.wechat.pipeline import CommandBatch
from tests.analytics.test_report import END, _seed


async def test_scans_and_orders_are_emitted_once_however_often_the_job_runs(stack):
    await _seed(stack)
    runtime = stack.services.analytics
    first = await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await stack.drain()
    # 12 scans; 9 placed orders, each with one line (pending intents are not orders)
    assert (await stack.count_events(name="scan"), await stack.count_events(name="order")) == (12, 9)
    assert await stack.count_events(name="order_line") == 9
    assert first == 12 + 18
    again = await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await stack.drain()
    # orders are re-read over the trailing window, scans of the last five minutes (two seeded at or
    # after END) again too: all stored once
    assert again == 18 + 2
    assert await stack.count_events() == 30
    # scans carry the store, region and SKU they were stamped with
    assert await stack.count_events(name="scan", sku="FJ-53", region_code="EAST") == 12


async def test_a_chat_turn_rides_the_callbacks_round_trip(stack):
    member = await stack.member("o-chat")
    pipeline = stack.client.app[keys.PIPELINE]
    app_cfg = stack.services.registry.all()[0]
    message = Inbound(app_cfg.appid, "gh_x", "o-chat", 1_796_000_000, "text", msg_id="42", content="你好")
    batch = CommandBatch()
    for record in pipeline.recorders:
        record(batch, message, member)
    follow = Inbound(app_cfg.appid, "gh_x", "o-chat", 1_796_000_001, "event", event="subscribe")
    for record in pipeline.recorders:
        record(batch, follow, member)  # an event push is not a chat turn
    for command in batch.commands:
        await stack.services.redis.execute_command(*command)
    await stack.drain()
    assert await stack.count_events(name="chat_turn", member_id=member) == 1
    assert await stack.count_events() == 1


async def test_storage_upkeep_deletes_past_the_retention_and_keeps_partitions_ahead(stack):
    runtime = stack.services.analytics
    now = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    old, recent = now - timedelta(days=500), now - timedelta(days=10)
    await runtime.stream.emit(
        *(
            Event(stack.tenant_id, f"x:{n}", "page_view", int(when.timestamp() * 1000))
            for n, when in enumerate((old, recent))
        )
    )
    await stack.drain()
    summary = await maintain_storage(stack.services.sessions, 400, now=now)
    assert summary["deleted"] == 1
    assert await stack.count_events() == 1
    async with session_scope(stack.services.sessions) as session:
        if session.bind.dialect.name != "postgresql":
            return
        names = set(
            (
                await session.execute(
                    text(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'analytics_events'"
                    )
                )
            ).scalars()
        )
    assert {"analytics_events_2026_12", "analytics_events_2027_01", "analytics_events_2027_03"} <= names
    assert "analytics_events_default" in names


@pytest.mark.parametrize("week", ["2026-49", "W49", "2026-W60"])
def test_the_cli_refuses_a_malformed_week(week, capsys):
    from bot.cli import main

    assert main(["report", "weekly", "--week", week]) == 2
    assert "ISO week" in capsys.readouterr().err


async def test_a_scan_committed_below_the_cursor_is_still_emitted(stack):
    from sqlalchemy import select

    from bot.membership.code_models import CodeBatch, CodeRedemption

    await _seed(stack)
    runtime = stack.services.analytics
    async with session_scope(stack.services.sessions) as session:
        batch = (await session.scalars(select(CodeBatch))).first()
        member = (await session.scalars(select(CodeRedemption.member_id))).first()

    async def scan(row_id: int, serial: int) -> None:
        async with session_scope(stack.services.sessions) as session:
            session.add(
                CodeRedemption(
                    id=row_id,
                    tenant_id=stack.tenant_id,
                    batch_id=batch.id,
                    serial=serial,
                    member_id=member,
                    channel="mp",
                    scanned_at=END - timedelta(minutes=1),
                    store_code="S-E",
                    region_code="EAST",
                )
            )

    await scan(1000, 90)
    await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await scan(500, 91)  # a transaction that took an id earlier committed later
    await sources.emit_new(stack.services.sessions, runtime.stream, now=END)
    await stack.drain()
    assert await stack.count_events(event_id="scan:500") == 1
    assert await stack.count_events(name="scan") == 14
