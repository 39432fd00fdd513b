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


async def test_backfill_copies_histories_and_catalog_facts_from_the_core(bot_factory):
    from bot.automation import facts, profiling
    from bot.automation.models import Profile, SkuFact
    from bot.db import utcnow

    bot = await bot_factory()
    tenant = bot.services.registry.all()[0].tenant_id
    async with session_scope(bot.services.sessions) as session:
        report = await facts.backfill(bot.services.core, session, tenant)
        again = await facts.backfill(bot.services.core, session, tenant)  # idempotent
        rows = (await session.execute(select(OrderFact))).scalars().all()
        skus = (await session.execute(select(SkuFact))).scalars().all()
        await profiling.refresh(session, tenant, utcnow())
        profiles = (await session.execute(select(Profile))).scalars().all()
    core_orders = await bot.core_orders()
    assert report.stores >= 2 and report.orders == again.orders == len(rows) >= len(core_orders) > 0
    assert again.skus == 0 and report.skus == len(skus) > 0
    mine = [r for r in rows if r.core_store_id == STORE["id"]]
    assert sorted(r.core_order_id for r in mine) == sorted(o.id for o in core_orders)
    assert all(facts.lines_of(r) for r in mine)
    assert any(s.aroma for s in skus)
    assert {p.subject for p in profiles} >= {f"store:{STORE['code']}"}
