"""The distributor's (经销商) chat entry: his stores and their latest orders, read from the core.

A member whose role is ``distributor_staff`` asks 「我的门店」 (or taps 我的订单): the core's stores
of his distributor, those that ordered most recently first, with their latest order. Anyone else
asking 「我的门店」 is told how to get such an account. Thin: the core client does the reading.
"""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import session_scope
from bot.dispatch import EventContext, Router
from bot.membership import repository as member_repo
from bot.messages import Reply, TextReply
from bot.services import Services

router = Router("distributor")
ASK = ("我的门店", "门店", "门店订单", "我的客户", "经销商")
MY_ORDERS = ("我的订单", "订单", "查订单", "最近订单")
MY_ORDERS_KEY = "MY_ORDERS"
SHOWN = 8
SCANNED = 40  # stores whose orders are read to find the most recent ones
TZ = ZoneInfo("Asia/Shanghai")


async def _asks(ctx: EventContext) -> dict[str, Any] | bool:
    msg = ctx.message
    text = (msg.content or "").strip() if msg.msg_type == "text" else None
    clicked = msg.msg_type == "event" and msg.event == "click" and msg.event_key == MY_ORDERS_KEY
    if ctx.member_id is None or not (text in ASK or text in MY_ORDERS or clicked):
        return False
    async with session_scope(ctx.services.sessions) as session:
        code = await member_repo.distributor_of(session, ctx.member_id)
    if code is None and text not in ASK:
        return False  # 我的订单 of a store owner or a consumer: chat ordering answers it
    return {"distributor_code": code}


@router.register(_asks)
async def on_my_stores(ctx: EventContext, services: Services, distributor_code: str | None) -> Reply:
    core = await services.cores.client(ctx.app.tenant_id)
    if distributor_code is None:
        return TextReply(services.text("distributor_stores", known=False, busy=False))
    if core is None:
        return TextReply(services.text("distributor_stores", known=True, busy=True))
    from backend_client import CoreError

    try:
        distributor = next((d for d in await core.org.distributors() if d.code == distributor_code), None)
        if distributor is None:
            return TextReply(services.text("distributor_stores", known=False, busy=False))
        page = await core.org.stores(distributor_id=distributor.id, limit=SCANNED)
        pages = await asyncio.gather(*(core.orders.list_for_store(s.id, limit=5) for s in page.items))
    except CoreError:
        return TextReply(services.text("distributor_stores", known=True, busy=True))
    rows = []
    for store, orders in zip(page.items, pages, strict=True):
        latest = orders.items[0] if orders.items else None
        rows.append(
            {
                "name": store.name,
                "code": store.code,
                "city": store.city,
                "orders": len(orders.items),
                "at": latest.created_at if latest else None,
                "order": {
                    "number": latest.number,
                    "status": getattr(latest.status, "value", str(latest.status)),
                    "created": latest.created_at.astimezone(TZ),
                    "total": f"{latest.total_fen / 100:,.2f}",
                }
                if latest
                else None,
            }
        )
    rows.sort(key=lambda r: (r["at"] is not None, r["at"]), reverse=True)
    return TextReply(
        services.text(
            "distributor_stores",
            known=True,
            busy=False,
            distributor=distributor.name,
            total=len(page.items),
            more=page.next_cursor is not None,
            rows=rows[:SHOWN],
        )
    )
