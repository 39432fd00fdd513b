"""Regional rights (营销活动权): who may see, create and stop which campaigns.

An operator is a member with the role ``operator``: with a ``region_code`` he runs that regional
marketing centre, without one (or with ``HQ``) he is headquarters. A regional campaign is a core
promotion whose audience is exactly one region. The policy (``can``) is the one place that
decides; every action below asks it first:

| action | HQ | a region's operator |
|---|---|---|
| see | every campaign | his region's campaigns only |
| create | for any region (or nationwide) | for his region only (the audience is forced to it) |
| stop | every campaign | his region's campaigns only |

Targeting within the region: the core's audience also takes store tiers. Creating carries an
idempotency key from the operator's request, so a retried submit creates one campaign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend_client import CoreError, IdempotencyConflict, NotFound, ValidationFailed
from bot.campaigns import definitions
from bot.campaigns.views import KINDS, CampaignView, view_of
from bot.membership.models import Member

HQ = "HQ"
ACTIONS = frozenset({"see", "create", "stop", "publish"})


class RegionalRefused(Exception):
    """``reason``: not_an_operator, other_region, unknown_region, not_found, invalid."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Operator:
    member_id: int
    tenant_id: int
    region_code: str | None  # None: headquarters

    @property
    def is_hq(self) -> bool:
        return self.region_code is None


@dataclass(frozen=True, slots=True)
class RegionalCampaign:
    campaign: CampaignView
    region_codes: tuple[str, ...]  # () = nationwide


async def operator_of(session: AsyncSession, member_id: int) -> Operator:
    member = await session.get(Member, member_id)
    if member is None or member.role != "operator":
        raise RegionalRefused("not_an_operator")
    region = member.region_code if member.region_code not in (None, "", HQ) else None
    return Operator(member.id, member.tenant_id, region)


def can(actor: Operator, action: str, region_codes: Sequence[str]) -> bool:
    """May ``actor`` do ``action`` on something whose audience is ``region_codes`` (() = all)?"""
    if action not in ACTIONS:
        return False
    if actor.is_hq:
        return True
    return tuple(region_codes) == (actor.region_code,)


async def _regions(core: Any) -> tuple[dict[int, str], dict[str, int]]:
    regions = await core.org.regions()
    return {r.id: r.code for r in regions}, {r.code: r.id for r in regions}


def _codes(promotion: Any, by_id: Mapping[int, str]) -> tuple[str, ...]:
    return tuple(by_id.get(rid, str(rid)) for rid in promotion.audience.region_ids)


async def all_campaigns(core: Any, now: datetime) -> list[RegionalCampaign]:
    """Every flash sale, group buy and auction with its regions, newest first (callers filter
    with their policy: ``list_campaigns`` here, the console's ``can`` there)."""
    by_id, _ = await _regions(core)
    found, cursor = [], None
    while True:
        page = await core.promotions.list(cursor=cursor, limit=100)
        found += [RegionalCampaign(view_of(p, now), _codes(p, by_id)) for p in page.items if p.kind in KINDS]
        cursor = page.next_cursor
        if cursor is None:
            return found


async def list_campaigns(core: Any, actor: Operator, now: datetime) -> list[RegionalCampaign]:
    """The campaigns the operator may see."""
    return [c for c in await all_campaigns(core, now) if can(actor, "see", c.region_codes)]


async def create_campaign(
    core: Any,
    actor: Operator,
    definition: Mapping[str, Any],
    *,
    request_key: str,
    region_code: str | None = None,
) -> RegionalCampaign:
    """Create a campaign for ``region_code`` (a regional operator: always his own region; HQ:
    the region given, or nationwide when none)."""
    region = actor.region_code if not actor.is_hq else region_code
    if region_code is not None and not can(actor, "create", (region_code,)):
        raise RegionalRefused("other_region", region_code)
    return await create_in_region(
        core, definition, region, key=f"jb:regional:{actor.member_id}:{request_key}"
    )


