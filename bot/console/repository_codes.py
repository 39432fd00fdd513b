"""Scoped reads of bottle codes and fraud control: code batches, sales regions, diversion alerts and
fraud flags (the rules are ``bot.console.scope``'s; out-of-scope ids read as missing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console import scope
from bot.console.policy import ROOT, Actor
from bot.console.repository import node_paths
from bot.console.repository_paging import BadQuery, Page, fetch_page
from bot.membership.models import CodeBatch, DiversionAlert, FraudFlag, Member, SalesRegion

ALERT_STATUSES = ("open", "resolved")


def _status(value: str | None) -> str | None:
    value = (value or "").strip() or None
    if value is not None and value not in ALERT_STATUSES:
        raise BadQuery("status", "unknown")
    return value


# batches -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchView:
    id: int
    brand: str
    sku: str
    product_name: str
    region_code: str | None
    distributor_code: str | None
    size: int
    note: str
    created_at: datetime
    path: str  # the distributor's node if mirrored, else the region's, else HQ


async def _batch_views(session: AsyncSession, actor: Actor, rows: list[CodeBatch]) -> tuple[BatchView, ...]:
    wanted = [("distributor", b.distributor_code or "") for b in rows] + [
        ("region", b.region_code or "") for b in rows
    ]
    paths = await node_paths(session, actor.tenant_id, wanted)
    return tuple(
        BatchView(
            b.id,
            b.brand,
            b.sku,
            b.product_name,
            b.region_code,
            b.distributor_code,
            b.size,
            b.note,
            b.created_at,
            paths.get(("distributor", b.distributor_code or ""))
            or paths.get(("region", b.region_code or ""))
            or ROOT,
        )
        for b in rows
    )


async def get_batch(session: AsyncSession, actor: Actor, batch_id: int) -> BatchView | None:
    row = await session.scalar(select(CodeBatch).where(scope.batches_clause(actor), CodeBatch.id == batch_id))
    return None if row is None else (await _batch_views(session, actor, [row]))[0]


async def list_batches(
    session: AsyncSession, actor: Actor, *, sku: str | None = None, cursor: str | None = None, limit: int = 20
) -> Page[BatchView]:
    """Newest first."""
    stmt = select(CodeBatch).where(scope.batches_clause(actor))
    sku = (sku or "").strip() or None
    if sku is not None:
        if len(sku) > 64:
            raise BadQuery("sku", "too_long")
        stmt = stmt.where(CodeBatch.sku == sku)
    page = await fetch_page(
        session,
        stmt,
        key_col=CodeBatch.id,
        id_col=CodeBatch.id,
        key_type=int,
        cursor=cursor,
        limit=limit,
        descending=True,
        convert=lambda row: row.CodeBatch,
        key_of=lambda row: (row.CodeBatch.id, row.CodeBatch.id),
    )
    return Page(await _batch_views(session, actor, list(page.items)), page.next_cursor)


# sales regions (where batches are shipped) -----------------------------------------------------------
@dataclass(frozen=True)
class SalesRegionView:
    id: int
    code: str
    name: str
    provinces: tuple[str, ...]
    cities: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    return tuple(p for p in (text or "").split(",") if p)


async def list_sales_regions(session: AsyncSession, actor: Actor) -> list[SalesRegionView]:
    """All of them (a brand has tens): by code."""
    rows = await session.scalars(
        select(SalesRegion).where(scope.sales_regions_clause(actor)).order_by(SalesRegion.code)
    )
    return [SalesRegionView(r.id, r.code, r.name, _split(r.provinces), _split(r.cities)) for r in rows.all()]


async def get_sales_region(session: AsyncSession, actor: Actor, region_id: int) -> SalesRegionView | None:
    r = await session.scalar(
        select(SalesRegion).where(scope.sales_regions_clause(actor), SalesRegion.id == region_id)
    )
    return None if r is None else SalesRegionView(r.id, r.code, r.name, _split(r.provinces), _split(r.cities))


# diversion alerts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertView:
    id: int
    batch_id: int
    serial: int
    region_code: str
    distributor_code: str | None
    store_code: str | None
    found_province: str
    found_city: str | None
    latitude: float | None
    longitude: float | None
    status: str
    created_at: datetime
    path: str  # the most specific mirrored node of store, distributor, region; else HQ


async def _alert_views(
    session: AsyncSession, actor: Actor, rows: list[DiversionAlert]
) -> tuple[AlertView, ...]:
    wanted = []
    for a in rows:
        wanted += [
            ("store", a.store_code or ""),
            ("distributor", a.distributor_code or ""),
            ("region", a.region_code),
        ]
    paths = await node_paths(session, actor.tenant_id, wanted)
    return tuple(
        AlertView(
            a.id,
            a.batch_id,
            a.serial,
            a.region_code,
            a.distributor_code,
            a.store_code,
            a.found_province,
            a.found_city,
            a.latitude,
            a.longitude,
            a.status,
            a.created_at,
            paths.get(("store", a.store_code or ""))
            or paths.get(("distributor", a.distributor_code or ""))
            or paths.get(("region", a.region_code))
            or ROOT,
        )
        for a in rows
    )


async def get_alert(session: AsyncSession, actor: Actor, alert_id: int) -> AlertView | None:
    row = await session.scalar(
        select(DiversionAlert).where(scope.alerts_clause(actor), DiversionAlert.id == alert_id)
    )
    return None if row is None else (await _alert_views(session, actor, [row]))[0]


async def list_alerts(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[AlertView]:
    """Newest first; ``status`` open / resolved / None for both."""
    stmt = select(DiversionAlert).where(scope.alerts_clause(actor))
    wanted = _status(status)
    if wanted is not None:
        stmt = stmt.where(DiversionAlert.status == wanted)
    page = await fetch_page(
        session,
        stmt,
        key_col=DiversionAlert.id,
        id_col=DiversionAlert.id,
        key_type=int,
        cursor=cursor,
        limit=limit,
        descending=True,
        convert=lambda row: row.DiversionAlert,
        key_of=lambda row: (row.DiversionAlert.id, row.DiversionAlert.id),
    )
    return Page(await _alert_views(session, actor, list(page.items)), page.next_cursor)


# fraud flags ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FraudFlagView:
    id: int
    member_id: int
    kind: str
    window_key: str
    detail: str
    status: str
    created_at: datetime


def _flag_stmt(actor: Actor) -> Any:
    return (
        select(FraudFlag)
        .join(Member, Member.id == FraudFlag.member_id)
        .where(FraudFlag.tenant_id == actor.tenant_id, scope.members_clause(actor))
    )


def _flag_view(f: FraudFlag) -> FraudFlagView:
    return FraudFlagView(f.id, f.member_id, f.kind, f.window_key, f.detail, f.status, f.created_at)


async def get_fraud_flag(session: AsyncSession, actor: Actor, flag_id: int) -> FraudFlagView | None:
    row = await session.scalar(_flag_stmt(actor).where(FraudFlag.id == flag_id))
    return None if row is None else _flag_view(row)


async def list_fraud_flags(
    session: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> Page[FraudFlagView]:
    stmt = _flag_stmt(actor)
    wanted = _status(status)
    if wanted is not None:
        stmt = stmt.where(FraudFlag.status == wanted)
    return await fetch_page(
        session,
        stmt,
        key_col=FraudFlag.id,
        id_col=FraudFlag.id,
        key_type=int,
        cursor=cursor,
        limit=limit,
        descending=True,
        convert=lambda row: _flag_view(row.FraudFlag),
        key_of=lambda row: (row.FraudFlag.id, row.FraudFlag.id),
    )
