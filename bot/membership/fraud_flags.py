"""Fraud signals raised inside the crediting transaction (the Redis windows are in ``fraud``):
diversion alerts (a code scanned outside its batch's sales region, 窜货) and pattern flags (one
member redeeming from many batches or regions in a short time). Both are insert-or-ignore rows
unique on what raised them, so a retried scan raises nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.membership.batches import BatchView, CodeState
from bot.membership.code_models import CodeRedemption, DiversionAlert, FraudFlag
from bot.membership.codes import CodeRef
from bot.membership.geo import Place
from bot.membership.loyalty_config import LoyaltyConfig
from bot.membership.regions import RegionCache

log = structlog.get_logger(__name__)
TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Seen:
    batches: int  # distinct batches in the pattern window, this scan included
    regions: int


def seen(batches: int, regions: int, has_batch: bool, has_region: bool, region_code: str | None) -> Seen:
    """The pattern window's counts with this scan included, from the counts before it and whether
    its batch and region were already among them."""
    new_region = region_code is not None and not has_region
    return Seen(batches + (0 if has_batch else 1), regions + (1 if new_region else 0))


async def diversion(
    session: AsyncSession,
    batch: BatchView,
    ref: CodeRef,
    redemption_id: int,
    place: Place | None,
    state: CodeState,
    config: LoyaltyConfig,
    now: datetime,
    regions: RegionCache,
) -> bool:
    """Raise an alert (and mark the redemption) when the bottle was opened outside its region."""
    if not config.diversion_enabled or not batch.region_code or place is None:
        return False
    region = await regions.get(session, batch.tenant_id, batch.region_code)
    if region is None or region.contains(place.province, place.city):
        return False
    await session.execute(
        insert_ignore(
            session,
            DiversionAlert.__table__,
            [
                {
                    "tenant_id": batch.tenant_id,
                    "redemption_id": redemption_id,
                    "batch_id": batch.id,
                    "serial": ref.serial,
                    "region_code": batch.region_code,
                    "distributor_code": state.distributor_code or batch.distributor_code,
                    "store_code": state.store_code,
                    "found_province": place.province,
                    "found_city": place.city,
                    "place_source": place.source,
                    "latitude": None,
                    "longitude": None,
                    "status": "open",
                    "created_at": now,
                }
            ],
            index_elements=["redemption_id"],
        )
    )
    await session.execute(
        update(CodeRedemption).where(CodeRedemption.id == redemption_id).values(diverted=True)
    )
    log.warning(
        "diversion_alert",
        batch=batch.id,
        serial=ref.serial,
        region=batch.region_code,
        found=place.label(),
    )
    return True


async def patterns(
    session: AsyncSession,
    tenant_id: int,
    member_id: int,
    counts: Seen,
    config: LoyaltyConfig,
    now: datetime,
) -> None:
    """Flag one member redeeming caps from many batches or regions in a short time."""
    window_key = now.astimezone(TZ).strftime("%Y-%m-%d")
    for kind, count, limit in (
        ("many_batches", counts.batches, config.pattern_max_batches),
        ("many_regions", counts.regions, config.pattern_max_regions),
    ):
        if count > limit:
            await session.execute(
                insert_ignore(
                    session,
                    FraudFlag.__table__,
                    [
                        {
                            "tenant_id": tenant_id,
                            "member_id": member_id,
                            "kind": kind,
                            "window_key": window_key,
                            "status": "open",
                            "created_at": now,
                            "detail": f"{count} in {config.pattern_window_hours} h (limit {limit})",
                        }
                    ],
                    index_elements=["tenant_id", "member_id", "kind", "window_key"],
                )
            )
