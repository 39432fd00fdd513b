"""The core webhook keeps a store's order facts for automation: one row per order, the status
moving with each event, a cancelled order not counted as a purchase."""

from __future__ import annotations

from sqlalchemy import select

from bot.automation.models import OrderFact
from bot.db import session_scope
from tests.ordering_flows.conftest import STORE
from tests.ordering_flows.test_webhook import OWNER, _event, _post


async def test_order_events_become_one_fact_per_order(bot_factory):
    bot = await bot_factory()
    await bot.bind(OWNER)
    order = (await bot.core_orders())[0]
    await _post(bot, _event("evt_f1", order, "shipped"))
    await _post(bot, _event("evt_f1", order, "shipped"))  # redelivery
    await _post(bot, _event("evt_f2", order, "delivered"))
    async with session_scope(bot.services.sessions) as session:
        rows = (await session.execute(select(OrderFact))).scalars().all()
    assert [(r.core_order_id, r.core_store_id, r.store_code, r.status) for r in rows] == [
        (order.id, STORE["id"], STORE["code"], "delivered")
    ]