async def create_in_region(
    core: Any, definition: Mapping[str, Any], region_code: str | None, *, key: str
) -> RegionalCampaign:
    """Create the campaign with its audience set to ``region_code`` (None: nationwide). No
    policy here: the caller decided who may."""
    if definition.get("kind") not in KINDS:
        raise RegionalRefused("invalid", "kind must be flash_sale, group_buy or auction")
    by_id, by_code = await _regions(core)
    if region_code is not None and region_code not in by_code:
        raise RegionalRefused("unknown_region", region_code)
    audience = dict(definition.get("audience") or {})
    audience["region_ids"] = [by_code[region_code]] if region_code is not None else []
    body = {**definition, "audience": audience}
    try:
        created = await core.promotions.create(body, idempotency_key=key)
    except IdempotencyConflict:
        raise RegionalRefused("invalid", "this request key was used for another campaign") from None
    except ValidationFailed as exc:
        raise RegionalRefused(
            "invalid", "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or str(exc)
        ) from None
    return RegionalCampaign(view_of(created, datetime.now(created.starts_at.tzinfo)), _codes(created, by_id))


async def campaign(core: Any, campaign_id: int, now: datetime) -> RegionalCampaign:
    by_id, _ = await _regions(core)
    try:
        promotion = await core.promotions.get(campaign_id)
    except NotFound:
        raise RegionalRefused("not_found", str(campaign_id)) from None
    if promotion.kind not in KINDS:
        raise RegionalRefused("not_found", str(campaign_id))
    return RegionalCampaign(view_of(promotion, now), _codes(promotion, by_id))


async def stop(core: Any, found: RegionalCampaign, now: datetime) -> RegionalCampaign:
    """Stop it now (no policy here)."""
    definitions.invalidate(core, found.campaign.id)
    try:
        stopped = await core.promotions.stop(found.campaign.id)
    except CoreError as exc:
        raise RegionalRefused("invalid", str(exc)) from None
    definitions.invalidate(core, found.campaign.id)
    return RegionalCampaign(view_of(stopped, now), found.region_codes)


async def set_paused(core: Any, found: RegionalCampaign, paused: bool, now: datetime) -> RegionalCampaign:
    """Pause or resume it (no policy here): a paused campaign is open to no store until resumed."""
    definitions.invalidate(core, found.campaign.id)
    try:
        changed = await (core.promotions.pause if paused else core.promotions.resume)(found.campaign.id)
    except CoreError as exc:
        raise RegionalRefused("invalid", str(exc)) from None
    definitions.invalidate(core, found.campaign.id)
    return RegionalCampaign(view_of(changed, now), found.region_codes)


async def stop_campaign(core: Any, actor: Operator, campaign_id: int, now: datetime) -> RegionalCampaign:
    found = await campaign(core, campaign_id, now)
    if not can(actor, "see", found.region_codes):
        raise RegionalRefused("not_found", str(campaign_id))  # another region's: not even shown
    if not can(actor, "stop", found.region_codes):
        raise RegionalRefused("other_region", ",".join(found.region_codes))
    return await stop(core, found, now)


async def target_stores(core: Any, campaign_id: int) -> list[int]:
    """The core ids of the stores a campaign targets: those of its audience's regions (every
    region when it has none) and of its tiers (every tier when it has none), active ones only."""
    try:
        promotion = await core.promotions.get(campaign_id)
    except NotFound:
        raise RegionalRefused("not_found", str(campaign_id)) from None
    audience = promotion.audience
    found: list[int] = []
    for region_id in audience.region_ids or (None,):
        cursor = None
        while True:
            page = await core.org.stores(region_id=region_id, cursor=cursor, limit=100)
            found += [
                s.id
                for s in page.items
                if s.status == "active" and (not audience.tiers or s.tier in audience.tiers)
            ]
            cursor = page.next_cursor
            if cursor is None:
                break
    return sorted(set(found))
