"""Share-page views travel through the view stream: a concurrent burst over real HTTP (the app's
own writer storing batches while the test drains beside it) ends with exact counts; an entry
delivered twice is one view; beacons stored behind their views keep the reading-time rules."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.content import attribution, views
from bot.content.models import ContentDailyViewer, ContentShare, ContentTouch, ContentView
from bot.db import session_scope
from tests.content.conftest import make_distributor, publish, stack_member, tenant_of


async def _count(stack, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(stack.services.sessions) as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


def _share_data(html: str) -> dict:
    raw = html.split('<script id="share-data" type="application/json">')[1].split("</script>")[0]
    return json.loads(raw)


async def test_a_burst_of_views_ends_with_exact_counts(stack_factory, phones):
    stack = await stack_factory()
    item_id = await publish(stack)
    wang = stack.sim.add_person("王经理", "distributor").id
    forwarder = await make_distributor(stack, wang)
    tenant = await tenant_of(stack)
    async with session_scope(stack.services.sessions) as session:
        share = await attribution.share_for(session, tenant, item_id, forwarder)
    token = attribution.share_token(stack.services.content.secret, share)
    readers = [phones(stack, stack.sim.add_person(f"读者{i}").id) for i in range(8)]
    own = phones(stack, wang)
    for phone in [*readers, own]:  # sign in first (OAuth); these opens are views too
        assert (await phone.open(f"/s/{token}")).status == 200

    # the burst: every reader opens the link five times at once, the forwarder three times, while
    # the app's writer stores batches and a second consumer drains beside it
    opens = [phone.open(f"/s/{token}") for phone in readers for _ in range(5)]
    opens += [own.open(f"/s/{token}") for _ in range(3)]
    views = stack.services.content.views
    pages, _ = await asyncio.gather(
        asyncio.gather(*opens), views.drain(stack.services.sessions, "test-drain")
    )
    assert all(page.status == 200 for page in pages)
    await views.drain(stack.services.sessions)

    total = len(readers) * 6 + 4
    assert await _count(stack, ContentView) == total
    assert await _count(stack, ContentView, ContentView.counted.is_(False)) == 4
    assert await _count(stack, ContentView, ContentView.reason == "self") == 4
    assert await _count(stack, ContentDailyViewer) == len(readers)  # unique viewers today
    assert await _count(stack, ContentTouch) == len(readers)
    assert await _count(stack, ContentTouch, ContentTouch.viewer_id == forwarder) == 0
    # each reader got his own share of the item (forward-of-forward) exactly once
    assert await _count(stack, ContentShare, ContentShare.parent_id == share.id) == len(readers)

    # an entry delivered twice (a writer that crashed between its commit and its ack) is one view
    redis = stack.services.redis
    await readers[0].open(f"/s/{token}")
    raw = await redis.xrange(views.stream)
    assert len(raw) == 1
    await redis.xadd(views.stream, raw[0][1])
    await views.drain(stack.services.sessions)
    assert await _count(stack, ContentView) == total + 1
    assert await _count(stack, ContentDailyViewer) == len(readers)


async def test_beacons_follow_their_views_through_the_stream(stack_factory, phones):
    stack = await stack_factory()
    item_id = await publish(stack)
    wang = stack.sim.add_person("王经理", "distributor").id
    forwarder = await make_distributor(stack, wang)
    tenant = await tenant_of(stack)
    async with session_scope(stack.services.sessions) as session:
        share = await attribution.share_for(session, tenant, item_id, forwarder)
    token = attribution.share_token(stack.services.content.secret, share)
    reader = phones(stack, stack.sim.add_person("读者").id)
    page = await reader.open(f"/s/{token}")
    data = _share_data(page.text)
    member = await stack_member(stack, reader.person)

    # the beacon arrives before the writer stored its view: same stream, stored in order
    await asyncio.sleep(1.1)
    beacon = {"view": data["view"], "seconds": 1}
    assert await reader.post_json(data["beacon"], beacon) == 204
    assert await reader.post_json(data["beacon"], beacon) == 204  # replayed
    assert await reader.post_json(data["beacon"], {"view": data["view"], "seconds": -5}) == 204
    assert await reader.post_json(data["beacon"], {"view": data["view"], "seconds": "x"}) == 400
    await stack.services.content.views.drain(stack.services.sessions)
    async with session_scope(stack.services.sessions) as session:
        rows = (
            await session.execute(
                select(ContentView.viewer_id, ContentView.read_seconds, ContentView.read_valid)
            )
        ).all()
    assert rows == [(member, 1, False)]  # the kept time, and the impossible one flagged


async def test_a_beacon_whose_view_another_writer_holds_comes_round_again(stack_factory, phones):
    stack = await stack_factory()
    item_id = await publish(stack)
    wang = stack.sim.add_person("王经理", "distributor").id
    forwarder = await make_distributor(stack, wang)
    tenant = await tenant_of(stack)
    reader = phones(stack, stack.sim.add_person("读者").id)
    assert (await reader.open("/content/library")).status in (200, 403)  # signs him in
    member = await stack_member(stack, reader.person)
    async with session_scope(stack.services.sessions) as session:
        share = await attribution.share_for(session, tenant, item_id, forwarder)
    stream, sessions = stack.services.content.views, stack.services.sessions
    await stream.consumer.ensure_group()
    opened = datetime.now(UTC)
    # the beacon is read first (the view's entry is in another writer's uncommitted batch)
    await stream.read("ref-held-elsewhere", member, 2, opened + timedelta(seconds=3))
    redis = stack.services.redis
    first = (await redis.xrange(stream.stream))[0][0]
    for _ in range(100):  # a writer (the app's, or this one) processes it while no view exists
        await stream.write_batch(sessions, "writer-b")
        if not await redis.xrange(stream.stream, min=first, max=first):
            break
    else:
        raise AssertionError("the beacon was never processed")
    async with session_scope(sessions) as session:  # the other writer commits the view
        event = views.ViewEvent("ref-held-elsewhere", tenant, share.id, forwarder, member, opened)
        await views.store(session, [event], [])
    await stream.drain(sessions)
    async with session_scope(sessions) as session:
        row = (await session.execute(select(ContentView.read_seconds, ContentView.read_valid))).one()
    assert tuple(row) == (2, True)
