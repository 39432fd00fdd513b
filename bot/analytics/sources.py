"""Server-side events from the tables where jiubot already records them (bottle scans, orders,
coupons applied to orders; coupon claims, forwards and journey steps in ``domain_events``),
emitted through the one ``emit`` API by a job, so the scan and order paths stay untouched.

Each event's id is its cause (``scan:<redemption id>``, ``order:<intent id>``,
``order_line:<intent id>:<sku>``): emitting a row twice stores it once. Scans are read after a
cursor and over the last five minutes (ids of concurrent transactions commit out of order);
orders are re-read over a trailing window because an intent becomes ``placed`` after it was
created.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import domain_events
from bot.analytics.ingest import EventStream
from bot.analytics.interface import Event
from bot.analytics.models import SourceCursor
from bot.db import session_scope
from bot.membership.code_models import CodeBatch, CodeRedemption
from bot.membership.models import Store
from bot.ordering.models import OrderIntent, StoreLink

BOTTLES_PER_CASE = 6  # order lines in cases are counted in bottles for sell-through
ORDER_WINDOW = timedelta(hours=2)
SCAN_WINDOW = timedelta(minutes=5)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def _cursor(session: AsyncSession, source: str) -> int:
    row = await session.get(SourceCursor, source)
    return row.last_id if row else 0


async def _advance(session: AsyncSession, source: str, last_id: int) -> None:
    row = await session.get(SourceCursor, source)
    if row is None:
        session.add(SourceCursor(source=source, last_id=last_id, updated_at=datetime.now(UTC)))
    elif last_id > row.last_id:
        row.last_id, row.updated_at = last_id, datetime.now(UTC)


async def scan_events(
    session: AsyncSession, after_id: int, limit: int, *, recent_since: datetime | None = None
) -> list[tuple[int, Event]]:
    rows = await session.execute(
        select(CodeRedemption, CodeBatch.sku, CodeBatch.distributor_code, Store.id)
        .join(CodeBatch, CodeBatch.id == CodeRedemption.batch_id)
        .outerjoin(
            Store, (Store.tenant_id == CodeRedemption.tenant_id) & (Store.code == CodeRedemption.store_code)
        )
        .where(
            (CodeRedemption.id > after_id)
            if recent_since is None
            else ((CodeRedemption.id > after_id) | (CodeRedemption.scanned_at >= recent_since))
        )
        .order_by(CodeRedemption.id)
        .limit(limit)
    )
    out = []
    for r, sku, distributor, store_id in rows:
        out.append(
            (
                r.id,
                Event(
                    tenant_id=r.tenant_id,
                    event_id=f"scan:{r.id}",
                    name="scan",
                    occurred_at=_ms(r.scanned_at),
                    member_id=r.member_id,
                    store_id=store_id,
                    sku=sku,
                    quantity=1,
                    region_code=r.region_code or "",
                    distributor_code=distributor or "",
                    props={"channel": r.channel, "diverted": int(bool(r.diverted))},
                ),
            )
        )
    return out


async def order_events(session: AsyncSession, since: datetime) -> list[Event]:
    rows = await session.execute(
        select(OrderIntent, StoreLink.store_id)
        .outerjoin(
            StoreLink,
            (StoreLink.tenant_id == OrderIntent.tenant_id)
            & (StoreLink.core_store_id == OrderIntent.core_store_id),
        )
        .where(OrderIntent.status == "placed", OrderIntent.updated_at >= since)
    )
    out: list[Event] = []
    for intent, store_id in rows:
        when = _ms(intent.created_at)
        out.append(
            Event(
                intent.tenant_id,
                f"order:{intent.id}",
                "order",
                when,
                member_id=intent.member_id,
                store_id=store_id,
                amount_fen=intent.total_fen or 0,
                props={"channel": intent.channel},
            )
        )
        try:
            body = orjson.loads(intent.body)
            lines = body.get("lines", [])
        except (orjson.JSONDecodeError, AttributeError):
            body, lines = {}, []
        claim = body.get("coupon_claim_id")
        if isinstance(claim, int):
            # the order applied a coupon: the coupon is used when the order is placed
            out.append(
                Event(
                    intent.tenant_id,
                    f"coupon_used:{intent.id}",
                    "coupon_used",
                    when,
                    member_id=intent.member_id,
                    store_id=store_id,
                    props={"claim": claim, "channel": intent.channel},
                )
            )
        for line in lines:
            sku = str(line.get("sku", ""))[:64]
            bottles = int(line.get("bottles", 0)) + BOTTLES_PER_CASE * int(line.get("cases", 0))
            if sku and bottles > 0:
                out.append(
                    Event(
                        intent.tenant_id,
                        f"order_line:{intent.id}:{sku}",
                        "order_line",
                        when,
                        member_id=intent.member_id,
                        store_id=store_id,
                        sku=sku,
                        quantity=bottles,
                    )
                )
    return out


async def emit_new(
    sessions: async_sessionmaker[AsyncSession],
    stream: EventStream,
    *,
    now: datetime | None = None,
    limit: int = 2000,
) -> int:
    """Emit scans after the cursor and orders placed in the trailing window; returns the count."""
    now = now or datetime.now(UTC)
    emitted = 0
    async with session_scope(sessions) as session:
        # after the cursor, and again the last few minutes: ids of concurrent transactions can
        # commit out of order, so a row below the cursor may appear after it moved
        scans = await scan_events(
            session, await _cursor(session, "scans"), limit, recent_since=now - SCAN_WINDOW
        )
        orders = await order_events(session, now - ORDER_WINDOW)
    # Emit before moving the cursor: a crash in between re-emits (stored once), never skips.
    for start in range(0, len(scans), 200):
        await stream.emit(*(e for _, e in scans[start : start + 200]))
    for start in range(0, len(orders), 200):
        await stream.emit(*orders[start : start + 200])
    emitted = len(scans) + len(orders)
    if scans:
        async with session_scope(sessions) as session:
            await _advance(session, "scans", max(i for i, _ in scans))
    for source, read in domain_events.SOURCES:
        async with session_scope(sessions) as session:
            cursor = await _cursor(session, source)
            got = await read(session, cursor, now, limit)
        for start in range(0, len(got.events), 200):
            await stream.emit(*got.events[start : start + 200])
        emitted += len(got.events)
        if got.cursor > cursor:
            async with session_scope(sessions) as session:
                await _advance(session, source, got.cursor)
    return emitted
