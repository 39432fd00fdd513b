"""Credits at the event, not by the sweep: a viewer who follows the Official Account (no QR
scene) is credited to the forwarder whose share he read, the moment the subscribe event is
handled; a follow by someone nobody reached credits nobody; a second follow changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.content import attribution
from bot.content.models import ContentCredit
from bot.db import session_scope
from bot.membership.ledger_models import PointsLedger
from tests.content.conftest import make_distributor, publish, stack_member, tenant_of


async def test_a_follow_after_a_view_is_credited_by_the_subscribe_event(stack_factory, phones):
    stack = await stack_factory()
    item_id = await publish(stack)
    wang = stack.sim.add_person("王经理", "distributor").id
    forwarder = await make_distributor(stack, wang)
    tenant = await tenant_of(stack)
    async with session_scope(stack.services.sessions) as session:
        share = await attribution.share_for(session, tenant, item_id, forwarder)
    token = attribution.share_token(stack.services.content.secret, share)
    reader = stack.sim.add_person("读者")
    stranger = stack.sim.add_person("路人")
    assert (await phones(stack, reader.id).open(f"/s/{token}")).status == 200
    await stack.services.content.views.drain(stack.services.sessions)  # his touch is stored

    appid = stack.services.settings.oa_appid
    for person in (reader.id, stranger.id):
        before = stack.seq(person)
        await stack.sim.follow(person, appid)
        await stack.seen(person, before, wait_for="欢迎")
    member = await stack_member(stack, reader.id)
    async with session_scope(stack.services.sessions) as session:
        credits = (
            await session.execute(
                select(ContentCredit.kind, ContentCredit.subject, ContentCredit.forwarder_id)
            )
        ).all()
        ledger = (
            await session.execute(
                select(PointsLedger.source_kind, PointsLedger.source_id, PointsLedger.delta).where(
                    PointsLedger.source_kind.like("content_%")
                )
            )
        ).all()
    assert credits == [("follow", f"m{member}", forwarder)]
    assert ledger == [("content_follow", f"m{member}", 20)]

    # he unfollows and follows again: still one credit
    await stack.sim.unfollow(reader.id, appid)
    before = stack.seq(reader.id)
    await stack.sim.follow(reader.id, appid)
    await stack.seen(reader.id, before, wait_for="欢迎")
    async with session_scope(stack.services.sessions) as session:
        assert len((await session.execute(select(ContentCredit.id))).all()) == 1
