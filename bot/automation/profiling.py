"""Recompute profiles (nightly, and on demand): stores from their order facts, consumers from
scans, redemptions and coupon claims; store tiers with a history of every change.

Consumer "monetary" is the points their scans earned (the brand's proxy for spend: jiubot does
not see consumer purchases), their affinity comes from the scanned bottles' SKUs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import facts as facts_repo
from bot.automation.models import OrderFact, Profile, TierChange, TierRuleSet
from bot.automation.profiles import Facts, LifecycleRules, Purchase, facts, rfm_cells
from bot.automation.tiers import DEFAULT, TierRules
from bot.db import insert_ignore, insert_ignore_statement
from bot.membership.code_models import CodeBatch, CodeRedemption
from bot.membership.models import Member, Store
from bot.membership.reward_models import CouponClaim, RedemptionOrder


@dataclass(frozen=True)
class RefreshReport:
    stores: int
    consumers: int
    tier_changes: int


async def tier_rules(session: AsyncSession, tenant_id: int) -> dict[str, TierRules]:
    """Region code ("" = default) -> rules; the built-in default when the tenant set none."""
    rows = await session.execute(select(TierRuleSet).where(TierRuleSet.tenant_id == tenant_id))
    out = {r.region_code: TierRules.parse(r.rules) for r in rows.scalars()}
    out.setdefault("", DEFAULT)
    return out


async def set_tier_rules(
    session: AsyncSession, tenant_id: int, text: str, region_code: str = ""
) -> TierRules:
    rules = TierRules.parse(text)  # refuse a bad definition before writing anything
    await session.execute(
        insert_ignore(
            session,
            TierRuleSet.__table__,
            [{"tenant_id": tenant_id, "region_code": region_code, "rules": text}],
            index_elements=["tenant_id", "region_code"],
        )
    )
    await session.execute(
        update(TierRuleSet)
        .where(TierRuleSet.tenant_id == tenant_id, TierRuleSet.region_code == region_code)
        .values(rules=text)
    )
    return rules


async def store_owners(session: AsyncSession, tenant_id: int) -> dict[str, int]:
    """Store code -> the member who hears from us for it (its first store owner)."""
    rows = await session.execute(
        select(Store.code, func.min(Member.id))
        .join(Member, Member.store_id == Store.id)
        .where(Store.tenant_id == tenant_id, Member.role == "store_owner", Member.status == "active")
        .group_by(Store.code)
    )
    return {code: mid for code, mid in rows}


async def _store_facts(
    session: AsyncSession, tenant_id: int, now: datetime, rules: LifecycleRules
) -> dict[str, Facts]:
    catalog = await facts_repo.catalog(session, tenant_id)
    rows = await session.execute(
        select(OrderFact).where(
            OrderFact.tenant_id == tenant_id, OrderFact.status != "cancelled", OrderFact.ordered_at <= now
        )
    )
    purchases: dict[str, list[Purchase]] = defaultdict(list)
    for row in rows.scalars():
        lines = facts_repo.lines_of(row)
        purchases[row.store_code].append(
            Purchase(
                row.ordered_at, row.total_fen, tuple((ln.sku, ln.amount_fen or ln.quantity) for ln in lines)
            )
        )
    return {code: facts(p, now, catalog, rules) for code, p in purchases.items()}


async def _consumer_facts(
    session: AsyncSession, tenant_id: int, now: datetime, rules: LifecycleRules
) -> tuple[dict[int, Facts], dict[int, dict[str, int]]]:
    catalog = await facts_repo.catalog(session, tenant_id)
    rows = await session.execute(
        select(CodeRedemption.member_id, CodeRedemption.scanned_at, CodeRedemption.points, CodeBatch.sku)
        .join(CodeBatch, CodeBatch.id == CodeRedemption.batch_id)
        .where(CodeRedemption.tenant_id == tenant_id, CodeRedemption.scanned_at <= now)
    )
    purchases: dict[int, list[Purchase]] = defaultdict(list)
    for member_id, at, points, sku in rows:
        purchases[member_id].append(Purchase(at, points or 0, ((sku, 1),)))
    extra: dict[int, dict[str, int]] = defaultdict(dict)
    for model, name, when in (
        (RedemptionOrder, "redemptions", RedemptionOrder.created_at),
        (CouponClaim, "coupons", CouponClaim.claimed_at),
    ):
        counted = await session.execute(
            select(model.member_id, func.count())
            .where(model.tenant_id == tenant_id, when <= now)
            .group_by(model.member_id)
        )
        for member_id, n in counted:
            extra[member_id][name] = n
    return {m: facts(p, now, catalog, rules) for m, p in purchases.items()}, extra


async def refresh(
    session: AsyncSession, tenant_id: int, now: datetime, rules: LifecycleRules = LifecycleRules()
) -> RefreshReport:
    """Recompute every profile of the tenant as of ``now``; record tier changes."""
    existing = {
        p.subject: p
        for p in (await session.execute(select(Profile).where(Profile.tenant_id == tenant_id))).scalars()
    }
    stores = await _store_facts(session, tenant_id, now, rules)
    regions = dict(
        (
            await session.execute(select(Store.code, Store.region_code).where(Store.tenant_id == tenant_id))
        ).all()
    )
    owners = await store_owners(session, tenant_id)
    tiers = await tier_rules(session, tenant_id)
    cells = rfm_cells(stores)
    changes = 0
    writes = _Writes(tenant_id)
    for code, f in stores.items():
        region = regions.get(code) or ""
        tier, why = (tiers.get(region) or tiers[""]).assign(f)
        subject = f"store:{code}"
        old = existing.get(subject)
        before = old.tier if old is not None else None  # read before the update refreshes ``old``
        writes.profile(subject, "store", owners.get(code), region, f, cells[code], tier, now, old)
        if before != tier:
            changes += 1
            writes.tier_changes.append(
                {
                    "tenant_id": tenant_id,
                    "store_code": code,
                    "from_tier": before or "",
                    "to_tier": tier,
                    "reason": why[:200],
                    "changed_at": now,
                }
            )
    consumers, extra = await _consumer_facts(session, tenant_id, now, rules)
    ccells = rfm_cells({str(k): v for k, v in consumers.items()})
    for member_id, f in consumers.items():
        subject = f"member:{member_id}"
        writes.profile(
            subject,
            "consumer",
            member_id,
            None,
            f,
            ccells[str(member_id)],
            "",
            now,
            existing.get(subject),
            extra.get(member_id, {}),
        )
    await writes.flush(session)
    return RefreshReport(len(stores), len(consumers), changes)


class _Writes:
    """The refresh's writes, executed as three statements with many parameter sets (a tenant's
    thousands of profiles change nightly: recency moves every day)."""

    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.tier_changes: list[dict[str, Any]] = []

    def profile(
        self,
        subject: str,
        kind: str,
        member_id: int | None,
        region: str | None,
        f: Facts,
        cell: str,
        tier: str,
        now: datetime,
        old: Profile | None,
        extra: dict[str, int] | None = None,
    ) -> None:
        values = {
            "kind": kind,
            "member_id": member_id,
            "region_code": region or None,
            "recency_days": f.recency_days,
            "frequency": f.frequency,
            "monetary_fen": f.monetary_fen,
            "rfm": cell,
            "lifecycle": f.lifecycle,
            "top_aroma": f.top_aroma,
            "top_brand": f.top_brand,
            "affinity": orjson.dumps({"aroma": f.aroma, "brand": f.brand, **(extra or {})}).decode(),
            "tier": tier,
            "last_order_at": f.last_at,
            "computed_at": now,
        }
        if old is None:
            self.inserts.append({"tenant_id": self.tenant_id, "subject": subject, **values})
        elif any(getattr(old, k) != v for k, v in values.items() if k != "computed_at"):
            # unchanged ones are not written; parameters are prefixed (a bound parameter may not
            # share a column's name in an UPDATE's SET)
            self.updates.append({"p_id": old.id, **{f"v_{k}": v for k, v in values.items()}})

    async def flush(self, session: AsyncSession) -> None:
        if self.inserts:
            stmt = insert_ignore_statement(
                session, Profile.__table__, index_elements=["tenant_id", "subject"]
            )
            await session.execute(stmt, self.inserts)
        if self.updates:
            table = Profile.__table__
            changed = (
                update(table)
                .where(table.c.id == bindparam("p_id"))
                .values({k[2:]: bindparam(k) for k in self.updates[0] if k != "p_id"})
            )
            await session.execute(changed, self.updates)
        if self.tier_changes:
            stmt = insert_ignore_statement(
                session, TierChange.__table__, index_elements=["tenant_id", "store_code", "changed_at"]
            )
            await session.execute(stmt, self.tier_changes)
