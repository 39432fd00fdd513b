"""``GET /mp/api/order-intents/{key}`` answers only for the caller's bound store: another store's
intent of the same tenant is a 404, exactly like a key that does not exist."""

from __future__ import annotations

import aiohttp

from bot.db import session_scope
from bot.ordering.models import OrderIntent
from tests.e2e.conftest import STORE
from tests.e2e.test_staff_and_miniprogram import _mp_bound_owner


async def test_another_stores_intent_key_is_404(stack_factory):
    stack = await stack_factory()
    person = stack.sim.add_person("钱老板", "store_owner", phone=STORE["phone"]).id
    async with aiohttp.ClientSession(base_url=stack.url) as http:
        auth = await _mp_bound_owner(stack, http, person)
        async with session_scope(stack.services.sessions) as session:
            tenant_id = next(a.tenant_id for a in stack.services.registry.all())
            for key, store_id in (("jb-mine", STORE["id"]), ("jb-other", STORE["id"] + 1000)):
                session.add(
                    OrderIntent(
                        tenant_id=tenant_id,
                        channel="mp",
                        core_store_id=store_id,
                        idempotency_key=key,
                        body="{}",
                        status="placed",
                        order_id=77,
                        order_number="N-77",
                    )
                )
        mine = await http.get("/mp/api/order-intents/jb-mine", headers=auth)
        assert mine.status == 200 and (await mine.json())["result"]["number"] == "N-77"
        other = await http.get("/mp/api/order-intents/jb-other", headers=auth)
        missing = await http.get("/mp/api/order-intents/jb-nothing", headers=auth)
        assert other.status == missing.status == 404
        assert (await other.json())["error"] == (await missing.json())["error"] == "not_found"
        assert "N-77" not in await other.text()
