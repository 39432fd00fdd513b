"""Promotion resources: create, read, list (the rules engine itself is ``engine.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reference_core import cursor as cursors
from reference_core import engine
from reference_core.errors import CoreError, ErrorCode, not_found, validation
from reference_core.models import GroupParticipant, Product, Promotion, Region, Store, Warehouse
from reference_core.schemas import promotions as s


def status_of(starts_at: datetime, ends_at: datetime, now: datetime, stored: str = "active") -> str:
    if stored == "paused" and now < ends_at:
        return "paused"
    if stored != "active" or now >= ends_at:
        return "ended"
    return "scheduled" if now < starts_at else "active"


async def check_references(
    session: AsyncSession, tenant_id: int, *, skus: set[str], region_ids: set[int], warehouse_ids: set[int]
) -> None:
    """Unknown products, regions or warehouses in a definition are a 400 naming the field."""
    fields: dict[str, str] = {}
    if skus:
        known = set(
            await session.scalars(
                select(Product.sku).where(Product.tenant_id == tenant_id, Product.sku.in_(skus))
            )
        )
        for sku in sorted(skus - known):
            fields[f"sku:{sku}"] = "unknown product"
    if region_ids:
        known_r = set(
            await session.scalars(
                select(Region.id).where(Region.tenant_id == tenant_id, Region.id.in_(region_ids))
            )
        )
        for rid in sorted(region_ids - known_r):
            fields[f"region_id:{rid}"] = "unknown region"
    if warehouse_ids:
        known_w = set(
            await session.scalars(
                select(Warehouse.id).where(Warehouse.tenant_id == tenant_id, Warehouse.id.in_(warehouse_ids))
            )
        )
        for wid in sorted(warehouse_ids - known_w):
            fields[f"warehouse_id:{wid}"] = "unknown warehouse"
    if fields:
        raise validation(fields, "the definition refers to things that do not exist")


async def create(
    session: AsyncSession, tenant_id: int, body: s.PromotionCreate, now: datetime
) -> s.Promotion:
    rules = body.rules.model_dump(mode="json")
    skus = set(body.scope.skus)
    if "sku" in rules:
        skus.add(rules["sku"])
    skus.update(t["gift_sku"] for t in rules.get("tiers", []) if "gift_sku" in t)
    await check_references(
        session,
        tenant_id,
        skus=skus,
        region_ids=set(body.audience.region_ids),
        warehouse_ids={rules["warehouse_id"]} if "warehouse_id" in rules else set(),
    )
    stock = getattr(body, "stock", None)
    row = Promotion(
        tenant_id=tenant_id,
        kind=body.kind,
        name=body.name,
        description=body.description,
        status="active",
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        rules=rules,
        scope=body.scope.model_dump(mode="json"),
        audience=body.audience.model_dump(mode="json"),
        stackable=body.stackable,
        stock_total=stock,
        stock_remaining=stock,
        per_store_limit=getattr(body, "per_store_limit", None),
        outcome="",
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return (await views(session, [row], now))[0]


async def views(session: AsyncSession, rows: list[Promotion], now: datetime) -> list[s.Promotion]:
    groups = [r.id for r in rows if r.kind == "group_buy"]
    counts: dict[int, tuple[int, int]] = {}
    if groups:
        result = await session.execute(
            select(
                GroupParticipant.promotion_id,
                func.count(),
                func.coalesce(func.sum(GroupParticipant.bottles), 0),
            )
            .where(GroupParticipant.promotion_id.in_(groups))
            .group_by(GroupParticipant.promotion_id)
        )
        counts = {pid: (n, int(b)) for pid, n, b in result}
    return [view(r, now, counts.get(r.id, (0, 0))) for r in rows]


def group_state(row: Promotion, participants: int, bottles: int) -> s.GroupState:
    tiers = sorted(row.rules["tiers"], key=lambda t: t["min_stores"])
    upcoming = next((t for t in tiers if t["min_stores"] > participants), None)
    outcome = {"": "open", "closing": "open"}.get(row.outcome, row.outcome)
    return s.GroupState(
        participants=participants,
        bottles=bottles,
        current_price_fen=engine.group_price(row.rules, participants),
        next_tier=s.GroupTier.model_validate(upcoming) if upcoming else None,
        outcome=outcome,  # type: ignore[arg-type]
    )


def view(row: Promotion, now: datetime, group: tuple[int, int] = (0, 0)) -> s.Promotion:
    auction = None
    if row.kind == "auction":
        price, wait = engine.auction_price(row.rules, row.starts_at, max(now, row.starts_at))
        auction = s.AuctionState(
            current_price_fen=price,
            next_drop_at=None if wait is None else max(now, row.starts_at) + timedelta(seconds=wait),
        )
    return s.Promotion(
        id=row.id,
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        description=row.description,
        status=status_of(row.starts_at, row.ends_at, now, row.status),  # type: ignore[arg-type]
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        scope=s.ScopeOut(skus=row.scope.get("skus", []), categories=row.scope.get("categories", [])),
        audience=s.AudienceOut(
            region_ids=row.audience.get("region_ids", []), tiers=row.audience.get("tiers", [])
        ),
        stackable=row.stackable,
        rules=row.rules,
        stock_total=row.stock_total,
        stock_remaining=row.stock_remaining,
        per_store_limit=row.per_store_limit,
        group=group_state(row, *group) if row.kind == "group_buy" else None,
        auction=auction,
    )


async def get(session: AsyncSession, tenant_id: int, promotion_id: int, now: datetime) -> s.Promotion:
    row = await session.scalar(
        select(Promotion).where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
    )
    if row is None:
        raise not_found("promotion", promotion_id)
    return (await views(session, [row], now))[0]


async def stop(session: AsyncSession, tenant_id: int, promotion_id: int, now: datetime) -> s.Promotion:
    row = await session.scalar(
        select(Promotion).where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
    )
    if row is None:
        raise not_found("promotion", promotion_id)
    row.status = "stopped"
    row.ends_at = min(row.ends_at, max(now, row.starts_at))  # it ends now: nothing prices it any more
    await session.flush()
    return (await views(session, [row], now))[0]


async def set_paused(
    session: AsyncSession, tenant_id: int, promotion_id: int, paused: bool, now: datetime
) -> s.Promotion:
    """Pause (or resume) a promotion that has not ended; doing it twice changes nothing. A
    stopped or ended promotion stays ended (409)."""
    row = await session.scalar(
        select(Promotion).where(Promotion.tenant_id == tenant_id, Promotion.id == promotion_id)
    )
    if row is None:
        raise not_found("promotion", promotion_id)
    wanted, other = ("paused", "active") if paused else ("active", "paused")
    if row.status not in (wanted, other) or now >= row.ends_at:
        raise CoreError(ErrorCode.CONFLICT, "the promotion has ended", {"reason": "ended"})
    row.status = wanted
    await session.flush()
    return (await views(session, [row], now))[0]


async def listing(
    session: AsyncSession, tenant_id: int, query: s.PromotionQuery, now: datetime
) -> s.PromotionPage:
    """Newest first. Promotions per tenant are few, so filters run here rather than in JSON SQL."""
    offset = cursors.decode(query.cursor) or 0
    stmt = select(Promotion).where(Promotion.tenant_id == tenant_id).order_by(Promotion.id.desc())
    if query.kind is not None:
        stmt = stmt.where(Promotion.kind == query.kind)
    rows = list((await session.scalars(stmt)).all())
    if query.status is not None:
        rows = [r for r in rows if status_of(r.starts_at, r.ends_at, now, r.status) == query.status]
    if query.sku is not None:
        product = await session.scalar(
            select(Product).where(Product.tenant_id == tenant_id, Product.sku == query.sku)
        )
        if product is None:
            rows = []
        else:
            item = engine.Item(0, product.id, product.sku, product.category, 0, 1, 1, 0, 0)
            rows = [r for r in rows if _touches(r, item)]
    if query.store_id is not None:
        store = await session.scalar(
            select(Store).where(Store.tenant_id == tenant_id, Store.id == query.store_id)
        )
        if store is None:
            raise not_found("store", query.store_id)
        rows = [r for r in rows if open_to(r, store.region_id, store.tier)]
    page = rows[offset : offset + query.limit]
    more = len(rows) > offset + query.limit
    return s.PromotionPage(
        items=await views(session, page, now),
        next_cursor=cursors.encode(offset + query.limit) if more else None,
    )


def open_to(row: Promotion, region_id: int, tier: str) -> bool:
    """The store's region and tier are in the promotion's audience (empty lists: everyone)."""
    regions, tiers = (row.audience or {}).get("region_ids", []), (row.audience or {}).get("tiers", [])
    return (not regions or region_id in regions) and (not tiers or tier in tiers)


def _touches(row: Promotion, item: engine.Item) -> bool:
    return rule_of(row).covers(item)


def rule_of(p: Promotion, store_used: int = 0, participants: int = 0) -> engine.Rule:
    """A promotion row as the pure engine sees it."""
    return engine.Rule(
        id=p.id,
        kind=p.kind,
        name=p.name,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        rules=p.rules,
        skus=frozenset((p.scope or {}).get("skus", [])),
        categories=frozenset((p.scope or {}).get("categories", [])),
        region_ids=frozenset((p.audience or {}).get("region_ids", [])),
        tiers=frozenset((p.audience or {}).get("tiers", [])),
        stackable=p.stackable,
        stock_remaining=p.stock_remaining,
        per_store_limit=p.per_store_limit,
        store_used=store_used,
        paused=p.status == "paused",
        group_participants=participants,
    )
