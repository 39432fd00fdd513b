"""Regional storefronts (页面装修权): each region's mini-program home, versioned.

A layout is JSON: ``banners`` ([{image, link}]), ``featured`` ([sku]), ``campaign_blocks``
([{title, kinds: [flash_sale|group_buy|auction]}], filled live with the campaigns open to the
store), ``shortcuts`` ([{label, path}]). Publishing inserts the region's next version (unique
per tenant, region and version: two concurrent publishers get two versions, never one
overwritten); the newest version is live at once. A region without its own layout gets the
tenant's default (region ``*``), else an empty home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.models import Storefront
from bot.campaigns.regional import Operator, RegionalRefused, can
from bot.campaigns.views import KINDS
from bot.db import utcnow

DEFAULT = "*"
LIMITS = {"banners": 10, "featured": 30, "campaign_blocks": 6, "shortcuts": 12}
EMPTY: dict[str, Any] = {"banners": [], "featured": [], "campaign_blocks": [], "shortcuts": []}


@dataclass(frozen=True, slots=True)
class Published:
    region_code: str
    version: int
    layout: dict[str, Any]
    published_at: datetime | None


def _text(value: Any, name: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise RegionalRefused("invalid", f"{name} must be text of 1-{limit} characters")
    return value.strip()


def check_layout(layout: Any) -> dict[str, Any]:
    """The layout, normalised; RegionalRefused("invalid", <which part>) otherwise."""
    if not isinstance(layout, dict):
        raise RegionalRefused("invalid", "the layout must be a JSON object")
    unknown = set(layout) - set(LIMITS)
    if unknown:
        raise RegionalRefused("invalid", f"unknown parts: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for part, limit in LIMITS.items():
        items = layout.get(part, [])
        if not isinstance(items, list) or len(items) > limit:
            raise RegionalRefused("invalid", f"{part} must be a list of at most {limit}")
        out[part] = items
    out["banners"] = (
        [
            {"image": _text(b.get("image"), "banners.image", 500), "link": str(b.get("link", ""))[:500]}
            for b in out["banners"]
            if isinstance(b, dict)
        ]
        if all(isinstance(b, dict) for b in out["banners"])
        else _bad("banners")
    )
    out["featured"] = [_text(sku, "featured", 64) for sku in out["featured"]]
    blocks = []
    for block in out["campaign_blocks"]:
        if not isinstance(block, dict):
            _bad("campaign_blocks")
        kinds = block.get("kinds") or list(KINDS)
        if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
            raise RegionalRefused("invalid", "campaign_blocks.kinds: flash_sale, group_buy, auction")
        blocks.append({"title": _text(block.get("title"), "campaign_blocks.title", 40), "kinds": kinds})
    out["campaign_blocks"] = blocks
    out["shortcuts"] = (
        [
            {
                "label": _text(s.get("label"), "shortcuts.label", 20),
                "path": _text(s.get("path"), "shortcuts.path", 200),
            }
            for s in out["shortcuts"]
            if isinstance(s, dict)
        ]
        if all(isinstance(s, dict) for s in out["shortcuts"])
        else _bad("shortcuts")
    )
    return out


def _bad(part: str) -> Any:
    raise RegionalRefused("invalid", f"{part} must be a list of objects")


async def publish(
    session: AsyncSession, actor: Operator, region_code: str, layout: Any, *, now: datetime | None = None
) -> Published:
    """Publish the next version of ``region_code``'s home (``*``: the default, HQ only)."""
    if not can(actor, "publish", (region_code,) if region_code != DEFAULT else ()):
        raise RegionalRefused("other_region", region_code)
    return await publish_version(session, actor.tenant_id, region_code, layout, by=actor.member_id, now=now)


async def publish_version(
    session: AsyncSession,
    tenant_id: int,
    region_code: str,
    layout: Any,
    *,
    by: int | None,
    now: datetime | None = None,
) -> Published:
    """Insert the region's next version (no policy here: the caller decided who may)."""
    checked = check_layout(layout)
    now = now or utcnow()
    for _ in range(5):
        latest = (
            await session.execute(
                select(func.max(Storefront.version)).where(
                    Storefront.tenant_id == tenant_id, Storefront.region_code == region_code
                )
            )
        ).scalar_one()
        version = (latest or 0) + 1
        try:
            async with session.begin_nested():
                session.add(
                    Storefront(
                        tenant_id=tenant_id,
                        region_code=region_code,
                        version=version,
                        layout=orjson.dumps(checked).decode(),
                        published_by=by,
                        published_at=now,
                    )
                )
        except IntegrityError:
            continue  # another publisher took this version: take the next
        return Published(region_code, version, checked, now)
    raise RegionalRefused("invalid", "too many concurrent publishes, try again")


async def current(session: AsyncSession, tenant_id: int, region_code: str | None) -> Published:
    """The live layout of the region, else the tenant's default, else an empty one."""
    for code in ([region_code] if region_code else []) + [DEFAULT]:
        row = (
            await session.execute(
                select(Storefront)
                .where(Storefront.tenant_id == tenant_id, Storefront.region_code == code)
                .order_by(Storefront.version.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is not None:
            return Published(code, row.version, orjson.loads(row.layout), row.published_at)
    return Published(DEFAULT, 0, dict(EMPTY), None)


async def history(session: AsyncSession, actor: Operator, region_code: str) -> list[Published]:
    if not can(actor, "see", (region_code,) if region_code != DEFAULT else ()):
        raise RegionalRefused("other_region", region_code)
    return await versions(session, actor.tenant_id, region_code)


async def versions(
    session: AsyncSession, tenant_id: int, region_code: str, limit: int = 50
) -> list[Published]:
    rows = (
        await session.execute(
            select(Storefront)
            .where(Storefront.tenant_id == tenant_id, Storefront.region_code == region_code)
            .order_by(Storefront.version.desc())
            .limit(limit)
        )
    ).scalars()
    return [Published(r.region_code, r.version, orjson.loads(r.layout), r.published_at) for r in rows]
