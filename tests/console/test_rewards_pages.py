"""Redemption fulfilment on both databases: HQ ships an order with carrier and tracking number
(status, note, audit entry, a service notice to the member), a second shipment of the same
order is refused, bad input changes nothing, cancelling returns the points; a region manager
(rewards read-only) cannot act."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.membership import ledger, points, redemption
from bot.membership.ledger_models import CONSUMPTION
from bot.membership.models import MemberIdentity
from bot.membership.reward_models import RedemptionOrder
from tests.console.test_web import _tree

CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


async def _orders(c) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    member = await c.member("reward-member-openid-0001")
    async with session_scope(c.services.sessions) as session:
        await session.execute(  # he follows the Official Account: status notices can reach him
            MemberIdentity.__table__.update().where(MemberIdentity.member_id == member).values(following=True)
        )
        await points.credit_member(
            session, c.tenant_id, member, kind=CONSUMPTION, delta=1000, category=ledger.EARN,
            source_kind="test", source_id="seed",
        )  # fmt: skip
        item = await redemption.add_item(
            session, c.tenant_id, catalog="gift", name="品鉴酒杯", points_cost=300, stock=5
        )
        orders = [(await redemption.redeem(session, c.tenant_id, member, item)).id for _ in range(2)]
    return member, orders


async def _status(c, order_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with session_scope(c.services.sessions) as session:
        row = await session.get(RedemptionOrder, order_id)
        return row.status, row.note


async def test_hq_ships_and_cancels_orders(console_app):
    c = await console_app()
    member, (ship, drop) = await _orders(c)
    await c.operator("boss")
    assert (await c.login("boss")).status == 303
    page = await c.client.get("/console/rewards/orders")
    text = await page.text()
    assert page.status == 200 and "品鉴酒杯" in text
    csrf = CSRF.search(text).group(1)
    url = f"/console/rewards/orders/{ship}/fulfil"
    bad = await c.client.post(url, data={"_csrf": csrf, "carrier": "顺丰", "tracking": "x"})
    assert bad.status == 400 and "快递单号" in await bad.text() and (await _status(c, ship))[0] == "pending"
    ok = await c.client.post(
        url, data={"_csrf": csrf, "carrier": "顺丰速运", "tracking": "SF1234567890"}, allow_redirects=False
    )
    assert ok.status == 303 and await _status(c, ship) == ("fulfilled", "顺丰速运 SF1234567890")
    again = await c.client.post(url, data={"_csrf": csrf, "carrier": "顺丰速运", "tracking": "SF0000000000"})
    assert again.status == 409 and await _status(c, ship) == ("fulfilled", "顺丰速运 SF1234567890")
    cancelled = await c.client.post(
        f"/console/rewards/orders/{drop}/cancel", data={"_csrf": csrf}, allow_redirects=False
    )
    assert cancelled.status == 303 and (await _status(c, drop))[0] == "cancelled"
    async with session_scope(c.services.sessions) as session:
        assert (await points.summary(session, member)).consumption == 1000 - 300
        actions = (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars().all()
    assert [a for a in actions if a.startswith("reward.")] == ["reward.fulfil", "reward.cancel"]
    # the member heard of both, once each (the refused and the repeated shipment pushed nothing)
    pushed = [
        (r.member_id, purpose, key, doc["text"]) for r, purpose, key, doc in c.services.notifier.notified
    ]
    assert [(m, p, k.rsplit(":", 1)[0]) for m, p, k, _ in pushed] == [
        (member, "service", f"redemption:{ship}:fulfilled"),
        (member, "service", f"redemption:{drop}:cancelled"),
    ]
    assert "顺丰速运" in pushed[0][3] and "SF1234567890" in pushed[0][3] and "300 积分已退回" in pushed[1][3]


async def test_a_region_manager_cannot_ship(console_app):
    c = await console_app()
    await _tree(c)
    _, (order, _) = await _orders(c)
    await c.operator("sw", "region_manager", "region", 1)
    assert (await c.login("sw")).status == 303
    page = await (await c.client.get("/console/rewards/orders")).text()
    csrf = CSRF.search(page).group(1)
    resp = await c.client.post(
        f"/console/rewards/orders/{order}/fulfil",
        data={"_csrf": csrf, "carrier": "顺丰", "tracking": "SF1234567890"},
    )
    assert resp.status in (403, 404) and (await _status(c, order))[0] == "pending"
    async with session_scope(c.services.sessions) as session:
        n = (
            await session.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("reward.%"))
            )
        ).scalar_one()
    assert n == 0
