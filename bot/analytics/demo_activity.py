"""A few weeks of made-up behaviour for ``jiubot demo``, so its weekly report has something to
show: product views, carts, quotes, orders and scans of the demo's members at its store.

Rows are marked (``source = "demo"``, ids ``demo:...``) and seeded once per data folder (the ids
are fixed, so a second run stores nothing new); the days are rolled up and last week's report is
made (its link is returned)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.analytics import archive, repository
from bot.analytics.interface import Event
from bot.analytics.report import Scope, last_full_week
from bot.analytics.rollups import local_day, rollup_day
from bot.db import session_scope
from bot.membership.models import Member

SKUS = ("DEMO-53-500", "DEMO-52-500", "DEMO-45-250")


def _events(
    tenant_id: int, members: list[int], store_id: int | None, region: str, now: datetime, weeks: int
) -> list[Event]:
    rng = random.Random(15)
    out: list[Event] = []
    for day in range(weeks * 7):
        when0 = now - timedelta(days=weeks * 7 - day)
        busy = 1.0 + 0.15 * (day // 7)  # a little growth week over week
        for n in range(int(12 * busy)):
            member = rng.choice(members) if members else 0
            sku = rng.choice(SKUS)
            at = when0 + timedelta(minutes=rng.randrange(8 * 60, 22 * 60))
            steps = [("product_view", 1, 0), ("product_view", 1, 0)]
            if rng.random() < 0.45:
                steps.append(("add_to_cart", 1, 0))
                if rng.random() < 0.6:
                    steps.append(("quote", 0, 59_800))
                    if rng.random() < 0.7:
                        steps += [("order", 0, 59_800), ("order_line", 6, 0)]
            if rng.random() < 0.3:
                steps.append(("scan", 1, 0))
            for k, (name, quantity, fen) in enumerate(steps):
                out.append(
                    Event(
                        tenant_id=tenant_id,
                        event_id=f"demo:{day}:{n}:{k}",
                        name=name,
                        occurred_at=int((at + timedelta(minutes=5 * k)).timestamp() * 1000),
                        source="demo",
                        member_id=member if members else None,
                        store_id=store_id,
                        sku="" if name in ("quote", "order") else sku,
                        quantity=quantity,
                        amount_fen=fen,
                        dwell_ms=rng.randrange(2_000, 90_000) if name == "product_view" else 0,
                        region_code=region,
                    )
                )
    return out


async def seed_activity(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: int,
    *,
    store_id: int | None,
    region: str,
    archive_dir: Path,
    now: datetime,
    weeks: int = 4,
) -> str:
    """Seed, roll up and make last week's tenant report; returns the report's token."""
    async with session_scope(sessions) as session:
        members = list(
            (await session.scalars(select(Member.id).where(Member.tenant_id == tenant_id).limit(30))).all()
        )
    events = _events(tenant_id, members, store_id, region, now, weeks)
    async with session_scope(sessions) as session:
        await _store(session, events, now)
    first = local_day(now) - timedelta(days=weeks * 7)
    for k in range(weeks * 7 + 1):
        await rollup_day(sessions, first + timedelta(days=k), tenant_id=tenant_id)
    made = await archive.make_report(
        sessions, tenant_id, last_full_week(now), Scope(), archive=archive_dir, now=now, with_pdf=False
    )
    return made.ref.token


async def _store(session: AsyncSession, events: list[Event], now: datetime) -> None:
    for start in range(0, len(events), 500):
        await repository.store_events(session, events[start : start + 500], received_at=now)
