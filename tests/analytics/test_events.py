"""POST /mp/api/events: schema, deduplication, stamping, and a burst with none lost."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.analytics.models import AnalyticsEvent
from bot.db import session_scope


def _now_ms() -> int:
    return int(time.time() * 1000)


def _view(i: int, **extra) -> dict:
    return {
        "id": f"evt-{i:08d}",
        "name": "product_view",
        "ts": _now_ms() - 1000,
        "sku": "FJ-53",
        "dwell_ms": 1200,
        **extra,
    }


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "evt-00000001", "name": "product_view", "ts": 0, "sku": "A", "dwell_ms": 5}, "events[0].ts"),
        ({"id": "evt-00000001", "name": "product_view", "ts": None, "sku": "A"}, "events[0].dwell_ms"),
        ({"id": "evt-00000001", "name": "teleport", "ts": None}, "events[0].name"),
        (
            {"id": "evt-00000001", "name": "add_to_cart", "ts": None, "sku": "A", "quantity": "2"},
            "events[0].quantity",
        ),
        (
            {"id": "evt-00000001", "name": "page_view", "ts": None, "page": "p", "openid": "o-x"},
            "events[0].openid",
        ),
        ({"id": "x", "name": "page_view", "ts": None, "page": "p"}, "events[0].id"),
    ],
)
async def test_a_batch_breaking_the_schema_is_refused_naming_the_field_and_nothing_is_stored(
    stack, event, field
):
    member = await stack.member("o-bad")
    good = _view(9)
    event = {**event, "ts": event["ts"] if event["ts"] is not None else _now_ms()}
    status, body = await stack.post_events(stack.token(member, "o-bad"), [good, event])
    assert status == 400
    assert body["error"] == "bad_request"
    assert body["field"] == field.replace("[0]", "[1]")
    assert "请求" in body["message"]
    await stack.drain()
    assert await stack.count_events() == 0  # the good event of the bad batch is not kept either


async def test_an_event_from_last_month_is_refused_as_too_old(stack):
    member = await stack.member("o-old")
    status, body = await stack.post_events(
        stack.token(member, "o-old"), [_view(1, ts=_now_ms() - 8 * 24 * 3600 * 1000)]
    )
    assert (status, body["field"]) == (400, "events[0].ts")


async def test_without_a_session_the_batch_is_refused(stack):
    resp = await stack.client.post("/mp/api/events", json={"events": [_view(1)]})
    assert resp.status == 401
    await stack.drain()
    assert await stack.count_events() == 0


async def test_duplicates_are_stored_once_and_stamped_with_member_store_and_region(stack):
    await stack.store("S-1", "EAST", "D-9")
    member = await stack.member("o-dup", store_code="S-1", tier="gold")
    token = stack.token(member, "o-dup")
    batch = [_view(i) for i in range(5)]
    for _ in range(3):  # the phone retries the same batch
        status, body = await stack.post_events(token, batch)
        assert (status, body) == (200, {"accepted": 5})
    # and one event again inside another batch
    status, _ = await stack.post_events(token, [batch[0], _view(99)])
    assert status == 200
    await stack.drain()
    assert await stack.count_events() == 6
    async with session_scope(stack.services.sessions) as session:
        rows = (await session.scalars(select(AnalyticsEvent))).all()
    assert {(r.member_id, r.region_code, r.distributor_code, r.tier, r.source) for r in rows} == {
        (member, "EAST", "D-9", "gold", "mp")
    }
    assert all(r.store_id is not None for r in rows)
    for r in rows:  # no openid anywhere in the row
        assert "o-dup" not in repr([getattr(r, c.key) for c in AnalyticsEvent.__table__.columns])


async def test_another_member_may_reuse_a_client_id(stack):
    a, b = await stack.member("o-a"), await stack.member("o-b")
    for member, openid in ((a, "o-a"), (b, "o-b")):
        status, _ = await stack.post_events(stack.token(member, openid), [_view(1)])
        assert status == 200
    await stack.drain()
    assert await stack.count_events() == 2


@pytest.mark.slow
async def test_a_burst_of_10000_events_is_ingested_with_none_lost(stack):
    runtime = stack.services.analytics
    stop = asyncio.Event()
    # two writers share the consumer group, as two worker processes would
    writers = [
        asyncio.create_task(runtime.stream.run_writer(stack.services.sessions, stop)) for _ in range(2)
    ]
    senders = [await stack.member(f"o-burst-{n}") for n in range(10)]
    tokens = [stack.token(m, f"o-burst-{n}") for n, m in enumerate(senders)]

    async def send(k: int) -> None:
        batch = [_view(k * 200 + i) for i in range(200)]
        status, body = await stack.post_events(tokens[k % 10], batch)
        assert (status, body) == (200, {"accepted": 200})

    await asyncio.gather(*(send(k) for k in range(50)))
    deadline = time.monotonic() + 60
    while await stack.count_events() < 10_000 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*writers)
    assert await stack.count_events() == 10_000
    assert await stack.services.redis.xlen(runtime.stream.stream) == 0


async def test_an_event_the_database_refuses_is_dropped_alone(stack):
    from bot.analytics.interface import Event

    runtime = stack.services.analytics
    now = _now_ms()
    good = [Event(stack.tenant_id, f"srv:{n}", "scan", now, quantity=1) for n in range(3)]
    bad = Event(stack.tenant_id, "srv:bad", "scan", now, quantity=2**40)  # no INTEGER holds it
    await runtime.stream.emit(good[0], bad, *good[1:])
    await stack.drain()
    if stack.services.settings.is_sqlite:  # SQLite's INTEGER holds 64 bits: nothing to refuse
        assert await stack.count_events() == 4
    else:
        assert await stack.count_events() == 3
        assert await stack.count_events(event_id="srv:bad") == 0
    assert await stack.services.redis.xlen(runtime.stream.stream) == 0


def test_a_stream_entry_is_read_in_either_wire_shape():
    """Arrays in Record order (this version) and objects with Event's fields (an entry left in
    the stream by the version before) read the same."""
    import orjson

    from bot.analytics.ingest import EventStream, records
    from bot.analytics.interface import Event

    event = Event(
        7, "mp:1:abc12345", "share", 1_796_000_000_000, source="mp", member_id=1, props={"target": "群"}
    )
    stream = EventStream.__new__(EventStream)  # the command alone: no Redis needed
    stream.stream, stream.maxlen = "analytics-events", 1000
    command = stream.command([event])
    now = records(command[-1])
    before = records(orjson.dumps([event]))
    assert now == before
    assert now[0].props == '{"target":"群"}' and now[0].member_id == 1 and now[0].store_id is None
