"""Redemption: stock never oversold, per-member limits, refunds on cancellation."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.db import session_scope
from bot.membership import actions, ledger, orders, points, redemption
from bot.membership.errors import InsufficientPoints, LimitReached, NotAllowed, OutOfStock
from bot.membership.ledger import EARN
from bot.membership.ledger_models import CONSUMPTION
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.reward_models import GIFT, MARKETING, RedemptionOrder, RewardItem
from tests.membership.conftest import new_member


async def _item(sessions, tenant_id, *, stock, cost=10, limit=0, catalog=GIFT) -> int:
    async with session_scope(sessions) as session:
        item = RewardItem(
            tenant_id=tenant_id,
            catalog=catalog,
            name="定制酒杯",
            points_cost=cost,
            stock=stock,
            per_member_limit=limit,
        )
        session.add(item)
        await session.flush()
        return item.id


async def _rich_member(sessions, tenant_id, amount=1000) -> int:
    member = await new_member(sessions, tenant_id)
    async with session_scope(sessions) as session:
        await points.credit_member(
            session,
            tenant_id,
            member,
            kind=CONSUMPTION,
            delta=amount,
            category=EARN,
            source_kind="seed",
            source_id=str(member),
        )
    return member


async def _redeem(sessions, tenant_id, member, item, **kw):
    try:
        async with session_scope(sessions) as session:
            return await redemption.redeem(session, tenant_id, member, item, **kw)
    except (OutOfStock, LimitReached, InsufficientPoints) as exc:
        return exc


async def test_many_members_racing_for_the_last_items_never_oversell(sessions, tenant_id):
    item = await _item(sessions, tenant_id, stock=5)
    members = [await _rich_member(sessions, tenant_id) for _ in range(12)]
    results = await asyncio.gather(*(_redeem(sessions, tenant_id, m, item) for m in members))
    won = [r for r in results if isinstance(r, redemption.OrderView)]
    assert len(won) == 5
    assert all(isinstance(r, OutOfStock) for r in results if r not in won)
    async with session_scope(sessions) as session:
        assert (await session.get(RewardItem, item)).stock == 0
        assert (await session.execute(select(func.count()).select_from(RedemptionOrder))).scalar_one() == 5
        assert (await ledger.audit(session))[1] == []
        balances = [(await points.summary(session, m)).consumption for m in members]
    assert sorted(balances) == [990] * 5 + [1000] * 7


async def test_one_member_racing_himself_respects_the_limit(sessions, tenant_id):
    item = await _item(sessions, tenant_id, stock=50, limit=2)
    member = await _rich_member(sessions, tenant_id)
    results = await asyncio.gather(*(_redeem(sessions, tenant_id, member, item) for _ in range(8)))
    assert sum(isinstance(r, redemption.OrderView) for r in results) == 2
    assert sum(isinstance(r, LimitReached) for r in results) == 6


async def test_same_request_key_returns_the_same_order(sessions, tenant_id):
    item = await _item(sessions, tenant_id, stock=5)
    member = await _rich_member(sessions, tenant_id)
    results = await asyncio.gather(
        *(_redeem(sessions, tenant_id, member, item, request_key="tap-1") for _ in range(5))
    )
    assert len({r.id for r in results}) == 1
    async with session_scope(sessions) as session:
        assert (await points.summary(session, member)).consumption == 990


async def test_cancel_refunds_points_and_stock_once(sessions, tenant_id):
    item = await _item(sessions, tenant_id, stock=1, cost=300)
    member = await _rich_member(sessions, tenant_id, 300)
    order = await _redeem(sessions, tenant_id, member, item)
    assert isinstance(await _redeem(sessions, tenant_id, member, item), (OutOfStock, InsufficientPoints))
    outcomes = []
    for _ in range(2):
        async with session_scope(sessions) as session:
            outcomes.append(await redemption.cancel(session, tenant_id, order.id))
    assert outcomes == [True, False]
    async with session_scope(sessions) as session:
        assert (await points.summary(session, member)).consumption == 300
        assert (await session.get(RewardItem, item)).stock == 1
        assert not await redemption.fulfil(session, tenant_id, order.id)  # cancelled stays cancelled


async def test_store_owner_pays_marketing_resources_with_the_stores_ordering_points(sessions, tenant_id):
    owner = await new_member(sessions, tenant_id)
    staff = await new_member(sessions, tenant_id)
    async with session_scope(sessions) as session:
        store = await actions.ensure_store(session, tenant_id, "S9")
        await actions.assign_role(session, owner, "store_owner", store_id=store)
        await actions.assign_role(session, staff, "store_staff", store_id=store)
        await orders.order_status_changed(
            session,
            tenant_id,
            order_id="O9",
            store_code="S9",
            amount_fen=100_000,
            status="paid",
            config=LoyaltyConfig(),
        )
    item = await _item(sessions, tenant_id, stock=3, cost=400, catalog=MARKETING)
    with pytest.raises(NotAllowed):
        async with session_scope(sessions) as session:
            await redemption.redeem(session, tenant_id, staff, item)
    async with session_scope(sessions) as session:
        order = await redemption.redeem(session, tenant_id, owner, item)
        assert order.points == 400
        summary = await points.summary(session, staff)
    assert (summary.consumption, summary.ordering) == (0, 600)
