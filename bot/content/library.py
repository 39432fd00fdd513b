"""The content library: drafts, review, scheduled publishing, expiry, visibility.

A draft is written by anyone with console access, ``submit`` sends it to review, and an HQ or
regional operator ``approve``s it: it is then published (visible from ``publish_at``, if set,
until ``expire_at``). Visibility: an item lists the regions and roles it is for ("" = all).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.errors import NotAllowed, NotFound
from bot.content.interface import Item
from bot.content.models import KINDS, ContentItem
from bot.db import utcnow

TAG_FAMILIES = ("brand", "aroma", "campaign", "season")  # 品牌, 香型, 活动, 季节


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in (p.strip() for p in value.split(",")) if v)


def to_item(row: ContentItem) -> Item:
    return Item(
        row.id,
        row.tenant_id,
        row.kind,
        row.title,
        row.summary,
        row.body,
        row.image_key,
        row.video_key,
        row.channels_url,
        row.product_sku,
        _split(row.tags),
        _split(row.regions),
        _split(row.roles),
        row.state,
        row.publish_at,
        row.expire_at,
        row.region_code,
        row.created_by,
        row.reviewed_by,
    )


def _tags(tags: Sequence[str]) -> str:
    for tag in tags:
        family, _, value = tag.partition(":")
        if family not in TAG_FAMILIES or not value:
            raise NotAllowed("bad_tag", f"tags are family:value with family in {TAG_FAMILIES}")
    return ",".join(tags)


async def create(
    session: AsyncSession,
    tenant_id: int,
    *,
    kind: str,
    title: str,
    summary: str = "",
    body: str = "",
    image_key: str = "",
    video_key: str = "",
    channels_url: str = "",
    product_sku: str = "",
    tags: Sequence[str] = (),
    regions: Sequence[str] = (),
    roles: Sequence[str] = (),
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
    created_by: str = "",
    region_code: str | None = None,
) -> Item:
    check(kind, title, channels_url, publish_at, expire_at)
    row = ContentItem(
        tenant_id=tenant_id,
        kind=kind,
        title=title.strip(),
        summary=summary[:120],
        body=body,
        image_key=image_key,
        video_key=video_key,
        channels_url=channels_url,
        product_sku=product_sku,
        tags=_tags(tags),
        regions=",".join(regions),
        roles=",".join(roles),
        state="draft",
        publish_at=publish_at,
        expire_at=expire_at,
        created_by=created_by,
        region_code=region_code,
    )
    session.add(row)
    await session.flush()
    return to_item(row)


def check(
    kind: str, title: str, channels_url: str, publish_at: datetime | None, expire_at: datetime | None
) -> None:
    if kind not in KINDS:
        raise NotAllowed("bad_kind", f"kind must be one of {KINDS}")
    if not title.strip() or len(title) > 64:
        raise NotAllowed("bad_title")
    if channels_url and not channels_url.startswith("https://"):
        raise NotAllowed("bad_link")
    if publish_at and expire_at and expire_at <= publish_at:
        raise NotAllowed("expires_before_publish")


EDITABLE = ("draft", "rejected")


async def update_draft(
    session: AsyncSession,
    tenant_id: int,
    item_id: int,
    *,
    kind: str,
    title: str,
    summary: str = "",
    body: str = "",
    image_key: str | None = None,
    channels_url: str = "",
    tags: Sequence[str] = (),
    regions: Sequence[str] = (),
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
) -> Item:
    """Edit a draft (or a rejected item); ``image_key`` None keeps the cover. Only while the
    item is editable: the update is conditional on its state (a concurrent submit wins)."""
    check(kind, title, channels_url, publish_at, expire_at)
    values: dict[str, object] = {
        "kind": kind, "title": title.strip(), "summary": summary[:120], "body": body,
        "channels_url": channels_url, "tags": _tags(tags), "regions": ",".join(regions),
        "publish_at": publish_at, "expire_at": expire_at, "updated_at": utcnow(),
    }  # fmt: skip
    if image_key is not None:
        values["image_key"] = image_key
    done = await session.execute(
        update(ContentItem)
        .where(ContentItem.id == item_id, ContentItem.tenant_id == tenant_id, ContentItem.state.in_(EDITABLE))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(ContentItem, item_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("no_item")
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise NotAllowed("bad_state", f"item {item_id} is {row.state}")
    return to_item(row)


async def _move(
    session: AsyncSession, tenant_id: int, item_id: int, frm: Sequence[str], to: str, by: str = ""
) -> Item:
    values: dict[str, object] = {"state": to, "updated_at": utcnow()}
    if by:
        values["reviewed_by"] = by
    moved = await session.execute(
        update(ContentItem)
        .where(ContentItem.id == item_id, ContentItem.tenant_id == tenant_id, ContentItem.state.in_(frm))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    row = await session.get(ContentItem, item_id, populate_existing=True)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("no_item")
    if moved.rowcount == 0 and row.state != to:  # type: ignore[attr-defined]
        raise NotAllowed("bad_state", f"item {item_id} is {row.state}")
    return to_item(row)


async def submit(session: AsyncSession, tenant_id: int, item_id: int) -> Item:
    return await _move(session, tenant_id, item_id, ("draft", "rejected"), "review")


async def approve(session: AsyncSession, tenant_id: int, item_id: int, *, by: str) -> Item:
    """An operator publishes an item under review (visible from its ``publish_at``)."""
    if not by:
        raise NotAllowed("reviewer_required")
    return await _move(session, tenant_id, item_id, ("review",), "published", by)


async def reject(session: AsyncSession, tenant_id: int, item_id: int, *, by: str) -> Item:
    return await _move(session, tenant_id, item_id, ("review",), "rejected", by)


async def archive(session: AsyncSession, tenant_id: int, item_id: int) -> Item:
    return await _move(session, tenant_id, item_id, ("published", "draft", "rejected"), "archived")


async def get(session: AsyncSession, tenant_id: int, item_id: int) -> Item | None:
    row = await session.get(ContentItem, item_id)
    return to_item(row) if row is not None and row.tenant_id == tenant_id else None


def is_live(item: Item, now: datetime) -> bool:
    return (
        item.state == "published"
        and (item.publish_at is None or item.publish_at <= now)
        and (item.expire_at is None or item.expire_at > now)
    )


def visible_to(item: Item, role: str, region: str | None) -> bool:
    return (not item.roles or role in item.roles) and (not item.regions or (region or "") in item.regions)


async def visible(
    session: AsyncSession,
    tenant_id: int,
    *,
    role: str,
    region: str | None,
    now: datetime | None = None,
    kind: str | None = None,
    limit: int = 10,
) -> list[Item]:
    """Published, in its dates, for this role and region; newest first."""
    now = now or utcnow()
    stmt = (
        select(ContentItem)
        .where(
            ContentItem.tenant_id == tenant_id,
            ContentItem.state == "published",
            or_(ContentItem.publish_at.is_(None), ContentItem.publish_at <= now),
            or_(ContentItem.expire_at.is_(None), ContentItem.expire_at > now),
        )
        .order_by(ContentItem.id.desc())
        .limit(200)
    )
    if kind:
        stmt = stmt.where(ContentItem.kind == kind)
    items = [to_item(r) for r in (await session.execute(stmt)).scalars()]
    return [i for i in items if visible_to(i, role, region)][:limit]


async def listing(session: AsyncSession, tenant_id: int, state: str | None = None) -> list[Item]:
    stmt = select(ContentItem).where(ContentItem.tenant_id == tenant_id).order_by(ContentItem.id)
    if state:
        stmt = stmt.where(ContentItem.state == state)
    return [to_item(r) for r in (await session.execute(stmt)).scalars()]
