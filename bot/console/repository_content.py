"""Content items as an operator may see them: an item hangs in the org tree at its owning region
(``content_items.region_code``; HQ's items, with none, at ``/``), and ``policy.can`` decides on
that path. Region operators and managers read their region's items and HQ's (lineage) and write
(edit, submit, publish) their region's only; another region's item does not exist for them (404).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.org_models import OrgNode
from bot.console.policy import ROOT, Action, Actor, Resource, can
from bot.content import library
from bot.content.interface import Item
from bot.content.models import ContentItem


async def region_paths(session: AsyncSession, tenant_id: int) -> dict[str, str]:
    """Region code -> org path, for the tenant's (mirrored) regions."""
    rows = await session.execute(
        select(OrgNode.code, OrgNode.path).where(OrgNode.tenant_id == tenant_id, OrgNode.kind == "region")
    )
    return {code: path for code, path in rows.all()}


def _path(item: Item, paths: dict[str, str]) -> str | None:
    if item.region_code is None:
        return ROOT
    return paths.get(item.region_code)  # a region the tree no longer knows: nobody below HQ


def allowed(actor: Actor, action: Action, item: Item, paths: dict[str, str]) -> bool:
    path = _path(item, paths)
    if path is None:
        return actor.is_hq and can(actor, action, Resource("content", item.tenant_id, ROOT))
    return can(actor, action, Resource("content", item.tenant_id, path))


async def get(session: AsyncSession, actor: Actor, item_id: int, action: Action = "read") -> Item | None:
    """The item when the actor may ``action`` it, else None (the page answers 404)."""
    item = await library.get(session, actor.tenant_id, item_id)
    if item is None:
        return None
    return item if allowed(actor, action, item, await region_paths(session, actor.tenant_id)) else None


async def listing(session: AsyncSession, actor: Actor, limit: int = 200) -> list[Item]:
    """The items the actor may read, newest first."""
    stmt = (
        select(ContentItem)
        .where(ContentItem.tenant_id == actor.tenant_id)
        .order_by(ContentItem.id.desc())
        .limit(limit)
    )
    if not actor.is_hq:  # his regions' items and HQ's; the policy decides on each
        paths = await region_paths(session, actor.tenant_id)
        near = [code for code, path in paths.items() if path.startswith(actor.scope.path)]
        near += [code for code, path in paths.items() if actor.scope.path.startswith(path)]
        stmt = stmt.where(ContentItem.region_code.is_(None) | ContentItem.region_code.in_(near))
    else:
        paths = {}
    items = [library.to_item(row) for row in (await session.execute(stmt)).scalars()]
    return [i for i in items if actor.is_hq or allowed(actor, "read", i, paths)]


async def own_region(session: AsyncSession, actor: Actor) -> str | None:
    """The region an actor's new items belong to: his scope's region (None for HQ)."""
    if actor.is_hq:
        return None
    paths = await region_paths(session, actor.tenant_id)
    inside = [(len(path), code) for code, path in paths.items() if actor.scope.path.startswith(path)]
    return max(inside)[1] if inside else None
