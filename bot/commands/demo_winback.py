"""The demo's lapsed store: a store owner who stopped ordering, and the win-back journey for him.

``jiubot demo`` seeds, on every start (idempotently):

* the built-in journeys (win-back, 酱香 affinity, replenishment), as ``jiubot journeys defaults``;
* one of the seeded stores whose owner is a simulated person (the first in the win-back journey's
  treatment group: control and holdout stores get nothing, by design) with its order history in
  the core moved back so that the newest order is 29 days old, and that history copied into
  jiubot as the nightly backfill does (``bot.automation.facts``);
* its owner in the simulator: he follows the Official Account, is bound as the store's owner,
  and says something (the 48-hour customer-service window a lawful marketing message needs).

The store is one day short of the journey's 30 days, so the minute-by-minute scheduler leaves it
alone; the banner prints ``jiubot journeys tick --at <31 days after the last order, 10:00>``: run in
a second terminal, it enrols the store, issues the coupon through the core and the win-back
message appears in the owner's chat in the console.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import Services

PERSON = "boss-lapsed"
QUIET_FOR_DAYS = 29  # one day short of the win-back trigger (30 days without an order)
GREETING = "最近店里走货慢，先不进货了"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class LapsedStore:
    code: str
    name: str
    person_id: str
    person_name: str
    last_order_at: datetime
    tick_at: str  # the --at of the tick that enrols it ("" when that moment is already past)


def winback_tick_at(last_order_at: datetime, now: datetime, *, lapsed_days: int = 30) -> str:
    """10:00 Shanghai on the day after the store passes ``lapsed_days`` without an order (outside
    quiet hours); "" when that is already past (the scheduler has enrolled it by then)."""
    day = (last_order_at + timedelta(days=lapsed_days + 1)).astimezone(SHANGHAI).date()
    at = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)
    return at.isoformat(timespec="minutes") if at > now else ""


async def seed_lapsed_store(
    services: Services, sim: Any, appid: str, core: tuple[str, str], stores: tuple[Any, ...]
) -> LapsedStore | None:
    """``stores``: the core's seeded stores with simulated owners (``SeedResult.stores``); the
    first one is the demo store the first person binds, so it is never the lapsed one. ``core``:
    the core's database URL and the demo's tenant slug there."""
    try:
        return await _seed(services, sim, appid, core, stores)
    except Exception as exc:  # the demo still runs; the banner says nothing of the win-back
        print(f"[demo] could not prepare the lapsed store: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


async def _seed(
    services: Services, sim: Any, appid: str, core_db: tuple[str, str], stores: tuple[Any, ...]
) -> LapsedStore | None:
    from bot.automation import definitions, facts, holdout, replenish
    from bot.automation import repository as journeys_repo
    from bot.automation.profiles import SkuInfo
    from bot.db import session_scope
    from bot.membership import actions as members

    app = await services.registry.get(appid)
    core = services.core
    if app is None or core is None:
        return None
    tenant_id = app.tenant_id
    folder = Path(definitions.__file__).with_name("journeys")
    loaded = [definitions.parse(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))]
    async with session_scope(services.sessions) as session:
        for journey in loaded:
            await journeys_repo.save_journey(session, tenant_id, journey)
    winback = next(j for j in loaded if j.name == "win-back")
    holdout_share = services.settings.automation_holdout
    store = next(
        (
            s
            for s in stores[1:]
            if holdout.arm(
                tenant_id, winback.name, f"store:{s.code}", holdout=holdout_share, control=winback.control
            )
            == holdout.TREATMENT
        ),
        None,
    )
    if store is None:
        return None
    now = datetime.now(UTC)
    last = await _age_in_core(*core_db, store.id, now)
    if last is None:
        return None
    async with session_scope(services.sessions) as session:
        await facts.backfill_store(core.orders, session, tenant_id, store.id, store.code)
        known = await facts.catalog(session, tenant_id)
        skus = {sku for _, sku, _ in await replenish.facts_of(session, tenant_id)}
    fresh = []
    for sku in sorted(skus - set(known)):
        product = await core.catalog.product(sku)
        fresh.append((sku, product.name, SkuInfo(product.brand, product.aroma or "", product.category)))
    core_store = next(
        s for s in (await core.org.stores(q=store.code, limit=20)).items if s.code == store.code
    )
    distributor = next((d for d in await core.org.distributors() if d.id == core_store.distributor_id), None)
    person_name = f"{store.owner_name}（{store.name}）"
    sim.ensure_person(PERSON, person_name, "store_owner", phone=store.owner_phone)
    if not sim.member(PERSON, appid).following:
        await sim.follow(PERSON, appid)
    await sim.send_text(PERSON, appid, GREETING)  # he spoke: the 48-hour window is open
    async with session_scope(services.sessions) as session:
        await facts.remember_skus(session, tenant_id, fresh)
        member_id = await members.ensure_member(session, tenant_id, appid, sim.openid(PERSON, appid))
        store_id = await members.ensure_store(
            session,
            tenant_id,
            store.code,
            name=store.name,
            region_code=store.region_code,
            distributor_code=distributor.code if distributor else None,
        )
        await members.assign_role(session, member_id, "store_owner", store_id=store_id)
    sim.touch()
    at = winback_tick_at(last, now, lapsed_days=winback.trigger.lapsed_days or 30)
    return LapsedStore(store.code, store.name, PERSON, person_name, last, at)


async def _age_in_core(core_db: str, slug: str, store_id: int, now: datetime) -> datetime | None:
    """The core's history of the store, moved back (the demo owns the core's database)."""
    from sqlalchemy import select

    from reference_core.db import create_engine, session_factory
    from reference_core.models import Tenant
    from reference_core.seed_history import age_store

    engine = create_engine(core_db)
    try:
        async with session_factory(engine)() as session, session.begin():
            tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if tenant is None:
                return None
            return await age_store(session, tenant, store_id, newest_days=QUIET_FOR_DAYS, now=now)
    finally:
        await engine.dispose()
