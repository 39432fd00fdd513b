"""Ordering points (订货积分) for stores, from the core's order-status webhooks.

The webhook receiver (wired elsewhere) calls ``order_status_changed`` for every status it
hears, in any order and as often as the core retries. Each order has one ``order_points`` row
that the calls serialise on (insert-or-ignore, then a row lock); the ledger rows are keyed by
the order id, so a credit and its reversal post at most once each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore, is_postgres, utcnow
from bot.membership import ledger
from bot.membership.actions import ensure_store
from bot.membership.ledger import EARN, REVERSE, Posting
from bot.membership.ledger_models import ORDERING, OrderPoints
from bot.membership.loyalty_config import LoyaltyConfig


@dataclass(frozen=True, slots=True)
class OrderPointsResult:
    order_id: str
    state: str  # new | credited | reversed | void
    points: int  # credited (or reversed) by this call; 0 when nothing changed
    shortfall: int = 0  # points of a reversal the store had already spent


async def order_status_changed(
    session: AsyncSession,
    tenant_id: int,
    *,
    order_id: str,
    store_code: str,
    amount_fen: int,
    status: str,
    config: LoyaltyConfig,
    now: datetime | None = None,
) -> OrderPointsResult:
    now = now or utcnow()
    status = status.strip().lower()
    store_id = await ensure_store(session, tenant_id, store_code)
    await session.execute(
        insert_ignore(
            session,
            OrderPoints.__table__,
            [
                {
                    "tenant_id": tenant_id,
                    "order_id": order_id,
                    "store_id": store_id,
                    "amount_fen": amount_fen,
                    "points": 0,
                    "state": "new",
                    "last_status": status,
                    "updated_at": now,
                }
            ],
            index_elements=["tenant_id", "order_id"],
        )
    )
    stmt = select(OrderPoints).where(OrderPoints.tenant_id == tenant_id, OrderPoints.order_id == order_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one()
    row.last_status = status
    row.updated_at = now
    account = await ledger.account_for(session, tenant_id, ORDERING, store_id=row.store_id, now=now)
    if status in config.order_credit_statuses and row.state == "new":
        points = max(amount_fen, 0) // config.order_fen_per_point
        await ledger.post(
            session,
            tenant_id,
            Posting(account, points, EARN, "order", order_id, note=f"订单 {order_id}"),
            now=now,
        )
        row.state, row.points, row.amount_fen = "credited", points, amount_fen
        return OrderPointsResult(order_id, row.state, points)
    if status in config.order_reverse_statuses:
        if row.state == "new":
            row.state = "void"  # cancelled before it was paid: a late "paid" must not credit
            return OrderPointsResult(order_id, row.state, 0)
        if row.state == "credited":
            # The store may have spent the points already: take back what is there (balances
            # never go negative) and report the rest for the operators.
            available = await ledger.balance(session, (await ledger.lock_account(session, account)).id)
            taken = min(row.points, available)
            await ledger.post(
                session,
                tenant_id,
                Posting(account, -taken, REVERSE, "order_reversal", order_id, note=f"订单取消 {order_id}"),
                now=now,
            )
            row.state = "reversed"
            return OrderPointsResult(order_id, row.state, taken, shortfall=row.points - taken)
    return OrderPointsResult(order_id, row.state, 0)
